"""Booking, holds, confirmation, cancellation, moves and outcomes (services)."""

from datetime import datetime, time, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from appointments import rules, services
from appointments.models import Appointment, AppointmentEvent, Face, NoShowFlag
from conciergerie.accounts.roles import Role
from conciergerie.notifications.models import Message
from specialists.availability import PARIS
from specialists.models import ConsultationType
from tests.appointments.conftest import error_codes
from tests.appointments.factories import AppointmentFactory, free_slots, slot_after
from tests.factories import UserFactory

Kind = ConsultationType.Kind
State = Appointment.State


def book(patient, practitioner, slot, *, by=None, **kwargs):
    return services.book_appointment(
        patient=patient,
        practitioner=practitioner,
        kind=slot.kind,
        starts_at=slot.starts_at,
        by=by or patient.user,
        via=Face.PORTAL,
        **kwargs,
    )


def test_booking_a_free_slot_books_it_and_schedules_the_confirmation_and_reminders(
    patient, practitioner
):
    slot = slot_after(practitioner, hours=72)

    appointment = book(patient, practitioner, slot)

    assert appointment.state == State.BOOKED
    assert appointment.starts_at == slot.starts_at
    assert appointment.place_id == slot.place_id
    assert appointment.specialty.code == "cardiology"
    keys = set(Message.objects.values_list("template", "channel"))
    assert ("appointments/messages/confirmation", "email") in keys
    assert ("appointments/messages/confirmation", "sms") in keys
    assert ("appointments/messages/reminder", "email") in keys
    assert ("appointments/messages/reminder", "sms") in keys
    assert ("appointments/messages/practitioner_notice", "email") in keys
    assert appointment.events.get().action == AppointmentEvent.Action.BOOKED


def test_the_booked_slot_is_no_longer_offered(patient, practitioner):
    slot = slot_after(practitioner)

    book(patient, practitioner, slot)

    starts = [
        s.starts_at for s in free_slots(practitioner, after=slot.starts_at, days=1)
    ]
    assert slot.starts_at not in starts


def test_a_time_that_is_not_a_slot_is_refused(patient, practitioner):
    slot = slot_after(practitioner)

    with pytest.raises(ValidationError) as error:
        services.book_appointment(
            patient=patient,
            practitioner=practitioner,
            kind=slot.kind,
            starts_at=slot.starts_at + timedelta(minutes=7),
            by=patient.user,
            via=Face.PORTAL,
        )

    assert error_codes(error.value) == {"not_a_slot"}


def test_a_taken_slot_answers_slot_taken_with_fresh_alternatives(
    patient, other_patient, practitioner
):
    slot = slot_after(practitioner)
    book(other_patient, practitioner, slot)

    with pytest.raises(services.SlotTaken) as error:
        book(patient, practitioner, slot)

    assert error.value.code == "slot_taken"
    assert error.value.alternatives
    assert all(alt.starts_at != slot.starts_at for alt in error.value.alternatives)
    assert all(alt.starts_at >= slot.starts_at for alt in error.value.alternatives)


def test_booking_too_close_to_the_start_is_refused(patient, practitioner, settings):
    slot = slot_after(practitioner, hours=3)
    # The notice grows after the slot was offered (the directory no longer
    # offers slots inside it): booking it is refused.
    settings.APPOINTMENT_NOTICE_RULES = {
        "default": {"book": 24 * 60, "cancel": 60, "reschedule": 60}
    }

    with pytest.raises(ValidationError) as error:
        book(patient, practitioner, slot)

    assert error_codes(error.value) == {"booking_notice"}


def test_the_directory_offers_no_slot_inside_the_booking_notice(patient, practitioner):
    # The fixture's practitioner receives 08:00-20:00 every day with no minimum
    # notice of their own: the booking notice (an hour by default, a quarter of
    # an hour for a video) is the floor. At 10:05, the first in-person visit on
    # the half-hour grid is 11:30, not 10:30.
    tomorrow = timezone.localdate() + timedelta(days=1)
    at_ten = datetime.combine(tomorrow, time(10, 5), tzinfo=PARIS)
    for kind in (Kind.FIRST_VISIT, Kind.TELECONSULTATION):
        notice = rules.notice(kind, "book")
        slots = free_slots(practitioner, kind=kind, after=at_ten, days=1, now=at_ten)
        assert min(slot.starts_at for slot in slots) >= at_ten + notice
        if kind == Kind.FIRST_VISIT:
            assert slots[0].starts_at.astimezone(PARIS).time() == time(11, 30)

    # So the first slot offered from now can always be booked.
    booked = book(patient, practitioner, free_slots(practitioner)[0])
    assert booked.state == Appointment.State.BOOKED


def test_a_video_slot_books_a_video_appointment_without_place(patient, practitioner):
    slot = slot_after(practitioner, kind=Kind.TELECONSULTATION)

    appointment = book(patient, practitioner, slot)

    assert appointment.mode == Appointment.Mode.VIDEO
    assert appointment.place is None


def test_a_stranger_cannot_book_for_someone_elses_file(
    patient, other_patient_user, practitioner
):
    slot = slot_after(practitioner)

    with pytest.raises(PermissionDenied):
        book(patient, practitioner, slot, by=other_patient_user)


# --- Holds ----------------------------------------------------------------------------


def test_a_held_slot_is_booked_when_the_patient_confirms(patient, practitioner):
    slot = slot_after(practitioner)
    held = book(patient, practitioner, slot, hold=True)
    assert held.state == State.HELD
    assert not Message.objects.exists()

    booked = services.confirm_hold(appointment=held, by=patient.user, via=Face.PORTAL)

    assert booked.state == State.BOOKED
    assert booked.hold_expires_at is None
    assert Message.objects.filter(template__endswith="confirmation").exists()


def test_a_live_hold_blocks_the_slot_for_others(patient, other_patient, practitioner):
    slot = slot_after(practitioner)
    book(patient, practitioner, slot, hold=True)

    with pytest.raises(services.SlotTaken):
        book(other_patient, practitioner, slot)


def test_an_expired_hold_never_blocks_the_next_booking(
    patient, other_patient, practitioner, settings
):
    slot = slot_after(practitioner)
    held = book(patient, practitioner, slot, hold=True)
    later = timezone.now() + timedelta(minutes=settings.APPOINTMENT_HOLD_MINUTES + 1)

    appointment = book(other_patient, practitioner, slot, now=later)

    held.refresh_from_db()
    assert held.state == State.EXPIRED
    assert appointment.state == State.BOOKED


def test_confirming_an_expired_hold_is_refused(patient, practitioner, settings):
    slot = slot_after(practitioner)
    held = book(patient, practitioner, slot, hold=True)
    later = timezone.now() + timedelta(minutes=settings.APPOINTMENT_HOLD_MINUTES + 1)

    with pytest.raises(ValidationError) as error:
        services.confirm_hold(
            appointment=held, by=patient.user, via=Face.PORTAL, now=later
        )

    assert error_codes(error.value) == {"hold_expired"}


def test_the_sweep_expires_stale_holds_only(patient, other_patient, practitioner):
    first, second = free_slots(
        practitioner, after=timezone.now() + timedelta(hours=48)
    )[:2]
    live = book(other_patient, practitioner, second, hold=True)
    stale = book(patient, practitioner, first, hold=True)
    Appointment.objects.filter(pk=stale.pk).update(
        hold_expires_at=timezone.now() - timedelta(seconds=1)
    )

    expired = services.expire_stale_holds()

    assert expired == [stale.pk]
    live.refresh_from_db()
    assert live.state == State.HELD


# --- Confirm, cancel, move ------------------------------------------------------------


def test_the_patient_confirms_their_presence(patient, practitioner):
    appointment = book(patient, practitioner, slot_after(practitioner))

    services.confirm_appointment(appointment=appointment, by=None, via=Face.LINK)

    appointment.refresh_from_db()
    assert appointment.state == State.CONFIRMED
    assert appointment.confirmed_at is not None


def test_cancelling_needs_a_reason(patient, practitioner):
    appointment = book(patient, practitioner, slot_after(practitioner))

    with pytest.raises(ValidationError) as error:
        services.cancel_appointment(
            appointment=appointment, by=patient.user, via=Face.PORTAL, reason="  "
        )

    assert error_codes(error.value) == {"reason_required"}


def test_cancelling_early_cancels_the_reminders_and_tells_the_patient(
    patient, practitioner
):
    appointment = book(patient, practitioner, slot_after(practitioner, hours=24 * 5))

    services.cancel_appointment(
        appointment=appointment, by=patient.user, via=Face.PORTAL, reason="Voyage"
    )

    appointment.refresh_from_db()
    assert appointment.state == State.CANCELLED
    assert appointment.late is False
    assert appointment.ics_sequence == 1
    reminders = Message.objects.filter(template="appointments/messages/reminder")
    assert set(reminders.values_list("state", flat=True)) == {Message.State.CANCELLED}
    assert (
        Message.objects.filter(template="appointments/messages/cancelled").count() == 2
    )


def test_cancelling_inside_the_notice_is_recorded_as_late(patient, practitioner):
    appointment = book(patient, practitioner, slot_after(practitioner, hours=10))

    services.cancel_appointment(
        appointment=appointment, by=patient.user, via=Face.PORTAL, reason="Malade"
    )

    appointment.refresh_from_db()
    assert appointment.state == State.LATE_CANCELLED
    assert appointment.late is True


def test_a_started_appointment_cannot_be_cancelled(patient):
    appointment = AppointmentFactory(
        patient=patient, starts_at=timezone.now() - timedelta(minutes=5)
    )

    with pytest.raises(ValidationError) as error:
        services.cancel_appointment(
            appointment=appointment, by=patient.user, via=Face.PORTAL, reason="x"
        )

    assert error_codes(error.value) == {"already_started"}


def test_moving_keeps_the_calendar_identity_and_makes_new_reminder_keys(
    patient, practitioner
):
    slots = free_slots(practitioner, after=timezone.now() + timedelta(days=4))
    old = book(patient, practitioner, slots[0])
    old_reminders = set(
        Message.objects.filter(template__endswith="reminder").values_list(
            "key", flat=True
        )
    )

    new = services.reschedule_appointment(
        appointment=old,
        starts_at=slots[3].starts_at,
        by=patient.user,
        via=Face.PORTAL,
        reason="Travail",
    )

    old.refresh_from_db()
    assert old.state == State.RESCHEDULED
    assert new.state == State.BOOKED
    assert new.rescheduled_from == old
    assert new.ics_uid == old.ics_uid
    assert new.ics_sequence == old.ics_sequence + 1
    assert set(
        Message.objects.filter(key__in=old_reminders).values_list("state", flat=True)
    ) == {Message.State.CANCELLED}
    new_reminders = Message.objects.filter(
        template__endswith="reminder", state=Message.State.PENDING
    )
    assert new_reminders.count() == 2
    assert not set(new_reminders.values_list("key", flat=True)) & old_reminders
    assert Message.objects.filter(template__endswith="rescheduled").count() == 2


def test_moving_frees_the_old_slot_for_others(patient, other_patient, practitioner):
    slots = free_slots(practitioner, after=timezone.now() + timedelta(days=4))
    old = book(patient, practitioner, slots[0])

    services.reschedule_appointment(
        appointment=old,
        starts_at=slots[1].starts_at,
        by=patient.user,
        via=Face.PORTAL,
        reason="Retard",
    )
    taken_again = book(other_patient, practitioner, slots[0])

    assert taken_again.starts_at == old.starts_at


def test_patients_cannot_move_inside_the_notice_but_the_concierge_can(
    patient, practitioner, coordinator
):
    slots = free_slots(practitioner, after=timezone.now() + timedelta(hours=5))
    appointment = book(patient, practitioner, slots[0])

    with pytest.raises(ValidationError) as error:
        services.reschedule_appointment(
            appointment=appointment,
            starts_at=slots[2].starts_at,
            by=patient.user,
            via=Face.PORTAL,
            reason="Travail",
        )
    assert error_codes(error.value) == {"reschedule_notice"}

    new = services.reschedule_appointment(
        appointment=appointment,
        starts_at=slots[2].starts_at,
        by=coordinator,
        via=Face.ADMIN,
        reason="Le patient a appelé",
    )
    appointment.refresh_from_db()
    assert appointment.late is True
    assert new.state == State.BOOKED


def test_moving_to_a_taken_slot_changes_nothing(patient, other_patient, practitioner):
    slots = free_slots(practitioner, after=timezone.now() + timedelta(days=4))
    appointment = book(patient, practitioner, slots[0])
    book(other_patient, practitioner, slots[2])

    with pytest.raises(services.SlotTaken):
        services.reschedule_appointment(
            appointment=appointment,
            starts_at=slots[2].starts_at,
            by=patient.user,
            via=Face.PORTAL,
            reason="Travail",
        )

    appointment.refresh_from_db()
    assert appointment.state == State.BOOKED


# --- After the start ------------------------------------------------------------------


def test_marking_done_asks_the_practitioner_for_the_report(patient, coordinator):
    appointment = AppointmentFactory(
        patient=patient, starts_at=timezone.now() - timedelta(minutes=40)
    )

    services.mark_done(appointment=appointment, by=coordinator, via=Face.ADMIN)

    appointment.refresh_from_db()
    assert appointment.state == State.DONE
    assert appointment.report_request.received_at is None
    assert Message.objects.filter(
        template="appointments/messages/report_request", to="cabinet@example.fr"
    ).exists()


def test_an_appointment_not_started_cannot_be_marked_done_or_missed(
    patient, practitioner, coordinator
):
    appointment = book(patient, practitioner, slot_after(practitioner))

    with pytest.raises(ValidationError):
        services.mark_done(appointment=appointment, by=coordinator, via=Face.ADMIN)
    with pytest.raises(ValidationError):
        services.record_no_show(appointment=appointment, by=coordinator, via=Face.ADMIN)


def test_repeated_no_shows_flag_the_patients_file(patient, coordinator, settings):
    settings.APPOINTMENT_NO_SHOW_THRESHOLD = 2
    missed = [
        AppointmentFactory(
            patient=patient, starts_at=timezone.now() - timedelta(days=days)
        )
        for days in (30, 2)
    ]

    services.record_no_show(appointment=missed[0], by=coordinator, via=Face.ADMIN)
    assert not NoShowFlag.objects.exists()
    services.record_no_show(appointment=missed[1], by=coordinator, via=Face.ADMIN)

    flag = NoShowFlag.objects.get()
    assert flag.patient == patient
    assert flag.no_shows == 2
    assert services.has_raised_no_show_flag(patient)


def test_the_practitioner_records_a_no_show_of_their_own_patient_only(patient):
    doctor = UserFactory(role=Role.PRACTITIONER)
    appointment = AppointmentFactory(
        patient=patient, starts_at=timezone.now() - timedelta(minutes=20)
    )
    with pytest.raises(PermissionDenied):
        services.record_no_show(
            appointment=appointment, by=doctor, via=Face.PRACTITIONER
        )

    appointment.practitioner.user = doctor
    appointment.practitioner.save(update_fields=["user"])
    services.record_no_show(appointment=appointment, by=doctor, via=Face.PRACTITIONER)

    appointment.refresh_from_db()
    assert appointment.state == State.NO_SHOW

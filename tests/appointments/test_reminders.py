"""Confirmation and reminders through the outbox: when, to whom, on which channel,
under which key, and what they say (and never say)."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.utils import timezone

from appointments import outbox, services
from appointments.models import Face
from conciergerie.notifications import services as notifications
from conciergerie.notifications.backends import LocmemSmsBackend
from conciergerie.notifications.models import Message
from conciergerie.notifications.sms import sms_length
from tests.appointments.factories import at, open_practitioner, slot_after

REMINDER = "appointments/messages/reminder"
CONFIRMATION = "appointments/messages/confirmation"


def book(patient, practitioner, slot, *, now=None):
    return services.book_appointment(
        patient=patient,
        practitioner=practitioner,
        kind=slot.kind,
        starts_at=slot.starts_at,
        by=patient.user,
        via=Face.PORTAL,
        now=now,
    )


def reminders():
    return Message.objects.filter(template=REMINDER)


def test_reminders_fall_due_a_day_before_by_sms_and_email_and_expire_at_the_start(
    patient, practitioner
):
    appointment = book(patient, practitioner, slot_after(practitioner, hours=72))

    rows = {message.channel: message for message in reminders()}

    assert set(rows) == {"sms", "email"}
    for message in rows.values():
        assert message.due_at == appointment.starts_at - timedelta(hours=24)
        assert message.expires_at == appointment.starts_at
        assert message.state == Message.State.PENDING
        assert outbox.stamp(appointment.starts_at) in message.key
    assert rows["sms"].to == patient.mobile_phone.as_e164
    assert rows["email"].to == patient.email


def test_the_confirmation_goes_at_once_and_only_it_when_booked_less_than_a_day_ahead(
    patient, practitioner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        book(patient, practitioner, slot_after(practitioner, hours=6))

    assert not reminders().exists()
    confirmations = Message.objects.filter(template=CONFIRMATION)
    assert confirmations.count() == 2
    assert set(confirmations.values_list("state", flat=True)) == {Message.State.SENT}


def test_reminder_offsets_are_a_setting(patient, practitioner, settings):
    settings.APPOINTMENT_REMINDER_OFFSETS = [72, 24]

    appointment = book(patient, practitioner, slot_after(practitioner, hours=24 * 5))

    offsets = sorted(
        (appointment.starts_at - message.due_at) / timedelta(hours=1)
        for message in reminders().filter(channel="email")
    )
    assert offsets == [24, 72]


def test_the_patients_channel_preference_is_followed(patient, practitioner):
    patient.reminder_channel = "sms"
    patient.save(update_fields=["reminder_channel"])

    book(patient, practitioner, slot_after(practitioner, hours=72))

    assert set(reminders().values_list("channel", flat=True)) == {"sms"}


def test_without_a_mobile_number_sms_falls_back_to_email(patient, practitioner):
    patient.reminder_channel = "sms"
    patient.mobile_phone = ""
    patient.save(update_fields=["reminder_channel", "mobile_phone"])

    book(patient, practitioner, slot_after(practitioner, hours=72))

    assert set(reminders().values_list("channel", flat=True)) == {"email"}


def test_a_reminder_falling_in_the_quiet_hours_waits_for_their_end(patient):
    patient.quiet_hours_start = time(19, 0)
    patient.quiet_hours_end = time(9, 0)
    patient.save(update_fields=["quiet_hours_start", "quiet_hours_end"])
    practitioner = open_practitioner(start=time(19, 30), end=time(20, 30))
    slot = slot_after(practitioner, hours=72)

    appointment = book(patient, practitioner, slot)

    due = {timezone.localtime(m.due_at).time() for m in reminders()}
    assert due == {time(9, 0)}
    assert all(m.due_at < appointment.starts_at for m in reminders())
    assert all(
        timezone.localtime(m.due_at).date()
        == timezone.localtime(appointment.starts_at).date()
        for m in reminders()
    )


@pytest.mark.parametrize(
    ("appointment_local", "expected_utc", "expected_local_hour"),
    [
        # Clocks go forward on Sunday 28 March 2027 at 02:00: 24 real hours
        # before 10:00 summer time is 09:00 winter time on Saturday.
        (at(2027, 3, 28, 10), datetime(2027, 3, 27, 8, 0, tzinfo=UTC), 9),
        # Clocks go back on Sunday 31 October 2027 at 03:00: 24 real hours
        # before 10:00 winter time is 11:00 summer time on Saturday.
        (at(2027, 10, 31, 10), datetime(2027, 10, 30, 9, 0, tzinfo=UTC), 11),
    ],
)
def test_a_reminder_the_morning_after_the_clocks_change_is_due_24_real_hours_before(
    patient, appointment_local, expected_utc, expected_local_hour
):
    practitioner = open_practitioner()
    starts_at = appointment_local
    booked_on = starts_at - timedelta(days=6)

    appointment = services.book_appointment(
        patient=patient,
        practitioner=practitioner,
        kind="first_visit",
        starts_at=starts_at,
        by=patient.user,
        via=Face.PORTAL,
        now=booked_on,
    )

    assert appointment.starts_at == starts_at
    for message in reminders():
        assert message.due_at == expected_utc
        assert appointment.starts_at - message.due_at == timedelta(hours=24)
        assert timezone.localtime(message.due_at).hour == expected_local_hour
        one_second = timedelta(seconds=1)
        assert not Message.objects.due(now=expected_utc - one_second).filter(
            pk=message.pk
        )
        assert Message.objects.due(now=expected_utc).filter(pk=message.pk)


def test_the_sms_reminder_fits_two_segments_and_carries_no_medical_detail(
    patient, settings
):
    settings.SITE_URL = "https://www.conciergerie-medicale.example.fr"
    practitioner = open_practitioner(
        first_name="Marie-Bérangère", last_name="de La Tour-Dauvergne-Lauraguais"
    )
    book(patient, practitioner, slot_after(practitioner, hours=72))
    message = reminders().get(channel="sms")

    for language in ("fr", "en"):
        rendered = notifications.render_message(
            channel="sms",
            template=REMINDER,
            context=message.context,
            language=language,
        )
        assert sms_length(rendered.text).segments <= 2
        assert message.context["confirm_url"] in rendered.text
        assert message.context["cancel_url"] in rendered.text
        for word in ("cardio", "Cardio", "motif", "reason"):
            assert word not in rendered.text
    assert not {"specialty", "reason", "diagnosis"} & set(message.context)


def test_a_due_reminder_is_sent_once_with_its_links(patient, practitioner):
    appointment = book(patient, practitioner, slot_after(practitioner, hours=72))
    LocmemSmsBackend.reset()
    sms = reminders().get(channel="sms")
    later = appointment.starts_at - timedelta(hours=23)

    notifications.send_message(message_id=sms.pk)  # not due yet: nothing
    Message.objects.filter(pk=sms.pk).update(next_attempt_at=timezone.now())
    notifications.send_message(message_id=sms.pk)
    notifications.send_message(message_id=sms.pk)

    assert later > timezone.now()
    assert len(LocmemSmsBackend.outbox) == 1
    assert "/appointments/a/" in LocmemSmsBackend.outbox[0].body


def test_a_cancelled_appointment_sends_no_reminder(patient, practitioner):
    appointment = book(patient, practitioner, slot_after(practitioner, hours=72))
    services.cancel_appointment(
        appointment=appointment, by=patient.user, via=Face.PORTAL, reason="Voyage"
    )
    Message.objects.filter(template=REMINDER).update(next_attempt_at=timezone.now())

    report = notifications.sweep_outbox()

    assert report.enqueued == 0
    assert set(reminders().values_list("state", flat=True)) == {Message.State.CANCELLED}


def test_a_reminder_is_never_sent_after_the_start(patient, practitioner):
    appointment = book(patient, practitioner, slot_after(practitioner, hours=72))
    email = reminders().get(channel="email")
    Message.objects.filter(pk=email.pk).update(
        next_attempt_at=timezone.now(), expires_at=timezone.now()
    )

    notifications.send_message(message_id=email.pk)

    email.refresh_from_db()
    assert email.state == Message.State.FAILED
    assert email.error_code == "expired"
    assert appointment.starts_at > timezone.now()


def test_a_guardian_gets_the_messages_of_a_child_without_an_email(practitioner):
    from tests.patients.factories import GuardianshipFactory

    guardianship = GuardianshipFactory(patient__mobile_phone="")
    child = guardianship.patient
    slot = slot_after(practitioner, hours=72)

    services.book_appointment(
        patient=child,
        practitioner=practitioner,
        kind=slot.kind,
        starts_at=slot.starts_at,
        by=guardianship.guardian,
        via=Face.PORTAL,
    )

    assert set(reminders().values_list("to", flat=True)) == {
        guardianship.guardian.email
    }


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize(
    "template",
    ["confirmation", "reminder", "rescheduled", "cancelled", "waitlist_offer"],
)
def test_every_appointment_sms_fits_two_segments_in_both_languages(
    patient, settings, template, language
):
    settings.SITE_URL = "https://www.conciergerie-medicale.example.fr"
    practitioner = open_practitioner(
        first_name="Marie-Bérangère", last_name="de La Tour-Dauvergne-Lauraguais"
    )
    practitioner.places.update(commune="Saint-Rémy-de-Provence-sur-Durance")
    appointment = book(patient, practitioner, slot_after(practitioner, hours=72))
    context = outbox.appointment_context(appointment)
    context["link"] = context["confirm_url"]

    rendered = notifications.render_message(
        channel="sms",
        template=f"appointments/messages/{template}",
        context=context,
        language=language,
    )

    assert sms_length(rendered.text).segments <= 2, rendered.text

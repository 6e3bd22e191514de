"""Booking, holding, confirming, cancelling, moving, and recording the outcome.

The order of every service: lock, guard, transition, save, other apps' services,
then side effects after commit. PostgreSQL settles races: the insert of a new
appointment runs in a savepoint, and the exclusion constraint's violation (two
active appointments of one practitioner overlapping) becomes a `SlotTaken` error
carrying fresh alternatives, never a 500.
"""

import logging
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from conciergerie.partners import services as partners
from patients import services as patients
from specialists import services as directory
from specialists.availability import Slot
from specialists.models import (
    ConsultationType,
    PracticePlace,
    Practitioner,
    Specialty,
)

from .. import access, availability, outbox, rules, tasks
from ..models import Appointment, AppointmentEvent, Face, NoShowFlag

logger = logging.getLogger(__name__)

State = Appointment.State
Kind = ConsultationType.Kind
EXCLUSION_VIOLATION = "23P01"
RELATIONS = [
    field.name
    for field in Appointment._meta.get_fields()
    if field.is_relation and field.concrete
]
NO_DOUBLE_BOOKING = "appointments_no_double_booking"


class SlotTaken(ValidationError):
    """Someone else got the slot first; `alternatives` are the next free ones."""

    def __init__(self, *, alternatives: list[Slot]) -> None:
        super().__init__(
            _("This slot was just taken. Here are the next free ones."),
            code="slot_taken",
        )
        self.alternatives = alternatives


def _field_error(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def _actor(by):
    return by if by is not None and by.is_authenticated else None


def _event(
    appointment: Appointment, action: str, *, by, via: str, note: str = ""
) -> AppointmentEvent:
    return AppointmentEvent.objects.create(
        appointment=appointment, action=action, by=_actor(by), via=via, note=note[:500]
    )


def _lock(appointment: Appointment) -> Appointment:
    return (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("practitioner", "patient", "place")
        .get(pk=appointment.pk)
    )


def _check_patient(patient) -> None:
    if patient.merged_into_id or patient.purged_at or patient.erased_at:
        raise ValidationError(
            _("This patient file is closed: book on the file it was merged into."),
            code="patient_closed",
        )


def _check_time(starts_at: datetime) -> datetime:
    if timezone.is_naive(starts_at):
        raise _field_error(
            "starts_at", _("The time must carry a time zone."), "naive_datetime"
        )
    return starts_at.astimezone(UTC)


def _mode(kind: str) -> str:
    return (
        Appointment.Mode.VIDEO
        if kind == Kind.TELECONSULTATION
        else (Appointment.Mode.IN_PERSON)
    )


def _default_specialty(practitioner: Practitioner):
    return practitioner.specialties.order_by("sort_order").first()


# --- Holds ----------------------------------------------------------------------------


def expire_stale_holds(
    *, practitioner_id: int | None = None, now: datetime | None = None
) -> list[int]:
    """Release holds whose time is up (all, or one practitioner's); their ids.

    The booking service runs it for the practitioner before inserting, so that a
    hold forgotten by its patient never blocks the next one; a beat task sweeps
    the rest every minute.
    """
    now = now or timezone.now()
    table = Appointment._meta.db_table
    condition = "state = %s AND hold_expires_at <= %s"
    params: list = [State.EXPIRED, now, State.HELD, now]
    if practitioner_id is not None:
        condition += " AND practitioner_id = %s"
        params.append(practitioner_id)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET state = %s, updated_at = %s "  # noqa: S608 - the table name comes from the model  # nosec B608
            f"WHERE {condition} RETURNING id",
            params,
        )
        ids = [row[0] for row in cursor.fetchall()]
    if ids:
        AppointmentEvent.objects.bulk_create(
            AppointmentEvent(
                appointment_id=pk,
                action=AppointmentEvent.Action.EXPIRED,
                via=Face.SYSTEM,
                created_at=now,
            )
            for pk in ids
        )
    return ids


# --- Booking --------------------------------------------------------------------------


def _is_double_booking(error: IntegrityError) -> bool:
    cause = error.__cause__
    if getattr(cause, "sqlstate", None) != EXCLUSION_VIOLATION:
        return False
    diag = getattr(cause, "diag", None)
    return getattr(diag, "constraint_name", NO_DOUBLE_BOOKING) == NO_DOUBLE_BOOKING


def slot_taken(
    *, practitioner_id: int, kind: str, after: datetime, now: datetime | None = None
) -> SlotTaken:
    return SlotTaken(
        alternatives=availability.alternatives(
            practitioner_id, kind=kind, after=after, now=now
        )
    )


def _insert(appointment: Appointment, *, now: datetime) -> None:
    """Expire the practitioner's stale holds, then insert; a lost race raises."""
    expire_stale_holds(practitioner_id=appointment.practitioner_id, now=now)
    # Related rows were loaded by the caller: checking each foreign key again
    # would cost a query apiece on the hottest path.
    appointment.clean_fields(exclude=[*RELATIONS, "state"])
    appointment.clean()
    try:
        with transaction.atomic():
            appointment.save(force_insert=True)
    except IntegrityError as error:
        if not _is_double_booking(error):
            raise
        appointment.pk = None
        raise slot_taken(
            practitioner_id=appointment.practitioner_id,
            kind=appointment.consultation_kind,
            after=appointment.starts_at,
            now=now,
        ) from error


def _free_slot(
    *,
    practitioner: Practitioner,
    kind: str,
    starts_at: datetime,
    place: PracticePlace | None,
    now: datetime,
) -> Slot:
    """The free slot asked for, or the reason why it is not one."""
    if kind not in Kind.values:
        raise _field_error(
            "kind", _("Unknown consultation type."), "unknown_consultation_type"
        )
    if kind == Kind.TELECONSULTATION and place is not None:
        raise _field_error(
            "place", _("A video consultation has no place."), "place_not_allowed"
        )
    if starts_at - now < rules.notice(kind, "book"):
        raise _field_error(
            "starts_at",
            _("This slot is too soon to be booked: choose a later one."),
            "booking_notice",
        )
    place_id = place.pk if place is not None else None
    slot = availability.find_slot(
        practitioner.pk, kind=kind, starts_at=starts_at, place_id=place_id, now=now
    )
    if slot is not None:
        return slot
    if (
        availability.find_slot(
            practitioner.pk,
            kind=kind,
            starts_at=starts_at,
            place_id=place_id,
            now=now,
            ignore_bookings=True,
        )
        is not None
    ):
        raise slot_taken(practitioner_id=practitioner.pk, kind=kind, after=starts_at)
    raise _field_error(
        "starts_at",
        _("This time is not a free slot of this practitioner."),
        "not_a_slot",
    )


@transaction.atomic
def book_appointment(
    *,
    patient,
    practitioner: Practitioner,
    kind: str,
    starts_at: datetime,
    by,
    via: str,
    place: PracticePlace | None = None,
    hold: bool = False,
    specialty=None,
    follows: Appointment | None = None,
    proposed_slot=None,
    care_request=None,
    concierge_note: str = "",
    now: datetime | None = None,
) -> Appointment:
    """Book a free slot (or hold it while the patient confirms); never twice.

    The slot must be one the directory offers (opening hours, minimum notice,
    horizon, bookings); two requests racing for it end with one appointment and
    a `SlotTaken` error, with fresh alternatives, for the other.
    """
    now = now or timezone.now()
    if not access.may_book_for(by, patient):
        raise PermissionDenied
    _check_patient(patient)
    starts_at = _check_time(starts_at)
    if follows is not None and follows.patient_id != patient.pk:
        raise _field_error(
            "follows",
            _("A follow-up belongs to the same patient."),
            "foreign_appointment",
        )
    if care_request is None and follows is not None:
        care_request = follows.care_request
    from .. import care

    care.check_bookable(care_request, patient)
    slot = _free_slot(
        practitioner=practitioner,
        kind=kind,
        starts_at=starts_at,
        place=place,
        now=now,
    )
    if specialty is None and care_request is not None and care_request.specialty:
        specialty = Specialty.objects.filter(code=care_request.specialty).first()
    appointment = Appointment(
        practitioner=practitioner,
        place_id=slot.place_id,
        mode=_mode(kind),
        patient=patient,
        care_request=care_request,
        consultation_kind=kind,
        specialty=specialty
        or (follows.specialty if follows else None)
        or _default_specialty(practitioner),
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        state=State.HELD if hold else State.BOOKED,
        booked_by=_actor(by),
        booked_via=via,
        hold_expires_at=(
            now + timedelta(minutes=settings.APPOINTMENT_HOLD_MINUTES) if hold else None
        ),
        booked_at=None if hold else now,
        follows=follows,
        proposed_slot=proposed_slot,
        concierge_note=concierge_note,
    )
    _insert(appointment, now=now)
    if hold:
        _event(appointment, AppointmentEvent.Action.HELD, by=by, via=via)
        directory.availability_changed(practitioner_id=practitioner.pk)
        return appointment
    _event(appointment, AppointmentEvent.Action.BOOKED, by=by, via=via)
    _after_booking(appointment, by=by, now=now)
    return appointment


def _after_booking(appointment: Appointment, *, by, now: datetime) -> None:
    outbox.schedule_booking_messages(appointment, now=now)
    outbox.notify_practitioner(appointment, action="booked", now=now)
    directory.availability_changed(practitioner_id=appointment.practitioner_id)
    patients.touch_activity(appointment.patient)
    _publish(appointment, "appointment.booked")
    from .. import care

    care.appointment_booked(appointment, by=by)


def _publish(appointment: Appointment, event_type: str) -> None:
    partners.publish_event(
        event_type=event_type,
        payload={
            "appointment": str(appointment.public_id),
            "patient": appointment.patient.reference,
            "practitioner": str(appointment.practitioner.public_id),
            "state": appointment.state,
            "starts_at": appointment.starts_at,
            "ends_at": appointment.ends_at,
        },
        about=appointment,
    )


@transaction.atomic
def confirm_hold(
    *, appointment: Appointment, by, via: str, now: datetime | None = None
) -> Appointment:
    """The patient confirms the slot they hold: it is booked."""
    now = now or timezone.now()
    appointment = _lock(appointment)
    if not access.may_change(by, appointment):
        raise PermissionDenied
    if appointment.state in (State.BOOKED, State.CONFIRMED):
        return appointment  # a second click on the same button
    if appointment.state != State.HELD or (
        appointment.hold_expires_at and appointment.hold_expires_at <= now
    ):
        raise ValidationError(
            _("This hold has expired: choose the slot again."), code="hold_expired"
        )
    appointment.book()
    appointment.save(
        update_fields=["state", "booked_at", "hold_expires_at", "updated_at"]
    )
    _event(appointment, AppointmentEvent.Action.BOOKED, by=by, via=via)
    if appointment.proposed_slot_id is not None:
        from .proposals import accept_proposal

        accept_proposal(appointment=appointment)
    _after_booking(appointment, by=by, now=now)
    return appointment


@transaction.atomic
def release_hold(*, appointment: Appointment, by, via: str) -> Appointment:
    """The patient gives up the slot they hold: it is free at once."""
    appointment = _lock(appointment)
    if not access.may_change(by, appointment):
        raise PermissionDenied
    if not can_proceed(appointment.expire):
        raise ValidationError(_("This slot is not held."), code="not_held")
    appointment.expire()
    appointment.save(update_fields=["state", "updated_at"])
    _event(appointment, AppointmentEvent.Action.EXPIRED, by=by, via=via)
    directory.availability_changed(practitioner_id=appointment.practitioner_id)
    return appointment


# --- Confirming, cancelling, moving ---------------------------------------------------


@transaction.atomic
def confirm_appointment(
    *, appointment: Appointment, by, via: str, now: datetime | None = None
) -> Appointment:
    """The patient says they will come (one click in a reminder)."""
    now = now or timezone.now()
    appointment = _lock(appointment)
    if not access.may_change(by, appointment):
        raise PermissionDenied
    if appointment.state == State.CONFIRMED:
        return appointment
    if appointment.starts_at <= now or not can_proceed(appointment.confirm):
        raise ValidationError(
            _("This appointment can no longer be confirmed."), code="not_confirmable"
        )
    appointment.confirm()
    appointment.save(update_fields=["state", "confirmed_at", "updated_at"])
    _event(appointment, AppointmentEvent.Action.CONFIRMED, by=by, via=via)
    return appointment


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise _field_error("reason", _("Say why, in a few words."), "reason_required")
    return reason[:500]


@transaction.atomic
def cancel_appointment(
    *,
    appointment: Appointment,
    by,
    via: str,
    reason: str,
    now: datetime | None = None,
) -> Appointment:
    """Cancel with a reason; inside the notice it is recorded as a late cancellation.

    Reminders not sent yet are cancelled, the patient and the practitioner are
    told, and the freed slot is offered to the waitlist after commit.
    """
    now = now or timezone.now()
    appointment = _lock(appointment)
    if not access.may_change(by, appointment):
        raise PermissionDenied
    reason = _reason(reason)
    if appointment.state not in (State.BOOKED, State.CONFIRMED):
        raise ValidationError(
            _("This appointment can no longer be cancelled."), code="not_cancellable"
        )
    if appointment.starts_at <= now:
        raise ValidationError(
            _("This appointment has already started."), code="already_started"
        )
    late = rules.is_inside_notice(
        kind=appointment.consultation_kind,
        starts_at=appointment.starts_at,
        action="cancel",
        now=now,
    )
    if late:
        appointment.cancel_late(by=_actor(by), reason=reason)
    else:
        appointment.cancel(by=_actor(by), reason=reason)
    appointment.ics_sequence += 1
    appointment.save(
        update_fields=[
            "state",
            "cancelled_at",
            "cancelled_by",
            "cancellation_reason",
            "late",
            "ics_sequence",
            "updated_at",
        ]
    )
    action = (
        AppointmentEvent.Action.LATE_CANCELLED
        if late
        else AppointmentEvent.Action.CANCELLED
    )
    _event(appointment, action, by=by, via=via, note=reason)
    outbox.cancel_appointment_messages(appointment)
    outbox.schedule_cancellation_notice(appointment, now=now)
    outbox.notify_practitioner(appointment, action="cancelled", now=now)
    directory.availability_changed(practitioner_id=appointment.practitioner_id)
    _publish(appointment, "appointment.cancelled")
    _close_dependants(appointment)
    tasks.offer_freed_slot.delay_on_commit(appointment.pk)
    from .. import care

    care.appointment_cancelled(appointment, by=by)
    return appointment


def _close_dependants(appointment: Appointment) -> None:
    """A cancelled appointment no longer waits for an earlier slot nor shares a file."""
    from ..models import PreConsultationShare, WaitlistEntry

    for entry in WaitlistEntry.objects.select_for_update().filter(
        appointment=appointment, state=WaitlistEntry.State.WAITING
    ):
        entry.withdraw()
        entry.save(update_fields=["state", "updated_at"])
    PreConsultationShare.objects.filter(
        appointment=appointment, revoked_at__isnull=True
    ).update(revoked_at=timezone.now(), updated_at=timezone.now())


@transaction.atomic
def reschedule_appointment(
    *,
    appointment: Appointment,
    starts_at: datetime,
    by,
    via: str,
    reason: str,
    place: PracticePlace | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Move to another free slot of the same practitioner; returns the new one.

    The old appointment ends `rescheduled` and the new one keeps its calendar
    identity with a higher SEQUENCE. Inside the notice the move is recorded as
    late, and patients and partners can no longer move online. If the new slot
    is taken meanwhile, nothing changes and `SlotTaken` is raised.
    """
    now = now or timezone.now()
    old = _lock(appointment)
    if not access.may_change(by, old):
        raise PermissionDenied
    reason = _reason(reason)
    if old.state not in (State.BOOKED, State.CONFIRMED):
        raise ValidationError(
            _("This appointment can no longer be moved."), code="not_reschedulable"
        )
    if old.starts_at <= now:
        raise ValidationError(
            _("This appointment has already started."), code="already_started"
        )
    starts_at = _check_time(starts_at)
    late = rules.is_inside_notice(
        kind=old.consultation_kind,
        starts_at=old.starts_at,
        action="reschedule",
        now=now,
    )
    if late and access.acts_online(by):
        raise ValidationError(
            _(
                "It is too late to move this appointment online: cancel it, or call "
                "us and we will find another time."
            ),
            code="reschedule_notice",
        )
    old.move(by=_actor(by), reason=reason, late=late)
    old.save(
        update_fields=[
            "state",
            "cancelled_at",
            "cancelled_by",
            "cancellation_reason",
            "late",
            "updated_at",
        ]
    )
    # The old slot is free within this transaction: a move by a quarter of an
    # hour may overlap the appointment it replaces.
    slot = _free_slot(
        practitioner=old.practitioner,
        kind=old.consultation_kind,
        starts_at=starts_at,
        place=place,
        now=now,
    )
    new = Appointment(
        practitioner=old.practitioner,
        place_id=slot.place_id,
        mode=old.mode,
        patient=old.patient,
        care_request_id=old.care_request_id,
        consultation_kind=old.consultation_kind,
        specialty=old.specialty,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        state=State.BOOKED,
        booked_by=_actor(by),
        booked_via=via,
        booked_at=now,
        rescheduled_from=old,
        follows=old.follows,
        concierge_note=old.concierge_note,
        checklist_done=list(old.checklist_done),
        ics_uid=old.ics_uid,
        ics_sequence=old.ics_sequence + 1,
    )
    _insert(new, now=now)
    _event(old, AppointmentEvent.Action.RESCHEDULED, by=by, via=via, note=reason)
    _event(new, AppointmentEvent.Action.BOOKED, by=by, via=via, note=reason)
    _carry_over(old, new)
    outbox.cancel_appointment_messages(old)
    outbox.schedule_booking_messages(new, now=now, template_kind="rescheduled")
    outbox.notify_practitioner(new, action="moved", now=now)
    directory.availability_changed(practitioner_id=new.practitioner_id)
    patients.touch_activity(new.patient)
    _publish(new, "appointment.rescheduled")
    tasks.offer_freed_slot.delay_on_commit(old.pk)
    from .. import care

    care.appointment_rescheduled(old, new, by=by)
    return new


def _carry_over(old: Appointment, new: Appointment) -> None:
    """What belonged to the old appointment follows the new one."""
    from ..models import PreConsultationShare, WaitlistEntry

    days = timedelta(days=settings.APPOINTMENT_PRECONSULTATION_DAYS)
    PreConsultationShare.objects.filter(
        appointment=old, revoked_at__isnull=True
    ).update(appointment=new, expires_at=new.ends_at + days, updated_at=timezone.now())
    WaitlistEntry.objects.filter(
        appointment=old, state=WaitlistEntry.State.WAITING
    ).update(appointment=new, updated_at=timezone.now())


# --- After the start: done or missed -------------------------------------------------


@transaction.atomic
def mark_done(
    *, appointment: Appointment, by, via: str, now: datetime | None = None
) -> Appointment:
    """The consultation took place: ask the practitioner for the report."""
    now = now or timezone.now()
    appointment = _lock(appointment)
    if not access.may_record_outcome(by, appointment):
        raise PermissionDenied
    if appointment.state == State.DONE:
        return appointment
    if not can_proceed(appointment.mark_done):
        raise ValidationError(
            _("Only a booked appointment that has started can be marked done."),
            code="not_done_yet",
        )
    appointment.mark_done(by=_actor(by))
    appointment.save(
        update_fields=["state", "done_at", "outcome_recorded_by", "updated_at"]
    )
    _event(appointment, AppointmentEvent.Action.DONE, by=by, via=via)
    from ..models import WaitlistEntry

    WaitlistEntry.objects.filter(
        appointment=appointment, state=WaitlistEntry.State.WAITING
    ).update(state=WaitlistEntry.State.EXPIRED, updated_at=now)
    patients.touch_activity(appointment.patient)
    from .visit import request_report

    request_report(appointment=appointment, by=by, now=now)
    from .. import care

    care.appointment_done(appointment, by=by)
    from .. import surveys

    surveys.queue_survey(appointment, now=now)
    return appointment


@transaction.atomic
def record_no_show(
    *, appointment: Appointment, by, via: str, now: datetime | None = None
) -> Appointment:
    """The patient did not come; repeated no-shows flag their file."""
    now = now or timezone.now()
    appointment = _lock(appointment)
    if not access.may_record_outcome(by, appointment):
        raise PermissionDenied
    if appointment.state == State.NO_SHOW:
        return appointment
    if not can_proceed(appointment.mark_no_show):
        raise ValidationError(
            _("Only a booked appointment that has started can be recorded as missed."),
            code="not_missable",
        )
    appointment.mark_no_show(by=_actor(by))
    appointment.save(
        update_fields=["state", "no_show_at", "outcome_recorded_by", "updated_at"]
    )
    _event(appointment, AppointmentEvent.Action.NO_SHOW, by=by, via=via)
    _publish(appointment, "appointment.no_show")
    flag_repeated_no_shows(patient=appointment.patient, now=now)
    from .. import care

    care.appointment_missed(appointment, by=by)
    return appointment


def flag_repeated_no_shows(*, patient, now: datetime | None = None):
    """Raise (or update) the patient's flag once the threshold is reached."""
    now = now or timezone.now()
    since = now - timedelta(days=settings.APPOINTMENT_NO_SHOW_WINDOW_DAYS)
    missed = Appointment.objects.filter(
        patient=patient, state=State.NO_SHOW, starts_at__gte=since
    )
    count = missed.count()
    if count < settings.APPOINTMENT_NO_SHOW_THRESHOLD:
        return None
    last = missed.aggregate(last=Max("starts_at"))["last"] or now
    flag = (
        NoShowFlag.objects.select_for_update().raised().filter(patient=patient).first()
    )
    if flag is None:
        return NoShowFlag.objects.create(
            patient=patient, no_shows=count, last_no_show_at=last
        )
    flag.no_shows = count
    flag.last_no_show_at = last
    flag.save(update_fields=["no_shows", "last_no_show_at", "updated_at"])
    return flag


@transaction.atomic
def clear_no_show_flag(*, flag: NoShowFlag, by, note: str = "") -> NoShowFlag:
    """The concierge talked with the patient: the flag is lifted (kept as history)."""
    if not (
        access.is_back_office(by) and by.has_perm("appointments.change_noshowflag")
    ):
        raise PermissionDenied
    flag = NoShowFlag.objects.select_for_update().get(pk=flag.pk)
    if flag.cleared_at is None:
        flag.cleared_at = timezone.now()
        flag.cleared_by = by
        flag.note = note[:500]
        flag.save(update_fields=["cleared_at", "cleared_by", "note", "updated_at"])
    return flag


def has_raised_no_show_flag(patient) -> bool:
    return NoShowFlag.objects.raised().filter(patient=patient).exists()


def face_of(user) -> str:
    """The face a signed-in user acts through, for the event log."""
    if access.is_back_office(user):
        return Face.ADMIN
    if user is not None and user.has_role("practitioner"):
        return Face.PRACTITIONER
    return Face.PORTAL

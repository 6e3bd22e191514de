"""Every message about an appointment, through the outbox of
`conciergerie.notifications`: confirmation, reminders, change and cancellation
notices, proposals, waitlist offers, and the practitioner's and pharmacy's mail.

Each message is scheduled inside the transaction of the change that calls for it,
under a key naming the appointment, the kind, the channel and the start time
(`appointments.appointment:<pk>:reminder-24h@20270327T0900Z:sms`): scheduling
twice makes one message, and a moved appointment gets new keys after its old
messages are cancelled. Contexts carry no medical details (no specialty, no
reason): reminders are read on lock screens and shared phones.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.urls import reverse

from conciergerie.accounts.models import User
from conciergerie.notifications import services as outbox
from conciergerie.notifications.timing import shift_out_of_quiet_hours

from . import links, rules
from .models import Appointment

TEMPLATES = {
    "confirmation": "appointments/messages/confirmation",
    "reminder": "appointments/messages/reminder",
    "rescheduled": "appointments/messages/rescheduled",
    "cancelled": "appointments/messages/cancelled",
    "proposal": "appointments/messages/proposal",
    "waitlist_offer": "appointments/messages/waitlist_offer",
    "report_available": "appointments/messages/report_available",
    "practitioner_notice": "appointments/messages/practitioner_notice",
    "pre_consultation": "appointments/messages/pre_consultation",
    "report_request": "appointments/messages/report_request",
    "prescription": "appointments/messages/prescription",
}
#: Messages about the appointment itself, cancelled when it is cancelled or moved.
APPOINTMENT_TEMPLATES = [
    TEMPLATES["confirmation"],
    TEMPLATES["reminder"],
    TEMPLATES["rescheduled"],
]
#: A reminder is not sent later than this before the start (quiet hours may push
#: it): a reminder an hour before is no longer a reminder.
REMINDER_LATEST = timedelta(hours=1)


#: Apps above this one add to the context of messages about an appointment (the
#: video app's personal join link), registered when they start.
_context_providers: list[Callable[[Appointment], dict]] = []


def register_context_provider(provider: Callable[[Appointment], dict]) -> None:
    if provider not in _context_providers:
        _context_providers.append(provider)


@dataclass(frozen=True)
class Recipient:
    channel: str
    to: str
    user: User | None
    language: str


def _email_of(patient) -> tuple[str, User | None]:
    """The address a patient's messages go to: theirs, else a guardian's."""
    user = patient.user
    if patient.email:
        return patient.email, user
    if user is not None and user.email:
        return user.email, user
    guardianship = (
        patient.guardianships.filter(ended_at__isnull=True)
        .select_related("guardian")
        .order_by("created_at")
        .first()
    )
    if guardianship is not None:
        return guardianship.guardian.email, guardianship.guardian
    return "", user


def patient_recipients(patient) -> list[Recipient]:
    """Who gets the messages about a patient's appointments, on which channels.

    The patient's preference decides (SMS, email or both); a missing number or
    address falls back to the other channel, so that nobody is left uninformed.
    """
    language = patient.preferred_language or "fr"
    email, user = _email_of(patient)
    phone = patient.mobile_phone.as_e164 if patient.mobile_phone else ""
    preference = patient.reminder_channel
    wanted = {"sms", "email"} if preference == "both" else {preference}
    if "sms" in wanted and not phone:
        wanted = (wanted - {"sms"}) | {"email"}
    if "email" in wanted and not email:
        wanted = (wanted - {"email"}) | ({"sms"} if phone else set())
    recipients = []
    if "email" in wanted and email:
        recipients.append(Recipient("email", email, user, language))
    if "sms" in wanted and phone:
        recipients.append(Recipient("sms", phone, user, language))
    return recipients


def quiet_hours(patient):
    if patient.quiet_hours_start is not None and patient.quiet_hours_end is not None:
        return patient.quiet_hours_start, patient.quiet_hours_end
    return rules.default_quiet_hours()


def stamp(starts_at: datetime) -> str:
    """The start time in a key: a moved appointment makes new keys."""
    return f"{starts_at.astimezone(UTC):%Y%m%dT%H%MZ}"


def _first_name(patient) -> str:
    return (patient.first_names or "").split(" ")[0]


def _place_line(appointment: Appointment) -> str:
    place = appointment.place
    if place is None:
        return ""
    parts = [place.name, place.address, f"{place.postal_code} {place.commune}"]
    return ", ".join(part.strip() for part in parts if part and part.strip())


def appointment_context(appointment: Appointment) -> dict:
    """What every patient message about an appointment may show: no medical details."""
    public_id = appointment.public_id
    place = appointment.place
    context = {
        "first_name": _first_name(appointment.patient),
        "starts_at": appointment.starts_at,
        "duration": appointment.duration_minutes,
        "practitioner": appointment.practitioner.display_name,
        "video": appointment.is_video,
        "where": _place_line(appointment),
        "commune": place.commune if place is not None else "",
        "link": links.absolute(appointment.get_absolute_url()),
        "confirm_url": links.url(
            "appointments:act", links.Purpose.ACTION, public_id, "c"
        ),
        "cancel_url": links.url(
            "appointments:act", links.Purpose.ACTION, public_id, "x"
        ),
        "ics_url": links.url("appointments:ics", links.Purpose.ICS, public_id),
        "checklist_url": links.absolute(
            reverse("appointments:prepare", kwargs={"public_id": public_id})
        ),
    }
    for provider in _context_providers:
        context.update(provider(appointment))
    return context


def _patient_messages(
    appointment: Appointment,
    *,
    kind: str,
    template: str,
    due_at: datetime,
    context: dict,
    expires_at: datetime | None,
    shift_quiet: bool = False,
    latest: datetime | None = None,
) -> list[outbox.MessageSpec]:
    """One message of `kind` per channel the patient (or guardian) is reached on."""
    subject = outbox.subject_for(appointment)
    specs = []
    patient = appointment.patient
    hours = quiet_hours(patient) if shift_quiet else None
    for recipient in patient_recipients(patient):
        due = due_at
        if hours is not None:
            due = shift_out_of_quiet_hours(due_at, start=hours[0], end=hours[1])
        if latest is not None and due > latest:
            continue
        specs.append(
            outbox.MessageSpec(
                key=outbox.message_key(
                    subject=subject, kind=kind, channel=recipient.channel
                ),
                subject=subject,
                channel=recipient.channel,
                to=recipient.to,
                template=template,
                context=context,
                due_at=due,
                expires_at=expires_at,
                language=recipient.language,
                user=recipient.user,
            )
        )
    return specs


def _schedule_for_patient(appointment: Appointment, **spec: Any) -> list:
    return outbox.schedule_messages(_patient_messages(appointment, **spec))


def schedule_booking_messages(
    appointment: Appointment, *, now: datetime, template_kind: str = "confirmation"
) -> list:
    """The confirmation now (or the notice of a move), then the reminders.

    A reminder whose time has already passed is not scheduled: a booking made
    less than a day ahead gets its confirmation only. Reminders fall due exactly
    `offset` real hours before the start (DST-proof: aware UTC arithmetic), moved
    out of the patient's quiet hours, and expire at the start. All of them are
    scheduled in one batch (a handful of queries, not five per message).
    """
    context = appointment_context(appointment)
    key_stamp = stamp(appointment.starts_at)
    specs = _patient_messages(
        appointment,
        kind=f"{template_kind}@{key_stamp}",
        template=TEMPLATES[template_kind],
        due_at=now,
        context=context,
        expires_at=appointment.starts_at,
    )
    for offset in sorted(set(settings.APPOINTMENT_REMINDER_OFFSETS), reverse=True):
        due_at = appointment.starts_at - timedelta(hours=offset)
        if due_at <= now:
            continue
        specs += _patient_messages(
            appointment,
            kind=f"reminder-{offset}h@{key_stamp}",
            template=TEMPLATES["reminder"],
            due_at=due_at,
            context=context,
            expires_at=appointment.starts_at,
            shift_quiet=True,
            latest=appointment.starts_at - REMINDER_LATEST,
        )
    return outbox.schedule_messages(specs)


def cancel_appointment_messages(appointment: Appointment) -> int:
    """Cancel the confirmation and reminders not sent yet."""
    return outbox.cancel_messages(
        subject=outbox.subject_for(appointment), templates=APPOINTMENT_TEMPLATES
    )


def schedule_cancellation_notice(appointment: Appointment, *, now: datetime) -> list:
    context = appointment_context(appointment)
    context.pop("confirm_url")
    context.pop("cancel_url")
    context["rebook_url"] = links.absolute(reverse("appointments:index"))
    return _schedule_for_patient(
        appointment,
        kind=f"cancelled@{stamp(appointment.starts_at)}",
        template=TEMPLATES["cancelled"],
        due_at=now,
        context=context,
        expires_at=appointment.starts_at,
    )


def schedule_report_available(appointment: Appointment, *, now: datetime) -> list:
    return _schedule_for_patient(
        appointment,
        kind="report-available",
        template=TEMPLATES["report_available"],
        due_at=now,
        context={
            "first_name": _first_name(appointment.patient),
            "practitioner": appointment.practitioner.display_name,
            "link": links.absolute(
                reverse(
                    "patients:documents",
                    kwargs={"reference": appointment.patient.reference},
                )
            ),
        },
        expires_at=None,
    )


def practitioner_address(practitioner) -> str:
    """Where the practitioner's mail goes: the concierge contact, else the login."""
    if practitioner.contact_email:
        return practitioner.contact_email
    user = practitioner.user
    return user.email if user is not None else ""


def notify_practitioner(appointment: Appointment, *, action: str, now: datetime):
    """Tell the practitioner about a booking, a move or a cancellation."""
    to = practitioner_address(appointment.practitioner)
    if not to:
        return None
    patient = appointment.patient
    subject = outbox.subject_for(appointment)
    return outbox.schedule_message(
        key=outbox.message_key(
            subject=subject,
            kind=f"practitioner-{action}@{stamp(appointment.starts_at)}",
            channel="email",
        ),
        subject=subject,
        channel="email",
        to=to,
        template=TEMPLATES["practitioner_notice"],
        context={
            "action": action,
            "practitioner": appointment.practitioner.display_name,
            "patient_name": patient.full_name,
            "patient_reference": patient.reference,
            "starts_at": appointment.starts_at,
            "duration": appointment.duration_minutes,
            "video": appointment.is_video,
            "where": _place_line(appointment),
        },
        due_at=now,
        expires_at=appointment.ends_at,
        language="fr",
        user=appointment.practitioner.user,
    )


def schedule_email(
    *,
    obj,
    to: str,
    kind: str,
    template: str,
    context: dict,
    now: datetime,
    expires_at: datetime | None = None,
    user=None,
    language: str = "fr",
):
    """One email about `obj` to an address outside the patient's file."""
    subject = outbox.subject_for(obj)
    return outbox.schedule_message(
        key=outbox.message_key(subject=subject, kind=kind, channel="email"),
        subject=subject,
        channel="email",
        to=to,
        template=TEMPLATES[template],
        context=context,
        due_at=now,
        expires_at=expires_at,
        language=language,
        user=user,
    )


def schedule_to_practitioner(
    *,
    obj,
    practitioner,
    kind: str,
    template: str,
    context: dict,
    now: datetime,
    expires_at: datetime | None = None,
):
    """One email to a practitioner about `obj` (a file shared, a report wanted)."""
    to = practitioner_address(practitioner)
    if not to:
        return None
    return schedule_email(
        obj=obj,
        to=to,
        kind=kind,
        template=template,
        context={"practitioner": practitioner.display_name, **context},
        now=now,
        expires_at=expires_at,
        user=practitioner.user,
    )


def schedule_to_patient(
    *,
    obj,
    patient,
    kind: str,
    template: str,
    context: dict,
    now: datetime,
    expires_at: datetime | None = None,
) -> list:
    """Messages to a patient about something other than an appointment."""
    subject = outbox.subject_for(obj)
    messages = []
    for recipient in patient_recipients(patient):
        messages.append(
            outbox.schedule_message(
                key=outbox.message_key(
                    subject=subject, kind=kind, channel=recipient.channel
                ),
                subject=subject,
                channel=recipient.channel,
                to=recipient.to,
                template=TEMPLATES[template],
                context={"first_name": _first_name(patient), **context},
                due_at=now,
                expires_at=expires_at,
                language=recipient.language,
                user=recipient.user,
            )
        )
    return messages

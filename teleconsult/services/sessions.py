"""Teleconsultation sessions: the room, the join window, who may enter, the waiting
room, admission, documents, notes, and the end that runs the appointment's follow-up.

The appointment stays the appointments app's: it moves only through
`appointments.services` (done, no-show, report). The order of every write here
is the project's: lock, guard, transition, save, other apps' services, side
effects (messages are outbox rows in the same transaction).
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from appointments import services as appointment_services
from appointments import surveys
from appointments.models import Appointment, Face
from conciergerie.accounts.models import User
from conciergerie.audit.models import AccessLog
from conciergerie.audit.services import record_access
from conciergerie.notifications import services as outbox
from patients import services as patients
from patients.models import Channel, Document
from patients.pdf import render_pdf

from .. import eligibility, links, tasks
from ..models import (
    PractitionerPass,
    SessionEvent,
    SharedDocument,
    SupportTicket,
    TeleconsultationSession,
)
from ..video import JoinInfo, Participant, get_video_provider

State = TeleconsultationSession.State
Action = SessionEvent.Action
AUDIT_OBJECT = "teleconsultation"
PATIENT = "patient"
PRACTITIONER = "practitioner"
#: Appointments whose session may still be joined.
JOINABLE_STATES = (Appointment.State.BOOKED, Appointment.State.CONFIRMED)
#: A browser that has not polled for this long has left the page.
PRESENCE_TIMEOUT = timedelta(seconds=45)
CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=10)
CODE_MAX_ATTEMPTS = 5
REPORT_REQUEST_TEMPLATE = "appointments/messages/report_request"


@dataclass(frozen=True)
class Visitor:
    """Who is on a session page: a side, an account if any, and how they came in."""

    side: str
    user: User | None
    label: str
    via: str  # "portal", "link" (patient's signed link), "account", "pass"

    @property
    def is_practitioner(self) -> bool:
        return self.side == PRACTITIONER


class Refused(Exception):
    """Entry refused; `reason` names the page to show, `at` a time to come back."""

    def __init__(self, reason: str, *, at: datetime | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.at = at


TOO_EARLY = "too_early"
CLOSED = "closed"
NOT_JOINABLE = "not_joinable"
WRONG_PERSON = "wrong_person"
EXPIRED_LINK = "expired_link"
BAD_LINK = "bad_link"
SPENT_LINK = "spent_link"


def _actor(user) -> User | None:
    return user if user is not None and user.is_authenticated else None


def _event(
    session: TeleconsultationSession,
    action: str,
    *,
    by=None,
    label: str = "",
    note: str = "",
) -> SessionEvent:
    return SessionEvent.objects.create(
        session=session,
        action=action,
        by=_actor(by),
        by_label=label[:150],
        note=note[:300],
    )


def _audit(
    session: TeleconsultationSession,
    *,
    visitor: Visitor | None,
    by=None,
    action: str = AccessLog.Action.READ,
    reason: str,
    request=None,
) -> AccessLog:
    user = visitor.user if visitor is not None else by
    return record_access(
        actor=_actor(user),
        action=action,
        patient_ref=session.appointment.patient.reference,
        object_type=AUDIT_OBJECT,
        object_id=session.public_id,
        reason=reason,
        request=request,
        actor_role=(
            visitor.side if visitor is not None and _actor(user) is None else ""
        ),
        actor_label=(
            visitor.label if visitor is not None and _actor(user) is None else ""
        ),
        face=AccessLog.Face.PORTAL if request is not None else "",
    )


def _lock(session: TeleconsultationSession) -> TeleconsultationSession:
    return (
        TeleconsultationSession.objects.select_for_update(of=("self",))
        .select_related("appointment__patient", "appointment__practitioner")
        .get(pk=session.pk)
    )


# --- The room ------------------------------------------------------------------------


def window_of(appointment: Appointment) -> tuple[datetime, datetime]:
    """When the room opens (before the start) and closes (after the planned end)."""
    opens = appointment.starts_at - timedelta(minutes=settings.VIDEO_JOIN_OPENS_MINUTES)
    closes = appointment.ends_at + timedelta(minutes=settings.VIDEO_JOIN_CLOSES_MINUTES)
    return opens, closes


def _flag(session: TeleconsultationSession) -> None:
    appointment = session.appointment
    result = eligibility.check_eligibility(
        patient=appointment.patient,
        practitioner=appointment.practitioner,
        specialty=appointment.specialty,
        on=appointment.starts_at,
    )
    session.reimbursable = result.reimbursable
    session.eligibility_reasons = list(result.reasons)


@transaction.atomic
def ensure_session(
    *, appointment: Appointment, now: datetime | None = None
) -> TeleconsultationSession:
    """The session of a video appointment, created once with an unguessable room;
    a practitioner without an account gets their single-use link by email."""
    if not appointment.is_video:
        raise ValidationError(
            _("This appointment is not a video consultation."), code="not_video"
        )
    existing = TeleconsultationSession.objects.filter(appointment=appointment).first()
    if existing is not None:
        return existing
    session = TeleconsultationSession(
        appointment=appointment, room=get_video_provider().new_room_name()
    )
    _flag(session)
    session.save()
    _event(session, Action.CREATED)
    if appointment.practitioner.user_id is None:
        issue_practitioner_pass(session=session, now=now)
    return session


def refresh_eligibility(*, session: TeleconsultationSession) -> TeleconsultationSession:
    """Check the reimbursement conditions again (an in-person visit since, a
    médecin traitant declared)."""
    _flag(session)
    session.save(update_fields=["reimbursable", "eligibility_reasons", "updated_at"])
    return session


def check_window(
    session: TeleconsultationSession, *, now: datetime | None = None
) -> None:
    """Raise `Refused` outside the join window or for an appointment no longer on."""
    now = now or timezone.now()
    appointment = session.appointment
    if appointment.state not in JOINABLE_STATES and session.state in (
        State.WAITING,
        State.IN_PROGRESS,
    ):
        raise Refused(NOT_JOINABLE)
    opens, closes = window_of(appointment)
    if now < opens:
        raise Refused(TOO_EARLY, at=opens)
    if now >= closes or not session.is_open:
        raise Refused(CLOSED)


def refuse(
    *,
    session: TeleconsultationSession | None,
    reason: str,
    user=None,
    request=None,
    note: str = "",
) -> None:
    """Record a refused entry in the session's timeline and the patient's access log."""
    if session is None:
        return
    label = _("Access refused: %(reason)s") % {"reason": reason}
    _event(session, Action.REFUSED, by=user, note=f"{reason} {note}".strip())
    record_access(
        actor=_actor(user),
        action=AccessLog.Action.READ,
        patient_ref=session.appointment.patient.reference,
        object_type=AUDIT_OBJECT,
        object_id=session.public_id,
        reason=label,
        request=request,
    )


# --- Who is who -------------------------------------------------------------------


def patient_visitor(user, appointment: Appointment, *, via: str) -> Visitor:
    label = appointment.patient.full_name
    if user is not None and user.is_authenticated:
        label = user.get_full_name() or user.email
    return Visitor(PATIENT, _actor(user), label, via)


def practitioner_visitor(user, appointment: Appointment, *, via: str) -> Visitor:
    return Visitor(
        PRACTITIONER, _actor(user), appointment.practitioner.display_name, via
    )


def manages_patient(user, appointment: Appointment) -> bool:
    from patients.models import Patient

    if user is None or not user.is_authenticated:
        return False
    return Patient.objects.managed_by(user).filter(pk=appointment.patient_id).exists()


def is_session_practitioner(user, appointment: Appointment) -> bool:
    return bool(
        user is not None
        and user.is_authenticated
        and appointment.practitioner.user_id == user.pk
    )


@transaction.atomic
def record_join(
    *,
    session: TeleconsultationSession,
    visitor: Visitor,
    request=None,
    now: datetime | None = None,
) -> TeleconsultationSession:
    """Someone entered the waiting room or the console: audited every time."""
    now = now or timezone.now()
    session = _lock(session)
    check_window(session, now=now)
    fields = ["updated_at"]
    if visitor.is_practitioner:
        session.practitioner_seen_at = now
        fields.append("practitioner_seen_at")
        if session.practitioner_status in (
            session.PractitionerStatus.NOT_ARRIVED,
            session.PractitionerStatus.LEFT,
        ):
            session.practitioner_status = session.PractitionerStatus.READY
            fields.append("practitioner_status")
        action = Action.PRACTITIONER_JOINED
    else:
        session.patient_seen_at = now
        fields.append("patient_seen_at")
        if session.patient_arrived_at is None:
            session.patient_arrived_at = now
            fields.append("patient_arrived_at")
        action = Action.PATIENT_JOINED
    session.save(update_fields=fields)
    _event(session, action, by=visitor.user, label=visitor.label, note=visitor.via)
    _audit(
        session,
        visitor=visitor,
        reason=_("Joined the teleconsultation (%(via)s)") % {"via": visitor.via},
        request=request,
    )
    return session


def heartbeat(
    *, session: TeleconsultationSession, visitor: Visitor, now: datetime | None = None
) -> None:
    """A page still open: one UPDATE, no lock (presence is approximate by nature)."""
    now = now or timezone.now()
    rows = TeleconsultationSession.objects.filter(pk=session.pk)
    if visitor.is_practitioner:
        rows.update(practitioner_seen_at=now)
        session.practitioner_seen_at = now
    else:
        rows.update(patient_seen_at=now)
        session.patient_seen_at = now


def is_present(seen_at: datetime | None, now: datetime) -> bool:
    return seen_at is not None and now - seen_at <= PRESENCE_TIMEOUT


def practitioner_status(
    session: TeleconsultationSession, *, now: datetime | None = None
) -> str:
    """What the patient is told about the practitioner."""
    now = now or timezone.now()
    status = session.PractitionerStatus
    if session.state == State.IN_PROGRESS:
        return status.IN_CONSULTATION
    if session.state in (State.ENDED, State.NO_SHOW):
        return status.LEFT
    busy = (
        TeleconsultationSession.objects.filter(
            appointment__practitioner_id=session.appointment.practitioner_id,
            state=State.IN_PROGRESS,
        )
        .exclude(pk=session.pk)
        .exists()
    )
    if busy:
        return status.IN_CONSULTATION
    if is_present(session.practitioner_seen_at, now):
        return status.READY
    if session.practitioner_status == status.LEFT:
        return status.LEFT
    return status.NOT_ARRIVED


def queue_position(
    session: TeleconsultationSession, *, now: datetime | None = None
) -> int:
    """1 when the practitioner sees this patient next; more when others come first:
    a consultation in progress, then present patients booked earlier."""
    now = now or timezone.now()
    if session.state != State.WAITING:
        return 0
    practitioner_id = session.appointment.practitioner_id
    others = TeleconsultationSession.objects.filter(
        appointment__practitioner_id=practitioner_id
    ).exclude(pk=session.pk)
    in_progress = others.filter(state=State.IN_PROGRESS).count()
    ahead = others.filter(
        state=State.WAITING,
        patient_seen_at__gte=now - PRESENCE_TIMEOUT,
        appointment__starts_at__lt=session.appointment.starts_at,
    ).count()
    return 1 + in_progress + ahead


def video_join(session: TeleconsultationSession, *, visitor: Visitor) -> JoinInfo:
    """The room, domain and token of one participant, valid within the window."""
    appointment = session.appointment
    opens, closes = window_of(appointment)
    if visitor.is_practitioner:
        participant = Participant(
            id=str(appointment.practitioner.public_id),
            name=appointment.practitioner.display_name,
            email=visitor.user.email if visitor.user else "",
            moderator=True,
        )
    else:
        participant = Participant(
            id=appointment.patient.reference, name=appointment.patient.full_name
        )
    return get_video_provider().join(
        room=session.room, participant=participant, not_before=opens, expires_at=closes
    )


def video_reachable() -> bool:
    return get_video_provider().is_reachable()


# --- The practitioner's side ---------------------------------------------------------


def _practitioner_label(visitor: Visitor | None, session) -> str:
    if visitor is not None:
        return visitor.label
    return session.appointment.practitioner.display_name


@transaction.atomic
def admit_patient(
    *,
    session: TeleconsultationSession,
    by: Visitor | None,
    now: datetime | None = None,
) -> TeleconsultationSession:
    """The practitioner lets the waiting patient in: the video opens on both sides."""
    now = now or timezone.now()
    session = _lock(session)
    if session.state == State.IN_PROGRESS:
        return session
    check_window(session, now=now)
    if not can_proceed(session.admit):
        raise ValidationError(
            _("This session is over: the patient can no longer be admitted."),
            code="not_admittable",
        )
    session.admit(by=_actor(by.user if by else None))
    session.practitioner_seen_at = now
    session.save(
        update_fields=[
            "state",
            "patient_admitted",
            "admitted_at",
            "admitted_by",
            "practitioner_status",
            "practitioner_seen_at",
            "updated_at",
        ]
    )
    _event(
        session,
        Action.ADMITTED,
        by=by.user if by else None,
        label=_practitioner_label(by, session),
    )
    return session


def _appointment_actor(visitor: Visitor | None):
    """Who the appointments app sees: the practitioner's account, or the service
    itself for a practitioner who came through their one-time link."""
    return visitor.user if visitor is not None and visitor.user is not None else None


@transaction.atomic
def end_session(
    *,
    session: TeleconsultationSession,
    by: Visitor | None,
    request=None,
    now: datetime | None = None,
) -> TeleconsultationSession:
    """The practitioner ends the consultation: the appointment is done, its
    follow-up runs (report asked or filed, care request in care), and what the
    practitioner wrote is filed in the patient's documents."""
    now = now or timezone.now()
    session = _lock(session)
    if session.state == State.ENDED:
        return session
    if not can_proceed(session.end):
        raise ValidationError(
            _("This session is already closed."), code="session_closed"
        )
    label = _practitioner_label(by, session)
    session.end(by=_actor(by.user if by else None), label=label)
    session.save(
        update_fields=[
            "state",
            "ended_at",
            "ended_by",
            "closed_by_label",
            "practitioner_status",
            "updated_at",
        ]
    )
    _event(session, Action.ENDED, by=by.user if by else None, label=label)
    appointment = session.appointment
    if appointment.state in JOINABLE_STATES and appointment.has_started():
        appointment_services.mark_done(
            appointment=appointment,
            by=_appointment_actor(by),
            via=Face.PRACTITIONER,
            now=now,
        )
        appointment.refresh_from_db()
    # Done already queues it; asking again changes nothing (one survey per
    # appointment) and covers a consultation ended by the concierge.
    surveys.queue_survey(appointment, now=now)
    _file_notes(session, by=by, request=request)
    return session


@transaction.atomic
def record_no_show(
    *,
    session: TeleconsultationSession,
    by: Visitor | None,
    now: datetime | None = None,
) -> TeleconsultationSession:
    """The patient never came: the session and the appointment say so."""
    now = now or timezone.now()
    session = _lock(session)
    if session.state == State.NO_SHOW:
        return session
    appointment = session.appointment
    if not can_proceed(session.mark_no_show) or not appointment.has_started():
        raise ValidationError(
            _("A patient is recorded absent once the consultation has started."),
            code="not_missable",
        )
    label = _practitioner_label(by, session)
    session.mark_no_show(by=_actor(by.user if by else None), label=label)
    session.save(
        update_fields=[
            "state",
            "no_show_at",
            "no_show_by",
            "closed_by_label",
            "updated_at",
        ]
    )
    _event(session, Action.NO_SHOW, by=by.user if by else None, label=label)
    if appointment.state in JOINABLE_STATES:
        appointment_services.record_no_show(
            appointment=appointment,
            by=_appointment_actor(by),
            via=Face.PRACTITIONER,
            now=now,
        )
    return session


@transaction.atomic
def save_notes(
    *,
    session: TeleconsultationSession,
    by: Visitor,
    report: str,
    prescription: str,
    request=None,
) -> TeleconsultationSession:
    """Keep the report and prescription note (encrypted); once the session is over
    they are filed in the patient's documents."""
    session = _lock(session)
    if session.report_document_id and session.prescription_document_id:
        raise ValidationError(
            _("The report and the prescription are already filed."),
            code="already_filed",
        )
    fields = ["updated_at"]
    if session.report_document_id is None:
        session.report_draft = report.strip()
        fields.append("report_draft")
    if session.prescription_document_id is None:
        session.prescription_draft = prescription.strip()
        fields.append("prescription_draft")
    session.save(update_fields=fields)
    _audit(
        session,
        visitor=by,
        action=AccessLog.Action.UPDATE,
        reason=_("Consultation notes written"),
        request=request,
    )
    if session.state in (State.ENDED,):
        _file_notes(session, by=by, request=request)
    return session


def _pdf(title: str, body: str, session: TeleconsultationSession) -> ContentFile:
    appointment = session.appointment
    data = render_pdf(
        "teleconsult/pdf/note.html",
        {
            "title": title,
            "body": body,
            "patient": appointment.patient,
            "practitioner": appointment.practitioner,
            "starts_at": appointment.starts_at,
        },
    )
    return ContentFile(data, name=f"{title}.pdf")


def _file_notes(
    session: TeleconsultationSession, *, by: Visitor | None, request=None
) -> None:
    """File the report through the appointment's report request (the patient is
    told, the care request moves to follow-up) and the prescription note as a
    prescription the patient can send to their pharmacy."""
    appointment = session.appointment
    if appointment.state != Appointment.State.DONE:
        return
    actor = _appointment_actor(by)
    fields = []
    if session.report_draft and session.report_document_id is None:
        report = appointment_services.request_report(appointment=appointment, by=actor)
        if not report.is_received:
            report = appointment_services.receive_report(
                report=report,
                upload=_pdf(_("Consultation report"), session.report_draft, session),
                by=actor,
                request=request,
            )
            # The report is in: the upload link asked for at "done" is moot.
            outbox.cancel_messages(
                subject=outbox.subject_for(report),
                templates=[REPORT_REQUEST_TEMPLATE],
            )
        session.report_document = report.document
        fields.append("report_document")
        _event(session, Action.REPORT, by=actor, label=_practitioner_label(by, session))
    if session.prescription_draft and session.prescription_document_id is None:
        document = patients.upload_document(
            patient=appointment.patient,
            by=actor,
            upload=_pdf(_("Prescription"), session.prescription_draft, session),
            kind=Document.Kind.PRESCRIPTION,
            title=_("Prescription, %(when)s")
            % {"when": timezone.localtime(appointment.starts_at).strftime("%d/%m/%Y")},
            document_date=timezone.localdate(appointment.starts_at),
            source=appointment.practitioner.display_name,
            channel=Channel.PORTAL,
            request=request,
        )
        session.prescription_document = document
        fields.append("prescription_document")
        _event(
            session,
            Action.PRESCRIPTION,
            by=actor,
            label=_practitioner_label(by, session),
        )
    if fields:
        session.save(update_fields=[*fields, "updated_at"])


# --- Documents --------------------------------------------------------------------


IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/heic", "image/tiff")


@transaction.atomic
def share_document(
    *,
    session: TeleconsultationSession,
    by: Visitor,
    upload,
    title: str = "",
    request=None,
    now: datetime | None = None,
) -> SharedDocument:
    """A document or picture shared during the session lands in the patient's
    documents (the patient's consent is required, the upload audited) and in the
    session's side panel."""
    now = now or timezone.now()
    session = _lock(session)
    if session.state not in (State.WAITING, State.IN_PROGRESS):
        raise ValidationError(
            _("The session is over: add documents from your file."),
            code="session_closed",
        )
    appointment = session.appointment
    kind = Document.Kind.OTHER
    content_type = getattr(upload, "content_type", "") or ""
    if content_type in IMAGE_TYPES:
        kind = Document.Kind.PHOTO
    document = patients.upload_document(
        patient=appointment.patient,
        by=by.user,
        upload=upload,
        kind=kind,
        title=title,
        document_date=timezone.localdate(now),
        source=by.label,
        channel=Channel.PORTAL,
        request=request,
    )
    shared = SharedDocument.objects.create(
        session=session, document=document, side=by.side, shared_at=now
    )
    _event(
        session,
        Action.DOCUMENT,
        by=by.user,
        label=by.label,
        note=str(document.pk),
    )
    return shared


def open_shared_document(
    *, session: TeleconsultationSession, shared: SharedDocument, by: Visitor, request
) -> tuple[Document, bytes]:
    """A participant reads a document of the panel: audited with their name."""
    document = shared.document
    data = patients.open_document(document=document, by=by.user, request=request)
    if by.user is None:
        _audit(
            session,
            visitor=by,
            action=AccessLog.Action.DOWNLOAD,
            reason=_("Document shared during the teleconsultation"),
            request=request,
        )
    return document, data


# --- When the video cannot be reached -------------------------------------------------


def _phone_of(appointment: Appointment) -> str:
    patient = appointment.patient
    return patient.mobile_phone.as_e164 if patient.mobile_phone else ""


@transaction.atomic
def request_phone_fallback(
    *,
    session: TeleconsultationSession,
    by: Visitor,
    request=None,
    now: datetime | None = None,
) -> SupportTicket:
    """The video server cannot be reached: the concierge on duty calls the patient.
    Asking twice makes one ticket."""
    now = now or timezone.now()
    session = _lock(session)
    existing = session.support_tickets.filter(
        kind=SupportTicket.Kind.PHONE_FALLBACK, handled_at__isnull=True
    ).first()
    if existing is not None:
        return existing
    ticket = SupportTicket(
        kind=SupportTicket.Kind.PHONE_FALLBACK,
        opened_by=by.user,
        session=session,
        phone=_phone_of(session.appointment),
        message=_("The video server could not be reached from the %(side)s's page.")
        % {"side": by.side},
        user_agent=(request.headers.get("User-Agent", "") if request else "")[:300],
    )
    ticket.full_clean()
    ticket.save()
    session.phone_fallback_requested_at = now
    session.save(update_fields=["phone_fallback_requested_at", "updated_at"])
    _event(session, Action.PHONE_FALLBACK, by=by.user, label=by.label)
    tasks.alert_on_duty_concierge.delay_on_commit(ticket.pk)
    return ticket


# --- Practitioners without an account: single-use link and one-time code --------------


def _code_hash(practitioner_pass: PractitionerPass, code: str) -> str:
    key = f"{settings.SECRET_KEY}:teleconsult-code:{practitioner_pass.public_id}"
    return hmac.new(key.encode(), code.encode(), hashlib.sha256).hexdigest()


@transaction.atomic
def issue_practitioner_pass(
    *, session: TeleconsultationSession, now: datetime | None = None
) -> PractitionerPass:
    """A new single-use link for the session's practitioner (earlier ones stop
    working), emailed to the practitioner's contact address when there is one."""
    now = now or timezone.now()
    PractitionerPass.objects.filter(
        session=session, used_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=now, updated_at=now)
    practitioner_pass = PractitionerPass.objects.create(session=session)
    appointment = session.appointment
    to = appointment_services_address(appointment)
    if to:
        subject = outbox.subject_for(practitioner_pass)
        _opens, closes = window_of(appointment)
        outbox.schedule_message(
            key=outbox.message_key(subject=subject, kind="link", channel="email"),
            subject=subject,
            channel="email",
            to=to,
            template="teleconsult/messages/practitioner_link",
            context={
                "practitioner": appointment.practitioner.display_name,
                "patient_name": appointment.patient.full_name,
                "starts_at": appointment.starts_at,
                "link": links.practitioner_url(practitioner_pass),
                "opens_minutes": settings.VIDEO_JOIN_OPENS_MINUTES,
            },
            due_at=now,
            expires_at=closes,
            language="fr",
        )
    return practitioner_pass


def appointment_services_address(appointment: Appointment) -> str:
    """Where the practitioner's mail goes (the appointments app's rule)."""
    from appointments.outbox import practitioner_address

    return practitioner_address(appointment.practitioner)


def current_pass(session: TeleconsultationSession) -> PractitionerPass | None:
    return (
        session.passes.filter(used_at__isnull=True, revoked_at__isnull=True)
        .order_by("-created_at")
        .first()
    )


def practitioner_mobile(practitioner) -> str:
    """The practitioner's contact phone as E.164, if it is a mobile number."""
    raw = (practitioner.contact_phone or "").strip()
    if not raw:
        return ""
    try:
        number = phonenumbers.parse(raw, "FR")
    except phonenumbers.NumberParseException:
        return ""
    if phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.MOBILE:
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def code_channels(practitioner_pass: PractitionerPass) -> dict[str, str]:
    """The channels a code can go to, with the masked destination shown."""
    practitioner = practitioner_pass.session.appointment.practitioner
    channels: dict[str, str] = {}
    email = appointment_services_address(practitioner_pass.session.appointment)
    if email:
        name, _at, domain = email.partition("@")
        channels[PractitionerPass.Channel.EMAIL] = f"{name[:2]}…@{domain}"
    mobile = practitioner_mobile(practitioner)
    if mobile:
        channels[PractitionerPass.Channel.SMS] = f"…{mobile[-2:]}"
    return channels


def _check_pass(practitioner_pass: PractitionerPass) -> None:
    if practitioner_pass.is_spent:
        raise Refused(SPENT_LINK)


@transaction.atomic
def send_pass_code(
    *, practitioner_pass: PractitionerPass, channel: str, now: datetime | None = None
) -> PractitionerPass:
    """Send a fresh one-time code by email or SMS; the previous code stops working."""
    now = now or timezone.now()
    practitioner_pass = PractitionerPass.objects.select_for_update().get(
        pk=practitioner_pass.pk
    )
    _check_pass(practitioner_pass)
    session = practitioner_pass.session
    check_window(session, now=now)
    appointment = session.appointment
    if channel == PractitionerPass.Channel.SMS:
        to = practitioner_mobile(appointment.practitioner)
    else:
        to = appointment_services_address(appointment)
    if not to:
        raise ValidationError(
            _("No address is known for this channel: call the concierge."),
            code="no_destination",
        )
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    practitioner_pass.code_hash = _code_hash(practitioner_pass, code)
    practitioner_pass.code_channel = channel
    practitioner_pass.code_sent_at = now
    practitioner_pass.code_attempts = 0
    practitioner_pass.save(
        update_fields=[
            "code_hash",
            "code_channel",
            "code_sent_at",
            "code_attempts",
            "updated_at",
        ]
    )
    subject = outbox.subject_for(practitioner_pass)
    outbox.schedule_message(
        key=outbox.message_key(
            subject=subject, kind=f"code@{now:%Y%m%dT%H%M%S%f}", channel=channel
        ),
        subject=subject,
        channel=channel,
        to=to,
        template="teleconsult/messages/one_time_code",
        context={"code": code, "minutes": int(CODE_LIFETIME.total_seconds() // 60)},
        due_at=now,
        expires_at=now + CODE_LIFETIME,
        language="fr",
    )
    _event(session, Action.CODE_SENT, note=channel)
    return practitioner_pass


def redeem_pass(
    *, practitioner_pass: PractitionerPass, code: str, now: datetime | None = None
) -> TeleconsultationSession:
    """The right code, in time, spends the link and opens this session's console.

    A wrong code is counted and committed before the error is raised, so that
    the limit of attempts holds whatever the caller does with the error.
    """
    now = now or timezone.now()
    with transaction.atomic():
        practitioner_pass = PractitionerPass.objects.select_for_update().get(
            pk=practitioner_pass.pk
        )
        _check_pass(practitioner_pass)
        session = practitioner_pass.session
        check_window(session, now=now)
        if (
            not practitioner_pass.code_hash
            or practitioner_pass.code_sent_at is None
            or now - practitioner_pass.code_sent_at > CODE_LIFETIME
        ):
            raise ValidationError(
                _("This code has expired: ask for a new one."), code="code_expired"
            )
        if practitioner_pass.code_attempts >= CODE_MAX_ATTEMPTS:
            raise ValidationError(
                _("Too many wrong codes: ask for a new one."),
                code="too_many_attempts",
            )
        right = hmac.compare_digest(
            practitioner_pass.code_hash, _code_hash(practitioner_pass, code.strip())
        )
        if right:
            practitioner_pass.used_at = now
            practitioner_pass.save(update_fields=["used_at", "updated_at"])
        else:
            practitioner_pass.code_attempts += 1
            practitioner_pass.save(update_fields=["code_attempts", "updated_at"])
    if not right:
        raise WrongCode
    return session


class WrongCode(ValidationError):
    def __init__(self) -> None:
        super().__init__(_("This code is not the right one."), code="wrong_code")


def find_pass(token: str) -> PractitionerPass:
    """The pass a practitioner link names; raises links.BadLink or ExpiredLink."""
    public_id = links.read_practitioner_token(token)
    practitioner_pass = (
        PractitionerPass.objects.select_related(
            "session__appointment__practitioner", "session__appointment__patient"
        )
        .filter(public_id=public_id)
        .first()
    )
    if practitioner_pass is None:
        raise links.BadLink(token)
    return practitioner_pass

"""Before and after the visit: the checklist, the pre-consultation file shared with
the practitioner, the report (compte rendu), and prescriptions to the pharmacy.

Health data leaves the service only through expiring links made for one
recipient, and every opening is written to the patient's access log.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from conciergerie.audit.models import AccessLog
from conciergerie.audit.services import record_access
from patients import files as patient_files
from patients import services as patients
from patients.access import AuditObject
from patients.models import Channel, Document

from .. import access, checklists, links, outbox
from ..models import (
    Appointment,
    AppointmentEvent,
    Face,
    Pharmacy,
    PharmacyChoice,
    PreConsultationShare,
    PrescriptionTransmission,
    ReportRequest,
)

MAX_REPORT_CHASES = 3


def _when(appointment: Appointment) -> str:
    return timezone.localtime(appointment.starts_at).strftime("%d/%m/%Y %H:%M")


# --- Checklist ------------------------------------------------------------------------


@transaction.atomic
def tick_checklist(*, appointment: Appointment, codes: list[str], by) -> Appointment:
    """Remember what the patient has ready (their own reminder, nobody else's)."""
    if by is not None and not access.manages(by, appointment.patient):
        raise PermissionDenied
    known = {item.code for item in checklists.checklist_for(appointment)}
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    appointment.checklist_done = sorted(set(codes) & known)
    appointment.save(update_fields=["checklist_done", "updated_at"])
    return appointment


# --- The pre-consultation file ------------------------------------------------------


def _may_share(by, appointment: Appointment) -> bool:
    """The patient (or a guardian) consents in the portal; a medical adviser may
    record a consent given by phone."""
    if by is None:
        return False
    if access.manages(by, appointment.patient):
        return True
    return access.is_back_office(by) and by.has_perm(
        "appointments.add_preconsultationshare"
    )


@transaction.atomic
def share_pre_consultation_file(
    *,
    appointment: Appointment,
    by,
    documents: list[Document],
    include_summary: bool = True,
    request=None,
    now: datetime | None = None,
) -> PreConsultationShare:
    """With the patient's consent, send one practitioner an expiring, audited link
    to the summary and the chosen documents (a new share replaces the old)."""
    now = now or timezone.now()
    appointment = Appointment.objects.select_related("practitioner", "patient").get(
        pk=appointment.pk
    )
    if not _may_share(by, appointment):
        raise PermissionDenied
    patient = appointment.patient
    patients.require_health_data_consent(patient)
    if not appointment.is_upcoming:
        raise ValidationError(
            _("Only an upcoming appointment's practitioner can receive the file."),
            code="not_upcoming",
        )
    if not include_summary and not documents:
        raise ValidationError(
            _("Choose the summary or at least one document."), code="nothing_shared"
        )
    if any(document.patient_id != patient.pk for document in documents):
        raise ValidationError(
            {
                "documents": ValidationError(
                    _("These documents are not in this patient's file."),
                    code="foreign_document",
                )
            }
        )
    practitioner = appointment.practitioner
    if not outbox.practitioner_address(practitioner):
        raise ValidationError(
            _(
                "We have no email address for this practitioner: the concierge will "
                "send the file another way."
            ),
            code="practitioner_unreachable",
        )
    PreConsultationShare.objects.filter(
        appointment=appointment, revoked_at__isnull=True
    ).update(revoked_at=now, updated_at=now)
    share = PreConsultationShare.objects.create(
        appointment=appointment,
        practitioner=practitioner,
        include_summary=include_summary,
        consent_by=by,
        consent_channel=Face.ADMIN if access.is_back_office(by) else Face.PORTAL,
        expires_at=appointment.ends_at
        + timedelta(days=settings.APPOINTMENT_PRECONSULTATION_DAYS),
    )
    share.documents.set(documents)
    record_access(
        actor=by,
        action=AccessLog.Action.SHARE,
        patient_ref=patient.reference,
        object_type=AuditObject.SHARING,
        object_id=share.public_id,
        reason=_("Pre-consultation file for %(practitioner)s, visit of %(when)s")
        % {"practitioner": practitioner.display_name, "when": _when(appointment)},
        request=request,
    )
    AppointmentEvent.objects.create(
        appointment=appointment,
        action=AppointmentEvent.Action.SHARED,
        by=by,
        via=share.consent_channel,
    )
    outbox.schedule_to_practitioner(
        obj=share,
        practitioner=practitioner,
        kind="link",
        template="pre_consultation",
        context={
            "patient_name": patient.full_name,
            "starts_at": appointment.starts_at,
            "link": links.url(
                "appointments:pre-consultation",
                links.Purpose.PRE_CONSULTATION,
                share.public_id,
            ),
            "valid_until": share.expires_at,
        },
        now=now,
        expires_at=share.expires_at,
    )
    return share


@transaction.atomic
def revoke_pre_consultation_file(
    *, share: PreConsultationShare, by, request=None
) -> PreConsultationShare:
    share = PreConsultationShare.objects.select_for_update().get(pk=share.pk)
    if not _may_share(by, share.appointment):
        raise PermissionDenied
    if share.revoked_at is None:
        share.revoked_at = timezone.now()
        share.save(update_fields=["revoked_at", "updated_at"])
        record_access(
            actor=by,
            action=AccessLog.Action.REVOKE,
            patient_ref=share.appointment.patient.reference,
            object_type=AuditObject.SHARING,
            object_id=share.public_id,
            request=request,
        )
    return share


class Refused(Exception):
    """A link that must not open: `reason` is shown on the refusal page."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


EXPIRED = "expired"
REVOKED = "revoked"
FOREIGN = "foreign"
INVALID = "invalid"


def check_share_viewer(share: PreConsultationShare, user) -> None:
    """Raise `Refused` unless this visitor may open the file now.

    The link is made for one practitioner: when that practitioner has an account
    they must be signed in with it; anybody else signed in is refused.
    """
    if share.revoked_at is not None:
        raise Refused(REVOKED)
    if share.expires_at <= timezone.now():
        raise Refused(EXPIRED)
    practitioner_user = share.practitioner.user_id
    signed_in = user is not None and user.is_authenticated
    if practitioner_user is not None and (
        not signed_in or user.pk != practitioner_user
    ):
        raise Refused(FOREIGN)
    if practitioner_user is None and signed_in and not access.is_back_office(user):
        raise Refused(FOREIGN)


def _audit_share(
    share: PreConsultationShare, *, user, action: str, what: str, object_id, request
):
    signed_in = user is not None and user.is_authenticated
    return record_access(
        actor=user if signed_in else None,
        actor_role="" if signed_in else "practitioner",
        actor_label="" if signed_in else share.practitioner.display_name,
        action=action,
        patient_ref=share.appointment.patient.reference,
        object_type=what,
        object_id=object_id,
        reason=_("Pre-consultation link, visit of %(when)s")
        % {"when": _when(share.appointment)},
        request=request,
    )


@transaction.atomic
def open_pre_consultation_file(
    *, share: PreConsultationShare, user, request=None
) -> PreConsultationShare:
    """The practitioner opens the file page: one access log row per opening."""
    share = PreConsultationShare.objects.select_for_update().get(pk=share.pk)
    check_share_viewer(share, user)
    now = timezone.now()
    share.opened_count += 1
    share.last_opened_at = now
    share.save(update_fields=["opened_count", "last_opened_at", "updated_at"])
    _audit_share(
        share,
        user=user,
        action=AccessLog.Action.READ,
        what=AuditObject.MEDICAL_FILE,
        object_id=share.public_id,
        request=request,
    )
    return share


@transaction.atomic
def pre_consultation_summary(
    *, share: PreConsultationShare, user, request=None
) -> bytes:
    """The summary PDF, rendered now (the file may have changed since sharing)."""
    from patients.pdf import render_pdf
    from patients.services.medical import summary_context

    check_share_viewer(share, user)
    if not share.include_summary:
        raise Refused(INVALID)
    patient = share.appointment.patient
    pdf = render_pdf(
        "patients/pdf/summary.html",
        summary_context(patient=patient, documents=list(share.documents.all())),
    )
    _audit_share(
        share,
        user=user,
        action=AccessLog.Action.DOWNLOAD,
        what=AuditObject.SUMMARY,
        object_id=patient.reference,
        request=request,
    )
    return pdf


@transaction.atomic
def pre_consultation_document(
    *, share: PreConsultationShare, document_id, user, request=None
) -> tuple[Document, bytes]:
    check_share_viewer(share, user)
    document = share.documents.filter(pk=document_id).first()
    if document is None:
        raise Refused(INVALID)
    data = patient_files.read_decrypted(
        storage_name=document.storage_name, sha256=document.sha256
    )
    _audit_share(
        share,
        user=user,
        action=AccessLog.Action.DOWNLOAD,
        what=AuditObject.DOCUMENT,
        object_id=document.pk,
        request=request,
    )
    return document, data


# --- After the visit: the report ------------------------------------------------------


def request_report(
    *, appointment: Appointment, by, now: datetime | None = None
) -> ReportRequest:
    """Ask the practitioner for their report, with a link to upload it."""
    now = now or timezone.now()
    report, created = ReportRequest.objects.get_or_create(
        appointment=appointment,
        defaults={
            "requested_by": by if by is not None and by.is_authenticated else None
        },
    )
    if created:
        _send_report_request(report, stage=0, now=now)
    return report


def _send_report_request(report: ReportRequest, *, stage: int, now: datetime) -> None:
    appointment = report.appointment
    outbox.schedule_to_practitioner(
        obj=report,
        practitioner=appointment.practitioner,
        kind=f"request-{stage}",
        template="report_request",
        context={
            "patient_name": appointment.patient.full_name,
            "starts_at": appointment.starts_at,
            "link": report_upload_url(report),
            "reminder": stage > 0,
        },
        now=now,
    )


def report_upload_url(report: ReportRequest) -> str:
    return links.url(
        "appointments:report-upload", links.Purpose.REPORT, report.public_id
    )


def report_link_is_open(report: ReportRequest) -> bool:
    limit = report.created_at + timedelta(days=settings.APPOINTMENT_REPORT_LINK_DAYS)
    return not report.is_received and timezone.now() < limit


def _may_upload_report(by, report: ReportRequest) -> bool:
    if by is None:  # the signed link sent to the practitioner
        return True
    if access.is_back_office(by):
        return by.has_perm("patients.add_document")
    return report.appointment.practitioner.user_id == by.pk


@transaction.atomic
def receive_report(
    *, report: ReportRequest, upload, by, request=None, now: datetime | None = None
) -> ReportRequest:
    """File the practitioner's report in the patient's documents; tell the patient."""
    now = now or timezone.now()
    report = (
        ReportRequest.objects.select_for_update(of=("self",))
        .select_related("appointment__practitioner", "appointment__patient")
        .get(pk=report.pk)
    )
    if not _may_upload_report(by, report):
        raise PermissionDenied
    if report.is_received:
        raise ValidationError(
            _("The report for this visit has already been received."),
            code="already_received",
        )
    appointment = report.appointment
    document = patients.upload_document(
        patient=appointment.patient,
        by=by,
        upload=upload,
        kind=Document.Kind.CONSULTATION_REPORT,
        title=_("Consultation report, %(when)s")
        % {"when": timezone.localtime(appointment.starts_at).strftime("%d/%m/%Y")},
        document_date=timezone.localdate(appointment.starts_at),
        source=appointment.practitioner.display_name,
        channel=Channel.ADMIN if access.is_back_office(by) else Channel.PORTAL,
        request=request,
    )
    report.received_at = now
    report.document = document
    report.save(update_fields=["received_at", "document", "updated_at"])
    AppointmentEvent.objects.create(
        appointment=appointment,
        action=AppointmentEvent.Action.REPORT,
        by=by if by is not None and by.is_authenticated else None,
        via=Face.ADMIN if access.is_back_office(by) else Face.PRACTITIONER,
    )
    outbox.schedule_report_available(appointment, now=now)
    from .. import care

    care.report_received(appointment, by=by)
    return report


def chase_missing_reports(*, now: datetime | None = None) -> int:
    """Remind practitioners whose report is late, every few days, three times."""
    now = now or timezone.now()
    every = timedelta(days=settings.APPOINTMENT_REPORT_CHASE_DAYS)
    chased = 0
    candidates = ReportRequest.objects.filter(
        received_at__isnull=True, reminders_sent__lt=MAX_REPORT_CHASES
    ).select_related("appointment__practitioner", "appointment__patient")
    for report in candidates:
        if now < report.created_at + every * (report.reminders_sent + 1):
            continue
        with transaction.atomic():
            claimed = ReportRequest.objects.filter(
                pk=report.pk, reminders_sent=report.reminders_sent
            ).update(reminders_sent=report.reminders_sent + 1, updated_at=now)
            if claimed:
                _send_report_request(report, stage=report.reminders_sent + 1, now=now)
                chased += 1
    return chased


# --- Prescriptions to the pharmacy ----------------------------------------------------


def _may_act_for(by, patient) -> bool:
    if by is None:
        return False
    if access.manages(by, patient):
        return True
    return access.is_back_office(by) and by.has_perm(
        "appointments.add_prescriptiontransmission"
    )


@transaction.atomic
def choose_pharmacy(*, patient, pharmacy: Pharmacy, by) -> PharmacyChoice:
    """The pharmacy the patient's prescriptions go to, until they choose another."""
    if not _may_act_for(by, patient):
        raise PermissionDenied
    if not pharmacy.is_active:
        raise ValidationError(
            _("This pharmacy is no longer in our list."), code="inactive_pharmacy"
        )
    choice, _created = PharmacyChoice.objects.update_or_create(
        patient=patient, defaults={"pharmacy": pharmacy, "chosen_by": by}
    )
    return choice


@transaction.atomic
def add_pharmacy(*, by, **fields) -> Pharmacy:
    """A pharmacy a patient names, or the concierge enters, joins the list."""
    if by is None or not by.is_authenticated:
        raise PermissionDenied
    pharmacy = Pharmacy(**fields)
    pharmacy.full_clean()
    pharmacy.save()
    return pharmacy


@transaction.atomic
def send_prescription(
    *,
    patient,
    document: Document,
    by,
    appointment: Appointment | None = None,
    pharmacy: Pharmacy | None = None,
    request=None,
    now: datetime | None = None,
) -> PrescriptionTransmission:
    """Send a prescription to the patient's chosen pharmacy: an email with an
    expiring link, the sending recorded and audited."""
    now = now or timezone.now()
    if not _may_act_for(by, patient):
        raise PermissionDenied
    if document.patient_id != patient.pk or document.kind != Document.Kind.PRESCRIPTION:
        raise ValidationError(
            {
                "document": ValidationError(
                    _("Choose one of this patient's prescriptions."),
                    code="not_a_prescription",
                )
            }
        )
    if appointment is not None and appointment.patient_id != patient.pk:
        raise ValidationError(
            _("This appointment is another patient's."), code="foreign_appointment"
        )
    if pharmacy is None:
        choice = PharmacyChoice.objects.filter(patient=patient).first()
        if choice is None:
            raise ValidationError(
                _("Choose a pharmacy first."), code="no_pharmacy_chosen"
            )
        pharmacy = choice.pharmacy
    transmission = PrescriptionTransmission.objects.create(
        patient=patient,
        appointment=appointment,
        pharmacy=pharmacy,
        pharmacy_email=pharmacy.email,
        document=document,
        sent_by=by,
        expires_at=now + timedelta(days=settings.APPOINTMENT_PRESCRIPTION_LINK_DAYS),
    )
    record_access(
        actor=by,
        action=AccessLog.Action.SHARE,
        patient_ref=patient.reference,
        object_type=AuditObject.DOCUMENT,
        object_id=document.pk,
        reason=_("Prescription sent to %(pharmacy)s") % {"pharmacy": pharmacy.name},
        request=request,
    )
    outbox.schedule_email(
        obj=transmission,
        to=pharmacy.email,
        kind="send",
        template="prescription",
        context={
            "pharmacy": pharmacy.name,
            "patient_name": patient.full_name,
            "link": links.url(
                "appointments:prescription",
                links.Purpose.PRESCRIPTION,
                transmission.public_id,
            ),
            "valid_until": transmission.expires_at,
        },
        now=now,
        expires_at=transmission.expires_at,
    )
    return transmission


@transaction.atomic
def open_prescription(
    *, transmission: PrescriptionTransmission, request=None
) -> tuple[Document, bytes]:
    """The pharmacy downloads the prescription: counted and audited."""
    transmission = PrescriptionTransmission.objects.select_for_update().get(
        pk=transmission.pk
    )
    if transmission.expires_at <= timezone.now():
        raise Refused(EXPIRED)
    document = transmission.document
    if document is None:
        raise Refused(REVOKED)
    data = patient_files.read_decrypted(
        storage_name=document.storage_name, sha256=document.sha256
    )
    transmission.opened_count += 1
    transmission.last_opened_at = timezone.now()
    transmission.save(update_fields=["opened_count", "last_opened_at", "updated_at"])
    record_access(
        actor=None,
        actor_role="pharmacy",
        actor_label=transmission.pharmacy.name,
        action=AccessLog.Action.DOWNLOAD,
        patient_ref=transmission.patient.reference,
        object_type=AuditObject.DOCUMENT,
        object_id=document.pk,
        reason=_("Prescription link sent to the pharmacy"),
        request=request,
    )
    return document, data

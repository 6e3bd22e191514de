"""The medical side of a file: profile, insurance, documents, summary, break-glass."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from conciergerie.accounts.models import User
from conciergerie.audit.models import AccessLog
from conciergerie.notifications import services as outbox
from conciergerie.partners.services import organisation_of, publish_event

from .. import files
from ..access import AuditObject, MedicalAccess, audit, is_medical_staff, medical_access
from ..models import Channel, Document, InsuranceCoverage, MedicalProfile, Patient
from .consents import require_health_data_consent
from .registration import touch_activity

MEDICAL_PROFILE_FIELDS = [
    "medical_history",
    "allergies",
    "current_treatments",
    "specific_needs",
    "measurements",
]

BREAK_GLASS_MIN_REASON = 15


@transaction.atomic
def break_the_glass(*, user, patient: Patient, reason: str, request=None) -> AccessLog:
    """A medical adviser opens a file outside their assignment, saying why.

    The reason is kept in the access log, shown to the patient, and reviewed by
    the data protection officer; the access lasts BREAK_GLASS_MINUTES.
    """
    if not is_medical_staff(user):
        raise PermissionDenied
    reason = (reason or "").strip()
    if len(reason) < BREAK_GLASS_MIN_REASON:
        raise ValidationError(
            {
                "reason": ValidationError(
                    _(
                        "Explain in a sentence why you open this file (at least "
                        "%(count)d characters)."
                    )
                    % {"count": BREAK_GLASS_MIN_REASON},
                    code="reason_required",
                )
            }
        )
    return audit(
        by=user,
        action=AccessLog.Action.BREAK_GLASS,
        patient=patient,
        what=AuditObject.MEDICAL_FILE,
        object_id=patient.reference,
        request=request,
        reason=reason,
    )


def require_medical_access(user, patient: Patient) -> None:
    """Raise unless the medical data may be read now (break-the-glass included)."""
    access = medical_access(user, patient)
    if access is MedicalAccess.BREAK_GLASS:
        raise ValidationError(
            _("This file is not assigned to you: give a reason to open it."),
            code="break_glass_required",
        )
    if access is not MedicalAccess.GRANTED:
        raise PermissionDenied


@transaction.atomic
def update_medical_profile(
    *, patient: Patient, by, data: dict, request=None
) -> MedicalProfile:
    """Write the medical profile (encrypted); the patient must have consented.

    `by=None` is the service itself (demo data, imports); people need medical
    access to the file.
    """
    if by is not None:
        require_medical_access(by, patient)
    require_health_data_consent(patient)
    profile, _created = MedicalProfile.objects.select_for_update().get_or_create(
        patient=patient
    )
    for field in MEDICAL_PROFILE_FIELDS:
        if field in data:
            value = data[field]
            setattr(
                profile,
                field,
                value if value is not None else ({} if field == "measurements" else ""),
            )
    profile.updated_by = by
    profile.full_clean()
    profile.save()
    touch_activity(patient)
    audit(
        by=by,
        action=AccessLog.Action.UPDATE,
        patient=patient,
        what=AuditObject.MEDICAL_PROFILE,
        object_id=profile.pk,
        request=request,
    )
    return profile


@transaction.atomic
def save_insurance_coverage(
    *, coverage: InsuranceCoverage, by, request=None
) -> InsuranceCoverage:
    """Create or change a coverage; periods of one patient never overlap."""
    creating = coverage._state.adding
    coverage.full_clean()
    coverage.save()
    audit(
        by=by,
        action=AccessLog.Action.CREATE if creating else AccessLog.Action.UPDATE,
        patient=coverage.patient,
        what=AuditObject.INSURANCE,
        object_id=coverage.pk,
        request=request,
    )
    return coverage


def upload_document(
    *,
    patient: Patient,
    by,
    upload,
    kind: str,
    title: str = "",
    document_date=None,
    source: str = "",
    channel: str,
    request=None,
) -> Document:
    """Check, encrypt and store a medical document; refused files leave no trace.

    The patient must have consented to the processing of their health data.
    """
    require_health_data_consent(patient)
    data, file_type = files.read_upload(upload)
    original_name = (getattr(upload, "name", "") or "")[-255:]
    document = Document(
        patient=patient,
        kind=kind,
        title=(title or "").strip() or _default_title(kind, original_name),
        document_date=document_date,
        source=source or "",
        origin=channel,
        uploaded_by=by if by is not None and by.is_authenticated else None,
        original_name=original_name,
        content_type=file_type.content_type,
        size=len(data),
        sha256=files.digest(data),
        storage_name="pending",
    )
    document.full_clean(exclude=["storage_name"])
    storage_name = files.store_encrypted(data=data, folder=str(patient.pk))
    try:
        with transaction.atomic():
            document.storage_name = storage_name
            document.save()
            touch_activity(patient)
            audit(
                by=by,
                action=AccessLog.Action.CREATE,
                patient=patient,
                what=AuditObject.DOCUMENT,
                object_id=document.pk,
                request=request,
            )
            publish_event(  # partners that may see it are told, after commit
                event_type="document.added",
                about=document,
                payload={
                    "id": str(document.pk),
                    "patient": patient.reference,
                    "kind": document.kind,
                },
            )
            if channel == Channel.API:
                _tell_concierges_of_document(document, by=by)
    except BaseException:
        files.delete_stored(storage_name)
        raise
    return document


def _tell_concierges_of_document(document: Document, *, by) -> None:
    """A partner's document (a lab's results) waits for a concierge to read it.

    The concierges assigned to the patient are emailed through the outbox, or the
    service's address when nobody is assigned yet. The email names the file and
    the kind of document, never its title or content: it leaves the system.
    """
    patient = document.patient
    organisation = organisation_of(by) if by is not None else None
    recipients: list[tuple[str, str, User | None]] = [
        (user.email, user.language or settings.LANGUAGE_CODE, user)
        for user in patient.assigned_staff.filter(is_active=True).exclude(email="")
    ] or [(settings.SERVICE_EMAIL, settings.LANGUAGE_CODE, None)]
    subject = outbox.subject_for(document)
    for email, language, user in recipients:
        outbox.schedule_message(
            key=outbox.message_key(
                subject=subject, kind=f"received-{email}", channel="email"
            ),
            subject=subject,
            channel="email",
            to=email,
            template="patients/email/document_received",
            context={
                "patient_reference": patient.reference,
                "kind": str(Document.Kind(document.kind).label),
                "sender": organisation.name if organisation else "",
                "link": settings.SITE_URL
                + reverse("admin:patients_patient_change", args=[patient.pk]),
            },
            due_at=timezone.now(),
            language=language,
            user=user,
        )


def _default_title(kind: str, original_name: str) -> str:
    label = str(Document.Kind(kind).label) if kind in Document.Kind.values else ""
    stem = original_name.rsplit(".", 1)[0] if original_name else ""
    return (stem or label or _("Document"))[:200]


def open_document(*, document: Document, by, request=None) -> bytes:
    """The clear bytes of a document for someone allowed to read it; audited."""
    data = files.read_decrypted(
        storage_name=document.storage_name, sha256=document.sha256
    )
    audit(
        by=by,
        action=AccessLog.Action.DOWNLOAD,
        patient=document.patient,
        what=AuditObject.DOCUMENT,
        object_id=document.pk,
        request=request,
    )
    return data


@transaction.atomic
def delete_document(*, document: Document, by, request=None) -> None:
    """Remove a document filed by mistake; the encrypted file goes after commit."""
    patient = document.patient
    document_id, storage_name = document.pk, document.storage_name
    document.delete()
    audit(
        by=by,
        action=AccessLog.Action.DELETE,
        patient=patient,
        what=AuditObject.DOCUMENT,
        object_id=document_id,
        request=request,
    )
    transaction.on_commit(lambda: files.delete_stored(storage_name))


def sweep_orphan_files(*, older_than: timedelta = timedelta(days=1)) -> int:
    """Delete stored files that no document points to any more.

    They are left behind by an upload whose transaction rolled back after the
    file was written, or by a rotation interrupted between its two steps. Recent
    files are spared: their transaction may still be running.
    """
    from django.core.files.storage import default_storage

    referenced = set(Document.objects.values_list("storage_name", flat=True))
    limit = timezone.now() - older_than
    deleted = 0
    for name in files.stored_names():
        if name in referenced or default_storage.get_modified_time(name) > limit:
            continue
        files.delete_stored(name)
        deleted += 1
    return deleted


def document_filename(document: Document) -> str:
    """A safe download name: date, kind and the extension of the real type."""
    extension = {
        "application/pdf": "pdf",
        "image/jpeg": "jpg",
        "image/png": "png",
        "image/webp": "webp",
        "image/heic": "heic",
        "image/tiff": "tif",
        "application/dicom": "dcm",
    }.get(document.content_type, "bin")
    day = (
        document.document_date or timezone.localdate(document.created_at)
    ).isoformat()
    return f"{day}-{document.kind}-{str(document.pk)[:8]}.{extension}"


def summary_context(*, patient: Patient, documents) -> dict:
    profile = MedicalProfile.objects.filter(patient=patient).first()
    return {
        "patient": patient,
        "profile": profile,
        "insurance": patient.current_insurance(),
        "documents": documents,
        "generated_at": timezone.now(),
    }


def render_summary_pdf(*, patient: Patient, by, documents, request=None) -> bytes:
    """The "dossier médical synthétique" a practitioner reads before a consultation."""
    from ..pdf import render_pdf

    require_medical_access(by, patient)
    pdf = render_pdf(
        "patients/pdf/summary.html",
        summary_context(patient=patient, documents=documents),
    )
    audit(
        by=by,
        action=AccessLog.Action.READ,
        patient=patient,
        what=AuditObject.SUMMARY,
        object_id=patient.reference,
        request=request,
    )
    return pdf

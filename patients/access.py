"""Who may read a file's medical data, and when staff must "break the glass".

`visible_to(user)` says which rows a user may ever see. On top of it, a medical
adviser reads the medical data of the patients assigned to them; opening any
other file is possible (a colleague is away, an emergency) but only after giving a
reason, which the access log keeps and the patient sees. The access lasts
`BREAK_GLASS_MINUTES`.
"""

import enum

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from conciergerie.accounts.roles import Role
from conciergerie.audit.models import AccessLog
from conciergerie.audit.services import record_access

from .models import Document, Patient, SharingConsent, break_glass_window


class MedicalAccess(enum.Enum):
    GRANTED = "granted"
    BREAK_GLASS = "break_glass"  # allowed once a reason is given
    DENIED = "denied"


class AuditObject(models.TextChoices):
    """What a row of the access log is about, as the patient reads it."""

    IDENTITY = "patient", _("identity and contact details")
    MEDICAL_FILE = "medical_file", _("medical file")
    MEDICAL_PROFILE = "medical_profile", _("medical profile")
    DOCUMENT = "document", _("document")
    INSURANCE = "insurance", _("insurance")
    SUMMARY = "summary", _("summary for a practitioner")
    EXPORT = "export", _("export of the whole file")
    HEALTH_DATA_CONSENT = "health_data_consent", _("consent to health data processing")
    SHARING = "sharing", _("sharing with a practitioner")
    GUARDIANSHIP = "guardianship", _("guardians")
    ERASURE = "erasure", _("erasure request")
    CARE_REQUEST = "care_request", _("care request")
    CARE_PLAN = "care_plan", _("care plan")


def audit(
    *,
    by,
    action: str,
    patient: Patient,
    what: str,
    object_id: object = "",
    request=None,
    reason: str = "",
) -> AccessLog:
    """One access log row about one patient's data."""
    return record_access(
        actor=by,
        action=action,
        patient_ref=patient.reference,
        object_type=what,
        object_id=object_id or "",
        request=request,
        reason=reason,
    )


def is_medical_staff(user) -> bool:
    return bool(
        user.is_authenticated
        and (user.is_superuser or user.is_back_office)
        and user.has_perm("patients.view_medicalprofile")
    )


def manages(user, patient: Patient) -> bool:
    """The patient themselves, or one of their guardians."""
    return Patient.objects.managed_by(user).filter(pk=patient.pk).exists()


def has_active_break_glass(user, patient: Patient) -> bool:
    return AccessLog.objects.filter(
        actor=user,
        patient_ref=patient.reference,
        action=AccessLog.Action.BREAK_GLASS,
        occurred_at__gte=timezone.now() - break_glass_window(),
    ).exists()


def _staff_access(user, patient: Patient) -> MedicalAccess:
    if patient.is_assigned_to(user) or has_active_break_glass(user, patient):
        return MedicalAccess.GRANTED
    return MedicalAccess.BREAK_GLASS


def open_medical_files(user) -> models.QuerySet:
    """Files whose medical data this staff member may read now without a new
    reason: assigned to them, or opened by breaking the glass a moment ago."""
    recent = AccessLog.objects.filter(
        actor=user,
        action=AccessLog.Action.BREAK_GLASS,
        occurred_at__gte=timezone.now() - break_glass_window(),
    ).values("patient_ref")
    return Patient.objects.filter(
        models.Q(assigned_staff=user) | models.Q(reference__in=recent)
    )


def medical_access(user, patient: Patient) -> MedicalAccess:
    """May this user read the medical profile (and summary) of this patient now?"""
    if not user.is_authenticated or not user.is_active:
        return MedicalAccess.DENIED
    if manages(user, patient):
        return MedicalAccess.GRANTED
    if is_medical_staff(user):
        return _staff_access(user, patient)
    if (
        user.has_role(Role.PRACTITIONER, Role.PARTNER)
        and SharingConsent.objects.active()
        .filter(patient=patient, recipient=user, document__isnull=True)
        .exists()
    ):
        return MedicalAccess.GRANTED
    return MedicalAccess.DENIED


def document_access(user, document: Document) -> MedicalAccess:
    """May this user open this document now? (consent is read at this instant)"""
    if not Document.objects.visible_to(user).filter(pk=document.pk).exists():
        return MedicalAccess.DENIED
    patient = document.patient
    if manages(user, patient):
        return MedicalAccess.GRANTED
    if (user.is_superuser or user.is_back_office) and user.has_perm(
        "patients.view_document"
    ):
        return _staff_access(user, patient)
    return MedicalAccess.GRANTED


def may_add_document(user, patient: Patient) -> bool:
    """Adding a document reveals nothing of the file: no break-the-glass needed."""
    if not user.is_authenticated or not user.is_active:
        return False
    if manages(user, patient):
        return True
    if (user.is_superuser or user.is_back_office) and user.has_perm(
        "patients.add_document"
    ):
        return True
    return bool(
        user.has_role(Role.PRACTITIONER, Role.PARTNER)
        and Patient.objects.visible_to(user).filter(pk=patient.pk).exists()
    )

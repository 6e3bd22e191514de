"""Consent to the processing of health data, and sharing with practitioners."""

from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from conciergerie.accounts.models import User
from conciergerie.accounts.roles import Role
from conciergerie.audit.models import AccessLog

from ..access import AuditObject, audit
from ..models import Document, HealthDataConsent, Patient, SharingConsent


def has_health_data_consent(patient: Patient) -> bool:
    """True when the patient (or their guardian) currently consents to the
    processing of their health data: required to open a request, store a
    medical profile or a document."""
    return HealthDataConsent.objects.active().filter(patient=patient).exists()


def require_health_data_consent(patient: Patient) -> None:
    if not has_health_data_consent(patient):
        raise ValidationError(
            _(
                "The patient has not consented to the processing of their health "
                "data: record their consent first."
            ),
            code="health_data_consent_required",
        )


@transaction.atomic
def give_health_data_consent(
    *, patient: Patient, by, channel: str, request=None
) -> HealthDataConsent:
    """Record consent to the current privacy notice (replacing an older one)."""
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    version = settings.PRIVACY_NOTICE_VERSION
    current = HealthDataConsent.objects.active().filter(patient=patient).first()
    if current is not None and current.notice_version == version:
        return current
    now = timezone.now()
    actor = by if by is not None and by.is_authenticated else None
    if current is not None:
        current.withdrawn_at = now
        current.withdrawn_by = actor
        current.save(update_fields=["withdrawn_at", "withdrawn_by", "updated_at"])
    is_staff = bool(actor and actor.is_back_office)
    consent = HealthDataConsent.objects.create(
        patient=patient,
        given_at=now,
        notice_version=version,
        channel=channel,
        given_by=None if is_staff else actor,
        recorded_by=actor if is_staff else None,
    )
    audit(
        by=by,
        action=AccessLog.Action.CREATE,
        patient=patient,
        what=AuditObject.HEALTH_DATA_CONSENT,
        object_id=consent.pk,
        request=request,
    )
    return consent


@transaction.atomic
def withdraw_health_data_consent(*, patient: Patient, by, request=None) -> int:
    """Withdrawing consent stops every sharing at once; records already made are
    kept for the legal retention period, as the privacy notice explains."""
    now = timezone.now()
    actor = by if by is not None and by.is_authenticated else None
    withdrawn = (
        HealthDataConsent.objects.active()
        .filter(patient=patient)
        .update(withdrawn_at=now, withdrawn_by=actor, updated_at=now)
    )
    if not withdrawn:
        return 0
    for consent in SharingConsent.objects.active().filter(patient=patient):
        revoke_sharing(consent=consent, by=by, request=request)
    audit(
        by=by,
        action=AccessLog.Action.REVOKE,
        patient=patient,
        what=AuditObject.HEALTH_DATA_CONSENT,
        request=request,
    )
    return withdrawn


def find_recipient(email: str) -> User | None:
    """A practitioner's or partner's account, by the email the patient knows."""
    return (
        User.objects.filter(
            email__iexact=(email or "").strip(),
            is_active=True,
            groups__name__in=[Role.PRACTITIONER, Role.PARTNER],
        )
        .distinct()
        .first()
    )


@transaction.atomic
def share_with(
    *,
    patient: Patient,
    recipient: User,
    by,
    document: Document | None = None,
    expires_at: datetime | None = None,
    channel: str = "portal",
    request=None,
) -> SharingConsent:
    """Let a practitioner (or partner) see the whole medical file, or one document."""
    require_health_data_consent(patient)
    if not recipient.is_active or not recipient.has_role(
        Role.PRACTITIONER, Role.PARTNER
    ):
        raise ValidationError(
            {
                "recipient": ValidationError(
                    _("The file can only be shared with a practitioner."),
                    code="not_a_practitioner",
                )
            }
        )
    if document is not None and document.patient_id != patient.pk:
        raise ValidationError(
            {
                "document": ValidationError(
                    _("Unknown document."), code="unknown_document"
                )
            }
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError(
            {
                "expires_at": ValidationError(
                    _("Choose an end date in the future."), code="expiry_in_past"
                )
            }
        )
    existing = (
        SharingConsent.objects.select_for_update()
        .filter(
            patient=patient,
            recipient=recipient,
            document=document,
            revoked_at__isnull=True,
        )
        .first()
    )
    if existing is not None and existing.is_active:
        return existing
    if existing is not None:  # expired: close it before the new one
        existing.revoked_at = existing.expires_at
        existing.save(update_fields=["revoked_at", "updated_at"])
    consent = SharingConsent.objects.create(
        patient=patient,
        recipient=recipient,
        document=document,
        granted_by=by if by is not None and by.is_authenticated else None,
        expires_at=expires_at,
        channel=channel,
    )
    audit(
        by=by,
        action=AccessLog.Action.SHARE,
        patient=patient,
        what=AuditObject.SHARING,
        object_id=consent.pk,
        request=request,
        reason=_("With %(name)s")
        % {"name": recipient.get_full_name() or recipient.email},
    )
    return consent


@transaction.atomic
def revoke_sharing(*, consent: SharingConsent, by, request=None) -> SharingConsent:
    """Stop a sharing now: the very next request of the practitioner is refused."""
    consent = SharingConsent.objects.select_for_update().get(pk=consent.pk)
    if consent.revoked_at is not None:
        return consent
    consent.revoked_at = timezone.now()
    consent.revoked_by = by if by is not None and by.is_authenticated else None
    consent.save(update_fields=["revoked_at", "revoked_by", "updated_at"])
    audit(
        by=by,
        action=AccessLog.Action.REVOKE,
        patient=consent.patient,
        what=AuditObject.SHARING,
        object_id=consent.pk,
        request=request,
    )
    return consent

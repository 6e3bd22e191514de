"""GDPR rights: export (access, portability), erasure, and the retention purge."""

import json
import tempfile
import uuid
import zipfile
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_fsm import can_proceed

from conciergerie.audit.models import AccessLog
from conciergerie.audit.services import record_access

from .. import files, tasks
from ..access import AuditObject, audit
from ..models import (
    CarePlan,
    CareRequest,
    Document,
    ErasureRequest,
    Guardianship,
    HealthDataConsent,
    InsuranceCoverage,
    MedicalProfile,
    Patient,
    SharingConsent,
)
from .consents import revoke_sharing
from .medical import document_filename

User = get_user_model()

PSEUDONYM_LAST_NAME = "ANONYME"

#: What an erasure removes, and what it keeps with the reason (codes shown to the
#: patient in their language by the portal and the email).
ERASED = [
    "identity",
    "contact",
    "address",
    "preferences",
    "account",
    "insurance",
    "sharing",
]
KEPT = [
    ("medical_record", "medical_retention"),
    ("nir_birth_sex", "identify_medical_record"),
    ("consents", "proof_of_consent"),
    ("access_log", "traceability"),
    ("invoices", "accounting"),
]

ERASED_LABELS = {
    "identity": gettext_lazy("your names and birthplace"),
    "contact": gettext_lazy("your email address and phone number"),
    "address": gettext_lazy("your postal address"),
    "preferences": gettext_lazy("your language and reminder preferences"),
    "account": gettext_lazy("your portal account (you can no longer sign in)"),
    "insurance": gettext_lazy("your insurance and mutuelle details"),
    "sharing": gettext_lazy("every sharing with practitioners (revoked)"),
}
KEPT_LABELS = {
    "medical_record": (
        gettext_lazy("your medical record (profile and documents)"),
        gettext_lazy(
            "The law requires medical records to be kept 20 years after the last "
            "care (article R1112-7 of the Public Health Code); it will then be "
            "deleted automatically."
        ),
    ),
    "nir_birth_sex": (
        gettext_lazy("your social security number, date of birth and sex (encrypted)"),
        gettext_lazy(
            "They are the only way to attach the kept medical record to you if "
            "you or a doctor need it."
        ),
    ),
    "consents": (
        gettext_lazy("the record of your consents"),
        gettext_lazy("We must be able to prove what you had agreed to (GDPR art. 7)."),
    ),
    "access_log": (
        gettext_lazy("the log of accesses to your file"),
        gettext_lazy("Every access to health data must remain traceable."),
    ),
    "invoices": (
        gettext_lazy("your invoices and payments"),
        gettext_lazy("Accounting law requires keeping them 10 years."),
    ),
}


def describe_outcome(outcome: dict) -> dict:
    """The stored outcome codes, as sentences in the current language."""
    return {
        "erased": [
            ERASED_LABELS[c] for c in outcome.get("erased", []) if c in ERASED_LABELS
        ],
        "kept": [
            KEPT_LABELS[item["what"]]
            for item in outcome.get("kept", [])
            if item.get("what") in KEPT_LABELS
        ],
        "retention_until": parse_date(outcome.get("retention_until") or ""),
    }


# --- Export -------------------------------------------------------------------------
def export_data(patient: Patient) -> dict:
    """Everything the file holds about the patient, in plain JSON-ready values."""
    profile = MedicalProfile.objects.filter(patient=patient).first()
    documents = list(Document.objects.filter(patient=patient))
    care_requests = CareRequest.objects.filter(patient=patient).order_by("created_at")
    return {
        "format": "conciergerie-patient-export/1",
        "generated_at": timezone.now(),
        "reference": patient.reference,
        "identity": {
            "last_name": patient.last_name,
            "birth_last_name": patient.birth_last_name,
            "first_names": patient.first_names,
            "birth_date": patient.birth_date,
            "sex": patient.sex,
            "birth_place_code": patient.birth_place_code,
            "social_security_number": patient.nir,
        },
        "contact": {
            "email": patient.email,
            "mobile_phone": str(patient.mobile_phone or ""),
            "address_line": patient.address_line,
            "address_complement": patient.address_complement,
            "postal_code": patient.postal_code,
            "city": patient.city,
            "country": patient.country,
        },
        "preferences": {
            "language": patient.preferred_language,
            "reminder_channel": patient.reminder_channel,
            "quiet_hours_start": patient.quiet_hours_start,
            "quiet_hours_end": patient.quiet_hours_end,
        },
        "registered": {
            "at": patient.created_at,
            "through": patient.registration_channel,
            "last_activity_at": patient.last_activity_at,
        },
        "guardians": [
            {
                "name": g.guardian.get_full_name() or g.guardian.email,
                "relationship": g.relationship,
                "since": g.created_at,
                "ended_at": g.ended_at,
            }
            for g in Guardianship.objects.filter(patient=patient).select_related(
                "guardian"
            )
        ],
        "insurance": [
            {
                "regime": c.regime,
                "beneficiary_status": c.beneficiary_status,
                "fund_name": c.fund_name,
                "treating_doctor_declared": c.treating_doctor_declared,
                "treating_doctor_name": c.treating_doctor_name,
                "ald": c.ald,
                "ald_label": c.ald_label,
                "c2s": c.c2s,
                "mutuelle_name": c.mutuelle_name,
                "mutuelle_contract_number": c.mutuelle_contract_number,
                "mutuelle_member_number": c.mutuelle_member_number,
                "coverage_rate": c.coverage_rate,
                "optam_overrun_rate": c.optam_overrun_rate,
                "non_optam_overrun_rate": c.non_optam_overrun_rate,
                "contrat_responsable": c.contrat_responsable,
                "yearly_cap_consultations": c.yearly_cap_consultations,
                "yearly_cap_overruns": c.yearly_cap_overruns,
                "yearly_cap_total": c.yearly_cap_total,
                "valid_from": c.valid_from,
                "valid_to": c.valid_to,
            }
            for c in InsuranceCoverage.objects.filter(patient=patient)
        ],
        "medical_profile": (
            {
                "medical_history": profile.medical_history,
                "allergies": profile.allergies,
                "current_treatments": profile.current_treatments,
                "specific_needs": profile.specific_needs,
                "measurements": profile.measurements,
                "updated_at": profile.updated_at,
            }
            if profile
            else None
        ),
        "documents": [
            {
                "id": d.pk,
                "kind": d.kind,
                "title": d.title,
                "date": d.document_date,
                "source": d.source,
                "file_name": d.original_name,
                "content_type": d.content_type,
                "size": d.size,
                "sha256": d.sha256,
                "added_at": d.created_at,
                "file": f"documents/{document_filename(d)}",
            }
            for d in documents
        ],
        "health_data_consents": [
            {
                "given_at": c.given_at,
                "notice_version": c.notice_version,
                "channel": c.channel,
                "withdrawn_at": c.withdrawn_at,
            }
            for c in HealthDataConsent.objects.filter(patient=patient)
        ],
        "sharing_consents": [
            {
                "with": s.recipient.get_full_name() or s.recipient.email,
                "document": s.document_id,
                "granted_at": s.granted_at,
                "expires_at": s.expires_at,
                "revoked_at": s.revoked_at,
            }
            for s in SharingConsent.objects.filter(patient=patient).select_related(
                "recipient"
            )
        ],
        "access_log": [
            {
                "at": row.occurred_at,
                "who": row.actor_label,
                "role": row.actor_role,
                "action": row.action,
                "what": row.object_type,
                "through": row.face,
                "reason": row.reason,
            }
            for row in AccessLog.objects.for_patients([patient.reference]).order_by(
                "occurred_at"
            )
        ],
        "erasure_requests": [
            {
                "requested_at": e.created_at,
                "state": e.state,
                "handled_at": e.handled_at,
                "outcome": e.outcome,
            }
            for e in ErasureRequest.objects.filter(patient=patient)
        ],
        "care_requests": [_export_care_request(r) for r in care_requests],
        "care_plan": _export_care_plan(patient),
    }


def _export_care_request(care_request: CareRequest) -> dict:
    """A request as the patient may read it: their words, the timeline, the thread
    (the team's internal notes are working notes about the service, not data the
    patient gave; they stay out)."""
    return {
        "reference": care_request.reference,
        "kind": care_request.kind,
        "received_at": care_request.created_at,
        "through": care_request.channel,
        "need": care_request.need,
        "answers": care_request.answers,
        "specialty": care_request.specialty or care_request.suggested_specialty,
        "urgency": care_request.urgency,
        "state": care_request.state,
        "preferences": {
            "postal_code": care_request.place_postal_code,
            "commune": care_request.place_commune,
            "radius_km": care_request.radius_km,
            "available_from": care_request.available_from,
            "available_until": care_request.available_until,
            "availability": care_request.availability_notes,
            "languages": care_request.languages,
            "practitioner_gender": care_request.practitioner_gender,
            "max_budget": care_request.max_budget,
            "sector": care_request.sector,
            "mode": care_request.mode,
            "wheelchair_access": care_request.wheelchair_access,
        },
        "timeline": [
            {
                "at": event.created_at,
                "state": event.to_state,
                "text": event.public_text,
                "note": event.public_note,
            }
            for event in care_request.events.public().order_by("created_at", "pk")
        ],
        "messages": [
            {"at": message.created_at, "from": message.side, "text": message.body}
            for message in care_request.messages.all()
        ],
        "documents": list(care_request.documents.values_list("pk", flat=True)),
    }


def _export_care_plan(patient: Patient) -> dict | None:
    plan = CarePlan.objects.filter(patient=patient).first()
    if plan is None:
        return None
    return {
        "goals": plan.goals,
        "updated_at": plan.updated_at,
        "steps": [
            {
                "title": step.title,
                "planned_for": step.planned_for,
                "status": step.status,
                "details": step.details,
            }
            for step in plan.steps.all()
        ],
    }


def build_export(*, patient: Patient, by, request=None):
    """A zip of the whole file: JSON, a readable PDF and the decrypted documents.

    Returns (file name, open binary file positioned at 0). One access log row
    records the export.
    """
    from ..pdf import render_pdf

    data = export_data(patient)
    documents = list(Document.objects.filter(patient=patient))
    pdf = render_pdf(
        "patients/pdf/export.html",
        {
            "patient": patient,
            "data": data,
            "profile": MedicalProfile.objects.filter(patient=patient).first(),
            "documents": documents,
            "access_log": AccessLog.objects.for_patients([patient.reference]).order_by(
                "-occurred_at"
            )[:500],
            "generated_at": data["generated_at"],
        },
    )
    archive = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr(
            "dossier.json",
            json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
        )
        bundle.writestr("dossier.pdf", pdf)
        for document in documents:
            content = files.read_decrypted(
                storage_name=document.storage_name, sha256=document.sha256
            )
            bundle.writestr(f"documents/{document_filename(document)}", content)
    archive.seek(0)
    audit(
        by=by,
        action=AccessLog.Action.EXPORT,
        patient=patient,
        what=AuditObject.EXPORT,
        object_id=patient.reference,
        request=request,
    )
    day = timezone.localdate().isoformat()
    return f"dossier-{patient.reference}-{day}.zip", archive


# --- Erasure ------------------------------------------------------------------------
@transaction.atomic
def request_erasure(
    *, patient: Patient, by, message: str = "", request=None
) -> ErasureRequest:
    """The patient (or guardian) asks for erasure; a concierge is told at once."""
    if patient.is_erased:
        raise ValidationError(
            _("This file has already been pseudonymised."), code="file_erased"
        )
    if ErasureRequest.objects.open().filter(patient=patient).exists():
        raise ValidationError(
            _("Your erasure request is already being handled."),
            code="erasure_already_requested",
        )
    erasure = ErasureRequest.objects.create(
        patient=patient,
        requested_by=by if by is not None and by.is_authenticated else None,
        message=message.strip(),
    )
    audit(
        by=by,
        action=AccessLog.Action.CREATE,
        patient=patient,
        what=AuditObject.ERASURE,
        object_id=erasure.pk,
        request=request,
    )
    tasks.notify_erasure_request.delay_on_commit(str(erasure.pk))
    return erasure


def _contact_of(patient: Patient) -> tuple[str, str]:
    email = patient.email or (patient.user.email if patient.user_id else "")
    if not email:
        guardian = (
            Guardianship.objects.active()
            .filter(patient=patient)
            .select_related("guardian")
            .first()
        )
        email = guardian.guardian.email if guardian else ""
    return email, patient.preferred_language


def _pseudonymise_identity(patient: Patient) -> None:
    patient.last_name = PSEUDONYM_LAST_NAME
    patient.birth_last_name = ""
    patient.first_names = patient.reference
    patient.birth_place_code = ""
    patient.email = ""
    patient.mobile_phone = ""
    patient.address_line = ""
    patient.address_complement = ""
    patient.postal_code = ""
    patient.city = ""
    patient.preferred_language = "fr"
    patient.reminder_channel = Patient.ReminderChannel.EMAIL
    patient.quiet_hours_start = None
    patient.quiet_hours_end = None
    patient.referred_by = None


def _close_account(user, *, patient: Patient) -> None:
    """Pseudonymise and deactivate the portal account, unless it still manages
    other files (a parent erasing their own file keeps their children's)."""
    still_manages = (
        Guardianship.objects.active()
        .filter(guardian=user)
        .exclude(patient=patient)
        .exists()
    )
    if still_manages:
        return
    from allauth.account.models import EmailAddress

    EmailAddress.objects.filter(user=user).delete()
    user.email = f"erased-{uuid.uuid4().hex}@invalid.invalid"
    user.first_name = ""
    user.last_name = ""
    user.is_active = False
    user.set_unusable_password()
    user.save(
        update_fields=["email", "first_name", "last_name", "is_active", "password"]
    )


def _scrub(patient: Patient, *, now) -> None:
    """Remove identity, contact, account, insurance and sharing; history included."""
    _pseudonymise_identity(patient)
    user = patient.user
    patient.user = None
    patient.erased_at = patient.erased_at or now
    patient.save()
    if user is not None:
        _close_account(user, patient=patient)
    # Deleting records a last historical row: the history goes afterwards.
    InsuranceCoverage.objects.filter(patient=patient).delete()
    InsuranceCoverage.history.filter(patient_id=patient.pk).delete()
    for consent in SharingConsent.objects.active().filter(patient=patient):
        revoke_sharing(consent=consent, by=None)
    Guardianship.objects.active().filter(patient=patient).update(ended_at=now)
    # The history of the identity holds the very data being erased: keep only
    # the pseudonymised state just saved.
    latest = patient.history.order_by("-history_date").first()
    patient.history.exclude(pk=latest.pk if latest else None).delete()


@transaction.atomic
def carry_out_erasure(*, erasure: ErasureRequest, by, request=None) -> ErasureRequest:
    """Pseudonymise what is no longer needed; keep the medical record for its
    legal retention period; tell the patient what was erased, what was kept, why."""
    erasure = ErasureRequest.objects.select_for_update().get(pk=erasure.pk)
    if not can_proceed(erasure.complete):
        raise ValidationError(
            _("This request has already been handled."), code="erasure_not_open"
        )
    patient = Patient.objects.select_for_update().get(pk=erasure.patient_id)
    email, language = _contact_of(patient)
    now = timezone.now()
    retention_until = patient.retention_ends_on()
    _scrub(patient, now=now)
    outcome = {
        "erased": ERASED,
        "kept": [{"what": what, "why": why} for what, why in KEPT],
        "retention_until": retention_until.isoformat(),
    }
    erasure.complete(by=by, outcome=outcome)
    erasure.save()
    audit(
        by=by,
        action=AccessLog.Action.ERASE,
        patient=patient,
        what=AuditObject.ERASURE,
        object_id=erasure.pk,
        request=request,
    )
    if email:
        tasks.send_erasure_outcome.delay_on_commit(str(erasure.pk), email, language)
    return erasure


@transaction.atomic
def reject_erasure(
    *, erasure: ErasureRequest, by, response: str, request=None
) -> ErasureRequest:
    """Refuse an erasure, with the legal reason the patient will read."""
    erasure = ErasureRequest.objects.select_for_update().get(pk=erasure.pk)
    if not (response or "").strip():
        raise ValidationError(
            {
                "response": ValidationError(
                    _("Explain to the patient why their request is refused."),
                    code="response_required",
                )
            }
        )
    if not can_proceed(erasure.reject):
        raise ValidationError(
            _("This request has already been handled."), code="erasure_not_open"
        )
    erasure.reject(by=by, response=response.strip())
    erasure.save()
    audit(
        by=by,
        action=AccessLog.Action.UPDATE,
        patient=erasure.patient,
        what=AuditObject.ERASURE,
        object_id=erasure.pk,
        request=request,
    )
    email, language = _contact_of(erasure.patient)
    if email:
        tasks.send_erasure_outcome.delay_on_commit(str(erasure.pk), email, language)
    return erasure


# --- Retention ----------------------------------------------------------------------
@transaction.atomic
def purge_patient(*, patient: Patient) -> None:
    """The retention period is over: delete the medical record and what is left of
    the identity. The reference stays as a tombstone for other apps' records."""
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    now = timezone.now()
    storage_names = list(
        Document.objects.filter(patient=patient).values_list("storage_name", flat=True)
    )
    SharingConsent.objects.filter(patient=patient).delete()
    # Care requests are part of the medical record: they go with it (their
    # events, messages, notes and tasks by cascade).
    CareRequest.objects.filter(patient=patient).delete()
    CarePlan.objects.filter(patient=patient).delete()
    Document.objects.filter(patient=patient).delete()
    MedicalProfile.objects.filter(patient=patient).delete()
    MedicalProfile.history.filter(patient_id=patient.pk).delete()
    HealthDataConsent.objects.filter(patient=patient).delete()
    Guardianship.objects.filter(patient=patient).delete()
    Guardianship.history.filter(patient_id=patient.pk).delete()
    ErasureRequest.objects.filter(patient=patient).delete()
    _scrub(patient, now=now)
    patient.nir = ""
    patient.purged_at = now
    patient.save()
    patient.history.all().delete()
    record_access(
        actor=None,
        action=AccessLog.Action.PURGE,
        patient_ref=patient.reference,
        object_type=AuditObject.MEDICAL_FILE,
        object_id=patient.reference,
        reason=_("End of the retention period of the medical record"),
    )

    def delete_files() -> None:
        for name in storage_names:
            files.delete_stored(name)

    transaction.on_commit(delete_files)


def purge_expired_medical_records(*, now=None) -> int:
    """Purge every file whose retention period has ended; safe to run twice."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    # Coarse filter in SQL (the shortest possible retention), exact rule in Python.
    from django.conf import settings

    horizon = now - timedelta(days=365 * settings.MEDICAL_RECORD_RETENTION_YEARS)
    purged = 0
    candidates = Patient.objects.filter(
        purged_at__isnull=True, last_activity_at__lt=horizon
    )
    for patient in candidates.iterator():
        if patient.retention_ends_on() < today:
            purge_patient(patient=patient)
            purged += 1
    return purged


def end_guardianships_of_adults(*, now=None) -> int:
    """Parents stop managing a child's file on their 18th birthday."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    try:
        adult_born_before = today.replace(year=today.year - 18)
    except ValueError:  # 29 February
        adult_born_before = today.replace(year=today.year - 18, day=28)
    return (
        Guardianship.objects.active()
        .filter(
            relationship=Guardianship.Relationship.PARENT,
            patient__birth_date__lte=adult_born_before,
        )
        .update(ended_at=now, updated_at=now)
    )

"""Registering, rectifying, assigning and merging patient files."""

import re

from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from conciergerie import crypto
from conciergerie.accounts.models import User
from conciergerie.audit.models import AccessLog

from ..access import AuditObject, audit
from ..models import (
    CarePlan,
    CareRequest,
    Channel,
    Document,
    Guardianship,
    HealthDataConsent,
    InsuranceCoverage,
    MedicalProfile,
    Patient,
    PatientQuerySet,
    SharingConsent,
)
from ..validators import normalise_nir

#: What a patient, a guardian, a concierge or a partner may write on a file.
IDENTITY_FIELDS = [
    "last_name",
    "birth_last_name",
    "first_names",
    "birth_date",
    "sex",
    "birth_place_code",
    "nir",
    "email",
    "mobile_phone",
    "address_line",
    "address_complement",
    "postal_code",
    "city",
    "country",
    "preferred_language",
    "reminder_channel",
    "quiet_hours_start",
    "quiet_hours_end",
]


class PossibleDuplicate(ValidationError):
    """Files that may be the same person, among those the registrant may see."""

    def __init__(self, candidates: list[Patient]):
        super().__init__(
            _(
                "A file may already exist for this person. Check the files below; "
                "create a new one only if it is someone else."
            ),
            code="possible_duplicate",
        )
        self.candidates = candidates


def _first_name_token(first_names: str) -> str:
    tokens = [token for token in re.split(r"[\s\-,]+", first_names.strip()) if token]
    return tokens[0] if tokens else ""


def find_duplicates(
    *,
    last_name: str,
    first_names: str,
    birth_date,
    nir: str = "",
    email: str = "",
    exclude: Patient | None = None,
) -> PatientQuerySet:
    """Files likely to be the same person.

    The same NIR; or the same birth date with the same last (or birth) name and
    first name, accents and case aside; or the same birth date and email (an
    email alone is shared within families).
    """
    condition = Q(pk__in=[])
    name = (last_name or "").strip()
    first = _first_name_token(first_names or "")
    if birth_date and name and first:
        condition |= (
            Q(birth_date=birth_date)
            & (
                Q(last_name__unaccent__iexact=name)
                | Q(birth_last_name__unaccent__iexact=name)
            )
            & Q(first_names__unaccent__istartswith=first)
        )
    if nir:
        condition |= Q(
            nir_hash__in=crypto.blind_indexes(normalise_nir(nir), purpose="patient-nir")
        )
    if email and birth_date:
        condition |= Q(email__iexact=email.strip(), birth_date=birth_date)
    candidates = Patient.objects.active().filter(condition)
    if exclude is not None and exclude.pk:
        candidates = candidates.exclude(pk=exclude.pk)
    return candidates.order_by("created_at")


def duplicates_of(patient: Patient) -> PatientQuerySet:
    return find_duplicates(
        last_name=patient.last_name,
        first_names=patient.first_names,
        birth_date=patient.birth_date,
        nir=patient.nir,
        email=patient.email,
        exclude=patient,
    )


@transaction.atomic
def register_patient(
    *,
    patient: Patient,
    by,
    channel: str,
    user: User | None = None,
    referred_by: User | None = None,
    confirm_duplicate: bool = False,
    health_data_consent: bool = False,
    request=None,
) -> Patient:
    """Open a file, never silently a second one for the same person.

    Likely duplicates that the registrant may see stop the registration until
    they confirm it is someone else; those they may not see (another family's
    file, a partner's referral) are not revealed: the new file is flagged so that
    a concierge checks it and merges the two if needed.
    """
    if user is not None and Patient.objects.filter(user=user).exists():
        raise ValidationError(
            _("This account already has its own file."), code="already_has_file"
        )
    patient.registration_channel = channel
    patient.created_by = by if by is not None and by.is_authenticated else None
    patient.user = user
    patient.referred_by = referred_by
    patient.full_clean(exclude=["reference"])
    # Two registrations of the same person at the same moment (a partner's retry,
    # a double click) must see each other: they queue on their birth date.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))",
            [f"patients.register:{patient.birth_date.isoformat()}"],
        )
    candidates = list(duplicates_of(patient))
    if candidates and not confirm_duplicate:
        visible = (
            Patient.objects.visible_to(by).filter(pk__in=[c.pk for c in candidates])
            if by is not None
            else Patient.objects.none()
        )
        if visible.exists():
            raise PossibleDuplicate(list(visible))
    patient.duplicate_review_needed = bool(candidates)
    patient.save()
    if candidates:
        patient.possible_duplicates.set(candidates)
    audit(
        by=by,
        action=AccessLog.Action.CREATE,
        patient=patient,
        what=AuditObject.IDENTITY,
        object_id=patient.reference,
        request=request,
    )
    if health_data_consent:
        from .consents import give_health_data_consent

        give_health_data_consent(
            patient=patient, by=by, channel=channel, request=request
        )
    return patient


@transaction.atomic
def add_dependant(
    *,
    guardian: User,
    patient: Patient,
    relationship: str,
    confirm_duplicate: bool = False,
    health_data_consent: bool = False,
    request=None,
) -> Patient:
    """A parent or legal representative opens the file of the person they care for."""
    if relationship == Guardianship.Relationship.PARENT and patient.birth_date:
        today = timezone.localdate()
        born = patient.birth_date
        age = (
            today.year - born.year - ((today.month, today.day) < (born.month, born.day))
        )
        if age >= 18:
            raise ValidationError(
                {
                    "birth_date": ValidationError(
                        _(
                            "A parent manages the file of a minor child. For an adult, "
                            "choose legal guardian or curator (with the court order)."
                        ),
                        code="dependant_not_minor",
                    )
                }
            )
    patient = register_patient(
        patient=patient,
        by=guardian,
        channel=Channel.PORTAL,
        confirm_duplicate=confirm_duplicate,
        request=request,
    )
    guardianship = Guardianship.objects.create(
        guardian=guardian,
        patient=patient,
        relationship=relationship,
        created_by=guardian,
    )
    audit(
        by=guardian,
        action=AccessLog.Action.CREATE,
        patient=patient,
        what=AuditObject.GUARDIANSHIP,
        object_id=guardianship.pk,
        request=request,
    )
    if health_data_consent:
        from .consents import give_health_data_consent

        give_health_data_consent(
            patient=patient, by=guardian, channel=Channel.PORTAL, request=request
        )
    return patient


@transaction.atomic
def update_identity(
    *, patient: Patient, by, changed_fields: list[str] | None = None, request=None
) -> Patient:
    """Rectify identity and contact data (GDPR art. 16); the history keeps the old."""
    if patient.is_erased:
        raise ValidationError(
            _("This file was pseudonymised and can no longer be changed."),
            code="file_erased",
        )
    patient.full_clean()
    fields = [f for f in (changed_fields or IDENTITY_FIELDS) if f in IDENTITY_FIELDS]
    if not fields:
        return patient
    if "nir" in fields:
        fields.append("nir_hash")
    patient.save(update_fields=[*fields, "updated_at"])
    audit(
        by=by,
        action=AccessLog.Action.UPDATE,
        patient=patient,
        what=AuditObject.IDENTITY,
        object_id=patient.reference,
        request=request,
    )
    return patient


@transaction.atomic
def assign_staff(*, patient: Patient, staff: User, by, request=None) -> None:
    """Make a concierge responsible for a file (a medical adviser then reads it)."""
    if not staff.is_back_office:
        raise ValidationError(
            _("Only back-office staff can be assigned a file."), code="not_staff"
        )
    patient.assigned_staff.add(staff)
    audit(
        by=by,
        action=AccessLog.Action.UPDATE,
        patient=patient,
        what=AuditObject.IDENTITY,
        object_id=patient.reference,
        request=request,
        reason=_("Assigned to %(name)s")
        % {"name": staff.get_full_name() or staff.email},
    )


def touch_activity(patient: Patient) -> None:
    """Something happened on the file: the retention period starts again."""
    Patient.objects.filter(pk=patient.pk).update(last_activity_at=timezone.now())


@transaction.atomic
def merge_patients(*, keep: Patient, duplicate: Patient, by, request=None) -> Patient:
    """Fold a duplicate file into the one kept, losing nothing.

    Documents, sharings, guardians and every other app's rows move to the kept
    file; what cannot move without a conflict (an overlapping insurance period,
    a second active consent) stays on the duplicate, which remains as a read-only
    trace pointing to the kept file.
    """
    keep, duplicate = (
        Patient.objects.select_for_update().get(pk=keep.pk),
        Patient.objects.select_for_update().get(pk=duplicate.pk),
    )
    if keep.pk == duplicate.pk:
        raise ValidationError(_("Choose two different files."), code="same_file")
    if keep.merged_into_id or duplicate.merged_into_id:
        raise ValidationError(
            _("One of these files was already merged."), code="already_merged"
        )
    if keep.user_id and duplicate.user_id:
        raise ValidationError(
            _(
                "Both files have their own portal account: ask the patient which one "
                "to keep and unlink the other first."
            ),
            code="two_accounts",
        )

    Document.objects.filter(patient=duplicate).update(patient=keep)
    for coverage in InsuranceCoverage.objects.filter(patient=duplicate):
        coverage.patient = keep
        try:
            coverage.validate_constraints()
        except ValidationError:
            continue  # overlaps the kept file's coverage: stays on the duplicate
        coverage.save(update_fields=["patient", "updated_at"])
    if not HealthDataConsent.objects.active().filter(patient=keep).exists():
        HealthDataConsent.objects.active().filter(patient=duplicate).update(
            patient=keep
        )
    for consent in SharingConsent.objects.filter(
        patient=duplicate, revoked_at__isnull=True
    ):
        if not SharingConsent.objects.filter(
            patient=keep,
            recipient=consent.recipient_id,
            document=consent.document_id,
            revoked_at__isnull=True,
        ).exists():
            SharingConsent.objects.filter(pk=consent.pk).update(patient=keep)
    for guardianship in Guardianship.objects.active().filter(patient=duplicate):
        if (
            not Guardianship.objects.active()
            .filter(patient=keep, guardian=guardianship.guardian_id)
            .exists()
        ):
            Guardianship.objects.filter(pk=guardianship.pk).update(patient=keep)
    _merge_medical_profiles(keep=keep, duplicate=duplicate, by=by)
    _merge_care(keep=keep, duplicate=duplicate)
    _move_other_apps_rows(keep=keep, duplicate=duplicate)

    keep.assigned_staff.add(*duplicate.assigned_staff.all())
    update = ["last_activity_at", "duplicate_review_needed", "updated_at"]
    if duplicate.user_id and not keep.user_id:
        user = duplicate.user
        duplicate.user = None
        duplicate.save(update_fields=["user", "updated_at"])
        keep.user = user
        update.append("user")
    if duplicate.referred_by_id and not keep.referred_by_id:
        keep.referred_by_id = duplicate.referred_by_id
        update.append("referred_by")
    for field in IDENTITY_FIELDS:
        if not getattr(keep, field) and getattr(duplicate, field):
            setattr(keep, field, getattr(duplicate, field))
            update.append(field)
    if "nir" in update:
        update.append("nir_hash")
    keep.last_activity_at = max(keep.last_activity_at, duplicate.last_activity_at)
    keep.possible_duplicates.remove(duplicate)
    duplicate.possible_duplicates.clear()
    keep.duplicate_review_needed = keep.possible_duplicates.exists()
    keep.save(update_fields=update)
    duplicate.merged_into = keep
    duplicate.duplicate_review_needed = False
    duplicate.save(
        update_fields=["merged_into", "duplicate_review_needed", "updated_at"]
    )
    Patient.possible_duplicates.through.objects.filter(to_patient=duplicate).delete()

    for patient, other in ((keep, duplicate), (duplicate, keep)):
        audit(
            by=by,
            action=AccessLog.Action.MERGE,
            patient=patient,
            what=AuditObject.IDENTITY,
            object_id=other.reference,
            request=request,
        )
    return keep


def _merge_medical_profiles(*, keep: Patient, duplicate: Patient, by) -> None:
    source = MedicalProfile.objects.filter(patient=duplicate).first()
    if source is None:
        return
    target = MedicalProfile.objects.filter(patient=keep).first()
    if target is None:
        source.patient = keep
        source.save(update_fields=["patient", "updated_at"])
        return
    note = _("From file %(reference)s:") % {"reference": duplicate.reference}
    for field in (
        "medical_history",
        "allergies",
        "current_treatments",
        "specific_needs",
    ):
        extra = getattr(source, field)
        if extra and extra not in getattr(target, field):
            current = getattr(target, field)
            setattr(target, field, f"{current}\n\n{note}\n{extra}".strip())
    target.measurements = {**source.measurements, **target.measurements}
    target.updated_by = by
    target.save()


def _merge_care(*, keep: Patient, duplicate: Patient) -> None:
    """Care requests follow the kept file; so does the care plan, or its steps."""
    CareRequest.objects.filter(patient=duplicate).update(patient=keep)
    source = CarePlan.objects.filter(patient=duplicate).first()
    if source is None:
        return
    target = CarePlan.objects.filter(patient=keep).first()
    if target is None:
        CarePlan.objects.filter(pk=source.pk).update(patient=keep)
        return
    offset = target.steps.count()
    for step in source.steps.all():
        step.plan = target
        step.position += offset
        step.save(update_fields=["plan", "position", "updated_at"])
    if source.goals and source.goals not in target.goals:
        target.goals = f"{target.goals}\n\n{source.goals}".strip()
        target.save(update_fields=["goals", "updated_at"])
    source.delete()


def _move_other_apps_rows(*, keep: Patient, duplicate: Patient) -> None:
    """Rows of later apps (care requests, appointments…) follow the kept file."""
    for relation in Patient._meta.related_objects:
        model = relation.related_model
        if (
            model._meta.app_label == Patient._meta.app_label
            or relation.many_to_many
            or relation.one_to_one
            or not isinstance(relation.field, models.ForeignKey)
        ):
            continue
        model._base_manager.filter(**{relation.field.name: duplicate}).update(
            **{relation.field.name: keep}
        )

"""The patient file: identity, dependants, insurance, medical data, documents, consents.

Who may see what is decided in one place per model, `visible_to(user)`, and every
face (admin, portal, API) starts from it. Medical free text is encrypted at rest
(conciergerie.fields); documents are encrypted files (patients.files).
"""

import secrets
import uuid
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, DateRangeField, RangeOperators
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Case, Exists, F, Func, OuterRef, Q, Value, When
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition
from phonenumber_field.modelfields import PhoneNumberField
from simple_history.models import HistoricalRecords

from conciergerie.accounts.roles import STAFF_ROLES, Role
from conciergerie.fields import (
    EncryptedCharField,
    EncryptedJSONField,
    EncryptedTextField,
)
from conciergerie.models import TimeStampedModel, save_with_random_reference

from .validators import (
    nir_conflicts,
    normalise_nir,
    validate_insee_code,
    validate_nir,
    validate_not_in_future,
    validate_postal_code,
)

#: Digits and capitals that cannot be mistaken for each other when read aloud or
#: copied by hand: no 0/O, 1/I/L, nor U (read as V).
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_LENGTH = 6
REFERENCE_PREFIX = "P-"


def new_reference() -> str:
    body = "".join(secrets.choice(REFERENCE_ALPHABET) for _i in range(REFERENCE_LENGTH))
    return REFERENCE_PREFIX + body


def normalise_reference(value: str, prefix: str = REFERENCE_PREFIX) -> str:
    """What people type for a reference: any case, with or without the prefix.

    The body has a fixed length and may itself start with the prefix's letter
    ("PB2752" is the body of P-PB2752), so only a longer value loses that letter.
    """
    value = (value or "").strip().upper().replace(" ", "")
    if value.startswith(prefix):
        return value
    letter = prefix.rstrip("-")
    if len(value) == REFERENCE_LENGTH + len(letter) and value.startswith(letter):
        value = value.removeprefix(letter)
    return prefix + value


class Channel(models.TextChoices):
    """How a file, a consent or a document reached us."""

    PORTAL = "portal", _("patient portal")
    PHONE = "phone", _("by phone, with a concierge")
    PAPER = "paper", _("signed paper form")
    ADMIN = "admin", _("back-office")
    API = "api", _("partner referral")
    SEED = "seed", _("demonstration data")


def _is_back_office(user) -> bool:
    return bool(user.is_authenticated and (user.is_superuser or user.is_back_office))


def managed_patient_ids(user) -> models.QuerySet:
    """The files a portal user manages: their own and their dependants'."""
    return (
        Patient.objects.filter(
            Q(user=user)
            | Q(guardianships__guardian=user, guardianships__ended_at__isnull=True)
        )
        .filter(merged_into__isnull=True)
        .values("pk")
    )


def shared_patient_ids(user, *, whole_file: bool) -> models.QuerySet:
    """Files with an active sharing consent to this practitioner or partner."""
    consents = SharingConsent.objects.active().filter(recipient=user)
    if whole_file:
        consents = consents.filter(document__isnull=True)
    return consents.values("patient_id")


# --- Patient ------------------------------------------------------------------------
class PatientQuerySet(models.QuerySet):
    def visible_to(self, user) -> "PatientQuerySet":
        """Staff see every file; others their own, dependants', referred or shared.

        Seeing a file here means seeing its identity; medical data has its own
        rules (MedicalProfile, Document) and, for staff, break-the-glass.
        """
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if _is_back_office(user):
            return self
        condition = Q(pk__in=managed_patient_ids(user))
        if user.has_role(Role.PRACTITIONER, Role.PARTNER):
            condition |= Q(pk__in=shared_patient_ids(user, whole_file=False))
        if user.has_role(Role.PARTNER):
            condition |= Q(referred_by=user)
        return self.filter(condition).filter(merged_into__isnull=True)

    def managed_by(self, user) -> "PatientQuerySet":
        """The files whose owner or guardian this user is (consents, rights)."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        return self.filter(pk__in=managed_patient_ids(user))

    def active(self) -> "PatientQuerySet":
        return self.filter(merged_into__isnull=True, purged_at__isnull=True)

    def with_health_data_consent(self) -> "PatientQuerySet":
        return self.filter(
            Exists(HealthDataConsent.objects.active().filter(patient=OuterRef("pk")))
        )


class Patient(TimeStampedModel):
    class Sex(models.TextChoices):
        FEMALE = "female", _("female")
        MALE = "male", _("male")
        OTHER = "other", _("other / not specified")

    class ReminderChannel(models.TextChoices):
        SMS = "sms", _("SMS")
        EMAIL = "email", _("email")
        BOTH = "both", _("SMS and email")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(
        _("reference"), max_length=8, unique=True, editable=False
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="patient_file",
        verbose_name=_("portal account"),
        help_text=_("The patient's own account, when they have one."),
    )

    # Identity
    last_name = models.CharField(_("last name"), max_length=150)
    birth_last_name = models.CharField(
        _("birth name"),
        max_length=150,
        blank=True,
        help_text=_("If different from the name used (e.g. maiden name)."),
    )
    first_names = models.CharField(
        _("first names"),
        max_length=150,
        help_text=_("All first names, as on the identity card."),
    )
    birth_date = models.DateField(
        _("date of birth"), validators=[validate_not_in_future]
    )
    sex = models.CharField(_("sex"), max_length=8, choices=Sex.choices)
    birth_place_code = models.CharField(
        _("birthplace INSEE code"),
        max_length=5,
        blank=True,
        validators=[validate_insee_code],
        help_text=_("Five characters, e.g. 75056 for Paris; 99 + country if abroad."),
    )
    nir = EncryptedCharField(
        _("social security number"),
        max_length=15,
        blank=True,
        validators=[validate_nir],
        help_text=_("15 digits, as on the carte Vitale."),
    )
    nir_hash = models.CharField(
        max_length=64, blank=True, db_index=True, editable=False
    )

    # Contact
    email = models.EmailField(_("email"), blank=True)
    mobile_phone = PhoneNumberField(
        _("mobile phone"),
        blank=True,
        help_text=_("For reminders by SMS, e.g. 06 12 34 56 78."),
    )
    address_line = models.CharField(_("address"), max_length=255, blank=True)
    address_complement = models.CharField(
        _("address complement"), max_length=255, blank=True
    )
    postal_code = models.CharField(_("postal code"), max_length=10, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(
        _("country"),
        max_length=2,
        default="FR",
        help_text=_("Two-letter code, FR for France."),
    )

    # Preferences
    preferred_language = models.CharField(
        _("preferred language"),
        max_length=8,
        choices=settings.LANGUAGES,
        default="fr",
    )
    reminder_channel = models.CharField(
        _("reminders by"),
        max_length=8,
        choices=ReminderChannel.choices,
        default=ReminderChannel.BOTH,
    )
    quiet_hours_start = models.TimeField(
        _("no messages from"),
        null=True,
        blank=True,
        help_text=_("We send no SMS between these two times (e.g. 21:00 to 08:00)."),
    )
    quiet_hours_end = models.TimeField(_("no messages until"), null=True, blank=True)

    # Links and follow-up
    referred_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="referred_patients",
        verbose_name=_("referred by"),
    )
    assigned_staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="assigned_patients",
        verbose_name=_("assigned concierges"),
        help_text=_(
            "Medical advisers of this patient read the medical file without "
            "giving a reason each time."
        ),
    )
    registration_channel = models.CharField(
        _("registered through"), max_length=8, choices=Channel.choices
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("registered by"),
    )
    duplicate_review_needed = models.BooleanField(
        _("possible duplicate to review"), default=False
    )
    possible_duplicates = models.ManyToManyField(
        "self", blank=True, symmetrical=False, verbose_name=_("possible duplicates")
    )
    merged_into = models.ForeignKey(
        "self",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_files",
        verbose_name=_("merged into"),
    )
    last_activity_at = models.DateTimeField(
        _("last activity"),
        default=timezone.now,
        help_text=_("The retention period of the medical record runs from here."),
    )
    erased_at = models.DateTimeField(_("pseudonymised on"), null=True, blank=True)
    purged_at = models.DateTimeField(_("purged on"), null=True, blank=True)

    history = HistoricalRecords(excluded_fields=["nir_hash", "last_activity_at"])

    objects = PatientQuerySet.as_manager()

    class Meta:
        verbose_name = _("patient")
        verbose_name_plural = _("patients")
        ordering = ["last_name", "first_names"]
        indexes = [models.Index(fields=["last_name", "birth_date"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    quiet_hours_start__isnull=True, quiet_hours_end__isnull=True
                )
                | Q(quiet_hours_start__isnull=False, quiet_hours_end__isnull=False),
                name="patient_quiet_hours_both_or_none",
                violation_error_code="quiet_hours_incomplete",
                violation_error_message=_(
                    "Give both the start and the end of the quiet hours."
                ),
            ),
            models.CheckConstraint(
                condition=Q(reference__regex=r"^P-[2-9A-HJKMNP-TV-Z]{6}$"),
                name="patient_reference_format",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.reference})"

    def save(self, *args, **kwargs) -> None:
        if self.nir:
            self.nir = normalise_nir(self.nir)
        self.nir_hash = _nir_index(self.nir)
        save_with_random_reference(self, super().save, new_reference, *args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("patients:detail", kwargs={"reference": self.reference})

    def clean_fields(self, exclude=None) -> None:
        # People type the NIR with spaces or dots, as printed on the carte Vitale.
        if self.nir:
            self.nir = normalise_nir(self.nir)
        super().clean_fields(exclude=exclude)

    def clean(self) -> None:
        errors: dict[str, list[ValidationError]] = {}
        if self.nir and _is_valid_nir(self.nir):
            conflicts = nir_conflicts(
                self.nir, sex=self.sex, birth_date=self.birth_date
            )
            if conflicts:
                errors.setdefault("nir", []).extend(conflicts)
        if self.birth_date and self.birth_date < date(1900, 1, 1):
            errors.setdefault("birth_date", []).append(
                ValidationError(
                    _("Check the date of birth: it is before 1900."),
                    code="birth_date_too_old",
                )
            )
        if self.country.upper() == "FR" and self.postal_code:
            try:
                validate_postal_code(self.postal_code)
            except ValidationError as error:
                errors.setdefault("postal_code", []).append(error)
        if self.mobile_phone and self.mobile_phone.is_valid():
            import phonenumbers

            kind = phonenumbers.number_type(self.mobile_phone)
            if kind not in (
                phonenumbers.PhoneNumberType.MOBILE,
                phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
            ):
                errors.setdefault("mobile_phone", []).append(
                    ValidationError(
                        _("This is not a mobile number: SMS reminders need one."),
                        code="not_a_mobile",
                    )
                )
        if (self.quiet_hours_start is None) != (self.quiet_hours_end is None):
            errors.setdefault("quiet_hours_end", []).append(
                ValidationError(
                    _("Give both the start and the end of the quiet hours."),
                    code="quiet_hours_incomplete",
                )
            )
        self.country = (self.country or "FR").upper()
        if errors:
            raise ValidationError(errors)

    @property
    def full_name(self) -> str:
        return f"{self.first_names} {self.last_name.upper()}".strip()

    @property
    def age(self) -> int:
        today = timezone.localdate()
        born = self.birth_date
        return (
            today.year - born.year - ((today.month, today.day) < (born.month, born.day))
        )

    @property
    def is_minor(self) -> bool:
        return self.age < 18

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None

    def retention_ends_on(self) -> date:
        """The medical record is kept 20 years after the last activity (a setting),
        and for a minor at least until their 28th birthday (CSP R1112-7)."""
        years = settings.MEDICAL_RECORD_RETENTION_YEARS
        last = timezone.localdate(self.last_activity_at)
        try:
            ends = last.replace(year=last.year + years)
        except ValueError:  # 29 February
            ends = last.replace(year=last.year + years, day=28)
        try:
            adult_limit = self.birth_date.replace(year=self.birth_date.year + 28)
        except ValueError:
            adult_limit = self.birth_date.replace(
                year=self.birth_date.year + 28, day=28
            )
        return max(ends, adult_limit)

    def current_insurance(self, on: date | None = None) -> "InsuranceCoverage | None":
        return self.insurance_coverages.current(on).first()

    def is_assigned_to(self, user) -> bool:
        return self.assigned_staff.filter(pk=user.pk).exists()


def _is_valid_nir(nir: str) -> bool:
    try:
        validate_nir(nir)
    except ValidationError:
        return False
    return True


def _nir_index(nir: str) -> str:
    from conciergerie import crypto

    return crypto.blind_index(nir, purpose="patient-nir") if nir else ""


# --- Dependants ---------------------------------------------------------------------
class GuardianshipQuerySet(models.QuerySet):
    def active(self) -> "GuardianshipQuerySet":
        return self.filter(ended_at__isnull=True)

    def visible_to(self, user) -> "GuardianshipQuerySet":
        if not user.is_authenticated:
            return self.none()
        if _is_back_office(user) and user.has_perm("patients.view_guardianship"):
            return self
        return self.filter(Q(guardian=user) | Q(patient__user=user))


class Guardianship(TimeStampedModel):
    """A portal account managing the file of a child (or of a protected adult)."""

    class Relationship(models.TextChoices):
        PARENT = "parent", _("parent")
        LEGAL_GUARDIAN = "legal_guardian", _("legal guardian (tutelle)")
        CURATOR = "curator", _("curator (curatelle)")
        OTHER = "other", _("other legal representative")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    guardian = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.CASCADE,
        related_name="guardianships",
        verbose_name=_("guardian's account"),
    )
    patient = models.ForeignKey(
        Patient,
        models.CASCADE,
        related_name="guardianships",
        verbose_name=_("dependant"),
    )
    relationship = models.CharField(
        _("relationship"), max_length=16, choices=Relationship.choices
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    ended_at = models.DateTimeField(_("ended on"), null=True, blank=True)

    history = HistoricalRecords()

    objects = GuardianshipQuerySet.as_manager()

    class Meta:
        verbose_name = _("guardian")
        verbose_name_plural = _("guardians")
        constraints = [
            models.UniqueConstraint(
                fields=["guardian", "patient"],
                condition=Q(ended_at__isnull=True),
                name="guardianship_once_per_guardian",
                violation_error_code="already_guardian",
                violation_error_message=_("This account already manages this file."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.guardian} → {self.patient.reference} ({self.relationship})"


# --- Insurance ----------------------------------------------------------------------
class InsuranceCoverageQuerySet(models.QuerySet):
    def current(self, on: date | None = None) -> "InsuranceCoverageQuerySet":
        on = on or timezone.localdate()
        return self.filter(
            Q(valid_to__isnull=True) | Q(valid_to__gte=on), valid_from__lte=on
        )

    def visible_to(self, user) -> "InsuranceCoverageQuerySet":
        if not user.is_authenticated:
            return self.none()
        if _is_back_office(user) and user.has_perm("patients.view_insurancecoverage"):
            return self
        return self.filter(patient__in=managed_patient_ids(user))


PERCENT = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1000"))]
AMOUNT = [MinValueValidator(Decimal("0"))]


class InsuranceCoverage(TimeStampedModel):
    """How a patient is insured over a period: Assurance Maladie and mutuelle.

    Rates are percentages of the reimbursement base (BRSS), as mutuelles state
    them: 100 pays the ticket modérateur, 200 also covers overruns up to one more
    base. Amounts are euros; nothing here is a float.
    """

    class Regime(models.TextChoices):
        GENERAL = "general", _("general scheme (CPAM)")
        ALSACE_MOSELLE = "alsace_moselle", _("Alsace-Moselle local scheme")
        AGRICULTURAL = "agricultural", _("agricultural scheme (MSA)")
        SPECIAL = "special", _("special scheme (SNCF, RATP, military…)")
        STATE_MEDICAL_AID = "ame", _("State medical aid (AME)")
        FOREIGN = "foreign", _("foreign insurance (e.g. European card)")
        NONE = "none", _("no health insurance")

    class BeneficiaryStatus(models.TextChoices):
        INSURED = "insured", _("insured in their own right")
        DEPENDANT = "dependant", _("dependant of an insured person (ayant droit)")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(
        Patient,
        models.CASCADE,
        related_name="insurance_coverages",
        verbose_name=_("patient"),
    )
    regime = models.CharField(
        _("health insurance scheme"),
        max_length=16,
        choices=Regime.choices,
        default=Regime.GENERAL,
    )
    beneficiary_status = models.CharField(
        _("status"),
        max_length=10,
        choices=BeneficiaryStatus.choices,
        default=BeneficiaryStatus.INSURED,
    )
    fund_name = models.CharField(
        _("insurance fund"),
        max_length=120,
        blank=True,
        help_text=_("E.g. CPAM de Paris."),
    )
    treating_doctor_declared = models.BooleanField(
        _("médecin traitant declared"), default=False
    )
    treating_doctor_name = models.CharField(
        _("médecin traitant"), max_length=150, blank=True
    )
    ald = models.BooleanField(
        _("long-term illness (ALD)"),
        default=False,
        help_text=_("Care related to it is covered at 100%."),
    )
    ald_label = EncryptedCharField(_("long-term illness"), max_length=255, blank=True)
    c2s = models.BooleanField(_("Complémentaire santé solidaire (C2S)"), default=False)

    mutuelle_name = models.CharField(_("mutuelle"), max_length=150, blank=True)
    mutuelle_contract_number = models.CharField(
        _("contract number"), max_length=64, blank=True
    )
    mutuelle_member_number = models.CharField(
        _("member number"), max_length=64, blank=True
    )
    coverage_rate = models.DecimalField(
        _("coverage (% of the reimbursement base)"),
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        validators=PERCENT,
        help_text=_("Total with the Assurance Maladie, e.g. 100, 150 or 200."),
    )
    optam_overrun_rate = models.DecimalField(
        _("overruns covered, OPTAM practitioners (% of the base)"),
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        validators=PERCENT,
    )
    non_optam_overrun_rate = models.DecimalField(
        _("overruns covered, other practitioners (% of the base)"),
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        validators=PERCENT,
    )
    contrat_responsable = models.BooleanField(_("contrat responsable"), default=True)
    yearly_cap_consultations = models.DecimalField(
        _("yearly cap, consultations (€)"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=AMOUNT,
    )
    yearly_cap_overruns = models.DecimalField(
        _("yearly cap, fee overruns (€)"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=AMOUNT,
    )
    yearly_cap_total = models.DecimalField(
        _("yearly cap, all care (€)"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=AMOUNT,
    )
    valid_from = models.DateField(_("valid from"), default=timezone.localdate)
    valid_to = models.DateField(_("valid until"), null=True, blank=True)

    history = HistoricalRecords()

    objects = InsuranceCoverageQuerySet.as_manager()

    class Meta:
        verbose_name = _("insurance coverage")
        verbose_name_plural = _("insurance coverages")
        ordering = ["-valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
                name="insurance_valid_period",
                violation_error_code="invalid_period",
                violation_error_message=_("The end date is before the start date."),
            ),
            models.CheckConstraint(
                condition=Q(contrat_responsable=False)
                | Q(non_optam_overrun_rate__isnull=True)
                | (
                    Q(non_optam_overrun_rate__lte=100)
                    & (
                        Q(optam_overrun_rate__isnull=True)
                        | Q(
                            non_optam_overrun_rate__lte=F("optam_overrun_rate")
                            - Decimal("20")
                        )
                    )
                ),
                name="insurance_contrat_responsable_overrun_cap",
                violation_error_code="contrat_responsable_overrun",
                violation_error_message=_(
                    "In a contrat responsable, overruns of practitioners outside OPTAM "
                    "are covered at most at 100%% of the base and at least 20 points "
                    "less than for OPTAM practitioners."
                ),
            ),
            ExclusionConstraint(
                name="insurance_no_overlapping_periods",
                expressions=[
                    ("patient", RangeOperators.EQUAL),
                    (
                        Func(
                            F("valid_from"),
                            F("valid_to"),
                            models.Value("[]"),
                            function="daterange",
                            output_field=DateRangeField(),
                        ),
                        RangeOperators.OVERLAPS,
                    ),
                ],
                violation_error_code="overlapping_coverage",
                violation_error_message=_(
                    "Another coverage of this patient already covers these dates."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_regime_display()} / {self.mutuelle_name or '—'}"

    @property
    def has_mutuelle(self) -> bool:
        return bool(self.mutuelle_name)

    def clean(self) -> None:
        errors: dict[str, list[ValidationError]] = {}
        if self.treating_doctor_declared is False and self.treating_doctor_name:
            self.treating_doctor_declared = True
        if self.ald_label and not self.ald:
            errors.setdefault("ald", []).append(
                ValidationError(
                    _("Tick the ALD box if the patient has a long-term illness."),
                    code="ald_label_without_ald",
                )
            )
        mutuelle_fields = [
            self.coverage_rate,
            self.optam_overrun_rate,
            self.non_optam_overrun_rate,
            self.yearly_cap_consultations,
            self.yearly_cap_overruns,
            self.yearly_cap_total,
        ]
        if not self.mutuelle_name and any(v is not None for v in mutuelle_fields):
            errors.setdefault("mutuelle_name", []).append(
                ValidationError(
                    _("Name the mutuelle these rates belong to."),
                    code="mutuelle_name_required",
                )
            )
        if self.coverage_rate is not None and self.coverage_rate < 100:
            errors.setdefault("coverage_rate", []).append(
                ValidationError(
                    _(
                        "Mutuelles state their coverage as at least 100% of the base "
                        "(100% = the ticket modérateur)."
                    ),
                    code="coverage_below_base",
                )
            )
        if errors:
            raise ValidationError(errors)


# --- Medical profile ----------------------------------------------------------------
class MedicalProfileQuerySet(models.QuerySet):
    def visible_to(self, user) -> "MedicalProfileQuerySet":
        """Medical advisers, the patient and guardians, practitioners shared with."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if _is_back_office(user) and user.has_perm("patients.view_medicalprofile"):
            return self
        condition = Q(patient__in=managed_patient_ids(user))
        if user.has_role(Role.PRACTITIONER, Role.PARTNER):
            condition |= Q(patient__in=shared_patient_ids(user, whole_file=True))
        return self.filter(condition)


class MedicalProfile(TimeStampedModel):
    """What matters medically, encrypted at rest: no readable text in the database."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.OneToOneField(
        Patient,
        models.CASCADE,
        related_name="medical_profile",
        verbose_name=_("patient"),
    )
    medical_history = EncryptedTextField(
        _("medical and surgical history"),
        blank=True,
        help_text=_("Past illnesses, operations, pregnancies, family history."),
    )
    allergies = EncryptedTextField(
        _("allergies and intolerances"),
        blank=True,
        help_text=_("Medicines, foods, latex… and the reaction they cause."),
    )
    current_treatments = EncryptedTextField(
        _("current treatments"),
        blank=True,
        help_text=_("Medicines with their dose, and other ongoing care."),
    )
    specific_needs = EncryptedTextField(
        _("specific needs"),
        blank=True,
        help_text=_(
            "Reduced mobility, interpreter, hearing or visual impairment, "
            "accompanying person…"
        ),
    )
    measurements = EncryptedJSONField(
        _("measurements"),
        default=dict,
        blank=True,
        help_text=_("Height, weight and blood group, when known."),
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    history = HistoricalRecords()

    objects = MedicalProfileQuerySet.as_manager()

    class Meta:
        verbose_name = _("medical profile")
        verbose_name_plural = _("medical profiles")

    def __str__(self) -> str:
        return str(_("Medical profile of %(reference)s")) % {
            "reference": self.patient.reference
        }

    @property
    def is_empty(self) -> bool:
        return not any(
            [
                self.medical_history,
                self.allergies,
                self.current_treatments,
                self.specific_needs,
                self.measurements,
            ]
        )


# --- Documents ----------------------------------------------------------------------
class DocumentQuerySet(models.QuerySet):
    def visible_to(self, user) -> "DocumentQuerySet":
        """Medical advisers, the patient and guardians, and whoever it was shared with.

        A practitioner sees a document only through a sharing consent covering
        the whole file or this very document; a partner also sees what it sent.
        """
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if _is_back_office(user) and user.has_perm("patients.view_document"):
            return self
        condition = Q(patient__in=managed_patient_ids(user))
        if user.has_role(Role.PRACTITIONER, Role.PARTNER):
            condition |= Q(patient__in=shared_patient_ids(user, whole_file=True))
            condition |= Q(
                Exists(
                    SharingConsent.objects.active().filter(
                        recipient=user, document=OuterRef("pk")
                    )
                )
            )
        if user.has_role(Role.PARTNER):
            condition |= Q(uploaded_by=user)
        return self.filter(condition)


class Document(TimeStampedModel):
    """A medical document; its bytes are encrypted in the default storage."""

    class Kind(models.TextChoices):
        CONSULTATION_REPORT = "consultation_report", _("consultation report")
        RESULTS = "results", _("test results")
        IMAGING = "imaging", _("imaging")
        PRESCRIPTION = "prescription", _("prescription")
        CARE_SHEET = "care_sheet", _("care sheet (feuille de soins)")
        PHOTO = "photo", _("photo")
        OTHER = "other", _("other document")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(
        Patient, models.PROTECT, related_name="documents", verbose_name=_("patient")
    )
    kind = models.CharField(_("type"), max_length=24, choices=Kind.choices)
    title = EncryptedCharField(_("title"), max_length=200)
    document_date = models.DateField(
        _("date of the document"),
        null=True,
        blank=True,
        validators=[validate_not_in_future],
    )
    source = EncryptedCharField(
        _("source"),
        max_length=200,
        blank=True,
        help_text=_("Who issued it: laboratory, practitioner, hospital…"),
    )
    origin = models.CharField(
        _("received through"), max_length=8, choices=Channel.choices
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="uploaded_documents",
        verbose_name=_("uploaded by"),
    )
    original_name = EncryptedCharField(_("file name"), max_length=255, blank=True)
    content_type = models.CharField(_("file type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(max_length=64, editable=False)
    storage_name = models.CharField(max_length=255, unique=True, editable=False)

    objects = DocumentQuerySet.as_manager()

    class Meta:
        verbose_name = _("medical document")
        verbose_name_plural = _("medical documents")
        ordering = ["-document_date", "-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.title}"

    def get_absolute_url(self) -> str:
        return reverse(
            "patients:document-download",
            kwargs={"reference": self.patient.reference, "document_id": self.pk},
        )


# --- Consents -----------------------------------------------------------------------
class HealthDataConsentQuerySet(models.QuerySet):
    def active(self) -> "HealthDataConsentQuerySet":
        return self.filter(withdrawn_at__isnull=True)

    def visible_to(self, user) -> "HealthDataConsentQuerySet":
        if not user.is_authenticated:
            return self.none()
        if _is_back_office(user) and user.has_perm("patients.view_healthdataconsent"):
            return self
        return self.filter(patient__in=managed_patient_ids(user))


class HealthDataConsent(TimeStampedModel):
    """The patient's explicit consent to the processing of their health data (GDPR
    art. 9), with the version of the privacy notice they were shown."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(
        Patient,
        models.CASCADE,
        related_name="health_data_consents",
        verbose_name=_("patient"),
    )
    given_at = models.DateTimeField(_("given on"), default=timezone.now)
    notice_version = models.CharField(_("privacy notice version"), max_length=32)
    channel = models.CharField(_("collected"), max_length=8, choices=Channel.choices)
    given_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("given by"),
        help_text=_("The patient, or the guardian for a dependant."),
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    withdrawn_at = models.DateTimeField(_("withdrawn on"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = HealthDataConsentQuerySet.as_manager()

    class Meta:
        verbose_name = _("health data consent")
        verbose_name_plural = _("health data consents")
        ordering = ["-given_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(withdrawn_at__isnull=True),
                name="health_data_consent_one_active",
                violation_error_code="consent_already_given",
                violation_error_message=_("This patient has already consented."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.patient.reference} · {self.notice_version}"

    @property
    def is_active(self) -> bool:
        return self.withdrawn_at is None

    @property
    def is_current_version(self) -> bool:
        return self.notice_version == settings.PRIVACY_NOTICE_VERSION


class SharingConsentQuerySet(models.QuerySet):
    def active(self) -> "SharingConsentQuerySet":
        return self.filter(revoked_at__isnull=True).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
        )

    def visible_to(self, user) -> "SharingConsentQuerySet":
        if not user.is_authenticated:
            return self.none()
        if _is_back_office(user) and user.has_perm("patients.view_sharingconsent"):
            return self
        return self.filter(Q(patient__in=managed_patient_ids(user)) | Q(recipient=user))


class SharingConsent(TimeStampedModel):
    """The patient lets one practitioner (or partner) see their file or one document.

    Without a document it covers the medical profile, the summary and every
    document; with one, that document only. Revoking takes effect immediately:
    every `visible_to` reads active consents at query time.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(
        Patient,
        models.CASCADE,
        related_name="sharing_consents",
        verbose_name=_("patient"),
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.CASCADE,
        related_name="sharing_consents_received",
        verbose_name=_("shared with"),
    )
    document = models.ForeignKey(
        Document,
        models.CASCADE,
        null=True,
        blank=True,
        related_name="sharing_consents",
        verbose_name=_("document"),
        help_text=_("Leave empty to share the whole medical file."),
    )
    granted_at = models.DateTimeField(_("granted on"), default=timezone.now)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    channel = models.CharField(
        _("collected"), max_length=8, choices=Channel.choices, default=Channel.PORTAL
    )
    expires_at = models.DateTimeField(_("until"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked on"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = SharingConsentQuerySet.as_manager()

    class Meta:
        verbose_name = _("sharing consent")
        verbose_name_plural = _("sharing consents")
        ordering = ["-granted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "recipient", "document"],
                condition=Q(revoked_at__isnull=True),
                nulls_distinct=False,
                name="sharing_consent_once",
                violation_error_code="already_shared",
                violation_error_message=_("This is already shared with this person."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.patient.reference} → {self.recipient}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and (
            self.expires_at is None or self.expires_at > timezone.now()
        )

    @property
    def covers_whole_file(self) -> bool:
        return self.document_id is None


# --- GDPR rights --------------------------------------------------------------------
class ErasureRequestQuerySet(models.QuerySet):
    def open(self) -> "ErasureRequestQuerySet":
        return self.filter(state=ErasureRequest.State.REQUESTED)

    def visible_to(self, user) -> "ErasureRequestQuerySet":
        if not user.is_authenticated:
            return self.none()
        if _is_back_office(user) and user.has_perm("patients.view_erasurerequest"):
            return self
        return self.filter(patient__in=managed_patient_ids(user))


class ErasureRequest(FSMModelMixin, TimeStampedModel):
    """A patient asks for their data to be erased; a concierge carries it out."""

    class State(models.TextChoices):
        REQUESTED = "requested", _("requested")
        COMPLETED = "completed", _("carried out")
        REJECTED = "rejected", _("refused")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(
        Patient,
        models.CASCADE,
        related_name="erasure_requests",
        verbose_name=_("patient"),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    message = EncryptedTextField(_("message from the patient"), blank=True)
    state = FSMField(
        _("state"),
        max_length=16,
        choices=State.choices,
        default=State.REQUESTED,
        protected=True,
    )
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("handled by"),
    )
    handled_at = models.DateTimeField(_("handled on"), null=True, blank=True)
    response = models.TextField(
        _("answer to the patient"),
        blank=True,
        help_text=_("Required to refuse: the legal reason, in plain words."),
    )
    outcome = models.JSONField(_("what was erased and kept"), default=dict, blank=True)

    objects = ErasureRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("erasure request")
        verbose_name_plural = _("erasure requests")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(state="requested"),
                name="erasure_request_one_open",
                violation_error_code="erasure_already_requested",
                violation_error_message=_("An erasure request is already open."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.patient.reference} · {self.get_state_display()}"

    @transition(field=state, source=State.REQUESTED, target=State.COMPLETED)
    def complete(self, *, by, outcome: dict) -> None:
        self.handled_by = by
        self.handled_at = timezone.now()
        self.outcome = outcome

    @transition(field=state, source=State.REQUESTED, target=State.REJECTED)
    def reject(self, *, by, response: str) -> None:
        self.handled_by = by
        self.handled_at = timezone.now()
        self.response = response


def break_glass_window() -> timedelta:
    return timedelta(minutes=settings.BREAK_GLASS_MINUTES)


# --- Care requests ------------------------------------------------------------------
#
# Every need a patient expresses becomes a care request ("demande"), which moves from
# intake to closure through the state machine below. The transitions only change
# their instance; patients.services.care_requests locks the row, checks the state,
# the actor's role and the guards, transitions, saves, writes the event and
# schedules the side effects after commit.

CARE_REQUEST_PREFIX = "D-"


def new_care_request_reference() -> str:
    body = "".join(secrets.choice(REFERENCE_ALPHABET) for _i in range(REFERENCE_LENGTH))
    return CARE_REQUEST_PREFIX + body


def normalise_care_request_reference(value: str) -> str:
    """What people type for a request reference: any case, with or without D-."""
    return normalise_reference(value, prefix=CARE_REQUEST_PREFIX)


class Urgency(models.TextChoices):
    """How soon the patient needs care (patients.triage uses the same values)."""

    EMERGENCY = "emergency", _("emergency")
    URGENT = "urgent", _("urgent (within 48 hours)")
    SOON = "soon", _("soon (within two weeks)")
    ROUTINE = "routine", _("routine")


class CareRequestQuerySet(models.QuerySet):
    def visible_to(self, user) -> "CareRequestQuerySet":
        """Staff see every request; patients and guardians the requests of the files
        they manage; a partner the requests it referred."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if _is_back_office(user):
            return self
        condition = Q(patient__in=managed_patient_ids(user))
        if user.has_role(Role.PARTNER):
            condition |= Q(requested_by=user)
        return self.filter(condition)

    def open(self) -> "CareRequestQuerySet":
        return self.exclude(state__in=CareRequest.FINAL_STATES)

    def with_sla(self, *, now=None) -> "CareRequestQuerySet":
        """Overdue flags computed at query time: a flag is never stale in the base."""
        now = now or timezone.now()
        flags = {
            f"{clock}_overdue": Case(
                When(sla_overdue_condition(clock, now=now), then=Value(True)),
                default=Value(False),
                output_field=models.BooleanField(),
            )
            for clock in SlaClock.values
        }
        return self.annotate(**flags).annotate(
            is_overdue=Case(
                When(any_sla_overdue_condition(now=now), then=Value(True)),
                default=Value(False),
                output_field=models.BooleanField(),
            )
        )

    def overdue(self, *, now=None) -> "CareRequestQuerySet":
        return self.filter(any_sla_overdue_condition(now=now or timezone.now()))


class SlaClock(models.TextChoices):
    """The service-level clocks of a request, each with a target per urgency."""

    FIRST_RESPONSE = "first_response", _("first response")
    QUALIFICATION = "qualification", _("qualification")
    APPOINTMENT = "appointment", _("appointment")


def sla_overdue_condition(clock: str, *, now) -> Q:
    """The request is past this clock's due time and the clock is still running."""
    open_states = Q(state__in=CareRequest.OPEN_STATES)
    if clock == SlaClock.FIRST_RESPONSE:
        return open_states & Q(
            first_response_at__isnull=True, first_response_due_at__lt=now
        )
    if clock == SlaClock.QUALIFICATION:
        return Q(
            state=CareRequest.State.RECEIVED,
            qualified_at__isnull=True,
            qualification_due_at__lt=now,
        )
    return Q(
        state__in=CareRequest.WAITING_FOR_APPOINTMENT,
        scheduled_at__isnull=True,
        appointment_due_at__lt=now,
    )


def any_sla_overdue_condition(*, now) -> Q:
    condition = Q()
    for clock in SlaClock.values:
        condition |= sla_overdue_condition(clock, now=now)
    return condition


#: Who may move a request along each transition. Medical advisers decide medical
#: matters (qualification, the end of an emergency), care coordinators organise
#: (search, proposal, booking); everybody in the back-office may raise an
#: emergency, because an emergency must never wait for the right person.
STAFF_TRANSITION_ROLES: dict[str, frozenset[str]] = {
    "qualify": frozenset({Role.MEDICAL_ADVISER, Role.MANAGER}),
    "escalate": frozenset(STAFF_ROLES),
    "stand_down": frozenset({Role.MEDICAL_ADVISER, Role.MANAGER}),
    "end_emergency": frozenset({Role.MEDICAL_ADVISER, Role.MANAGER}),
    "start_search": frozenset({Role.CARE_COORDINATOR, Role.MANAGER}),
    "propose": frozenset({Role.CARE_COORDINATOR, Role.MANAGER}),
    "reopen_search": frozenset({Role.CARE_COORDINATOR, Role.MANAGER}),
    "schedule": frozenset({Role.CARE_COORDINATOR, Role.MANAGER}),
    "unschedule": frozenset({Role.CARE_COORDINATOR, Role.MANAGER}),
    "start_care": frozenset(STAFF_ROLES),
    "start_follow_up": frozenset(STAFF_ROLES),
    "close": frozenset(STAFF_ROLES),
    "cancel": frozenset(STAFF_ROLES),
}
#: Closing with open items left needs an explicit reason, from a manager.
OVERRIDE_ROLES = frozenset({Role.MANAGER})


def staff_roles_of(user) -> frozenset[str]:
    """The back-office roles a user acts with (a superuser acts as a manager)."""
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    if user.is_superuser:
        return frozenset(STAFF_ROLES)
    if not user.is_back_office:
        return frozenset()
    return frozenset(user.roles & STAFF_ROLES)


def may_transition(user, care_request: "CareRequest", name: str) -> bool:
    """The role rule of one transition for one user (the state is checked apart)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if staff_roles_of(user) & STAFF_TRANSITION_ROLES.get(name, frozenset()):
        return True
    if name != "cancel" or user.is_back_office:
        return False
    state = care_request.state
    if state in CareRequest.PATIENT_CANCELLABLE and (
        Patient.objects.managed_by(user).filter(pk=care_request.patient_id).exists()
    ):
        return True
    return bool(
        user.has_role(Role.PARTNER)
        and care_request.requested_by_id == user.pk
        and state in CareRequest.PARTNER_CANCELLABLE
    )


def _allowed(name: str):
    def permission(instance: "CareRequest", user) -> bool:
        return may_transition(user, instance, name)

    return permission


class CareRequest(FSMModelMixin, TimeStampedModel):
    """One need of one patient, from intake to closure."""

    class State(models.TextChoices):
        RECEIVED = "received", _("received")
        QUALIFIED = "qualified", _("qualified")
        MATCHING = "matching", _("looking for practitioners")
        PROPOSED = "proposed", _("proposal sent")
        SCHEDULED = "scheduled", _("appointment booked")
        IN_CARE = "in_care", _("in care")
        FOLLOW_UP = "follow_up", _("follow-up")
        CLOSED = "closed", _("closed")
        CANCELLED = "cancelled", _("cancelled")
        EMERGENCY = "emergency", _("emergency")

    class Kind(models.TextChoices):
        SPECIALIST = "specialist", _("specialist consultation")
        TELECONSULTATION = "teleconsultation", _("teleconsultation")
        EXAMS = "exams", _("medical exams")
        SECOND_OPINION = "second_opinion", _("second opinion")
        ADMINISTRATIVE = "administrative", _("administrative help")
        LOGISTICS = "logistics", _("logistics only")

    class IntakeChannel(models.TextChoices):
        PORTAL = "portal", _("patient portal")
        PHONE = "phone", _("phone call")
        EMAIL = "email", _("email")
        API = "api", _("partner referral (API)")

    class Mode(models.TextChoices):
        IN_PERSON = "in_person", _("in person")
        TELECONSULTATION = "teleconsultation", _("by video")
        EITHER = "either", _("in person or by video")

    class GenderPreference(models.TextChoices):
        NONE = "", _("no preference")
        FEMALE = "female", _("a woman")
        MALE = "male", _("a man")

    class SectorPreference(models.TextChoices):
        ANY = "", _("any fees")
        SECTOR_1 = "1", _("sector 1 only (no overrun)")
        OPTAM = "2-optam", _("sector 1 or sector 2 with OPTAM (capped overruns)")

    FINAL_STATES = (State.CLOSED, State.CANCELLED)
    OPEN_STATES = (
        State.RECEIVED,
        State.QUALIFIED,
        State.MATCHING,
        State.PROPOSED,
        State.SCHEDULED,
        State.IN_CARE,
        State.FOLLOW_UP,
        State.EMERGENCY,
    )
    WAITING_FOR_APPOINTMENT = (State.QUALIFIED, State.MATCHING, State.PROPOSED)
    PATIENT_CANCELLABLE = (
        State.RECEIVED,
        State.QUALIFIED,
        State.MATCHING,
        State.PROPOSED,
        State.SCHEDULED,
    )
    PARTNER_CANCELLABLE = (
        State.RECEIVED,
        State.QUALIFIED,
        State.MATCHING,
        State.PROPOSED,
    )
    #: Kinds organised around a practitioner: they go through search and booking.
    PRACTITIONER_KINDS = (
        Kind.SPECIALIST,
        Kind.TELECONSULTATION,
        Kind.EXAMS,
        Kind.SECOND_OPINION,
    )

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(
        _("reference"), max_length=8, unique=True, editable=False
    )
    patient = models.ForeignKey(
        Patient,
        models.PROTECT,
        related_name="care_requests",
        verbose_name=_("patient"),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="care_requests_filed",
        verbose_name=_("filed by"),
        help_text=_("The patient, a guardian, a concierge or a partner."),
    )
    kind = models.CharField(
        _("kind of help"), max_length=20, choices=Kind.choices, default=Kind.SPECIALIST
    )
    channel = models.CharField(
        _("received through"), max_length=8, choices=IntakeChannel.choices
    )
    partner_reference = models.CharField(
        _("partner's reference"),
        max_length=64,
        blank=True,
        help_text=_("The referring partner's own identifier of this referral."),
    )

    # What the patient said: medical, encrypted at rest.
    need = EncryptedTextField(_("the need, in the patient's words"))
    answers = EncryptedJSONField(
        _("answers to the intake questions"), default=dict, blank=True
    )
    documents = models.ManyToManyField(
        Document,
        blank=True,
        related_name="care_requests",
        verbose_name=_("documents sent with the request"),
    )

    # Triage: decision support, confirmed or changed by a medical adviser.
    suggested_specialty = models.CharField(
        _("suggested specialty"), max_length=64, blank=True
    )
    specialty_reasons = EncryptedJSONField(
        _("why this specialty"), default=list, blank=True
    )
    specialty = models.CharField(
        _("specialty"),
        max_length=64,
        blank=True,
        help_text=_("Confirmed at qualification; a code of the specialty catalogue."),
    )
    urgency = models.CharField(
        _("urgency"), max_length=10, choices=Urgency.choices, default=Urgency.ROUTINE
    )
    urgency_reasons = EncryptedJSONField(
        _("why this urgency"), default=list, blank=True
    )
    red_flags = EncryptedJSONField(_("red flags"), default=list, blank=True)

    # Preferences.
    place_postal_code = models.CharField(
        _("postal code"), max_length=5, blank=True, validators=[validate_postal_code]
    )
    place_commune = models.CharField(_("commune"), max_length=120, blank=True)
    radius_km = models.PositiveSmallIntegerField(
        _("within (km)"),
        default=20,
        validators=[MinValueValidator(1), MaxValueValidator(200)],
    )
    available_from = models.DateField(_("available from"), null=True, blank=True)
    available_until = models.DateField(_("needed by"), null=True, blank=True)
    availability_notes = models.CharField(
        _("availability"),
        max_length=300,
        blank=True,
        help_text=_("E.g. mornings only, not on Wednesdays."),
    )
    languages = ArrayField(
        models.CharField(max_length=8),
        verbose_name=_("languages spoken"),
        default=list,
        blank=True,
    )
    practitioner_gender = models.CharField(
        _("practitioner"),
        max_length=8,
        choices=GenderPreference.choices,
        default=GenderPreference.NONE,
        blank=True,
    )
    max_budget = models.DecimalField(
        _("budget per consultation (€)"),
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    sector = models.CharField(
        _("fees"),
        max_length=8,
        choices=SectorPreference.choices,
        default=SectorPreference.ANY,
        blank=True,
    )
    mode = models.CharField(
        _("consultation"), max_length=16, choices=Mode.choices, default=Mode.IN_PERSON
    )
    wheelchair_access = models.BooleanField(
        _("wheelchair access needed"), default=False
    )

    # The team.
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_care_requests",
        verbose_name=_("concierge in charge"),
    )
    assigned_at = models.DateTimeField(_("assigned on"), null=True, blank=True)

    state = FSMField(
        _("state"),
        max_length=16,
        choices=State.choices,
        default=State.RECEIVED,
        protected=True,
    )

    # Service-level clocks: due times from the urgency, stops when reached.
    first_response_due_at = models.DateTimeField(
        _("first response due"), null=True, blank=True
    )
    qualification_due_at = models.DateTimeField(
        _("qualification due"), null=True, blank=True
    )
    appointment_due_at = models.DateTimeField(
        _("appointment due"), null=True, blank=True
    )
    first_response_at = models.DateTimeField(
        _("first response on"), null=True, blank=True
    )
    qualified_at = models.DateTimeField(_("qualified on"), null=True, blank=True)
    emergency_at = models.DateTimeField(_("emergency raised on"), null=True, blank=True)
    scheduled_at = models.DateTimeField(_("booked on"), null=True, blank=True)
    care_started_at = models.DateTimeField(_("care started on"), null=True, blank=True)
    follow_up_at = models.DateTimeField(_("follow-up from"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed on"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled on"), null=True, blank=True)

    # Qualification and closure.
    eligibility = models.JSONField(
        _("eligibility checks"), default=dict, blank=True, editable=False
    )
    eligibility_checked_at = models.DateTimeField(
        _("eligibility checked on"), null=True, blank=True
    )
    appointment_reference = models.CharField(
        _("appointment"), max_length=64, blank=True
    )
    cancellation_reason = EncryptedTextField(_("reason for cancelling"), blank=True)
    closure_override_reason = EncryptedTextField(
        _("closed with open items, because"), blank=True
    )

    objects = CareRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("care request")
        verbose_name_plural = _("care requests")
        ordering = ["-created_at"]
        permissions = [
            (
                "read_care_request_need",
                _("Can read the medical content of care requests"),
            ),
        ]
        indexes = [
            models.Index(fields=["state", "urgency"]),
            models.Index(fields=["assigned_to", "state"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(reference__regex=r"^D-[2-9A-HJKMNP-TV-Z]{6}$"),
                name="care_request_reference_format",
            ),
            models.CheckConstraint(
                condition=Q(available_until__isnull=True)
                | Q(available_from__isnull=True)
                | Q(available_until__gte=F("available_from")),
                name="care_request_available_period",
                violation_error_code="invalid_period",
                violation_error_message=_("The end of the period is before its start."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} · {self.get_kind_display()}"

    def save(self, *args, **kwargs) -> None:
        save_with_random_reference(
            self, super().save, new_care_request_reference, *args, **kwargs
        )

    def get_absolute_url(self) -> str:
        return reverse("patients:care-request", kwargs={"reference": self.reference})

    @property
    def is_open(self) -> bool:
        return self.state not in self.FINAL_STATES

    @property
    def needs_practitioner(self) -> bool:
        return self.kind in self.PRACTITIONER_KINDS

    @property
    def public_status(self) -> str:
        return str(PUBLIC_STATUS[self.state])

    @property
    def red_flag_codes(self) -> list[str]:
        return [flag.get("code", "") for flag in self.red_flags or []]

    @property
    def suicidal_risk(self) -> bool:
        return "suicidal" in self.red_flag_codes

    # Transitions: this instance only, no I/O (the services do the rest).
    @transition(
        field=state,
        source=State.RECEIVED,
        target=State.QUALIFIED,
        permission=_allowed("qualify"),
        custom={"label": _("Qualify")},
    )
    def qualify(self, *, specialty: str, urgency: str, eligibility: dict) -> None:
        now = timezone.now()
        self.specialty = specialty
        self.urgency = urgency
        self.eligibility = eligibility
        self.eligibility_checked_at = now
        self.qualified_at = now

    @transition(
        field=state,
        source=[
            State.RECEIVED,
            State.QUALIFIED,
            State.MATCHING,
            State.PROPOSED,
            State.SCHEDULED,
            State.IN_CARE,
            State.FOLLOW_UP,
        ],
        target=State.EMERGENCY,
        permission=_allowed("escalate"),
        custom={"label": _("Raise an emergency"), "danger": True},
    )
    def escalate(self) -> None:
        self.urgency = Urgency.EMERGENCY
        self.emergency_at = timezone.now()

    @transition(
        field=state,
        source=State.EMERGENCY,
        target=State.QUALIFIED,
        permission=_allowed("stand_down"),
        custom={"label": _("Not an emergency: resume")},
    )
    def stand_down(self, *, urgency: str) -> None:
        self.urgency = urgency
        self.qualified_at = self.qualified_at or timezone.now()

    @transition(
        field=state,
        source=State.EMERGENCY,
        target=State.FOLLOW_UP,
        permission=_allowed("end_emergency"),
        custom={"label": _("Emergency handled: follow up")},
    )
    def end_emergency(self) -> None:
        self.follow_up_at = timezone.now()

    @transition(
        field=state,
        source=State.QUALIFIED,
        target=State.MATCHING,
        permission=_allowed("start_search"),
        custom={"label": _("Start the search")},
    )
    def start_search(self) -> None:
        """Looking for practitioners who fit the request."""

    @transition(
        field=state,
        source=State.MATCHING,
        target=State.PROPOSED,
        permission=_allowed("propose"),
        custom={"label": _("Proposal sent")},
    )
    def propose(self) -> None:
        """A shortlist of practitioners was proposed to the patient."""

    @transition(
        field=state,
        source=State.PROPOSED,
        target=State.MATCHING,
        permission=_allowed("reopen_search"),
        custom={"label": _("Search again")},
    )
    def reopen_search(self) -> None:
        """The patient declined the proposal, or it no longer fits."""

    @transition(
        field=state,
        source=[State.MATCHING, State.PROPOSED],
        target=State.SCHEDULED,
        permission=_allowed("schedule"),
        custom={"label": _("Appointment booked")},
    )
    def schedule(self, *, appointment_reference: str) -> None:
        self.appointment_reference = appointment_reference
        self.scheduled_at = timezone.now()

    @transition(
        field=state,
        source=State.SCHEDULED,
        target=State.MATCHING,
        permission=_allowed("unschedule"),
        custom={"label": _("Appointment cancelled: book again")},
    )
    def unschedule(self) -> None:
        self.appointment_reference = ""
        self.scheduled_at = None

    @transition(
        field=state,
        source=[State.SCHEDULED, State.QUALIFIED],
        target=State.IN_CARE,
        permission=_allowed("start_care"),
        custom={"label": _("Care started")},
    )
    def start_care(self) -> None:
        self.care_started_at = timezone.now()

    @transition(
        field=state,
        source=State.IN_CARE,
        target=State.FOLLOW_UP,
        permission=_allowed("start_follow_up"),
        custom={"label": _("Follow up")},
    )
    def start_follow_up(self) -> None:
        self.follow_up_at = timezone.now()

    @transition(
        field=state,
        source=State.FOLLOW_UP,
        target=State.CLOSED,
        permission=_allowed("close"),
        custom={"label": _("Close")},
    )
    def close(self, *, override_reason: str = "") -> None:
        self.closed_at = timezone.now()
        self.closure_override_reason = override_reason

    @transition(
        field=state,
        source=list(OPEN_STATES),
        target=State.CANCELLED,
        permission=_allowed("cancel"),
        custom={"label": _("Cancel the request"), "danger": True},
    )
    def cancel(self, *, reason: str) -> None:
        self.cancelled_at = timezone.now()
        self.cancellation_reason = reason


#: What the patient reads about each state, in plain words.
PUBLIC_STATUS: dict[str, object] = {
    CareRequest.State.RECEIVED: _(
        "We have received your request. A concierge will get back to you."
    ),
    CareRequest.State.QUALIFIED: _(
        "Our medical team has studied your request and is organising your care."
    ),
    CareRequest.State.MATCHING: _(
        "We are looking for the practitioners who best fit your request."
    ),
    CareRequest.State.PROPOSED: _(
        "We have sent you a proposal: choose the practitioner you prefer."
    ),
    CareRequest.State.SCHEDULED: _("Your appointment is booked."),
    CareRequest.State.IN_CARE: _("Your care is under way."),
    CareRequest.State.FOLLOW_UP: _(
        "We are checking that all went well after your care."
    ),
    CareRequest.State.CLOSED: _("Your request is complete."),
    CareRequest.State.CANCELLED: _("Your request has been cancelled."),
    CareRequest.State.EMERGENCY: _(
        "Your request may be an emergency: call 15 (or 112) now. A concierge is "
        "alerted and will call you back."
    ),
}


class CareRequestEventQuerySet(models.QuerySet):
    def public(self) -> "CareRequestEventQuerySet":
        return self.filter(public=True)

    def unannounced(self) -> "CareRequestEventQuerySet":
        return self.filter(announced_at__isnull=True)


class CareRequestEvent(TimeStampedModel):
    """One line of a request's timeline: a transition, an assignment, a triage…

    Append-only. `comment` is for the team; a public event also shows on the
    patient's timeline, with its plain-words status and `public_note`.
    """

    class Kind(models.TextChoices):
        CREATED = "created", _("request received")
        TRANSITION = "transition", _("state changed")
        ASSIGNMENT = "assignment", _("assigned")
        TRIAGE = "triage", _("urgency or specialty changed")
        DETAILS = "details", _("details changed")
        CHECKLIST = "checklist", _("emergency protocol")
        MESSAGE = "message", _("red flags in a message")

    care_request = models.ForeignKey(
        CareRequest,
        models.CASCADE,
        related_name="events",
        verbose_name=_("care request"),
    )
    kind = models.CharField(_("what"), max_length=12, choices=Kind.choices)
    transition = models.CharField(_("transition"), max_length=32, blank=True)
    from_state = models.CharField(
        _("from"), max_length=16, choices=CareRequest.State.choices, blank=True
    )
    to_state = models.CharField(
        _("to"), max_length=16, choices=CareRequest.State.choices, blank=True
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    actor_label = models.CharField(
        _("by (name at the time)"), max_length=255, blank=True
    )
    comment = EncryptedTextField(_("comment (team only)"), blank=True)
    public = models.BooleanField(_("shown to the patient"), default=False)
    public_note = EncryptedTextField(_("note to the patient"), blank=True)
    announced_at = models.DateTimeField(
        _("side effects done on"), null=True, blank=True, editable=False
    )

    objects = CareRequestEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("care request event")
        verbose_name_plural = _("care request timeline")
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(announced_at__isnull=True),
                name="care_event_unannounced",
            )
        ]

    def __str__(self) -> str:
        return f"{self.care_request.reference} · {self.get_kind_display()}"

    @property
    def actor_name(self) -> str:
        return self.actor_label or str(_("the service"))

    @property
    def public_text(self) -> str:
        """The line the patient reads on their timeline."""
        if self.kind == self.Kind.ASSIGNMENT:
            return str(_("A concierge is in charge of your request: %(name)s.")) % {
                "name": self.public_note or _("your concierge")
            }
        if self.to_state:
            return str(PUBLIC_STATUS[self.to_state])
        return str(self.get_kind_display())


#: The emergency protocol, in the order the concierge on duty follows it.
#: (code, label, required before the emergency can end)
EMERGENCY_PROTOCOL = (
    ("call_patient", _("Call the patient (or the guardian) back at once"), True),
    (
        "emergency_services",
        _("Make sure 15 (or 112) was called, or call the SAMU for them"),
        True,
    ),
    ("inform_adviser", _("Tell the medical adviser on duty"), True),
    ("inform_relative", _("Inform a relative or the guardian, if needed"), False),
    (
        "record_outcome",
        _("Record the outcome: SAMU sent, emergency room, GP, no action"),
        True,
    ),
)
EMERGENCY_PROTOCOL_LABELS = {code: label for code, label, _r in EMERGENCY_PROTOCOL}
EMERGENCY_PROTOCOL_REQUIRED = frozenset(
    code for code, _label, required in EMERGENCY_PROTOCOL if required
)


class EmergencyChecklistItem(TimeStampedModel):
    """One step of the emergency protocol for one request: who did it, and when."""

    care_request = models.ForeignKey(
        CareRequest,
        models.CASCADE,
        related_name="emergency_checklist",
        verbose_name=_("care request"),
    )
    code = models.CharField(
        _("step"),
        max_length=32,
        choices=[(code, label) for code, label, _r in EMERGENCY_PROTOCOL],
    )
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    checked_at = models.DateTimeField(_("done on"), null=True, blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("done by"),
    )
    note = EncryptedTextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("emergency protocol step")
        verbose_name_plural = _("emergency protocol")
        ordering = ["care_request", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["care_request", "code"], name="emergency_step_once"
            )
        ]

    def __str__(self) -> str:
        return str(EMERGENCY_PROTOCOL_LABELS.get(self.code, self.code))

    @property
    def required(self) -> bool:
        return self.code in EMERGENCY_PROTOCOL_REQUIRED

    @property
    def is_done(self) -> bool:
        return self.checked_at is not None


class CareTaskQuerySet(models.QuerySet):
    def open(self) -> "CareTaskQuerySet":
        return self.filter(status__in=CareTask.OPEN_STATUSES)

    def visible_to(self, user) -> "CareTaskQuerySet":
        """The team sees every task; patients the tasks shared with them."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if _is_back_office(user):
            return self
        return self.filter(
            shared_with_patient=True,
            care_request__patient__in=managed_patient_ids(user),
        )


class CareTask(TimeStampedModel):
    """Something the team must do for a request: transport, paperwork, a call…"""

    class Kind(models.TextChoices):
        TRANSPORT = "transport", _("transport")
        ACCOMMODATION = "accommodation", _("accommodation")
        ACCOMPANIMENT = "accompaniment", _("accompaniment to the appointment")
        PAPERWORK = "paperwork", _("paperwork (e.g. ALD form)")
        FOLLOW_UP_CALL = "follow_up_call", _("follow-up call")
        OTHER = "other", _("other")

    class Status(models.TextChoices):
        TODO = "todo", _("to do")
        IN_PROGRESS = "in_progress", _("in progress")
        DONE = "done", _("done")
        CANCELLED = "cancelled", _("cancelled")

    OPEN_STATUSES = (Status.TODO, Status.IN_PROGRESS)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    care_request = models.ForeignKey(
        CareRequest,
        models.CASCADE,
        related_name="tasks",
        verbose_name=_("care request"),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    title = models.CharField(_("task"), max_length=200)
    details = EncryptedTextField(_("details"), blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="care_tasks",
        verbose_name=_("owner"),
    )
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.TODO
    )
    shared_with_patient = models.BooleanField(
        _("shown to the patient"),
        default=False,
        help_text=_("E.g. a taxi booked: the patient sees the task and its status."),
    )
    done_at = models.DateTimeField(_("done on"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("done by"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )

    objects = CareTaskQuerySet.as_manager()

    class Meta:
        verbose_name = _("care task")
        verbose_name_plural = _("care tasks")
        ordering = [F("due_at").asc(nulls_last=True), "created_at"]
        indexes = [models.Index(fields=["owner", "status"])]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def is_late(self) -> bool:
        return bool(self.is_open and self.due_at and self.due_at < timezone.now())


class InternalNote(TimeStampedModel):
    """A note for the team about a request; never shown to the patient."""

    care_request = models.ForeignKey(
        CareRequest,
        models.CASCADE,
        related_name="internal_notes",
        verbose_name=_("care request"),
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("author"),
    )
    body = EncryptedTextField(_("note"))

    class Meta:
        verbose_name = _("internal note")
        verbose_name_plural = _("internal notes (team only)")
        ordering = ["created_at"]

    def __str__(self) -> str:
        return str(_("Note of %(date)s")) % {
            "date": timezone.localtime(self.created_at).strftime("%d/%m/%Y %H:%M")
        }


class CareRequestMessageQuerySet(models.QuerySet):
    def unread_by_patient(self) -> "CareRequestMessageQuerySet":
        return self.filter(side=CareRequestMessage.Side.CONCIERGE, read_at__isnull=True)

    def unread_by_team(self) -> "CareRequestMessageQuerySet":
        return self.filter(side=CareRequestMessage.Side.PATIENT, read_at__isnull=True)


class CareRequestMessage(TimeStampedModel):
    """The secure thread between the patient (or guardian) and the concierges.

    The text stays here, encrypted; emails only say that a message is waiting.
    """

    class Side(models.TextChoices):
        PATIENT = "patient", _("patient")
        CONCIERGE = "concierge", _("concierge")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    care_request = models.ForeignKey(
        CareRequest,
        models.CASCADE,
        related_name="messages",
        verbose_name=_("care request"),
    )
    side = models.CharField(_("from"), max_length=10, choices=Side.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("written by"),
    )
    body = EncryptedTextField(_("message"))
    read_at = models.DateTimeField(_("read on"), null=True, blank=True)

    objects = CareRequestMessageQuerySet.as_manager()

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages with the patient")
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.care_request.reference} · {self.get_side_display()}"


class Interaction(TimeStampedModel):
    """A call, an email or a contact made about a request, so that any concierge
    can pick the file up."""

    class Channel(models.TextChoices):
        PHONE = "phone", _("phone call")
        EMAIL = "email", _("email")
        SMS = "sms", _("SMS")
        LETTER = "letter", _("letter")
        IN_PERSON = "in_person", _("in person")
        OTHER = "other", _("other")

    class Direction(models.TextChoices):
        INCOMING = "in", _("incoming")
        OUTGOING = "out", _("outgoing")

    class Party(models.TextChoices):
        PATIENT = "patient", _("the patient or a guardian")
        RELATIVE = "relative", _("a relative")
        SECRETARIAT = "secretariat", _("a practitioner or their secretariat")
        FACILITY = "facility", _("a hospital, clinic or laboratory")
        INSURER = "insurer", _("an insurer or the Assurance Maladie")
        OTHER = "other", _("someone else")

    care_request = models.ForeignKey(
        CareRequest,
        models.CASCADE,
        related_name="interactions",
        verbose_name=_("care request"),
    )
    channel = models.CharField(_("how"), max_length=10, choices=Channel.choices)
    direction = models.CharField(
        _("direction"), max_length=3, choices=Direction.choices
    )
    party = models.CharField(_("with"), max_length=12, choices=Party.choices)
    counterpart = models.CharField(
        _("name"),
        max_length=200,
        blank=True,
        help_text=_("E.g. the secretariat of Dr Martin, cardiologist."),
    )
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    duration_minutes = models.PositiveSmallIntegerField(
        _("duration (minutes)"), null=True, blank=True
    )
    summary = EncryptedTextField(_("summary"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interaction log")
        ordering = ["-occurred_at"]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} · {self.get_party_display()}"


class SlaBreach(models.Model):
    """A service-level clock ran out; the alert goes once per breach."""

    care_request = models.ForeignKey(
        CareRequest,
        models.CASCADE,
        related_name="sla_breaches",
        verbose_name=_("care request"),
    )
    clock = models.CharField(_("clock"), max_length=16, choices=SlaClock.choices)
    due_at = models.DateTimeField(_("was due"))
    detected_at = models.DateTimeField(_("detected on"), default=timezone.now)
    alerted_to = models.CharField(_("alert sent to"), max_length=254, blank=True)

    class Meta:
        verbose_name = _("missed deadline")
        verbose_name_plural = _("missed deadlines")
        ordering = ["-detected_at"]
        constraints = [
            # A due time moved by a new urgency is a new deadline, missed anew.
            models.UniqueConstraint(
                fields=["care_request", "clock", "due_at"], name="sla_breach_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.care_request.reference} · {self.get_clock_display()}"


# --- Care plan -----------------------------------------------------------------------
class CarePlanQuerySet(models.QuerySet):
    def visible_to(self, user) -> "CarePlanQuerySet":
        """The team sees every plan; patients and guardians a plan once shared."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if _is_back_office(user):
            return self
        return self.filter(
            shared_with_patient=True, patient__in=managed_patient_ids(user)
        )


class CarePlan(TimeStampedModel):
    """A patient's personalised care plan: goals and planned steps, shared with
    the patient when the team is ready."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.OneToOneField(
        Patient, models.CASCADE, related_name="care_plan", verbose_name=_("patient")
    )
    goals = EncryptedTextField(
        _("goals"),
        blank=True,
        help_text=_("What the patient and the team aim for, in plain words."),
    )
    shared_with_patient = models.BooleanField(
        _("shared with the patient"), default=False
    )
    shared_at = models.DateTimeField(_("shared on"), null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("updated by"),
    )

    objects = CarePlanQuerySet.as_manager()

    class Meta:
        verbose_name = _("care plan")
        verbose_name_plural = _("care plans")

    def __str__(self) -> str:
        return str(_("Care plan of %(reference)s")) % {
            "reference": self.patient.reference
        }

    def get_absolute_url(self) -> str:
        return reverse(
            "patients:care-plan", kwargs={"reference": self.patient.reference}
        )


class CarePlanStep(TimeStampedModel):
    class Status(models.TextChoices):
        PLANNED = "planned", _("planned")
        DONE = "done", _("done")
        CANCELLED = "cancelled", _("cancelled")

    plan = models.ForeignKey(
        CarePlan, models.CASCADE, related_name="steps", verbose_name=_("care plan")
    )
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    title = EncryptedCharField(_("step"), max_length=200)
    details = EncryptedTextField(_("details"), blank=True)
    planned_for = models.DateField(_("planned for"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PLANNED
    )
    care_request = models.ForeignKey(
        CareRequest,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="care_plan_steps",
        verbose_name=_("care request"),
    )

    class Meta:
        verbose_name = _("care plan step")
        verbose_name_plural = _("care plan steps")
        ordering = ["plan", "position", "planned_for"]

    def __str__(self) -> str:
        return self.title

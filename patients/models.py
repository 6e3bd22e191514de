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
from django.contrib.postgres.fields import DateRangeField, RangeOperators
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import IntegrityError, models, transaction
from django.db.models import Exists, F, Func, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition
from phonenumber_field.modelfields import PhoneNumberField
from simple_history.models import HistoricalRecords

from conciergerie.accounts.roles import Role
from conciergerie.fields import (
    EncryptedCharField,
    EncryptedJSONField,
    EncryptedTextField,
)
from conciergerie.models import TimeStampedModel

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


def normalise_reference(value: str) -> str:
    """What people type for a reference: any case, with or without the prefix."""
    value = (value or "").strip().upper().replace(" ", "")
    if not value.startswith(REFERENCE_PREFIX):
        value = REFERENCE_PREFIX + value.removeprefix("P")
    return value


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
        if self.reference:
            super().save(*args, **kwargs)
            return
        # The reference is random: on the rare collision, draw again. The unique
        # index decides, so two concurrent registrations cannot share one.
        for attempt in range(10):
            self.reference = new_reference()
            try:
                with transaction.atomic():
                    super().save(*args, **kwargs)
            except IntegrityError as error:
                if "reference" not in str(error) or attempt == 9:
                    self.reference = ""
                    raise
                kwargs.pop("force_insert", None)
                self._state.adding = True
            else:
                return

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

"""The specialist directory: who practises what, where, when, and how well.

Sequential ids never leave the back-office: the portal and the API address
practitioners, places and shortlists by their `public_id` (a UUID).
"""

import uuid
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from conciergerie.models import TimeStampedModel

from .text import commune_key, fold
from .validators import rpps_key_is_valid, validate_postal_code, validate_rpps

#: PostgreSQL text-search configuration: the French stemmer behind `unaccent`, so
#: that "pédiatre", "Pediatre" and "PÉDIATRIE" meet (created by migration 0002).
SEARCH_CONFIG = "french_unaccent"

#: Languages a practitioner may speak (ISO 639-1, and LSF), with the label of a form
#: and the phrase used in a match explanation ("parle anglais").
LANGUAGES = [
    ("fr", _("French"), _("speaks French")),
    ("en", _("English"), _("speaks English")),
    ("es", _("Spanish"), _("speaks Spanish")),
    ("de", _("German"), _("speaks German")),
    ("it", _("Italian"), _("speaks Italian")),
    ("pt", _("Portuguese"), _("speaks Portuguese")),
    ("ar", _("Arabic"), _("speaks Arabic")),
    ("zh", _("Chinese"), _("speaks Chinese")),
    ("ru", _("Russian"), _("speaks Russian")),
    ("nl", _("Dutch"), _("speaks Dutch")),
    ("he", _("Hebrew"), _("speaks Hebrew")),
    ("tr", _("Turkish"), _("speaks Turkish")),
    ("pl", _("Polish"), _("speaks Polish")),
    ("ro", _("Romanian"), _("speaks Romanian")),
    ("uk", _("Ukrainian"), _("speaks Ukrainian")),
    ("ja", _("Japanese"), _("speaks Japanese")),
    ("lsf", _("French Sign Language"), _("speaks French Sign Language")),
]
LANGUAGE_CHOICES = [(code, label) for code, label, _speaks in LANGUAGES]
SPEAKS = {code: speaks for code, _label, speaks in LANGUAGES}


class Localised:
    """Catalogue rows carry French (the service's language) and English names."""

    name: str
    name_en: str

    @property
    def label(self) -> str:
        language = (get_language() or "fr").split("-")[0]
        return self.name_en if language == "en" and self.name_en else self.name


class Specialty(Localised, TimeStampedModel):
    """A medical specialty (or another profession's field) of the catalogue.

    `code` is a stable slug other apps store and exchange ("cardiology"); the
    catalogue itself is data, loaded and amended by migrations.
    """

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name (French)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120, blank=True)
    practitioner_title = models.CharField(
        _("practitioner title (French)"),
        max_length=120,
        blank=True,
        help_text=_("What patients call the practitioner, e.g. 'cardiologue'."),
    )
    description = models.TextField(_("description"), blank=True)
    keywords = models.CharField(
        _("search keywords"),
        max_length=400,
        blank=True,
        help_text=_("Words patients type for this specialty, space separated."),
    )
    rpps_labels = ArrayField(
        models.CharField(max_length=200),
        verbose_name=_("RPPS 'Libellé savoir-faire' labels"),
        default=list,
        blank=True,
        help_text=_(
            "Labels of the Annuaire Santé extraction mapped to this specialty."
        ),
    )
    direct_access = models.BooleanField(
        _("direct access"),
        default=False,
        help_text=_(
            "Reimbursed at the usual rate without a referral from the patient's "
            "general practitioner."
        ),
    )
    is_medical = models.BooleanField(
        _("medical specialty"),
        default=True,
        help_text=_("False for fields outside medicine, such as psychology."),
    )
    sort_order = models.PositiveSmallIntegerField(_("order"), default=100)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("specialty")
        verbose_name_plural = _("specialties")
        ordering = ["sort_order", "name"]

    def __str__(self) -> str:
        return self.label


class SpecialtyProcedure(Localised, models.Model):
    """An exam or procedure this specialty usually performs or prescribes."""

    class Kind(models.TextChoices):
        EXAM = "exam", _("Exam")
        PROCEDURE = "procedure", _("Procedure")
        FOLLOW_UP = "follow_up", _("Follow-up care")

    specialty = models.ForeignKey(
        Specialty,
        models.CASCADE,
        related_name="procedures",
        verbose_name=_("specialty"),
    )
    code = models.SlugField(_("code"), max_length=64)
    name = models.CharField(_("name (French)"), max_length=160)
    name_en = models.CharField(_("name (English)"), max_length=160, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=100)

    class Meta:
        verbose_name = _("usual exam or procedure")
        verbose_name_plural = _("usual exams and procedures")
        ordering = ["specialty", "sort_order", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["specialty", "code"], name="specialists_procedure_unique_code"
            )
        ]

    def __str__(self) -> str:
        return self.label


class IntakeQuestion(models.Model):
    """A question the concierge asks a patient who needs this specialty.

    The care-request intake shows these questions; answers live with the request.
    """

    class AnswerType(models.TextChoices):
        SHORT_TEXT = "short_text", _("Short text")
        LONG_TEXT = "long_text", _("Long text")
        YES_NO = "yes_no", _("Yes or no")
        CHOICE = "choice", _("One choice")
        MULTIPLE_CHOICE = "multiple_choice", _("Several choices")
        NUMBER = "number", _("Number")
        DATE = "date", _("Date")

    specialty = models.ForeignKey(
        Specialty,
        models.CASCADE,
        related_name="intake_questions",
        verbose_name=_("specialty"),
    )
    code = models.SlugField(_("code"), max_length=64)
    text = models.CharField(_("question (French)"), max_length=300)
    text_en = models.CharField(_("question (English)"), max_length=300, blank=True)
    help_text = models.CharField(_("help text (French)"), max_length=300, blank=True)
    answer_type = models.CharField(
        _("answer type"), max_length=16, choices=AnswerType.choices
    )
    choices = ArrayField(
        models.CharField(max_length=120),
        verbose_name=_("choices"),
        default=list,
        blank=True,
    )
    required = models.BooleanField(_("required"), default=False)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=100)

    class Meta:
        verbose_name = _("intake question")
        verbose_name_plural = _("intake questions")
        ordering = ["specialty", "sort_order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["specialty", "code"], name="specialists_intake_unique_code"
            )
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        language = (get_language() or "fr").split("-")[0]
        return self.text_en if language == "en" and self.text_en else self.text


class PostalCode(models.Model):
    """One line of La Poste's official postal-code base, with its GPS centroid."""

    insee_code = models.CharField(_("INSEE commune code"), max_length=5)
    commune = models.CharField(_("commune"), max_length=80)
    postal_code = models.CharField(_("postal code"), max_length=5)
    line_5 = models.CharField(_("line 5 (locality)"), max_length=80, blank=True)
    routing_label = models.CharField(_("routing label"), max_length=80)
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    commune_key = models.CharField(max_length=80, db_index=True, editable=False)
    routing_key = models.CharField(max_length=80, db_index=True, editable=False)

    class Meta:
        verbose_name = _("postal code")
        verbose_name_plural = _("postal codes")
        ordering = ["postal_code", "commune"]
        constraints = [
            models.UniqueConstraint(
                fields=["insee_code", "postal_code", "line_5"],
                name="specialists_postalcode_unique_line",
            )
        ]
        indexes = [models.Index(fields=["postal_code"], name="specialists_pc_code")]

    def __str__(self) -> str:
        return f"{self.postal_code} {self.commune}"

    def save(self, *args, **kwargs) -> None:
        self.commune_key = commune_key(self.commune)
        self.routing_key = commune_key(self.routing_label)
        super().save(*args, **kwargs)

    @property
    def department(self) -> str:
        return (
            self.insee_code[:3]
            if self.insee_code.startswith("97")
            else (self.insee_code[:2])
        )


class PractitionerQuerySet(models.QuerySet["Practitioner"]):
    def proposable(self, *, on: date | None = None) -> "PractitionerQuerySet":
        """Listed, and verified with a verification that has not expired.

        An unverified practitioner, or one whose re-verification is overdue, is
        never proposed to a patient nor shown on the portal or the partner API.
        """
        today = on or timezone.localdate()
        return self.filter(is_active=True, verified_until__gte=today)

    def visible_to(self, user) -> "PractitionerQuerySet":
        """The back-office sees the whole directory; others, who may be proposed."""
        if getattr(user, "is_back_office", False) or getattr(
            user, "is_superuser", False
        ):
            return self
        today = timezone.localdate()
        proposable = Q(is_active=True, verified_until__gte=today)
        if user is not None and user.is_authenticated:
            return self.filter(proposable | Q(user=user))
        return self.filter(proposable)

    def search(self, filters) -> "PractitionerQuerySet":
        """Apply a `SearchFilters` (see specialists.search)."""
        from .search import apply_filters

        return apply_filters(self, filters)

    def with_listing(self) -> "PractitionerQuerySet":
        """Specialties and places folded into the row: one query for a whole page."""
        from .search import with_listing

        return with_listing(self)


class Practitioner(TimeStampedModel):
    """A health professional of the concierge's network."""

    class Civility(models.TextChoices):
        DOCTOR = "dr", _("Dr")
        PROFESSOR = "pr", _("Pr")
        MISTER = "m", _("Mr")
        MADAM = "mme", _("Ms")

    class Profession(models.TextChoices):
        PHYSICIAN = "physician", _("Physician")
        PSYCHOLOGIST = "psychologist", _("Psychologist")
        MIDWIFE = "midwife", _("Midwife")
        DENTIST = "dentist", _("Dental surgeon")
        PHYSIOTHERAPIST = "physiotherapist", _("Physiotherapist")
        NURSE = "nurse", _("Nurse")
        OTHER = "other", _("Other health professional")

    class Gender(models.TextChoices):
        FEMALE = "female", _("Woman")
        MALE = "male", _("Man")
        UNSPECIFIED = "unspecified", _("Not specified")

    class Sector(models.TextChoices):
        SECTOR_1 = "1", _("Sector 1")
        SECTOR_2_OPTAM = "2-optam", _("Sector 2 with OPTAM")
        SECTOR_2 = "2", _("Sector 2 without OPTAM")
        NOT_CONTRACTED = "nc", _("Not contracted (non conventionné)")

    class Source(models.TextChoices):
        MANUAL = "manual", _("Entered by the concierge")
        RPPS = "rpps", _("Annuaire Santé import")
        DEMO = "demo", _("Demo data")

    public_id = models.UUIDField(
        _("public id"), default=uuid.uuid4, unique=True, editable=False
    )
    civility = models.CharField(
        _("civility"), max_length=4, choices=Civility.choices, blank=True
    )
    first_name = models.CharField(_("first name"), max_length=120)
    last_name = models.CharField(_("last name"), max_length=120)
    rpps = models.CharField(
        _("RPPS number"),
        max_length=11,
        unique=True,
        null=True,
        blank=True,
        validators=[validate_rpps],
        help_text=_("11 digits, from the Annuaire Santé."),
    )
    rpps_key_valid = models.BooleanField(
        _("RPPS key valid"),
        null=True,
        editable=False,
        help_text=_(
            "False when the last digit fails the Luhn check: ask the practitioner "
            "or the Annuaire Santé to confirm the number."
        ),
    )
    profession = models.CharField(
        _("profession"),
        max_length=24,
        choices=Profession.choices,
        default=Profession.PHYSICIAN,
    )
    specialties = models.ManyToManyField(
        Specialty,
        related_name="practitioners",
        verbose_name=_("specialties"),
        blank=True,
    )
    languages = ArrayField(
        models.CharField(max_length=4, choices=LANGUAGE_CHOICES),
        verbose_name=_("languages spoken"),
        default=list,
        blank=True,
    )
    gender = models.CharField(
        _("gender"), max_length=12, choices=Gender.choices, default=Gender.UNSPECIFIED
    )
    sector = models.CharField(
        _("convention sector"),
        max_length=8,
        choices=Sector.choices,
        default=Sector.SECTOR_1,
    )
    consultation_fee = models.DecimalField(
        _("consultation fee (€)"),
        max_digits=7,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("What the patient pays for a usual consultation."),
    )
    usual_overrun = models.DecimalField(
        _("usual overrun (€)"),
        max_digits=7,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Usual fee above the Assurance Maladie base (dépassement)."),
    )
    negotiated_rate = models.DecimalField(
        _("negotiated concierge rate (€)"),
        max_digits=7,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Fee agreed for the concierge's patients, if any."),
    )
    teleconsultation = models.BooleanField(_("offers teleconsultation"), default=False)
    wheelchair_accessible = models.BooleanField(
        _("wheelchair accessible"), default=False
    )
    photo = models.ImageField(
        _("photo"), upload_to="specialists/photos/", blank=True, max_length=200
    )
    bio = models.TextField(_("short biography"), max_length=1500, blank=True)
    contact_name = models.CharField(
        _("contact for the concierge"), max_length=120, blank=True
    )
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    contact_email = models.EmailField(_("contact email"), blank=True)
    concierge_notes = models.TextField(
        _("notes for the concierge"),
        blank=True,
        help_text=_("Never shown to patients or partners."),
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="practitioner_profile",
        limit_choices_to={"groups__name": "practitioner"},
        verbose_name=_("login account"),
        help_text=_("The account the practitioner signs in with, if any."),
    )
    is_active = models.BooleanField(
        _("listed"),
        default=True,
        help_text=_("Unlisted practitioners are kept but never searched or proposed."),
    )
    verified_at = models.DateTimeField(_("last verified at"), null=True, editable=False)
    verified_until = models.DateField(
        _("verified until"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("Re-verification due date; past it the practitioner is hidden."),
    )
    rating_average = models.DecimalField(
        _("average rating"),
        max_digits=3,
        decimal_places=2,
        null=True,
        blank=True,
        editable=False,
    )
    rating_count = models.PositiveIntegerField(
        _("published reviews"), default=0, editable=False
    )
    # Scheduling rules
    buffer_minutes = models.PositiveSmallIntegerField(
        _("buffer between appointments (minutes)"),
        default=0,
        validators=[MaxValueValidator(240)],
    )
    minimum_notice_minutes = models.PositiveIntegerField(
        _("minimum notice (minutes)"),
        default=120,
        help_text=_("No slot is offered sooner than this after now."),
    )
    booking_horizon_days = models.PositiveSmallIntegerField(
        _("booking horizon (days)"),
        default=60,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    next_available_at = models.DateTimeField(
        _("next available slot"), null=True, blank=True, editable=False
    )
    availability_refreshed_at = models.DateTimeField(
        _("next slot changed at"), null=True, editable=False
    )
    source = models.CharField(
        _("source"), max_length=8, choices=Source.choices, default=Source.MANUAL
    )
    rpps_refreshed_at = models.DateTimeField(
        _("refreshed from the Annuaire Santé at"), null=True, editable=False
    )
    # Search columns, maintained by `save()` and `refresh_search_columns`.
    search_name = models.CharField(max_length=250, editable=False, default="")
    specialty_labels = models.TextField(editable=False, default="")
    search_vector = models.GeneratedField(
        expression=SearchVector(
            "last_name", "first_name", weight="A", config=SEARCH_CONFIG
        )
        + SearchVector("specialty_labels", weight="B", config=SEARCH_CONFIG),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    objects = PractitionerQuerySet.as_manager()

    class Meta:
        verbose_name = _("practitioner")
        verbose_name_plural = _("practitioners")
        ordering = ["last_name", "first_name", "pk"]
        permissions = [
            ("verify_practitioner", _("Can record a verification of a practitioner")),
        ]
        indexes = [
            GinIndex(fields=["search_vector"], name="specialists_pr_search"),
            GinIndex(
                OpClass("search_name", name="gin_trgm_ops"),
                name="specialists_pr_name_trgm",
            ),
            GinIndex(fields=["languages"], name="specialists_pr_languages"),
            models.Index(
                "next_available_at", "id", name="specialists_pr_next_available"
            ),
            models.Index(fields=["verified_until"], name="specialists_pr_verified"),
            models.Index(Upper("last_name"), name="specialists_pr_last_name"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(rpps__isnull=True) | Q(rpps__regex=r"^[0-9]{11}$"),
                name="specialists_practitioner_rpps_format",
            ),
            models.CheckConstraint(
                condition=Q(consultation_fee__isnull=True) | Q(consultation_fee__gte=0),
                name="specialists_practitioner_fee_positive",
            ),
            models.CheckConstraint(
                condition=Q(negotiated_rate__isnull=True) | Q(negotiated_rate__gte=0),
                name="specialists_practitioner_rate_positive",
            ),
            models.CheckConstraint(
                condition=Q(rating_average__isnull=True)
                | Q(rating_average__gte=1, rating_average__lte=5),
                name="specialists_practitioner_rating_range",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    def save(self, *args, **kwargs) -> None:
        self.fill_derived_fields()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            touched = set(update_fields)
            if touched & {"first_name", "last_name"}:
                touched.add("search_name")
            if "rpps" in touched:
                touched.add("rpps_key_valid")
            kwargs["update_fields"] = touched
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("specialists:detail", kwargs={"public_id": self.public_id})

    def fill_derived_fields(self) -> None:
        """Columns computed from others; bulk writers call this before bulk_create."""
        self.search_name = fold(f"{self.first_name} {self.last_name}")
        self.rpps_key_valid = rpps_key_is_valid(self.rpps) if self.rpps else None

    @property
    def display_name(self) -> str:
        civility = self.get_civility_display() if self.civility else ""
        return " ".join(
            part for part in (civility, self.first_name, self.last_name) if part
        )

    @property
    def language_labels(self) -> list[str]:
        labels = dict(LANGUAGE_CHOICES)
        return [str(labels.get(code, code)) for code in self.languages or ()]

    @property
    def initials(self) -> str:
        return f"{self.first_name[:1]}{self.last_name[:1]}".upper()

    @property
    def effective_fee(self) -> Decimal | None:
        """What a patient of the concierge pays: the negotiated rate if any."""
        if self.negotiated_rate is not None:
            return self.negotiated_rate
        return self.consultation_fee

    def is_verified(self, *, on: date | None = None) -> bool:
        today = on or timezone.localdate()
        return self.verified_until is not None and self.verified_until >= today

    def is_proposable(self, *, on: date | None = None) -> bool:
        return self.is_active and self.is_verified(on=on)


class PracticePlace(TimeStampedModel):
    """Where a practitioner receives patients: a practice, a clinic, a hospital."""

    class GeocodePrecision(models.TextChoices):
        MANUAL = "manual", _("Entered coordinates")
        COMMUNE = "commune", _("Commune of the postal code")
        POSTAL_CODE = "postal_code", _("Postal code centroid")
        CITY = "city", _("Built-in city centre")
        NONE = "none", _("Not located")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    practitioner = models.ForeignKey(
        Practitioner,
        models.CASCADE,
        related_name="places",
        verbose_name=_("practitioner"),
    )
    name = models.CharField(_("name"), max_length=160, blank=True)
    address = models.CharField(_("address"), max_length=250, blank=True)
    address_complement = models.CharField(
        _("address complement"), max_length=250, blank=True
    )
    postal_code = models.CharField(
        _("postal code"), max_length=5, validators=[validate_postal_code]
    )
    commune = models.CharField(_("commune"), max_length=120)
    latitude = models.FloatField(
        _("latitude"),
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
        help_text=_("Left empty, it is found from the postal code and the commune."),
    )
    longitude = models.FloatField(
        _("longitude"),
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    geocode_precision = models.CharField(
        _("location precision"),
        max_length=12,
        choices=GeocodePrecision.choices,
        default=GeocodePrecision.NONE,
        editable=False,
    )
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    access_notes = models.TextField(
        _("access notes"),
        blank=True,
        help_text=_("Floor, door code, public transport, parking."),
    )
    is_primary = models.BooleanField(_("main place"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    source_key = models.CharField(
        max_length=64,
        blank=True,
        editable=False,
        help_text=_("Identifies the place in the Annuaire Santé import."),
    )

    class Meta:
        verbose_name = _("place of practice")
        verbose_name_plural = _("places of practice")
        ordering = ["-is_primary", "pk"]
        indexes = [
            models.Index(
                fields=["latitude", "longitude"], name="specialists_pl_coords"
            ),
            models.Index(fields=["postal_code"], name="specialists_pl_postal_code"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["practitioner", "source_key"],
                condition=~Q(source_key=""),
                name="specialists_place_unique_source",
            ),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | Q(latitude__isnull=False, longitude__isnull=False),
                name="specialists_place_coordinates_pair",
            ),
        ]

    def __str__(self) -> str:
        where = f"{self.postal_code} {self.commune}".strip()
        return f"{self.name} ({where})" if self.name else where

    @property
    def has_coordinates(self) -> bool:
        return self.latitude is not None and self.longitude is not None


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class OpeningHours(models.Model):
    """A weekly opening, in Europe/Paris wall-clock time, at one place or remote.

    Wall-clock times are converted to UTC day by day, so that 9:00 stays 9:00 on
    both sides of a DST change.
    """

    practitioner = models.ForeignKey(
        Practitioner,
        models.CASCADE,
        related_name="opening_hours",
        verbose_name=_("practitioner"),
    )
    place = models.ForeignKey(
        PracticePlace,
        models.CASCADE,
        null=True,
        blank=True,
        related_name="opening_hours",
        verbose_name=_("place"),
        help_text=_("Empty for teleconsultation-only hours."),
    )
    weekday = models.PositiveSmallIntegerField(_("day"), choices=Weekday.choices)
    starts_at = models.TimeField(_("from"))
    ends_at = models.TimeField(_("to"))
    in_person = models.BooleanField(_("in person"), default=True)
    remote = models.BooleanField(_("teleconsultation"), default=False)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)

    class Meta:
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")
        ordering = ["practitioner", "weekday", "starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")),
                name="specialists_hours_end_after_start",
            ),
            models.CheckConstraint(
                condition=Q(in_person=True) | Q(remote=True),
                name="specialists_hours_have_a_mode",
            ),
            models.CheckConstraint(
                condition=Q(in_person=False) | Q(place__isnull=False),
                name="specialists_hours_in_person_need_a_place",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.get_weekday_display()} {self.starts_at:%H:%M}–{self.ends_at:%H:%M}"
        )

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        errors = {}
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = ValidationError(
                _("The end must come after the start."), code="end_before_start"
            )
        if not self.in_person and not self.remote:
            errors["in_person"] = ValidationError(
                _("Choose in person, teleconsultation or both."), code="no_mode"
            )
        if self.in_person and self.place_id is None:
            errors["place"] = ValidationError(
                _("In-person hours need a place."), code="place_required"
            )
        if (
            self.place_id is not None
            and self.practitioner_id is not None
            and self.place.practitioner_id != self.practitioner_id
        ):
            errors["place"] = ValidationError(
                _("This place belongs to another practitioner."), code="foreign_place"
            )
        if errors:
            raise ValidationError(errors)


class ConsultationType(models.Model):
    """What a patient can book, and how long it takes."""

    class Kind(models.TextChoices):
        FIRST_VISIT = "first_visit", _("First visit")
        FOLLOW_UP = "follow_up", _("Follow-up visit")
        TELECONSULTATION = "teleconsultation", _("Teleconsultation")

    #: Durations used when a practitioner has not set their own.
    DEFAULT_MINUTES = {
        Kind.FIRST_VISIT: 30,
        Kind.FOLLOW_UP: 20,
        Kind.TELECONSULTATION: 20,
    }

    practitioner = models.ForeignKey(
        Practitioner,
        models.CASCADE,
        related_name="consultation_types",
        verbose_name=_("practitioner"),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    duration_minutes = models.PositiveSmallIntegerField(
        _("duration (minutes)"),
        validators=[MinValueValidator(5), MaxValueValidator(480)],
    )
    fee = models.DecimalField(
        _("fee (€)"),
        max_digits=7,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Empty: the practitioner's consultation fee."),
    )
    is_active = models.BooleanField(_("bookable"), default=True)

    class Meta:
        verbose_name = _("consultation type")
        verbose_name_plural = _("consultation types")
        ordering = ["practitioner", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["practitioner", "kind"], name="specialists_type_unique_kind"
            ),
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=5),
                name="specialists_type_duration_positive",
            ),
        ]

    def __str__(self) -> str:
        return _("%(kind)s (%(minutes)s min)") % {
            "kind": self.get_kind_display(),
            "minutes": self.duration_minutes,
        }

    @property
    def is_remote(self) -> bool:
        return self.kind == self.Kind.TELECONSULTATION


class AvailabilityException(models.Model):
    """A closure (holiday, absence) or an extra opening, in real time (UTC)."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("Holiday")
        ABSENCE = "absence", _("Absence")
        EXTRA_OPENING = "extra_opening", _("Extra opening")

    CLOSURES = (Kind.HOLIDAY, Kind.ABSENCE)

    practitioner = models.ForeignKey(
        Practitioner,
        models.CASCADE,
        related_name="availability_exceptions",
        verbose_name=_("practitioner"),
    )
    place = models.ForeignKey(
        PracticePlace,
        models.CASCADE,
        null=True,
        blank=True,
        related_name="availability_exceptions",
        verbose_name=_("place"),
        help_text=_(
            "A closure without a place closes every place; an extra opening "
            "without a place is for teleconsultation."
        ),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("to"))
    remote = models.BooleanField(
        _("teleconsultation"),
        default=False,
        help_text=_("For extra openings: teleconsultation is possible."),
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("availability exception")
        verbose_name_plural = _("availability exceptions")
        ordering = ["practitioner", "starts_at"]
        indexes = [
            models.Index(
                fields=["practitioner", "starts_at", "ends_at"],
                name="specialists_exc_period",
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")),
                name="specialists_exception_end_after_start",
            )
        ]

    def __str__(self) -> str:
        start = timezone.localtime(self.starts_at)
        end = timezone.localtime(self.ends_at)
        return (
            f"{self.get_kind_display()} {start:%d/%m/%Y %H:%M} – {end:%d/%m/%Y %H:%M}"
        )

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError(
                {
                    "ends_at": ValidationError(
                        _("The end must come after the start."),
                        code="end_before_start",
                    )
                }
            )
        if (
            self.kind == self.Kind.EXTRA_OPENING
            and self.place_id is None
            and not self.remote
        ):
            raise ValidationError(
                {
                    "place": ValidationError(
                        _("An extra opening needs a place or teleconsultation."),
                        code="place_required",
                    )
                }
            )

    @property
    def is_closure(self) -> bool:
        return self.kind in self.CLOSURES


class VerificationRecord(TimeStampedModel):
    """A concierge checked a practitioner's registration or credentials."""

    class Kind(models.TextChoices):
        RPPS_REGISTRATION = "rpps", _("RPPS registration (Annuaire Santé)")
        ORDER_REGISTRATION = "order", _("Registration with the professional order")
        DIPLOMA = "diploma", _("Diploma or certification")
        INSURANCE = "insurance", _("Professional liability insurance")
        IDENTITY = "identity", _("Identity")

    class Outcome(models.TextChoices):
        VERIFIED = "verified", _("Verified")
        FAILED = "failed", _("Failed")

    practitioner = models.ForeignKey(
        Practitioner,
        models.CASCADE,
        related_name="verifications",
        verbose_name=_("practitioner"),
    )
    kind = models.CharField(_("what was checked"), max_length=12, choices=Kind.choices)
    outcome = models.CharField(
        _("outcome"), max_length=10, choices=Outcome.choices, default=Outcome.VERIFIED
    )
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        related_name="+",
        verbose_name=_("checked by"),
    )
    checked_at = models.DateTimeField(_("checked at"), default=timezone.now)
    evidence = models.TextField(
        _("evidence"),
        help_text=_("What was seen: register URL, document reference, call."),
    )
    valid_until = models.DateField(
        _("re-verification due"),
        null=True,
        blank=True,
        help_text=_("After this date the practitioner is no longer proposed."),
    )
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("verification")
        verbose_name_plural = _("verifications")
        ordering = ["-checked_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome="failed") | Q(valid_until__isnull=False),
                name="specialists_verification_due_date",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.get_outcome_display()}"


class ReviewQuerySet(models.QuerySet["Review"]):
    def published(self) -> "ReviewQuerySet":
        return self.filter(state=Review.State.PUBLISHED)


class Review(FSMModelMixin, TimeStampedModel):
    """A patient's rating after a consultation, moderated before anyone sees it."""

    class State(models.TextChoices):
        PENDING = "pending", _("Awaiting moderation")
        PUBLISHED = "published", _("Published")
        REJECTED = "rejected", _("Rejected")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    practitioner = models.ForeignKey(
        Practitioner,
        models.CASCADE,
        related_name="reviews",
        verbose_name=_("practitioner"),
    )
    rating = models.PositiveSmallIntegerField(
        _("rating"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.TextField(_("comment"), max_length=2000, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("author"),
    )
    source_reference = models.CharField(
        _("source"),
        max_length=64,
        blank=True,
        help_text=_("The survey or consultation the review comes from."),
    )
    state = FSMField(
        _("state"), choices=State.choices, default=State.PENDING, protected=True
    )
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("moderated by"),
    )
    moderated_at = models.DateTimeField(_("moderated at"), null=True, blank=True)
    rejection_reason = models.CharField(
        _("rejection reason"), max_length=200, blank=True
    )

    objects = ReviewQuerySet.as_manager()

    class Meta:
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        ordering = ["-created_at"]
        permissions = [("moderate_review", _("Can publish or reject reviews"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__gte=1, rating__lte=5),
                name="specialists_review_rating_range",
            ),
            models.UniqueConstraint(
                fields=["source_reference"],
                condition=~Q(source_reference=""),
                name="specialists_review_unique_source",
            ),
        ]
        indexes = [
            models.Index(fields=["practitioner", "state"], name="specialists_rv_state")
        ]

    def __str__(self) -> str:
        return f"{self.rating}/5 – {self.practitioner}"

    @transition(
        field=state, source=[State.PENDING, State.REJECTED], target=State.PUBLISHED
    )
    def publish(self, *, by) -> None:
        self.moderated_by = by
        self.moderated_at = timezone.now()
        self.rejection_reason = ""

    @transition(
        field=state, source=[State.PENDING, State.PUBLISHED], target=State.REJECTED
    )
    def reject(self, *, by, reason: str) -> None:
        self.moderated_by = by
        self.moderated_at = timezone.now()
        self.rejection_reason = reason


class ShortlistQuerySet(models.QuerySet["Shortlist"]):
    def visible_to(self, user) -> "ShortlistQuerySet":
        if getattr(user, "is_back_office", False) or getattr(
            user, "is_superuser", False
        ):
            return self
        return self.none()


class Shortlist(FSMModelMixin, TimeStampedModel):
    """The practitioners a concierge selected for one care request.

    `request_reference` is the care request's public reference; publishing the
    shortlist turns it into the proposal the patient receives.
    """

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Proposed to the patient")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    request_reference = models.CharField(
        _("care request"), max_length=64, db_index=True
    )
    state = FSMField(
        _("state"), choices=State.choices, default=State.DRAFT, protected=True
    )
    message = models.TextField(_("message to the patient"), blank=True, max_length=2000)
    criteria = models.JSONField(
        _("search criteria"), default=dict, blank=True, editable=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        related_name="+",
        verbose_name=_("created by"),
    )
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("proposed by"),
    )
    published_at = models.DateTimeField(_("proposed at"), null=True, blank=True)

    objects = ShortlistQuerySet.as_manager()

    class Meta:
        verbose_name = _("shortlist")
        verbose_name_plural = _("shortlists")
        ordering = ["-created_at"]
        permissions = [("publish_shortlist", _("Can propose a shortlist to a patient"))]
        constraints = [
            # One proposal in force per request: a new one needs the old withdrawn.
            models.UniqueConstraint(
                fields=["request_reference"],
                condition=Q(state="published"),
                name="specialists_shortlist_one_published",
            )
        ]

    def __str__(self) -> str:
        return _("Shortlist for %(reference)s") % {"reference": self.request_reference}

    @transition(field=state, source=State.DRAFT, target=State.PUBLISHED)
    def publish(self, *, by) -> None:
        self.published_by = by
        self.published_at = timezone.now()

    @transition(
        field=state, source=[State.DRAFT, State.PUBLISHED], target=State.WITHDRAWN
    )
    def withdraw(self) -> None:
        """The request changed, or the patient declined every proposal."""


class ShortlistEntry(TimeStampedModel):
    shortlist = models.ForeignKey(
        Shortlist, models.CASCADE, related_name="entries", verbose_name=_("shortlist")
    )
    practitioner = models.ForeignKey(
        Practitioner,
        models.PROTECT,
        related_name="shortlist_entries",
        verbose_name=_("practitioner"),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    score = models.FloatField(_("match score"), null=True, blank=True)
    explanation = models.CharField(_("why"), max_length=400, blank=True)
    note = models.CharField(_("concierge's note"), max_length=400, blank=True)

    class Meta:
        verbose_name = _("shortlisted practitioner")
        verbose_name_plural = _("shortlisted practitioners")
        ordering = ["shortlist", "position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["shortlist", "practitioner"],
                name="specialists_entry_unique_practitioner",
            )
        ]

    def __str__(self) -> str:
        return str(self.practitioner)

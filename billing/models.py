"""Quotes, invoices, credit notes and payments, and the catalogue they bill.

French law makes an issued invoice a legal record: numbered in one continuous
series per year, never changed nor deleted, corrected only by a credit note.
The models enforce it (save/delete refuse, the admin shows issued documents
read-only) and PostgreSQL enforces it again with triggers (migration 0003), so
that no code path, not even `QuerySet.update()`, can rewrite a legal record.
"""

import uuid
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateRangeField, RangeOperators
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Func, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition
from simple_history.models import HistoricalRecords

from conciergerie.models import TimeStampedModel

from .money import ZERO, compute_line_amounts, sum_lines


class DateRange(Func):
    function = "DATERANGE"
    output_field = DateRangeField()


def validity_constraint(name: str, *, per: str) -> ExclusionConstraint:
    """No two rows of the same `per` value may be valid on the same day."""
    return ExclusionConstraint(
        name=name,
        expressions=[
            (per, RangeOperators.EQUAL),
            (
                DateRange("valid_from", "valid_to", models.Value("[)")),
                RangeOperators.OVERLAPS,
            ),
        ],
    )


# --- Catalogue ---------------------------------------------------------------------


class VatCategory(models.TextChoices):
    STANDARD = "standard", _("Subject to VAT")
    # Practitioner fees paid in the patient's name and passed on at cost (CGI,
    # art. 267 II 2°): outside the VAT base, shown apart on the invoice.
    DISBURSEMENT = "disbursement", _("Disbursement (outside the scope of VAT)")


class Unit(models.TextChoices):
    UNIT = "unit", _("unit")
    HOUR = "hour", _("hour")
    MONTH = "month", _("month")
    YEAR = "year", _("year")


class DatedQuerySet(models.QuerySet):
    def valid_on(self, day: date) -> "DatedQuerySet":
        return self.filter(valid_from__lte=day).filter(
            Q(valid_to__isnull=True) | Q(valid_to__gt=day)
        )


class VatRate(TimeStampedModel):
    """A VAT rate for a category, valid over a period (end date excluded)."""

    category = models.CharField(_("category"), max_length=20, choices=VatCategory)
    rate = models.DecimalField(
        _("rate (%)"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal(0))],
    )
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid until (excluded)"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=300, blank=True)

    objects = DatedQuerySet.as_manager()

    class Meta:
        verbose_name = _("VAT rate")
        verbose_name_plural = _("VAT rates")
        ordering = ["category", "-valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True)
                | Q(valid_to__gt=models.F("valid_from")),
                name="billing_vatrate_period",
            ),
            validity_constraint("billing_vatrate_no_overlap", per="category"),
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()} {self.rate} %"

    @classmethod
    def rate_for(cls, category: str, *, on: date) -> Decimal:
        if category == VatCategory.DISBURSEMENT:
            return Decimal("0.00")
        found = cls.objects.valid_on(on).filter(category=category).first()
        if found is None:
            raise ValidationError(
                _("No VAT rate is valid on %(day)s.") % {"day": on},
                code="no_vat_rate",
            )
        return found.rate


class Service(TimeStampedModel):
    """An item of the catalogue: what the concierge service sells or advances."""

    class Kind(models.TextChoices):
        REQUEST_FEE = "request_fee", _("Per-request fee")
        ACCOMPANIMENT = "accompaniment", _("Hourly accompaniment")
        LOGISTICS = "logistics", _("Logistics")
        MEMBERSHIP = "membership", _("Membership plan")
        DISBURSEMENT = "disbursement", _("Practitioner fee advanced (disbursement)")

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind)
    unit = models.CharField(_("unit"), max_length=10, choices=Unit, default=Unit.UNIT)
    vat_category = models.CharField(
        _("VAT category"),
        max_length=20,
        choices=VatCategory,
        default=VatCategory.STANDARD,
    )
    is_active = models.BooleanField(_("on sale"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("catalogue service")
        verbose_name_plural = _("catalogue services")
        ordering = ["position", "name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="disbursement") | Q(vat_category="disbursement"),
                name="billing_service_disbursement_outside_vat",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def price_on(self, day: date) -> "ServicePrice":
        price = self.prices.valid_on(day).first()
        if price is None:
            raise ValidationError(
                _("%(service)s has no price valid on %(day)s.")
                % {"service": self.name, "day": day},
                code="no_price",
            )
        return price


class ServicePrice(TimeStampedModel):
    """The unit price excluding VAT of a service over a period (end excluded).

    For disbursements it is the usual amount, replaced on each line by the fee
    actually advanced.
    """

    service = models.ForeignKey(
        Service, models.CASCADE, related_name="prices", verbose_name=_("service")
    )
    unit_price_excl_vat = models.DecimalField(
        _("unit price excl. VAT"),
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(Decimal(0))],
    )
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid until (excluded)"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=300, blank=True)

    objects = DatedQuerySet.as_manager()

    class Meta:
        verbose_name = _("price")
        verbose_name_plural = _("prices")
        ordering = ["service", "-valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True)
                | Q(valid_to__gt=models.F("valid_from")),
                name="billing_serviceprice_period",
            ),
            models.CheckConstraint(
                condition=Q(unit_price_excl_vat__gte=0),
                name="billing_serviceprice_not_negative",
            ),
            validity_constraint("billing_serviceprice_no_overlap", per="service"),
        ]

    def __str__(self) -> str:
        return f"{self.service} {self.unit_price_excl_vat} € ({self.valid_from})"


# --- Customers ---------------------------------------------------------------------


class CustomerKind(models.TextChoices):
    PATIENT = "patient", _("Patient")
    GUARDIAN = "guardian", _("Parent or guardian")
    COMPANY = "company", _("Company (employer plan)")
    INSURER = "insurer", _("Insurer")


BUSINESS_KINDS = frozenset({CustomerKind.COMPANY, CustomerKind.INSURER})


class CustomerQuerySet(models.QuerySet):
    def visible_to(self, user) -> "CustomerQuerySet":
        if user.is_staff and user.has_perm("billing.view_customer"):
            return self
        return self.filter(user=user)


class Customer(TimeStampedModel):
    """Who pays: a patient, a guardian, an employer or an insurer.

    Documents copy these details when they are created and freeze them when they
    are issued, so that changing a customer never rewrites an issued invoice.
    `user` is the account that sees the documents: the patient's or guardian's
    portal login, or the partner account of a company or insurer on the API.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=20, choices=CustomerKind)
    name = models.CharField(_("name"), max_length=200)
    address = models.TextField(_("street address"))
    postal_code = models.CharField(_("postal code"), max_length=20)
    city = models.CharField(_("city"), max_length=100)
    country = models.CharField(_("country code"), max_length=2, default="FR")
    email = models.EmailField(_("email for invoices"), blank=True)
    siren = models.CharField(_("SIREN"), max_length=9, blank=True)
    vat_number = models.CharField(_("VAT number"), max_length=20, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="billing_customers",
        verbose_name=_("account"),
    )

    objects = CustomerQuerySet.as_manager()

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    def clean(self) -> None:
        from stdnum.fr import siren, tva

        errors = {}
        if self.siren and not siren.is_valid(self.siren):
            errors["siren"] = ValidationError(
                _("This SIREN number is not valid."), code="invalid_siren"
            )
        french_vat = self.vat_number.upper().startswith("FR")
        if french_vat and not tva.is_valid(self.vat_number):
            errors["vat_number"] = ValidationError(
                _("This VAT number is not valid."), code="invalid_vat_number"
            )
        if self.kind in BUSINESS_KINDS and not self.siren and self.country == "FR":
            errors["siren"] = ValidationError(
                _("A French company or insurer needs its SIREN number."),
                code="siren_required",
            )
        if errors:
            raise ValidationError(errors)

    @property
    def is_business(self) -> bool:
        return self.kind in BUSINESS_KINDS


class BuyerSnapshot(models.Model):
    """The buyer as printed on the document, frozen once it is issued."""

    buyer_kind = models.CharField(_("buyer kind"), max_length=20, choices=CustomerKind)
    buyer_name = models.CharField(_("buyer name"), max_length=200)
    buyer_address = models.TextField(_("buyer street address"))
    buyer_postal_code = models.CharField(_("buyer postal code"), max_length=20)
    buyer_city = models.CharField(_("buyer city"), max_length=100)
    buyer_country = models.CharField(
        _("buyer country code"), max_length=2, default="FR"
    )
    buyer_email = models.EmailField(_("buyer email"), blank=True)
    buyer_siren = models.CharField(_("buyer SIREN"), max_length=9, blank=True)
    buyer_vat_number = models.CharField(
        _("buyer VAT number"), max_length=20, blank=True
    )

    class Meta:
        abstract = True

    def copy_buyer_from(self, customer: Customer) -> None:
        self.buyer_kind = customer.kind
        self.buyer_name = customer.name
        self.buyer_address = customer.address
        self.buyer_postal_code = customer.postal_code
        self.buyer_city = customer.city
        self.buyer_country = customer.country
        self.buyer_email = customer.email
        self.buyer_siren = customer.siren
        self.buyer_vat_number = customer.vat_number

    @property
    def buyer_is_business(self) -> bool:
        return self.buyer_kind in BUSINESS_KINDS


class Totals(models.Model):
    total_excl_vat = models.DecimalField(
        _("total excl. VAT"), default=ZERO, max_digits=12, decimal_places=2
    )
    total_vat = models.DecimalField(
        _("VAT"), default=ZERO, max_digits=12, decimal_places=2
    )
    total_disbursements = models.DecimalField(
        _("disbursements"), default=ZERO, max_digits=12, decimal_places=2
    )
    total = models.DecimalField(
        _("total due"), default=ZERO, max_digits=12, decimal_places=2
    )

    class Meta:
        abstract = True

    def compute_totals(self, lines) -> None:
        totals = sum_lines(lines)
        self.total_excl_vat = totals.total_excl_vat
        self.total_vat = totals.total_vat
        self.total_disbursements = totals.total_disbursements
        self.total = totals.total

    def vat_breakdown(self) -> list[tuple[Decimal, Decimal, Decimal]]:
        """(rate, base, tax) for each VAT rate of the lines, highest rate first."""
        lines = getattr(self, "lines")  # noqa: B009 - the concrete model's lines
        breakdown = sum_lines(lines.all()).vat_breakdown or {}
        return [
            (rate, base, tax)
            for rate, (base, tax) in sorted(breakdown.items(), reverse=True)
        ]


class DocumentLocked(ValidationError):
    """Raised when something tries to change an issued legal document."""


class LineBase(models.Model):
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    service = models.ForeignKey(
        Service,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("catalogue service"),
    )
    description = models.CharField(_("description"), max_length=300)
    service_date = models.DateField(_("date of service"), null=True, blank=True)
    quantity = models.DecimalField(
        _("quantity"), max_digits=10, decimal_places=2, default=Decimal("1.00")
    )
    unit = models.CharField(_("unit"), max_length=10, choices=Unit, default=Unit.UNIT)
    unit_price_excl_vat = models.DecimalField(
        _("unit price excl. VAT"), max_digits=10, decimal_places=2
    )
    vat_category = models.CharField(
        _("VAT category"),
        max_length=20,
        choices=VatCategory,
        default=VatCategory.STANDARD,
    )
    vat_rate = models.DecimalField(
        _("VAT rate (%)"), max_digits=5, decimal_places=2, default=Decimal("20.00")
    )
    net_amount = models.DecimalField(
        _("amount excl. VAT"),
        default=ZERO,
        editable=False,
        max_digits=12,
        decimal_places=2,
    )
    vat_amount = models.DecimalField(
        _("VAT amount"), default=ZERO, editable=False, max_digits=12, decimal_places=2
    )

    class Meta:
        abstract = True
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.description

    def save(self, *args, **kwargs) -> None:
        self.guard_parent()
        self.compute()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self.guard_parent()
        return super().delete(*args, **kwargs)

    def clean(self) -> None:
        errors = {}
        if self.quantity is not None and self.quantity <= 0:
            errors["quantity"] = ValidationError(
                _("The quantity must be positive."), code="quantity_not_positive"
            )
        if self.unit_price_excl_vat is not None and self.unit_price_excl_vat < 0:
            errors["unit_price_excl_vat"] = ValidationError(
                _("The unit price cannot be negative; issue a credit note instead."),
                code="negative_price",
            )
        if self.is_disbursement and self.vat_rate:
            errors["vat_rate"] = ValidationError(
                _("A disbursement is outside the scope of VAT: its rate is 0."),
                code="disbursement_with_vat",
            )
        if errors:
            raise ValidationError(errors)

    def guard_parent(self) -> None:
        """Refuse to touch a line of a document that is no longer a draft."""

    @property
    def is_disbursement(self) -> bool:
        return self.vat_category == VatCategory.DISBURSEMENT

    @property
    def gross_amount(self) -> Decimal:
        return self.net_amount + self.vat_amount

    def compute(self) -> None:
        if self.is_disbursement:
            self.vat_rate = Decimal("0.00")
        amounts = compute_line_amounts(
            quantity=self.quantity,
            unit_price=self.unit_price_excl_vat,
            vat_rate=self.vat_rate,
        )
        self.net_amount = amounts.net
        self.vat_amount = amounts.vat


def line_constraints(prefix: str) -> list[models.BaseConstraint]:
    return [
        models.CheckConstraint(
            condition=Q(quantity__gt=0), name=f"{prefix}_quantity_positive"
        ),
        models.CheckConstraint(
            condition=Q(unit_price_excl_vat__gte=0), name=f"{prefix}_price_not_negative"
        ),
        models.CheckConstraint(
            condition=~Q(vat_category="disbursement") | Q(vat_rate=0),
            name=f"{prefix}_disbursement_outside_vat",
        ),
    ]


# --- Numbering ---------------------------------------------------------------------


class DocumentCounter(models.Model):
    """The last number used in a series for a year; locked while a number is taken."""

    series = models.CharField(_("series"), max_length=4)
    year = models.PositiveSmallIntegerField(_("year"))
    last_value = models.PositiveIntegerField(_("last number"), default=0)

    class Meta:
        verbose_name = _("numbering counter")
        verbose_name_plural = _("numbering counters")
        constraints = [
            models.UniqueConstraint(
                fields=["series", "year"], name="billing_counter_unique_series_year"
            )
        ]

    def __str__(self) -> str:
        return f"{self.series}-{self.year}: {self.last_value}"


# --- Who sees a document -----------------------------------------------------------


def _addressed_to(user, *, prefix: str = "") -> Q:
    """Documents for the user's account, or about a patient whose file they manage.

    A patient sees the documents about their own care, and a parent or guardian
    those about their child's, whoever pays: the patients app's `managed_by`
    (owner or active guardian), not `visible_to`, which also opens files to the
    partners they were shared with.
    """
    from patients.models import Patient

    return Q(**{f"{prefix}customer__user": user}) | Q(
        **{f"{prefix}patient__in": Patient.objects.managed_by(user)}
    )


# --- Quotes ------------------------------------------------------------------------


class QuoteQuerySet(models.QuerySet):
    def visible_to(self, user) -> "QuoteQuerySet":
        """Staff see every quote; others the quotes addressed to them."""
        if user.is_staff and user.has_perm("billing.view_quote"):
            return self
        return self.decidable_by(user)

    def decidable_by(self, user) -> "QuoteQuerySet":
        """Only the customer accepts or refuses a quote, never staff on their
        behalf: the acceptance is the customer's consent to pay."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(_addressed_to(user)).exclude(state=Quote.State.DRAFT)


class Quote(FSMModelMixin, BuyerSnapshot, Totals, TimeStampedModel):
    """A devis: what the service proposes, for the customer to accept or refuse."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SENT = "sent", _("Sent")
        ACCEPTED = "accepted", _("Accepted")
        REFUSED = "refused", _("Refused")
        EXPIRED = "expired", _("Expired")
        INVOICED = "invoiced", _("Invoiced")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    number = models.CharField(
        _("number"), max_length=20, unique=True, null=True, blank=True, editable=False
    )
    state = FSMField(
        _("state"), choices=State.choices, default=State.DRAFT, protected=True
    )
    customer = models.ForeignKey(
        Customer, models.PROTECT, related_name="quotes", verbose_name=_("customer")
    )
    patient = models.ForeignKey(
        "patients.Patient",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="quotes",
        verbose_name=_("patient cared for"),
    )
    reference = models.CharField(
        _("reference"),
        max_length=64,
        blank=True,
        help_text=_("The care request or appointment this quote is for."),
    )
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    notes = models.TextField(_("notes printed on the quote"), blank=True)
    # Filled by the reimbursements app through `record_reimbursement_estimate`.
    estimated_reimbursement = models.DecimalField(
        _("estimated reimbursement"),
        null=True,
        blank=True,
        max_digits=12,
        decimal_places=2,
    )
    reimbursement_estimated_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decision_ip = models.GenericIPAddressField(
        _("from IP address"), null=True, blank=True
    )
    decision_user_agent = models.CharField(
        _("from browser"), max_length=500, blank=True
    )
    refusal_reason = models.TextField(_("reason for refusal"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )

    objects = QuoteQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.number or _("Draft quote %(id)s") % {"id": self.pk}

    def get_absolute_url(self) -> str:
        return reverse("billing:quote", kwargs={"public_id": self.public_id})

    @property
    def is_open(self) -> bool:
        return self.state == self.State.SENT

    @property
    def out_of_pocket(self) -> Decimal | None:
        """What the patient should keep paying once reimbursed."""
        if self.estimated_reimbursement is None:
            return None
        return max(self.total - self.estimated_reimbursement, ZERO)

    @transition(field=state, source=State.DRAFT, target=State.SENT)
    def send(self) -> None:
        self.sent_at = timezone.now()

    @transition(field=state, source=State.SENT, target=State.ACCEPTED)
    def accept(self, *, by, ip: str | None, user_agent: str) -> None:
        self.decided_at = timezone.now()
        self.decided_by = by
        self.decision_ip = ip
        self.decision_user_agent = user_agent[:500]

    @transition(field=state, source=State.SENT, target=State.REFUSED)
    def refuse(self, *, by, ip: str | None, user_agent: str, reason: str) -> None:
        self.decided_at = timezone.now()
        self.decided_by = by
        self.decision_ip = ip
        self.decision_user_agent = user_agent[:500]
        self.refusal_reason = reason

    @transition(field=state, source=State.SENT, target=State.EXPIRED)
    def expire(self) -> None:
        """The validity date passed without a decision."""

    @transition(field=state, source=State.ACCEPTED, target=State.INVOICED)
    def mark_invoiced(self) -> None:
        """The accepted quote became an invoice."""


class QuoteLine(LineBase):
    quote = models.ForeignKey(
        Quote, models.CASCADE, related_name="lines", verbose_name=_("quote")
    )

    class Meta(LineBase.Meta):
        verbose_name = _("quote line")
        verbose_name_plural = _("quote lines")
        constraints = line_constraints("billing_quoteline")

    def guard_parent(self) -> None:
        state = (
            Quote.objects.filter(pk=self.quote_id)
            .values_list("state", flat=True)
            .first()
        )
        if state not in (None, Quote.State.DRAFT):
            raise DocumentLocked(
                _("A quote that has been sent can no longer be changed."),
                code="quote_locked",
            )


# --- Invoices ----------------------------------------------------------------------


class LockedWhenIssued(models.Model):
    """Refuse any change to a legal document once issued, except settlement fields."""

    #: Fields that keep moving after issue (payments, credit notes, overdue).
    SETTLEMENT_FIELDS: frozenset[str] = frozenset({"updated_at"})
    DRAFT_STATE = "draft"

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        update_fields = kwargs.get("update_fields")
        self.guard_unchanged(update_fields)
        super().save(*args, **kwargs)
        stored = getattr(self, "_stored", None)
        if stored is None or update_fields is None:
            self._stored = {
                field.attname: getattr(self, field.attname)
                for field in self._meta.concrete_fields
            }
        else:
            for name in update_fields:
                attname = self._attname(name)
                stored[attname] = getattr(self, attname)

    def delete(self, *args, **kwargs):
        if self.is_locked:
            raise DocumentLocked(
                _("An issued document can never be deleted; issue a credit note."),
                code="document_immutable",
            )
        return super().delete(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        self.guard_unchanged(None)

    @classmethod
    def from_db(cls, db, field_names, values, **kwargs):  # type: ignore[override]
        instance = super().from_db(db, field_names, values, **kwargs)
        instance._stored = dict(zip(field_names, values, strict=True))
        return instance

    def _attname(self, name: str) -> str:
        return getattr(self._meta.get_field(name), "attname", name)

    @property
    def is_locked(self) -> bool:
        stored = getattr(self, "_stored", None)
        if not stored:
            return False
        return stored.get("state", self.DRAFT_STATE) != self.DRAFT_STATE

    def changed_locked_fields(self, update_fields=None) -> list[str]:
        stored = getattr(self, "_stored", {})
        names = (
            {self._attname(name) for name in update_fields}
            if update_fields is not None
            else set(stored)
        )
        settlement = {self._attname(name) for name in self.SETTLEMENT_FIELDS}
        return sorted(
            name
            for name in names - settlement
            if name in stored and getattr(self, name) != stored[name]
        )

    def guard_unchanged(self, update_fields) -> None:
        if not self.is_locked:
            return
        changed = self.changed_locked_fields(update_fields)
        if changed:
            raise DocumentLocked(
                _(
                    "An issued document cannot be changed (%(fields)s); "
                    "issue a credit note instead."
                )
                % {"fields": ", ".join(changed)},
                code="document_immutable",
            )


class InvoiceQuerySet(models.QuerySet):
    def visible_to(self, user) -> "InvoiceQuerySet":
        """Staff see every invoice; others the issued invoices addressed to them."""
        if user.is_staff and user.has_perm("billing.view_invoice"):
            return self
        if not user.is_authenticated:
            return self.none()
        return self.filter(_addressed_to(user)).exclude(state=Invoice.State.DRAFT)

    def outstanding(self) -> "InvoiceQuerySet":
        return self.filter(
            state__in=[
                Invoice.State.ISSUED,
                Invoice.State.PARTIALLY_PAID,
                Invoice.State.OVERDUE,
            ]
        )

    def issued_between(self, start: date, end: date) -> "InvoiceQuerySet":
        return self.exclude(state=Invoice.State.DRAFT).filter(
            issue_date__gte=start, issue_date__lte=end
        )


class Invoice(FSMModelMixin, LockedWhenIssued, BuyerSnapshot, Totals, TimeStampedModel):
    """A facture: numbered in the FA series when issued, then never changed."""

    SERIES = "FA"
    SETTLEMENT_FIELDS = frozenset(
        {"state", "amount_paid", "amount_credited", "paid_at", "updated_at"}
    )

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ISSUED = "issued", _("Issued")
        PARTIALLY_PAID = "partially_paid", _("Partially paid")
        PAID = "paid", _("Paid")
        OVERDUE = "overdue", _("Overdue")
        CANCELLED = "cancelled", _("Cancelled by credit note")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    number = models.CharField(
        _("number"), max_length=20, unique=True, null=True, blank=True, editable=False
    )
    state = FSMField(
        _("state"), choices=State.choices, default=State.DRAFT, protected=True
    )
    customer = models.ForeignKey(
        Customer, models.PROTECT, related_name="invoices", verbose_name=_("customer")
    )
    patient = models.ForeignKey(
        "patients.Patient",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="invoices",
        verbose_name=_("patient cared for"),
    )
    quote = models.OneToOneField(
        Quote,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="invoice",
        verbose_name=_("quote"),
    )
    reference = models.CharField(
        _("reference"),
        max_length=64,
        blank=True,
        help_text=_("The care request or appointment this invoice is for."),
    )
    issue_date = models.DateField(_("issue date"), null=True, blank=True)
    service_date = models.DateField(
        _("date of service"),
        null=True,
        blank=True,
        help_text=_(
            "Printed for lines without their own date; defaults to the issue date."
        ),
    )
    due_date = models.DateField(_("due date"), null=True, blank=True)
    notes = models.TextField(_("notes printed on the invoice"), blank=True)
    # The seller and the terms as printed, frozen at issue: later changes to the
    # settings must not rewrite an invoice kept for ten years.
    seller = models.JSONField(_("seller"), default=dict, blank=True, editable=False)
    late_penalty_rate = models.DecimalField(
        _("late-payment penalty rate (%)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        editable=False,
    )
    recovery_indemnity = models.DecimalField(
        _("recovery indemnity"),
        null=True,
        blank=True,
        editable=False,
        max_digits=12,
        decimal_places=2,
    )
    amount_paid = models.DecimalField(
        _("amount paid"), default=ZERO, editable=False, max_digits=12, decimal_places=2
    )
    amount_credited = models.DecimalField(
        _("amount credited"),
        default=ZERO,
        editable=False,
        max_digits=12,
        decimal_places=2,
    )
    issued_at = models.DateTimeField(
        _("issued at"), null=True, blank=True, editable=False
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("issued by"),
        editable=False,
    )
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
        editable=False,
    )

    objects = InvoiceQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state="draft")
                | Q(number__isnull=False, issue_date__isnull=False),
                name="billing_invoice_issued_has_number",
            ),
            models.CheckConstraint(
                condition=Q(amount_paid__gte=0) & Q(amount_credited__gte=0),
                name="billing_invoice_settlement_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(amount_credited__lte=models.F("total")),
                name="billing_invoice_credit_within_total",
            ),
        ]
        permissions = [
            ("issue_invoice", _("Can issue invoices")),
            ("export_billing", _("Can export billing records")),
        ]

    def __str__(self) -> str:
        return self.number or _("Draft invoice %(id)s") % {"id": self.pk}

    def get_absolute_url(self) -> str:
        return reverse("billing:invoice", kwargs={"public_id": self.public_id})

    @property
    def balance(self) -> Decimal:
        """What the customer still owes (negative: what is owed back)."""
        return self.total - self.amount_credited - self.amount_paid

    @property
    def amount_due(self) -> Decimal:
        return max(self.balance, ZERO)

    @property
    def refund_due(self) -> Decimal:
        """What the customer paid beyond what credit notes left due."""
        return max(-self.balance, ZERO)

    @property
    def is_overdue(self) -> bool:
        return self.state == self.State.OVERDUE

    @transition(field=state, source=State.DRAFT, target=State.ISSUED)
    def issue(self, *, number: str, on: date, by) -> None:
        self.number = number
        self.issue_date = on
        self.issued_at = timezone.now()
        self.issued_by = by

    @transition(field=state, source=State.ISSUED, target=State.PARTIALLY_PAID)
    def mark_partially_paid(self) -> None:
        """Part of the total was paid or credited; the rest is still due."""

    @transition(
        field=state,
        source=[State.ISSUED, State.PARTIALLY_PAID, State.OVERDUE],
        target=State.PAID,
    )
    def mark_paid(self) -> None:
        self.paid_at = timezone.now()

    @transition(
        field=state, source=[State.ISSUED, State.PARTIALLY_PAID], target=State.OVERDUE
    )
    def mark_overdue(self) -> None:
        """The due date passed with a balance left."""

    @transition(
        field=state,
        source=[State.ISSUED, State.PARTIALLY_PAID, State.OVERDUE, State.PAID],
        target=State.CANCELLED,
    )
    def cancel(self) -> None:
        """Credit notes cover the whole invoice and nothing stays paid."""


class InvoiceLine(LineBase):
    invoice = models.ForeignKey(
        Invoice, models.CASCADE, related_name="lines", verbose_name=_("invoice")
    )

    class Meta(LineBase.Meta):
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        constraints = line_constraints("billing_invoiceline")

    def guard_parent(self) -> None:
        state = (
            Invoice.objects.filter(pk=self.invoice_id)
            .values_list("state", flat=True)
            .first()
        )
        if state not in (None, Invoice.State.DRAFT):
            raise DocumentLocked(
                _("The lines of an issued invoice can never be changed."),
                code="document_immutable",
            )


# --- Credit notes ------------------------------------------------------------------


class CreditNoteQuerySet(models.QuerySet):
    def visible_to(self, user) -> "CreditNoteQuerySet":
        if user.is_staff and user.has_perm("billing.view_creditnote"):
            return self
        if not user.is_authenticated:
            return self.none()
        return self.filter(_addressed_to(user, prefix="invoice__"))


class CreditNote(LockedWhenIssued, BuyerSnapshot, Totals, TimeStampedModel):
    """An avoir: cancels all or part of an issued invoice, numbered in the AV series.

    Credit notes are issued the moment they are created; their amounts are
    positive and are deducted from the invoice they reference.
    """

    SERIES = "AV"
    DRAFT_STATE = ""  # never a draft: locked as soon as it is stored

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    number = models.CharField(_("number"), max_length=20, unique=True, editable=False)
    invoice = models.ForeignKey(
        Invoice, models.PROTECT, related_name="credit_notes", verbose_name=_("invoice")
    )
    issue_date = models.DateField(_("issue date"))
    reason = models.CharField(_("reason"), max_length=300)
    seller = models.JSONField(_("seller"), default=dict, editable=False)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("issued by"),
    )

    objects = CreditNoteQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("credit note")
        verbose_name_plural = _("credit notes")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.number

    @property
    def is_locked(self) -> bool:
        return getattr(self, "_stored", None) is not None

    @property
    def due_date(self) -> None:
        return None


class CreditNoteLine(LineBase):
    credit_note = models.ForeignKey(
        CreditNote, models.CASCADE, related_name="lines", verbose_name=_("credit note")
    )
    invoice_line = models.ForeignKey(
        InvoiceLine,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_lines",
        verbose_name=_("credited invoice line"),
    )

    class Meta(LineBase.Meta):
        verbose_name = _("credit note line")
        verbose_name_plural = _("credit note lines")
        constraints = line_constraints("billing_creditnoteline")

    def guard_parent(self) -> None:
        if self.pk is not None:
            raise DocumentLocked(
                _("The lines of a credit note can never be changed."),
                code="document_immutable",
            )


# --- Payments ----------------------------------------------------------------------


class PaymentQuerySet(models.QuerySet):
    def visible_to(self, user) -> "PaymentQuerySet":
        if user.is_staff and user.has_perm("billing.view_payment"):
            return self
        if not user.is_authenticated:
            return self.none()
        return self.filter(_addressed_to(user, prefix="invoice__"))


class Payment(TimeStampedModel):
    """Money received for an invoice, or paid back after a credit note."""

    class Kind(models.TextChoices):
        PAYMENT = "payment", _("Payment")
        REFUND = "refund", _("Refund")

    class Method(models.TextChoices):
        BANK_TRANSFER = "bank_transfer", _("Bank transfer")
        CARD = "card", _("Card")
        CHEQUE = "cheque", _("Cheque")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    invoice = models.ForeignKey(
        Invoice, models.PROTECT, related_name="payments", verbose_name=_("invoice")
    )
    kind = models.CharField(
        _("kind"), max_length=10, choices=Kind, default=Kind.PAYMENT
    )
    method = models.CharField(_("method"), max_length=20, choices=Method)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    received_on = models.DateField(_("date"))
    reference = models.CharField(
        _("reference"),
        max_length=100,
        blank=True,
        help_text=_("Cheque number, transfer reference or card transaction id."),
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )

    objects = PaymentQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-received_on", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="billing_payment_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} € ({self.invoice})"

    @property
    def signed_amount(self) -> Decimal:
        return -self.amount if self.kind == self.Kind.REFUND else self.amount


class OverdueReminder(models.Model):
    """One row per (invoice, stage): a reminder stage is sent at most once."""

    invoice = models.ForeignKey(
        Invoice, models.PROTECT, related_name="reminders", verbose_name=_("invoice")
    )
    stage = models.PositiveSmallIntegerField(_("days after the due date"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    sent_to = models.EmailField(_("sent to"), blank=True)

    class Meta:
        verbose_name = _("overdue reminder")
        verbose_name_plural = _("overdue reminders")
        ordering = ["invoice", "stage"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "stage"], name="billing_reminder_once_per_stage"
            )
        ]

    def __str__(self) -> str:
        return f"{self.invoice} +{self.stage}"

"""Reimbursement data: dated tariffs and rules, recorded acts, administrative tasks.

Tariffs, rates, the participation forfaitaire and regulatory thresholds change by
decree and convention: each row carries its validity dates and the public source
it was taken from, and PostgreSQL refuses two rows of the same kind in force on
the same day.
"""

import datetime as dt
import secrets
import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateRangeField, RangeOperators
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Func, Q, Value
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition
from simple_history.models import HistoricalRecords

from conciergerie.accounts.roles import Role
from conciergerie.fields import EncryptedTextField
from conciergerie.models import TimeStampedModel, save_with_random_reference
from patients.models import REFERENCE_ALPHABET, Patient

from .engine import (
    ActKind,
    ContributionKind,
    ParameterKey,
    RateSituation,
    Sector,
    TariffGrid,
    format_euros,
)


class ValidityRange(Func):
    """The closed date range [valid_from, valid_to]; no end means still in force."""

    function = "daterange"
    output_field = DateRangeField()

    def __init__(self) -> None:
        super().__init__(F("valid_from"), F("valid_to"), Value("[]"))


class DatedRuleQuerySet(models.QuerySet):
    def in_force_on(self, day: dt.date) -> "DatedRuleQuerySet":
        return self.filter(valid_from__lte=day).filter(
            Q(valid_to__isnull=True) | Q(valid_to__gte=day)
        )


class DatedRule(TimeStampedModel):
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(
        _("valid to"), null=True, blank=True, help_text=_("Empty: still in force.")
    )
    source = models.URLField(
        _("source"), max_length=500, help_text=_("The official page of the figure.")
    )
    note = models.TextField(_("note"), blank=True)

    objects = DatedRuleQuerySet.as_manager()

    class Meta:
        abstract = True

    def clean(self) -> None:
        super().clean()
        if self.valid_to and self.valid_from and self.valid_to < self.valid_from:
            raise ValidationError(
                {"valid_to": _("The end of validity precedes its start.")},
                code="invalid_validity",
            )


def _validity_constraints(name: str, *fields: str) -> list:
    return [
        models.CheckConstraint(
            condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
            name=f"{name}_valid_to_after_valid_from",
        ),
        ExclusionConstraint(
            name=f"{name}_no_overlap",
            expressions=[
                *((field, RangeOperators.EQUAL) for field in fields),
                (ValidityRange(), RangeOperators.OVERLAPS),
            ],
            violation_error_code="overlapping_validity",
            violation_error_message=_(
                "Another row of the same kind is in force on some of these dates."
            ),
        ),
    ]


class Act(TimeStampedModel):
    """A billable act of the NGAP (letter keys such as G, CS) or the CCAM (exams)."""

    code = models.CharField(_("code"), max_length=16, unique=True)
    label = models.CharField(_("label"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=ActKind.choices)
    contribution = models.CharField(
        _("flat contribution"),
        max_length=20,
        choices=ContributionKind.choices,
        blank=True,
        help_text=_("Empty when no participation or franchise applies to the act."),
    )
    is_active = models.BooleanField(_("offered in simulations"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("act")
        verbose_name_plural = _("acts")

    def __str__(self) -> str:
        return f"{self.code} · {self.label}"


class ActTariff(DatedRule):
    """The reimbursement base of an act for one tariff grid, over a period."""

    act = models.ForeignKey(
        Act, models.PROTECT, related_name="tariffs", verbose_name=_("act")
    )
    grid = models.CharField(_("tariff grid"), max_length=20, choices=TariffGrid.choices)
    base = models.DecimalField(
        _("reimbursement base (€)"),
        max_digits=8,
        decimal_places=2,
        validators=[MinValueValidator(0)],
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["act__code", "grid", "-valid_from"]
        verbose_name = _("act tariff")
        verbose_name_plural = _("act tariffs")
        constraints = _validity_constraints("acttariff", "act", "grid")

    def __str__(self) -> str:
        return (
            f"{self.act.code} {self.get_grid_display()} {self.base} € "
            f"({self.valid_from})"
        )


class ReimbursementRate(DatedRule):
    situation = models.CharField(
        _("situation"), max_length=20, choices=RateSituation.choices
    )
    percent = models.DecimalField(
        _("rate (%)"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["situation", "-valid_from"]
        verbose_name = _("reimbursement rate")
        verbose_name_plural = _("reimbursement rates")
        constraints = _validity_constraints("reimbursementrate", "situation")

    def __str__(self) -> str:
        return f"{self.get_situation_display()}: {self.percent} % ({self.valid_from})"


class PatientContributionRule(DatedRule):
    """The participation forfaitaire (or a franchise): per act, capped per year."""

    kind = models.CharField(_("kind"), max_length=20, choices=ContributionKind.choices)
    amount_per_act = models.DecimalField(
        _("amount per act (€)"),
        max_digits=6,
        decimal_places=2,
        validators=[MinValueValidator(0)],
    )
    yearly_cap = models.DecimalField(
        _("yearly cap per person (€)"),
        max_digits=8,
        decimal_places=2,
        validators=[MinValueValidator(0)],
    )
    adult_from_age = models.PositiveSmallIntegerField(
        _("due from age"), default=18, help_text=_("Minors are exempt.")
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["kind", "-valid_from"]
        verbose_name = _("participation forfaitaire or franchise")
        verbose_name_plural = _("participations forfaitaires and franchises")
        constraints = _validity_constraints("contributionrule", "kind")

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.amount_per_act} € ({self.valid_from})"


class RegulatoryParameter(DatedRule):
    """A regulatory threshold the estimate applies (amounts, percentages)."""

    key = models.CharField(_("parameter"), max_length=40, choices=ParameterKey.choices)
    value = models.DecimalField(_("value"), max_digits=10, decimal_places=2)

    history = HistoricalRecords()

    class Meta:
        ordering = ["key", "-valid_from"]
        verbose_name = _("regulatory parameter")
        verbose_name_plural = _("regulatory parameters")
        constraints = _validity_constraints("regulatoryparameter", "key")

    def __str__(self) -> str:
        return f"{self.get_key_display()}: {self.value} ({self.valid_from})"


class RecordedActQuerySet(models.QuerySet):
    def for_patient_in_year(self, patient, year: int) -> "RecordedActQuerySet":
        return self.filter(patient=patient, performed_on__year=year)


class RecordedAct(TimeStampedModel):
    """An act the patient received, with the split estimated when it was recorded.

    It is what the yearly cap of the participation forfaitaire is counted from.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(
        "patients.Patient",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="recorded_acts",
        verbose_name=_("patient"),
    )
    unmatched_reference = models.CharField(
        _("unmatched patient reference"),
        max_length=32,
        blank=True,
        help_text=_(
            "A reference recorded before acts were linked to patient files, "
            "that matched no file."
        ),
    )
    act = models.ForeignKey(
        Act, models.PROTECT, related_name="recorded", verbose_name=_("act")
    )
    performed_on = models.DateField(_("date of the act"))
    sector = models.CharField(_("sector"), max_length=20, choices=Sector.choices)
    fee = models.DecimalField(_("fee (€)"), max_digits=8, decimal_places=2)
    base = models.DecimalField(_("base (€)"), max_digits=8, decimal_places=2)
    amo = models.DecimalField(
        _("Assurance Maladie (€)"), max_digits=8, decimal_places=2
    )
    amc = models.DecimalField(_("mutuelle (€)"), max_digits=8, decimal_places=2)
    out_of_pocket = models.DecimalField(
        _("out of pocket (€)"), max_digits=8, decimal_places=2
    )
    contribution_kind = models.CharField(
        _("flat contribution"),
        max_length=20,
        choices=ContributionKind.choices,
        blank=True,
    )
    participation = models.DecimalField(
        _("flat contribution applied (€)"),
        max_digits=6,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0)],
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )

    objects = RecordedActQuerySet.as_manager()

    class Meta:
        ordering = ["-performed_on", "-created_at"]
        verbose_name = _("recorded act")
        verbose_name_plural = _("recorded acts")
        indexes = [
            models.Index(
                fields=["patient", "performed_on"],
                name="recordedact_patient_day",
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amo__gte=0) & Q(amc__gte=0) & Q(participation__gte=0),
                name="recordedact_shares_not_negative",
            )
        ]

    def __str__(self) -> str:
        reference = self.patient.reference if self.patient else self.unmatched_reference
        return f"{reference} {self.act.code} {self.performed_on}"


class InvoiceEstimate(TimeStampedModel):
    """The reimbursement estimate printed on an invoice, as the patient reads it.

    It lives here rather than on the invoice because billing sits below
    reimbursements: the invoice page and PDF reach it through the reverse
    relation `invoice.reimbursement_estimate` and draw it with this app's
    template. The explanation is kept in the language the invoice is printed in,
    so that a copy made later reads the same.
    """

    invoice = models.OneToOneField(
        "billing.Invoice",
        models.CASCADE,
        related_name="reimbursement_estimate",
        verbose_name=_("invoice"),
    )
    act_code = models.CharField(_("act"), max_length=16)
    performed_on = models.DateField(_("date of the act"))
    fee = models.DecimalField(_("fee (€)"), max_digits=8, decimal_places=2)
    base = models.DecimalField(_("base (€)"), max_digits=8, decimal_places=2)
    amo = models.DecimalField(
        _("Assurance Maladie (€)"), max_digits=8, decimal_places=2
    )
    amc = models.DecimalField(_("mutuelle (€)"), max_digits=8, decimal_places=2)
    out_of_pocket = models.DecimalField(
        _("out of pocket (€)"), max_digits=8, decimal_places=2
    )
    participation = models.DecimalField(
        _("flat contribution applied (€)"), max_digits=6, decimal_places=2, default=0
    )
    #: [{"text": str, "amount": "12.34" | None}, ...] in `language`.
    lines = models.JSONField(_("explanation"), default=list)
    flags = models.JSONField(_("flags"), default=list)
    language = models.CharField(_("language"), max_length=8)
    estimated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("estimated by"),
    )

    class Meta:
        verbose_name = _("invoice estimate")
        verbose_name_plural = _("invoice estimates")
        constraints = [
            models.CheckConstraint(
                condition=Q(amo__gte=0) & Q(amc__gte=0) & Q(out_of_pocket__gte=0),
                name="invoiceestimate_shares_not_negative",
            )
        ]

    def __str__(self) -> str:
        return f"{self.invoice} {self.act_code}"

    @property
    def total_reimbursed(self) -> Decimal:
        return self.amo + self.amc

    @property
    def explanation(self) -> list[tuple[str, Decimal | None]]:
        return [
            (
                line["text"],
                None if line.get("amount") is None else Decimal(line["amount"]),
            )
            for line in self.lines
        ]


class ProcedureQuerySet(models.QuerySet):
    def visible_to(self, user) -> "ProcedureQuerySet":
        if user.is_staff:
            return self
        return self.none()

    def open(self) -> "ProcedureQuerySet":
        return self.exclude(
            status__in=[
                AdministrativeProcedure.Status.DONE,
                AdministrativeProcedure.Status.CANCELLED,
            ]
        )

    def overdue(self, today: dt.date) -> "ProcedureQuerySet":
        return self.open().filter(due_on__lt=today)


class AdministrativeProcedure(FSMModelMixin, TimeStampedModel):
    """Paperwork the concierge runs for a patient, with an owner and a deadline."""

    class Kind(models.TextChoices):
        PRIOR_APPROVAL = "prior_approval", _("Prior approval (entente préalable)")
        ALD = "ald", _("Long-term illness (ALD) paperwork")
        MUTUELLE_CHANGE = "mutuelle_change", _("Mutuelle membership change")
        CLAIM_FOLLOW_UP = "claim_follow_up", _("Reimbursement claim follow-up")
        OTHER = "other", _("Other procedure")

    class Status(models.TextChoices):
        TODO = "todo", _("To do")
        IN_PROGRESS = "in_progress", _("In progress")
        WAITING = "waiting", _("Waiting for a third party")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200)
    patient = models.ForeignKey(
        "patients.Patient",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="reimbursement_procedures",
        verbose_name=_("patient"),
    )
    unmatched_reference = models.CharField(
        _("unmatched patient reference"),
        max_length=32,
        blank=True,
        help_text=_(
            "A reference recorded before procedures were linked to patient files, "
            "that matched no file."
        ),
    )
    claim = models.ForeignKey(
        "Claim",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="procedures",
        verbose_name=_("reimbursement claim"),
        help_text=_("The reimbursement claim this task follows up, if any."),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        related_name="reimbursement_procedures",
        limit_choices_to={"is_staff": True},
        verbose_name=_("owner"),
    )
    due_on = models.DateField(_("due date"))
    status = FSMField(
        _("status"),
        max_length=20,
        choices=Status.choices,
        default=Status.TODO,
        protected=True,
    )
    notes = models.TextField(_("notes"), blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancel_reason = models.CharField(
        _("reason of cancellation"), max_length=200, blank=True
    )

    objects = ProcedureQuerySet.as_manager()

    class Meta:
        ordering = ["due_on", "created_at"]
        verbose_name = _("administrative procedure")
        verbose_name_plural = _("administrative procedures")
        indexes = [
            models.Index(fields=["status", "due_on"], name="procedure_status_due")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.title}"

    def is_overdue(self, today: dt.date) -> bool:
        return self.status not in (self.Status.DONE, self.Status.CANCELLED) and (
            self.due_on < today
        )

    @transition(
        field=status, source=[Status.TODO, Status.WAITING], target=Status.IN_PROGRESS
    )
    def start(self, *, at: dt.datetime) -> None:
        self.started_at = self.started_at or at

    @transition(field=status, source=Status.IN_PROGRESS, target=Status.WAITING)
    def wait(self) -> None:
        """Sent to the CPAM, the mutuelle or the doctor; their answer is awaited."""

    @transition(
        field=status,
        source=[Status.TODO, Status.IN_PROGRESS, Status.WAITING],
        target=Status.DONE,
    )
    def complete(self, *, at: dt.datetime) -> None:
        self.completed_at = at

    @transition(
        field=status,
        source=[Status.TODO, Status.IN_PROGRESS, Status.WAITING],
        target=Status.CANCELLED,
    )
    def cancel(self, *, at: dt.datetime, reason: str) -> None:
        self.cancelled_at = at
        self.cancel_reason = reason


# --- Claims -------------------------------------------------------------------------


class Payer(models.TextChoices):
    AMO = "amo", _("Assurance Maladie")
    AMC = "amc", _("Mutuelle")


class SendingMethod(models.TextChoices):
    EMAIL = "email", _("Email to the payer's claims service")
    POST = "post", _("By post")
    PORTAL = "portal", _("The payer's online portal")


class InsurerQuerySet(models.QuerySet):
    def active(self) -> "InsurerQuerySet":
        return self.filter(is_active=True)

    def named(self, name: str, *, kind: str) -> "InsurerQuerySet":
        return self.active().filter(kind=kind, name__iexact=(name or "").strip())


class Insurer(TimeStampedModel):
    """A payer claims are sent to (a CPAM, a mutuelle) and how to reach it.

    Claims copy its details when they are opened, so that a later change here
    does not rewrite where a past claim was sent.
    """

    name = models.CharField(
        _("name"),
        max_length=150,
        help_text=_("As patients' insurance records name it, e.g. MGEN."),
    )
    kind = models.CharField(_("pays the share of"), max_length=3, choices=Payer.choices)
    claims_email = models.EmailField(
        _("email of the claims service"),
        blank=True,
        help_text=_("Claims sent by email go there, from the service's address."),
    )
    postal_address = models.TextField(_("postal address for claims"), blank=True)
    portal_url = models.URLField(_("online portal"), blank=True)
    partner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="insurers",
        limit_choices_to={"groups__name": "partner"},
        verbose_name=_("partner account"),
        help_text=_(
            "The insurer's API account: it reads the claims addressed to it and "
            "answers them."
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)

    objects = InsurerQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("insurer")
        verbose_name_plural = _("insurers")
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                "kind",
                name="insurer_unique_name_per_kind",
                violation_error_code="insurer_exists",
                violation_error_message=_("This insurer is already in the directory."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


CLAIM_REFERENCE_PREFIX = "R-"
CLAIM_REFERENCE_LENGTH = 8


def new_claim_reference() -> str:
    body = "".join(
        secrets.choice(REFERENCE_ALPHABET) for _i in range(CLAIM_REFERENCE_LENGTH)
    )
    return CLAIM_REFERENCE_PREFIX + body


def _may_appeal(claim: Any) -> bool:
    """A refusal, or a payment short of what was expected, can be contested."""
    return claim.state == Claim.State.REJECTED or claim.discrepancy_flagged


class ClaimQuerySet(models.QuerySet):
    def visible_to(self, user) -> "ClaimQuerySet":
        """Claims staff may read; a patient's and their dependants'; a payer's own.

        An insurer's partner account sees the claims addressed to it once sent,
        and nothing else.
        """
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_staff and user.has_perm("reimbursements.view_claim"):
            return self
        condition = Q(patient__in=Patient.objects.managed_by(user))
        if user.has_role(Role.PARTNER):
            condition |= Q(payer_partner=user) & ~Q(state=Claim.State.DRAFT)
        return self.filter(condition)

    def for_portal(self, user) -> "ClaimQuerySet":
        """The claims of the files this user manages (their own, their children's)."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        return self.filter(patient__in=Patient.objects.managed_by(user))

    def awaiting_answer(self) -> "ClaimQuerySet":
        return self.filter(state__in=Claim.AWAITING_STATES)

    def open(self) -> "ClaimQuerySet":
        return self.exclude(state=Claim.State.CLOSED)


class Claim(FSMModelMixin, TimeStampedModel):
    """A request for reimbursement of one act or invoice, to one payer.

    The Assurance Maladie and the mutuelle each get their own claim for the same
    visit. What is expected comes from the estimate engine (the shares recorded
    with the act); what is received accumulates payment after payment, and a
    shortfall beyond the tolerance is flagged for the concierge.
    """

    class State(models.TextChoices):
        DRAFT = "draft", _("Being prepared")
        SENT = "sent", _("Sent to the payer")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged by the payer")
        PAID = "paid", _("Paid by the payer")
        PARTIALLY_PAID = "partially_paid", _("Partly paid by the payer")
        REJECTED = "rejected", _("Refused by the payer")
        APPEALED = "appealed", _("Contested")
        CLOSED = "closed", _("Claim closed")

    #: States in which an answer (or money) is awaited from the payer.
    AWAITING_STATES = (State.SENT, State.ACKNOWLEDGED, State.APPEALED)
    #: States in which the payer may still pay.
    PAYABLE_STATES = (
        State.SENT,
        State.ACKNOWLEDGED,
        State.APPEALED,
        State.PARTIALLY_PAID,
    )

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    reference = models.CharField(
        _("reference"), max_length=12, unique=True, editable=False
    )
    patient = models.ForeignKey(
        "patients.Patient",
        models.PROTECT,
        related_name="reimbursement_claims",
        verbose_name=_("patient"),
    )
    payer = models.CharField(_("payer"), max_length=3, choices=Payer.choices)
    insurer = models.ForeignKey(
        Insurer,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="claims",
        verbose_name=_("insurer"),
    )
    payer_name = models.CharField(_("payer's name"), max_length=150)
    payer_contract_number = models.CharField(
        _("contract number"), max_length=64, blank=True
    )
    payer_member_number = models.CharField(
        _("member number"), max_length=64, blank=True
    )
    payer_email = models.EmailField(_("email of the claims service"), blank=True)
    payer_partner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="addressed_claims",
        limit_choices_to={"groups__name": "partner"},
        verbose_name=_("payer's partner account"),
    )
    payer_reference = models.CharField(
        _("payer's file number"), max_length=64, blank=True
    )
    recorded_act = models.ForeignKey(
        RecordedAct,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="claims",
        verbose_name=_("recorded act"),
    )
    invoice = models.ForeignKey(
        "billing.Invoice",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="reimbursement_claims",
        verbose_name=_("invoice"),
    )
    care_reference = models.CharField(
        _("care reference"),
        max_length=64,
        blank=True,
        help_text=_("The appointment or care request this claim is for."),
    )
    care_date = models.DateField(_("date of care"))
    label = models.CharField(_("what is claimed"), max_length=200)
    amount_charged = models.DecimalField(
        _("amount paid by the patient (€)"), max_digits=10, decimal_places=2
    )
    amount_expected = models.DecimalField(
        _("amount expected (€)"), max_digits=10, decimal_places=2
    )
    amount_received = models.DecimalField(
        _("amount received (€)"), max_digits=10, decimal_places=2, default=0
    )
    discrepancy_flagged = models.BooleanField(
        _("discrepancy"),
        default=False,
        help_text=_("Less was received than expected, beyond the tolerance."),
    )
    state = FSMField(
        _("state"),
        max_length=20,
        choices=State.choices,
        default=State.DRAFT,
        protected=True,
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        related_name="owned_claims",
        limit_choices_to={"is_staff": True},
        verbose_name=_("concierge in charge"),
    )
    sent_via = models.CharField(
        _("sent by"), max_length=10, choices=SendingMethod.choices, blank=True
    )
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    awaiting_since = models.DateTimeField(
        _("awaiting an answer since"), null=True, blank=True
    )
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    last_paid_at = models.DateTimeField(_("last payment at"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid in full at"), null=True, blank=True)
    rejected_at = models.DateTimeField(_("rejected at"), null=True, blank=True)
    rejection_reason = models.TextField(_("reason given by the payer"), blank=True)
    appealed_at = models.DateTimeField(_("appealed at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    notes = EncryptedTextField(_("internal notes"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )

    objects = ClaimQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("reimbursement claim")
        verbose_name_plural = _("reimbursement claims")
        indexes = [
            models.Index(
                fields=["state", "awaiting_since"], name="claim_state_waiting"
            ),
            models.Index(fields=["payer_partner", "state"], name="claim_partner_state"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(recorded_act__isnull=False) | Q(invoice__isnull=False),
                name="claim_for_an_act_or_an_invoice",
                violation_error_code="subject_required",
                violation_error_message=_("A claim is for an act or an invoice."),
            ),
            models.CheckConstraint(
                condition=Q(amount_charged__gte=0)
                & Q(amount_expected__gte=0)
                & Q(amount_received__gte=0),
                name="claim_amounts_not_negative",
            ),
            models.UniqueConstraint(
                fields=["recorded_act", "payer"],
                condition=Q(recorded_act__isnull=False),
                name="claim_once_per_act_and_payer",
                violation_error_code="claim_exists",
                violation_error_message=_(
                    "This act already has a claim to this payer."
                ),
            ),
            models.UniqueConstraint(
                fields=["invoice", "payer"],
                condition=Q(invoice__isnull=False),
                name="claim_once_per_invoice_and_payer",
                violation_error_code="claim_exists",
                violation_error_message=_(
                    "This invoice already has a claim to this payer."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} · {self.payer_name}"

    def save(self, *args, **kwargs) -> None:
        save_with_random_reference(
            self, super().save, new_claim_reference, *args, **kwargs
        )

    def get_absolute_url(self) -> str:
        return reverse("reimbursements:claim", kwargs={"public_id": self.public_id})

    @property
    def amount_outstanding(self) -> Decimal:
        """What is still expected from the payer (nothing once closed or rejected)."""
        if self.state in (self.State.CLOSED, self.State.REJECTED, self.State.DRAFT):
            return Decimal("0.00")
        return max(self.amount_expected - self.amount_received, Decimal("0.00"))

    @property
    def shortfall(self) -> Decimal:
        return max(self.amount_expected - self.amount_received, Decimal("0.00"))

    @property
    def payer_label(self) -> str:
        return self.payer_name or str(self.get_payer_display())

    def days_waiting(self, now: dt.datetime) -> int | None:
        if self.awaiting_since is None:
            return None
        return (now - self.awaiting_since).days

    def can_appeal(self) -> bool:
        return _may_appeal(self)

    def _count_payment(self, amount: Decimal, *, at: dt.datetime, tolerance) -> None:
        self.amount_received += amount
        self.last_paid_at = at
        self.awaiting_since = None
        self.discrepancy_flagged = (
            self.amount_received < self.amount_expected - tolerance
        )

    @transition(field=state, source=State.DRAFT, target=State.SENT)
    def send(self, *, via: str, at: dt.datetime) -> None:
        self.sent_via = via
        self.sent_at = at
        self.awaiting_since = at

    @transition(
        field=state,
        source=[State.SENT, State.APPEALED],
        target=State.ACKNOWLEDGED,
    )
    def acknowledge(self, *, at: dt.datetime, payer_reference: str = "") -> None:
        self.acknowledged_at = at
        self.awaiting_since = at
        if payer_reference:
            self.payer_reference = payer_reference

    @transition(field=state, source=list(PAYABLE_STATES), target=State.PAID)
    def settle(self, *, amount: Decimal, at: dt.datetime, tolerance) -> None:
        """The payer paid the whole claim, or said this payment settles it."""
        self._count_payment(amount, at=at, tolerance=tolerance)
        self.paid_at = at

    @transition(field=state, source=list(PAYABLE_STATES), target=State.PARTIALLY_PAID)
    def pay_in_part(self, *, amount: Decimal, at: dt.datetime, tolerance) -> None:
        """Part of the expected amount arrived; more may follow."""
        self._count_payment(amount, at=at, tolerance=tolerance)

    @transition(
        field=state,
        source=[State.SENT, State.ACKNOWLEDGED, State.APPEALED],
        target=State.REJECTED,
    )
    def reject(self, *, at: dt.datetime, reason: str) -> None:
        self.rejected_at = at
        self.rejection_reason = reason
        self.awaiting_since = None

    @transition(
        field=state,
        source=[State.REJECTED, State.PARTIALLY_PAID, State.PAID],
        target=State.APPEALED,
        conditions=[_may_appeal],
    )
    def appeal(self, *, at: dt.datetime) -> None:
        """Contest a rejection or a payment short of what is due."""
        self.appealed_at = at
        self.awaiting_since = at

    @transition(
        field=state,
        source=[
            State.DRAFT,
            State.SENT,
            State.ACKNOWLEDGED,
            State.PAID,
            State.PARTIALLY_PAID,
            State.REJECTED,
            State.APPEALED,
        ],
        target=State.CLOSED,
    )
    def close(self, *, at: dt.datetime) -> None:
        self.closed_at = at
        self.awaiting_since = None


class ClaimEvent(TimeStampedModel):
    """One step in a claim's life: who did what, when, from which state to which.

    Public events make the timeline the patient reads in the portal.
    """

    class Kind(models.TextChoices):
        CREATED = "created", _("Prepared")
        DOCUMENT_ADDED = "document_added", _("Document attached")
        SENT = "sent", _("Sent")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        PAYMENT = "payment", _("Payment received")
        REJECTED = "rejected", _("Rejected")
        APPEALED = "appealed", _("Appealed")
        CHASED = "chased", _("Chased")
        PROOF_ADDED = "proof_added", _("Proof of payment added")
        DOCUMENTS_OPENED = "documents_opened", _("Documents opened by the payer")
        CLOSED = "closed", _("Closed")

    claim = models.ForeignKey(
        Claim,
        models.CASCADE,
        related_name="events",
        verbose_name=_("reimbursement claim"),
    )
    kind = models.CharField(_("event"), max_length=20, choices=Kind.choices)
    from_state = models.CharField(
        _("from"), max_length=20, choices=Claim.State.choices, blank=True
    )
    to_state = models.CharField(
        _("to"), max_length=20, choices=Claim.State.choices, blank=True
    )
    amount = models.DecimalField(
        _("amount (€)"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    comment = EncryptedTextField(_("comment"), blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    by_label = models.CharField(_("by"), max_length=200, blank=True)
    public = models.BooleanField(
        _("shown to the patient"),
        default=True,
        help_text=_("Part of the timeline the patient reads in the portal."),
    )

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("claim event")
        verbose_name_plural = _("claim events")

    def __str__(self) -> str:
        return f"{self.claim.reference} {self.get_kind_display()}"

    def public_text(self) -> str:
        """The step in plain words, as the patient reads it."""
        payer = self.claim.payer_label
        methods: dict[str, str] = {
            SendingMethod.EMAIL: gettext("by email"),
            SendingMethod.POST: gettext("by post"),
            SendingMethod.PORTAL: gettext("on its online portal"),
        }
        method = methods.get(self.claim.sent_via, "")
        amount = format_euros(self.amount) if self.amount is not None else ""
        texts = {
            self.Kind.CREATED: gettext("We prepared the claim to %(payer)s."),
            self.Kind.DOCUMENT_ADDED: gettext("We attached a document: %(comment)s."),
            self.Kind.SENT: gettext("We sent the claim to %(payer)s %(method)s."),
            self.Kind.ACKNOWLEDGED: gettext("%(payer)s acknowledged the claim."),
            self.Kind.PAYMENT: gettext("%(payer)s paid %(amount)s."),
            self.Kind.REJECTED: gettext("%(payer)s rejected the claim: %(comment)s"),
            self.Kind.APPEALED: gettext("We contested the decision of %(payer)s."),
            self.Kind.CHASED: gettext("We chased %(payer)s for an answer."),
            self.Kind.PROOF_ADDED: gettext("A proof of payment was added."),
            self.Kind.DOCUMENTS_OPENED: gettext("%(payer)s opened the documents."),
            self.Kind.CLOSED: gettext("The claim is closed."),
        }
        return texts[self.Kind(self.kind)] % {
            "payer": payer,
            "method": method,
            "amount": amount,
            "comment": self.comment,
        }


class ClaimDocument(TimeStampedModel):
    """A document of the patient's file attached to a claim (it stays in the file)."""

    class Kind(models.TextChoices):
        CARE_SHEET = "care_sheet", _("Care sheet (feuille de soins)")
        INVOICE = "invoice", _("Invoice")
        PRESCRIPTION = "prescription", _("Prescription")
        PROOF_OF_PAYMENT = "proof_of_payment", _("Proof of payment")
        PAYER_STATEMENT = "payer_statement", _("Payer's statement (décompte)")
        OTHER = "other", _("Other document")

    claim = models.ForeignKey(
        Claim,
        models.CASCADE,
        related_name="attachments",
        verbose_name=_("reimbursement claim"),
    )
    # The patients app deletes documents filed by mistake and purges them at
    # the end of the retention period: the attachment then says what it was.
    document = models.ForeignKey(
        "patients.Document",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="claim_attachments",
        verbose_name=_("document"),
    )
    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices)
    attached_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("attached by"),
    )

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("attached document")
        verbose_name_plural = _("attached documents")
        constraints = [
            models.UniqueConstraint(
                fields=["claim", "document"],
                name="claim_document_once",
                violation_error_code="already_attached",
                violation_error_message=_("This document is already attached."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.claim.reference} · {self.get_kind_display()}"


class ClaimChase(TimeStampedModel):
    """One reminder sent to a payer that did not answer, once per stage and wait.

    The unique (claim, wait, stage) row is what makes chasing safe to run twice.
    """

    claim = models.ForeignKey(
        Claim,
        models.CASCADE,
        related_name="chases",
        verbose_name=_("reimbursement claim"),
    )
    waiting_since = models.DateTimeField(_("awaiting an answer since"))
    stage = models.PositiveSmallIntegerField(_("stage"))
    emailed_to = models.EmailField(_("emailed to"), blank=True)
    procedure = models.ForeignKey(
        AdministrativeProcedure,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("task for the concierge"),
    )

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("chase")
        verbose_name_plural = _("chases")
        constraints = [
            models.UniqueConstraint(
                fields=["claim", "waiting_since", "stage"],
                name="claim_chase_once_per_stage",
            )
        ]

    def __str__(self) -> str:
        return f"{self.claim.reference} #{self.stage}"

"""Reimbursement data: dated tariffs and rules, recorded acts, administrative tasks.

Tariffs, rates, the participation forfaitaire and regulatory thresholds change by
decree and convention: each row carries its validity dates and the public source
it was taken from, and PostgreSQL refuses two rows of the same kind in force on
the same day.
"""

import datetime as dt
import uuid

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateRangeField, RangeOperators
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Func, Q, Value
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition
from simple_history.models import HistoricalRecords

from conciergerie.models import TimeStampedModel

from .engine import (
    ActKind,
    ContributionKind,
    ParameterKey,
    RateSituation,
    Sector,
    TariffGrid,
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

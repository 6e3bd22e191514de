"""The figures managers run the service with: one function per figure.

Every function takes the dashboard's `Filters` (a period of Paris calendar days,
optionally a specialty and a concierge) and answers plain typed values computed
in PostgreSQL (counts, sums, percentiles), so that a figure costs a fixed number
of queries however many rows it reads. `DEFINITIONS` says, in words, what each
figure counts: the dashboard and the monthly report print it beside the figure.

Figures about money (revenue, outstanding invoices, reimbursements) cannot be
split by specialty or concierge: invoices and claims carry no link to a care
request the database could follow. Their definitions say so.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import (
    Aggregate,
    CharField,
    Count,
    DateTimeField,
    Exists,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce, Concat, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from appointments.models import Appointment, SatisfactionSurvey
from billing.models import CreditNote, Invoice
from conciergerie.accounts.models import User
from conciergerie.notifications.models import Message
from patients.models import CareRequest, CareRequestEvent, SlaBreach, SlaClock
from reimbursements.models import Claim

PARIS = ZoneInfo("Europe/Paris")
ZERO = Decimal("0.00")

#: The outbox template of appointment reminders (appointments/outbox.py).
REMINDER_TEMPLATE = "appointments/messages/reminder"


# --- Filters -----------------------------------------------------------------------
@dataclass(frozen=True)
class Filters:
    """A period of calendar days in Paris (both ends included) and optional cuts."""

    start: datetime.date
    end: datetime.date
    specialty: str = ""
    concierge_id: int | None = None

    @property
    def since(self) -> datetime.datetime:
        return datetime.datetime.combine(self.start, datetime.time(), tzinfo=PARIS)

    @property
    def until(self) -> datetime.datetime:
        """The first instant after the period (midnight after its last day)."""
        next_day = self.end + datetime.timedelta(days=1)
        return datetime.datetime.combine(next_day, datetime.time(), tzinfo=PARIS)

    def months(self) -> list[datetime.date]:
        """The first day of every month the period touches, in order."""
        months = []
        month = self.start.replace(day=1)
        while month <= self.end:
            months.append(month)
            month = (month + datetime.timedelta(days=32)).replace(day=1)
        return months


def default_filters(*, today: datetime.date | None = None) -> Filters:
    """The last six months, this one included."""
    today = today or timezone.localdate()
    start = today.replace(day=1)
    for _month in range(5):
        start = (start - datetime.timedelta(days=1)).replace(day=1)
    return Filters(start=start, end=today)


def previous_month(*, today: datetime.date | None = None) -> Filters:
    """The whole calendar month before `today`'s (the monthly report's period)."""
    today = today or timezone.localdate()
    end = today.replace(day=1) - datetime.timedelta(days=1)
    return Filters(start=end.replace(day=1), end=end)


# --- Values ------------------------------------------------------------------------
@dataclass(frozen=True)
class Rate:
    """A share: `part` out of `whole`; no percentage when there is nothing to count."""

    part: int
    whole: int

    @property
    def percent(self) -> Decimal | None:
        if not self.whole:
            return None
        return (Decimal(100) * self.part / self.whole).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class Durations:
    """How long something took: median and 90th percentile over `count` requests."""

    count: int
    median: datetime.timedelta | None
    p90: datetime.timedelta | None


@dataclass(frozen=True)
class Breakdown:
    """Counts per category, in the category order of the model."""

    rows: list[tuple[str, str, int]]  # (code, label, count)

    @property
    def total(self) -> int:
        return sum(count for _code, _label, count in self.rows)

    def as_dict(self) -> dict[str, int]:
        return {code: count for code, _label, count in self.rows}


@dataclass(frozen=True)
class ResponseTimes:
    first_response: Durations
    qualification: Durations
    appointment: Durations


@dataclass(frozen=True)
class AppointmentOutcomes:
    no_show: Rate
    late_cancellation: Rate


@dataclass(frozen=True)
class MonthAmount:
    month: datetime.date
    invoiced: Decimal
    credited: Decimal

    @property
    def net(self) -> Decimal:
        return self.invoiced - self.credited


@dataclass(frozen=True)
class Outstanding:
    count: int
    amount: Decimal
    overdue_count: int
    overdue_amount: Decimal


@dataclass(frozen=True)
class AgeBucket:
    label: str
    count: int
    amount: Decimal


@dataclass(frozen=True)
class WorkloadLine:
    concierge_id: int | None
    name: str
    open: int
    closed: int
    cancelled: int

    @property
    def total(self) -> int:
        return self.open + self.closed + self.cancelled


@dataclass(frozen=True)
class SatisfactionMonth:
    month: datetime.date
    answers: int
    csat: Rate  # satisfaction 4 or 5 out of every satisfaction answer
    promoters: int
    detractors: int
    recommend_answers: int

    @property
    def nps(self) -> int | None:
        """Promoters minus detractors, in points of the answers (-100 to 100)."""
        if not self.recommend_answers:
            return None
        return round(100 * (self.promoters - self.detractors) / self.recommend_answers)


# --- Aggregates PostgreSQL computes ------------------------------------------------
class PercentileCont(Aggregate):
    """`percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)`: the value
    below which `fraction` of the rows fall, interpolated between neighbours."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, *, fraction: float, **extra):
        # The fraction is one of our constants, written into the SQL as a literal.
        super().__init__(expression, fraction=f"{float(fraction):.4f}", **extra)


def _epoch(expression) -> Func:
    return Func(
        expression,
        template="EXTRACT(EPOCH FROM %(expressions)s)",
        output_field=FloatField(),
    )


def _seconds(value: float | None) -> datetime.timedelta | None:
    return None if value is None else datetime.timedelta(seconds=round(value))


# --- Care requests -----------------------------------------------------------------
def care_requests(filters: Filters) -> QuerySet[CareRequest]:
    """The requests received during the period, within the specialty and concierge."""
    queryset = CareRequest.objects.filter(
        created_at__gte=filters.since, created_at__lt=filters.until
    )
    if filters.specialty:
        queryset = queryset.filter(specialty=filters.specialty)
    if filters.concierge_id:
        queryset = queryset.filter(assigned_to_id=filters.concierge_id)
    return queryset.order_by()


def _breakdown(queryset: QuerySet, field_name: str, choices) -> Breakdown:
    counts = dict(
        queryset.values_list(field_name)
        .annotate(n=Count("pk"))
        .values_list(field_name, "n")
    )
    return Breakdown(
        rows=[(code, str(label), counts.get(code, 0)) for code, label in choices]
    )


def requests_by_state(filters: Filters) -> Breakdown:
    """Requests received in the period, by their state today."""
    return _breakdown(care_requests(filters), "state", CareRequest.State.choices)


def requests_by_channel(filters: Filters) -> Breakdown:
    """Requests received in the period, by the way they came in."""
    return _breakdown(
        care_requests(filters), "channel", CareRequest.IntakeChannel.choices
    )


def _first_event_at(**condition) -> Subquery:
    return Subquery(
        CareRequestEvent.objects.filter(care_request=OuterRef("pk"), **condition)
        .order_by("created_at")
        .values("created_at")[:1],
        output_field=DateTimeField(),
    )


def response_times(filters: Filters) -> ResponseTimes:
    """From arrival to first answer, to qualification, to a booked appointment.

    Arrival is the request's "received" event (its creation, for requests older
    than the timeline); qualification and booking are the first events moving
    the request to `qualified` and `scheduled`; the first answer is when the
    first-response clock stopped. Requests that never reached a milestone are
    left out of its figures.
    """
    queryset = care_requests(filters).annotate(
        arrived=Coalesce(
            _first_event_at(kind=CareRequestEvent.Kind.CREATED), F("created_at")
        ),
        qualified=_first_event_at(to_state=CareRequest.State.QUALIFIED),
        booked=_first_event_at(to_state=CareRequest.State.SCHEDULED),
    )
    spans = {
        "first_response": _epoch(F("first_response_at") - F("arrived")),
        "qualification": _epoch(F("qualified") - F("arrived")),
        "appointment": _epoch(F("booked") - F("arrived")),
    }
    aggregates: dict[str, Any] = {}
    for name, span in spans.items():
        aggregates[f"{name}_count"] = Count(span)
        aggregates[f"{name}_median"] = PercentileCont(span, fraction=0.5)
        aggregates[f"{name}_p90"] = PercentileCont(span, fraction=0.9)
    row = queryset.aggregate(**aggregates)
    durations = {
        name: Durations(
            count=row[f"{name}_count"],
            median=_seconds(row[f"{name}_median"]),
            p90=_seconds(row[f"{name}_p90"]),
        )
        for name in spans
    }
    return ResponseTimes(**durations)


def sla_breaches(filters: Filters) -> Breakdown:
    """Deadlines missed, by clock, whose due time fell in the period."""
    queryset = SlaBreach.objects.filter(
        due_at__gte=filters.since, due_at__lt=filters.until
    )
    if filters.specialty:
        queryset = queryset.filter(care_request__specialty=filters.specialty)
    if filters.concierge_id:
        queryset = queryset.filter(care_request__assigned_to_id=filters.concierge_id)
    return _breakdown(queryset.order_by(), "clock", SlaClock.choices)


def workload_per_concierge(filters: Filters) -> list[WorkloadLine]:
    """Requests received in the period, per concierge in charge: open, closed,
    cancelled. Requests nobody took charge of make their own line, last."""
    State = CareRequest.State
    counts = (
        care_requests(filters)
        .values("assigned_to")
        .annotate(
            closed=Count("pk", filter=Q(state=State.CLOSED)),
            cancelled=Count("pk", filter=Q(state=State.CANCELLED)),
            total=Count("pk"),
        )
    )
    rows = list(counts)
    users = User.objects.in_bulk(
        [row["assigned_to"] for row in rows if row["assigned_to"]]
    )
    lines = []
    for row in rows:
        user = users.get(row["assigned_to"])
        lines.append(
            WorkloadLine(
                concierge_id=row["assigned_to"],
                name=(user.get_full_name() or user.email) if user else str(_("Nobody")),
                open=row["total"] - row["closed"] - row["cancelled"],
                closed=row["closed"],
                cancelled=row["cancelled"],
            )
        )
    lines.sort(key=lambda line: (line.concierge_id is None, -line.total, line.name))
    return lines


# --- Appointments and reminders ----------------------------------------------------
def appointments(filters: Filters) -> QuerySet[Appointment]:
    """Appointments due to start in the period, within the specialty and concierge.

    An appointment's specialty is its own, or its care request's when unset."""
    return _within_cuts(
        Appointment.objects.filter(
            starts_at__gte=filters.since, starts_at__lt=filters.until
        ),
        filters,
    )


def _within_cuts(queryset: QuerySet[Appointment], filters: Filters):
    if filters.specialty:
        queryset = queryset.filter(
            Q(specialty__code=filters.specialty)
            | Q(specialty__isnull=True, care_request__specialty=filters.specialty)
        )
    if filters.concierge_id:
        queryset = queryset.filter(care_request__assigned_to_id=filters.concierge_id)
    return queryset.order_by()


def appointment_outcomes(filters: Filters) -> AppointmentOutcomes:
    """No-shows out of visits that were due (done or missed); late cancellations
    out of every booking that reached its day or was cancelled (moves excluded)."""
    State = Appointment.State
    row = appointments(filters).aggregate(
        done=Count("pk", filter=Q(state=State.DONE)),
        no_show=Count("pk", filter=Q(state=State.NO_SHOW)),
        cancelled=Count("pk", filter=Q(state=State.CANCELLED)),
        late=Count("pk", filter=Q(state=State.LATE_CANCELLED)),
    )
    due = row["done"] + row["no_show"]
    return AppointmentOutcomes(
        no_show=Rate(row["no_show"], due),
        late_cancellation=Rate(row["late"], due + row["cancelled"] + row["late"]),
    )


def reminder_delivery(filters: Filters) -> dict[str, Rate]:
    """Appointment reminders due in the period that the provider accepted, out of
    those whose sending ended (accepted or failed), per channel and in all."""
    queryset = Message.objects.filter(
        template=REMINDER_TEMPLATE,
        due_at__gte=filters.since,
        due_at__lt=filters.until,
    )
    if filters.specialty or filters.concierge_id:
        # A reminder's subject names its appointment: "appointments.appointment:<pk>".
        subjects = (
            _within_cuts(Appointment.objects.all(), filters)
            .annotate(
                outbox_subject=Concat(
                    Value("appointments.appointment:"),
                    Cast("pk", CharField()),
                    output_field=CharField(),
                )
            )
            .filter(outbox_subject=OuterRef("subject"))
        )
        queryset = queryset.filter(Exists(subjects))
    State = Message.State
    handed = [State.SENT, State.DELIVERED]
    rows = (
        queryset.order_by()
        .values("channel")
        .annotate(
            handed=Count("pk", filter=Q(state__in=handed)),
            finished=Count("pk", filter=Q(state__in=[*handed, State.FAILED])),
        )
        .order_by("channel")
    )
    rates = {row["channel"]: Rate(row["handed"], row["finished"]) for row in rows}
    rates["all"] = Rate(
        sum(rate.part for rate in rates.values()),
        sum(rate.whole for rate in rates.values()),
    )
    return rates


# --- Satisfaction ------------------------------------------------------------------
def satisfaction_per_month(filters: Filters) -> list[SatisfactionMonth]:
    """Surveys answered each month of the period (Paris time): CSAT counts the
    satisfaction answers of 4 or 5, NPS promoters (9–10) against detractors (0–6)."""
    queryset = SatisfactionSurvey.objects.answered().filter(
        answered_at__gte=filters.since, answered_at__lt=filters.until
    )
    if filters.specialty or filters.concierge_id:
        queryset = queryset.filter(
            appointment__in=_within_cuts(Appointment.objects.all(), filters).values(
                "pk"
            )
        )
    rows = (
        queryset.annotate(month=TruncMonth("answered_at", tzinfo=PARIS))
        .order_by()
        .values("month")
        .annotate(
            answers=Count("pk"),
            rated=Count("satisfaction"),
            satisfied=Count("pk", filter=Q(satisfaction__gte=4)),
            recommend_answers=Count("recommend"),
            promoters=Count("pk", filter=Q(recommend__gte=9)),
            detractors=Count("pk", filter=Q(recommend__lte=6)),
        )
    )
    by_month: dict[datetime.date, dict[str, Any]] = {
        timezone.localtime(row["month"], PARIS).date(): dict(row) for row in rows
    }
    months = []
    for month in filters.months():
        row: dict[str, Any] = by_month.get(month, {})
        months.append(
            SatisfactionMonth(
                month=month,
                answers=row.get("answers", 0),
                csat=Rate(row.get("satisfied", 0), row.get("rated", 0)),
                promoters=row.get("promoters", 0),
                detractors=row.get("detractors", 0),
                recommend_answers=row.get("recommend_answers", 0),
            )
        )
    return months


# --- Money -------------------------------------------------------------------------
def revenue_per_month(filters: Filters) -> list[MonthAmount]:
    """Invoices issued each month (excluding VAT and fees advanced for
    practitioners), less the credit notes issued that month."""
    invoiced = dict(
        Invoice.objects.exclude(state=Invoice.State.DRAFT)
        .filter(issue_date__gte=filters.start, issue_date__lte=filters.end)
        .annotate(month=TruncMonth("issue_date"))
        .order_by()
        .values("month")
        .annotate(amount=Sum("total_excl_vat"))
        .values_list("month", "amount")
    )
    credited = dict(
        CreditNote.objects.filter(
            issue_date__gte=filters.start, issue_date__lte=filters.end
        )
        .annotate(month=TruncMonth("issue_date"))
        .order_by()
        .values("month")
        .annotate(amount=Sum("total_excl_vat"))
        .values_list("month", "amount")
    )
    return [
        MonthAmount(
            month=month,
            invoiced=invoiced.get(month) or ZERO,
            credited=credited.get(month) or ZERO,
        )
        for month in filters.months()
    ]


def outstanding_invoices(filters: Filters) -> Outstanding:
    """Invoices issued and not settled today: what is still due on them, and the
    part past its due date. A picture of today, whatever the period."""
    due = F("total") - F("amount_credited") - F("amount_paid")
    overdue = Q(state=Invoice.State.OVERDUE)
    row = Invoice.objects.outstanding().aggregate(
        count=Count("pk"),
        amount=Coalesce(Sum(due), ZERO),
        overdue_count=Count("pk", filter=overdue),
        overdue_amount=Coalesce(Sum(due, filter=overdue), ZERO),
    )
    return Outstanding(**row)


#: Age buckets of claims awaiting the payer: (label, from day, to day excluded).
CLAIM_AGE_BUCKETS = (
    (_("under 15 days"), 0, 15),
    (_("15 to 29 days"), 15, 30),
    (_("30 to 59 days"), 30, 60),
    (_("60 days or more"), 60, None),
)


def reimbursements_pending_by_age(
    filters: Filters, *, now: datetime.datetime | None = None
) -> list[AgeBucket]:
    """Claims sent and not yet paid in full nor refused, by days since they were
    sent, with what the payers still owe on them. A picture of today."""
    now = now or timezone.now()
    pending = Claim.objects.filter(
        state__in=Claim.PAYABLE_STATES, sent_at__isnull=False
    )
    owed = F("amount_expected") - F("amount_received")
    aggregates: dict[str, Any] = {}
    for index, (_label, low, high) in enumerate(CLAIM_AGE_BUCKETS):
        condition = Q(sent_at__lte=now - datetime.timedelta(days=low))
        if high is not None:
            condition &= Q(sent_at__gt=now - datetime.timedelta(days=high))
        aggregates[f"count_{index}"] = Count("pk", filter=condition)
        aggregates[f"amount_{index}"] = Coalesce(Sum(owed, filter=condition), ZERO)
    row = pending.aggregate(**aggregates)
    return [
        AgeBucket(
            label=str(label), count=row[f"count_{index}"], amount=row[f"amount_{index}"]
        )
        for index, (label, _low, _high) in enumerate(CLAIM_AGE_BUCKETS)
    ]

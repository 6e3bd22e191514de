"""The managers' dashboard: every figure with its chart, its numbers and its
definition, assembled once for the admin page and the monthly PDF report."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.formats import date_format, number_format
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import kpis
from .charts import Series, bar_chart, line_chart, plain_number, stacked_bar_chart

#: What each figure counts, shown beside it on the dashboard and in the report.
DEFINITIONS = {
    "requests_by_state": _(
        "Care requests received during the period, counted by the state they are "
        "in today."
    ),
    "requests_by_channel": _(
        "Care requests received during the period, by the way they reached the "
        "service: patient portal, phone call, email or partner referral."
    ),
    "response_times": _(
        "For the care requests received during the period: time from arrival (the "
        "“received” event) to the first answer to the patient, to qualification by "
        "a medical adviser (first move to “qualified”) and to a booked appointment "
        "(first move to “appointment booked”). Median: half of the requests took "
        "less; 90th percentile: nine requests in ten took less. A request that has "
        "not reached a step yet is left out of that step."
    ),
    "sla_breaches": _(
        "Service-level deadlines missed whose due time fell in the period, per "
        "clock. A deadline moved by a new urgency and missed again counts again."
    ),
    "appointment_outcomes": _(
        "Appointments due to start during the period. No-show rate: patients who "
        "did not come, out of the appointments done or missed. Late cancellation "
        "rate: cancelled inside the notice period, out of the appointments done, "
        "missed or cancelled (moved appointments are not counted)."
    ),
    "reminder_delivery": _(
        "Appointment reminders due during the period that the SMS or email "
        "provider accepted, out of those whose sending is over (accepted, or failed "
        "for good). Reminders still waiting or cancelled are left out."
    ),
    "satisfaction": _(
        "Satisfaction surveys answered each month. CSAT: share of the answers "
        "rating satisfaction 4 or 5 out of 5. NPS: share of promoters (9 or 10 out "
        "of 10 for recommending the service) minus share of detractors (0 to 6), in "
        "points from −100 to 100."
    ),
    "revenue": _(
        "For each month of the period: invoices issued, excluding VAT and the fees "
        "advanced for practitioners, less the credit notes issued that month. Not "
        "split by specialty or concierge."
    ),
    "outstanding_invoices": _(
        "Today: invoices issued and not settled, and what is still due on them "
        "(total less credit notes and payments), with the part past its due date. "
        "The same whatever the filters."
    ),
    "reimbursements_pending": _(
        "Today: claims sent to the Assurance Maladie or a mutuelle and neither paid "
        "in full nor refused, by days since they were sent, with what the payers "
        "still owe on them. The same whatever the filters."
    ),
    "workload": _(
        "Care requests received during the period, per concierge in charge of them "
        "today: still open, closed, cancelled."
    ),
}


@dataclass
class Panel:
    """One figure: its chart and its numbers as (label, value) lines."""

    key: str
    title: str
    chart: SafeString | None
    lines: list[tuple[str, str]] = field(default_factory=list)

    @property
    def definition(self) -> str:
        return str(DEFINITIONS[self.key])


def euros(value: Decimal | int | float | None) -> str:
    if value is None:
        return "–"
    return number_format(Decimal(value), decimal_pos=2, force_grouping=True) + " €"


def percent(value: Decimal | int | float | None) -> str:
    return "–" if value is None else f"{plain_number(value)} %"


def hours(value: datetime.timedelta | None) -> str:
    if value is None:
        return "–"
    return gettext("%(hours)s h") % {
        "hours": plain_number(round(Decimal(value.total_seconds()) / 3600, 1))
    }


def month_label(month: datetime.date) -> str:
    return date_format(month, "F Y")


def short_month_label(month: datetime.date) -> str:
    """A month in a few characters, for the axis of a line chart: 06/2026."""
    return date_format(month, "m/Y")


def _rate_line(label: str, rate: kpis.Rate) -> tuple[str, str]:
    return (
        label,
        gettext("%(percent)s (%(part)s out of %(whole)s)")
        % {"percent": percent(rate.percent), "part": rate.part, "whole": rate.whole},
    )


def _breakdown_panel(key: str, title: str, breakdown: kpis.Breakdown) -> Panel:
    bars = [(label.capitalize(), count) for _code, label, count in breakdown.rows]
    return Panel(
        key=key,
        title=title,
        chart=bar_chart(title=title, description=str(DEFINITIONS[key]), bars=bars),
        lines=[
            *[(label, plain_number(count)) for label, count in bars],
            (gettext("Total"), plain_number(breakdown.total)),
        ],
    )


def requests_by_state(filters: kpis.Filters) -> Panel:
    return _breakdown_panel(
        "requests_by_state",
        gettext("Requests by state"),
        kpis.requests_by_state(filters),
    )


def requests_by_channel(filters: kpis.Filters) -> Panel:
    return _breakdown_panel(
        "requests_by_channel",
        gettext("Requests by intake channel"),
        kpis.requests_by_channel(filters),
    )


def response_times(filters: kpis.Filters) -> Panel:
    times = kpis.response_times(filters)
    steps = [
        (gettext("First response"), times.first_response),
        (gettext("Qualification"), times.qualification),
        (gettext("Appointment booked"), times.appointment),
    ]

    def in_hours(value: datetime.timedelta | None) -> Decimal | None:
        if value is None:
            return None
        return round(Decimal(value.total_seconds()) / 3600, 1)

    def beyond_median(durations: kpis.Durations) -> Decimal | None:
        median, p90 = in_hours(durations.median), in_hours(durations.p90)
        return None if median is None or p90 is None else p90 - median

    title = gettext("Time to first response, qualification and appointment")
    chart = stacked_bar_chart(
        title=title,
        description=str(DEFINITIONS["response_times"]),
        categories=[label for label, _d in steps],
        series=[
            Series(gettext("Median (hours)"), [in_hours(d.median) for _l, d in steps]),
            Series(
                gettext("90th percentile, beyond the median (hours)"),
                [beyond_median(d) for _l, d in steps],
            ),
        ],
    )
    lines = [
        (
            label,
            gettext("median %(median)s, 90th percentile %(p90)s, %(count)s requests")
            % {
                "median": hours(durations.median),
                "p90": hours(durations.p90),
                "count": durations.count,
            },
        )
        for label, durations in steps
    ]
    return Panel(key="response_times", title=title, chart=chart, lines=lines)


def sla_breaches(filters: kpis.Filters) -> Panel:
    return _breakdown_panel(
        "sla_breaches",
        gettext("Missed service-level deadlines"),
        kpis.sla_breaches(filters),
    )


def appointment_outcomes(filters: kpis.Filters) -> Panel:
    outcomes = kpis.appointment_outcomes(filters)
    rates = [
        (gettext("No-show rate"), outcomes.no_show),
        (gettext("Late cancellation rate"), outcomes.late_cancellation),
    ]
    return _rates_panel(
        "appointment_outcomes", gettext("No-shows and late cancellations"), rates
    )


def reminder_delivery(filters: kpis.Filters) -> Panel:
    rates = kpis.reminder_delivery(filters)
    names = {"sms": gettext("SMS"), "email": gettext("Email"), "all": gettext("All")}
    ordered = [(names.get(channel, channel), rate) for channel, rate in rates.items()]
    return _rates_panel("reminder_delivery", gettext("Reminder delivery rate"), ordered)


def _rates_panel(key: str, title: str, rates: list) -> Panel:
    """A panel of named rates: one bar and one line of figures per rate."""
    chart = bar_chart(
        title=title,
        description=str(DEFINITIONS[key]),
        bars=[(label, rate.percent) for label, rate in rates],
        format_value=percent,
    )
    return Panel(
        key=key,
        title=title,
        chart=chart,
        lines=[_rate_line(label, rate) for label, rate in rates],
    )


def satisfaction(filters: kpis.Filters) -> Panel:
    months = kpis.satisfaction_per_month(filters)
    title = gettext("Satisfaction: CSAT and NPS")
    chart = line_chart(
        title=title,
        description=str(DEFINITIONS["satisfaction"]),
        labels=[short_month_label(row.month) for row in months],
        series=[
            Series(gettext("CSAT (%)"), [row.csat.percent for row in months]),
            Series(gettext("NPS"), [row.nps for row in months]),
        ],
        y_range=(-100, 100),
    )
    lines = [
        (
            month_label(row.month),
            gettext("CSAT %(csat)s, NPS %(nps)s, %(answers)s answers")
            % {
                "csat": percent(row.csat.percent),
                "nps": plain_number(row.nps),
                "answers": row.answers,
            },
        )
        for row in months
    ]
    return Panel(key="satisfaction", title=title, chart=chart, lines=lines)


def revenue(filters: kpis.Filters) -> Panel:
    months = kpis.revenue_per_month(filters)
    title = gettext("Revenue per month, net of credit notes")
    chart = bar_chart(
        title=title,
        description=str(DEFINITIONS["revenue"]),
        bars=[(month_label(row.month), row.net) for row in months],
        format_value=euros,
    )
    lines = [
        (
            month_label(row.month),
            gettext("%(net)s (invoiced %(invoiced)s, credited %(credited)s)")
            % {
                "net": euros(row.net),
                "invoiced": euros(row.invoiced),
                "credited": euros(row.credited),
            },
        )
        for row in months
    ]
    lines.append((gettext("Total"), euros(sum((row.net for row in months), kpis.ZERO))))
    return Panel(key="revenue", title=title, chart=chart, lines=lines)


def outstanding_invoices(filters: kpis.Filters) -> Panel:
    outstanding = kpis.outstanding_invoices(filters)
    title = gettext("Outstanding invoices")
    not_late = outstanding.amount - outstanding.overdue_amount
    chart = bar_chart(
        title=title,
        description=str(DEFINITIONS["outstanding_invoices"]),
        bars=[
            (gettext("Not yet due"), not_late),
            (gettext("Past due"), outstanding.overdue_amount),
        ],
        format_value=euros,
    )
    lines = [
        (
            gettext("Outstanding"),
            gettext("%(amount)s on %(count)s invoices")
            % {"amount": euros(outstanding.amount), "count": outstanding.count},
        ),
        (
            gettext("Past due"),
            gettext("%(amount)s on %(count)s invoices")
            % {
                "amount": euros(outstanding.overdue_amount),
                "count": outstanding.overdue_count,
            },
        ),
    ]
    return Panel(key="outstanding_invoices", title=title, chart=chart, lines=lines)


def reimbursements_pending(filters: kpis.Filters) -> Panel:
    buckets = kpis.reimbursements_pending_by_age(filters)
    title = gettext("Reimbursements pending, by age")
    chart = bar_chart(
        title=title,
        description=str(DEFINITIONS["reimbursements_pending"]),
        bars=[(bucket.label, bucket.count) for bucket in buckets],
    )
    lines = [
        (
            bucket.label,
            gettext("%(count)s claims, %(amount)s expected")
            % {"count": bucket.count, "amount": euros(bucket.amount)},
        )
        for bucket in buckets
    ]
    return Panel(key="reimbursements_pending", title=title, chart=chart, lines=lines)


def workload(filters: kpis.Filters) -> Panel:
    rows = kpis.workload_per_concierge(filters)
    title = gettext("Workload per concierge")
    chart = stacked_bar_chart(
        title=title,
        description=str(DEFINITIONS["workload"]),
        categories=[row.name for row in rows],
        series=[
            Series(gettext("Open"), [row.open for row in rows]),
            Series(gettext("Closed"), [row.closed for row in rows]),
            Series(gettext("Cancelled"), [row.cancelled for row in rows]),
        ],
    )
    lines = [
        (
            row.name,
            gettext("%(open)s open, %(closed)s closed, %(cancelled)s cancelled")
            % {"open": row.open, "closed": row.closed, "cancelled": row.cancelled},
        )
        for row in rows
    ]
    return Panel(key="workload", title=title, chart=chart, lines=lines)


PANELS: list[Callable[[kpis.Filters], Panel]] = [
    requests_by_state,
    requests_by_channel,
    response_times,
    sla_breaches,
    appointment_outcomes,
    reminder_delivery,
    satisfaction,
    revenue,
    outstanding_invoices,
    reimbursements_pending,
    workload,
]


def build(filters: kpis.Filters) -> list[Panel]:
    """Every figure of the dashboard for these filters, in reading order."""
    return [panel(filters) for panel in PANELS]

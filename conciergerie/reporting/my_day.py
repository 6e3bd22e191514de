"""A concierge's day: what is theirs to do, most pressing first.

Each list is one query, whatever the number of rows, and none reads medical
content (the need, answers, red flags, task details): the page is the same for a
care coordinator, who must never see it, and for a medical adviser, who reads it
on the request itself, where the read is logged.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    Case,
    Count,
    DateTimeField,
    Exists,
    F,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Least
from django.utils import timezone

from appointments.models import Appointment
from conciergerie.accounts.models import User
from patients.models import (
    CareRequest,
    CareRequestMessage,
    CareRequestQuerySet,
    CareTask,
    Patient,
    SlaClock,
    Urgency,
    sla_overdue_condition,
)

from .kpis import PARIS

#: Most pressing first.
URGENCY_RANK = {
    Urgency.EMERGENCY: 0,
    Urgency.URGENT: 1,
    Urgency.SOON: 2,
    Urgency.ROUTINE: 3,
}
DUE_FIELDS: dict[str, str] = {
    SlaClock.FIRST_RESPONSE: "first_response_due_at",
    SlaClock.QUALIFICATION: "qualification_due_at",
    SlaClock.APPOINTMENT: "appointment_due_at",
}


@dataclass(frozen=True)
class Day:
    start: datetime.datetime
    end: datetime.datetime

    @classmethod
    def of(cls, moment: datetime.datetime) -> Day:
        date = timezone.localtime(moment, PARIS).date()
        start = datetime.datetime.combine(date, datetime.time(), tzinfo=PARIS)
        end = datetime.datetime.combine(
            date + datetime.timedelta(days=1), datetime.time(), tzinfo=PARIS
        )
        return cls(start=start, end=end)


#: Later than any deadline: "overdue by then" means "the clock is running".
END_OF_TIME = datetime.datetime(9999, 1, 1, tzinfo=datetime.UTC)


def _running_due(clock: str):
    """The clock's due time while it runs (overdue or not), else nothing."""
    field = DUE_FIELDS[clock]
    running = sla_overdue_condition(clock, now=END_OF_TIME)
    return Case(
        When(running, then=F(field)), default=None, output_field=DateTimeField()
    )


def _with_urgency_and_due(queryset: CareRequestQuerySet, now) -> QuerySet[Any]:
    return queryset.with_sla(now=now).annotate(
        urgency_rank=Case(
            *[
                When(urgency=code, then=Value(rank))
                for code, rank in URGENCY_RANK.items()
            ],
            default=Value(9),
            output_field=IntegerField(),
        ),
        # PostgreSQL's LEAST skips nulls: the earliest deadline still running.
        next_due_at=Least(*[_running_due(clock) for clock in SlaClock.values]),
    )


def assigned_requests(user: User, *, now: datetime.datetime) -> list[CareRequest]:
    """The open requests this concierge is in charge of, by urgency then deadline."""
    queryset = CareRequest.objects.open().filter(assigned_to=user)
    return list(
        _with_urgency_and_due(queryset, now)
        .select_related("patient")
        .order_by("urgency_rank", F("next_due_at").asc(nulls_last=True), "created_at")
    )


def overdue_requests(user: User, *, now: datetime.datetime) -> list[CareRequest]:
    """Requests past a deadline: this concierge's, and those nobody took yet."""
    queryset = CareRequest.objects.overdue(now=now).filter(
        Q(assigned_to=user) | Q(assigned_to__isnull=True)
    )
    return list(
        _with_urgency_and_due(queryset, now)
        .select_related("patient", "assigned_to")
        .order_by("urgency_rank", F("next_due_at").asc(nulls_last=True))
    )


def appointments_today(user: User, *, now: datetime.datetime) -> list[Appointment]:
    """Today's visits and teleconsultations of this concierge's requests and
    patients."""
    day = Day.of(now)
    mine = Patient.assigned_staff.through.objects.filter(
        patient=OuterRef("patient"), user=user
    )
    return list(
        Appointment.objects.filter(
            starts_at__gte=day.start,
            starts_at__lt=day.end,
            state__in=[*Appointment.ACTIVE_STATES, Appointment.State.DONE],
        )
        .filter(Q(care_request__assigned_to=user) | Exists(mine))
        .select_related("patient", "practitioner", "place", "care_request")
        .order_by("starts_at")
    )


def unanswered_messages(user: User) -> list[Any]:
    """Per request of this concierge: patient messages no concierge answered since."""
    answered = CareRequestMessage.objects.filter(
        care_request=OuterRef("care_request"),
        side=CareRequestMessage.Side.CONCIERGE,
        created_at__gt=OuterRef("created_at"),
    )
    return list(
        CareRequestMessage.objects.filter(
            side=CareRequestMessage.Side.PATIENT,
            care_request__assigned_to=user,
        )
        .exclude(care_request__state__in=CareRequest.FINAL_STATES)
        .exclude(Exists(answered))
        .values(
            "care_request_id",
            "care_request__reference",
            "care_request__patient__first_names",
            "care_request__patient__last_name",
        )
        .annotate(waiting=Count("pk"), since=Min("created_at"))
        .order_by("since")
    )


def tasks_due(user: User, *, now: datetime.datetime) -> list[CareTask]:
    """Open tasks due by tonight: this concierge's, and the unowned ones of their
    requests."""
    day = Day.of(now)
    return list(
        CareTask.objects.open()
        .filter(due_at__lt=day.end)
        .filter(Q(owner=user) | Q(owner__isnull=True, care_request__assigned_to=user))
        .select_related("care_request")
        .order_by("due_at")
    )


def my_day(user: User, *, now: datetime.datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    return {
        "now": now,
        "requests": assigned_requests(user, now=now),
        "appointments": appointments_today(user, now=now),
        "overdue": overdue_requests(user, now=now),
        "unanswered": unanswered_messages(user),
        "tasks": tasks_due(user, now=now),
    }

"""Care-request figures on the hand-built month of tests/reporting/conftest.py."""

from dataclasses import replace
from datetime import timedelta

from conciergerie.reporting import kpis
from patients.models import SlaBreach, SlaClock
from tests.appointments.factories import at
from tests.reporting.conftest import MARCH


def test_requests_by_state_counts_the_month_in_paris_time(march_requests):
    # R1 closed, R2 scheduled, R3 qualified, R4 received, R5 cancelled; the
    # requests of 28 February 23:30 and 1 April 00:30 (Paris) are outside.
    counts = kpis.requests_by_state(MARCH).as_dict()

    assert counts == {
        "received": 1,
        "qualified": 1,
        "matching": 0,
        "proposed": 0,
        "scheduled": 1,
        "in_care": 0,
        "follow_up": 0,
        "closed": 1,
        "cancelled": 1,
        "emergency": 0,
    }
    assert kpis.requests_by_state(MARCH).total == 5


def test_requests_by_channel(march_requests):
    # portal R1; phone R2, R3; email R5; partner API R4.
    assert kpis.requests_by_channel(MARCH).as_dict() == {
        "portal": 1,
        "phone": 2,
        "email": 1,
        "api": 1,
    }


def test_requests_follow_the_specialty_and_concierge_filters(march_requests, alice):
    dermatology = replace(MARCH, specialty="dermatology")
    alices = replace(MARCH, concierge_id=alice.pk)

    # Dermatology: R1 closed, R2 scheduled, R5 cancelled.
    assert {
        state: n
        for state, n in kpis.requests_by_state(dermatology).as_dict().items()
        if n
    } == {"closed": 1, "scheduled": 1, "cancelled": 1}
    # Alice: R1 (portal), R2 (phone).
    assert {
        channel: n
        for channel, n in kpis.requests_by_channel(alices).as_dict().items()
        if n
    } == {"portal": 1, "phone": 1}


def test_response_times_median_and_90th_percentile(march_requests):
    times = kpis.response_times(MARCH)

    # First answer after 1, 2, 3 and 4 hours (R5 never answered): median
    # (2 + 3) / 2 = 2.5 h; 90th percentile at rank 0.9 × 3 = 2.7 between 3 h
    # and 4 h: 3 + 0.7 = 3.7 h = 3 h 42 min.
    assert times.first_response == kpis.Durations(
        count=4, median=timedelta(hours=2.5), p90=timedelta(hours=3, minutes=42)
    )
    # Qualified after 4, 6 and 8 hours (R3 from its creation, having no
    # "received" event): median 6 h; rank 0.9 × 2 = 1.8: 6 + 0.8 × 2 = 7.6 h.
    assert times.qualification == kpis.Durations(
        count=3, median=timedelta(hours=6), p90=timedelta(hours=7, minutes=36)
    )
    # Booked after 24 and 48 hours: median 36 h; rank 0.9: 24 + 0.9 × 24 = 45.6 h.
    assert times.appointment == kpis.Durations(
        count=2, median=timedelta(hours=36), p90=timedelta(hours=45, minutes=36)
    )


def test_response_times_of_an_empty_period_are_empty(db):
    times = kpis.response_times(MARCH)

    assert times.first_response == kpis.Durations(count=0, median=None, p90=None)


def test_sla_breaches_by_clock_due_in_the_period(march_requests, bruno):
    r3, r4 = march_requests["R3"], march_requests["R4"]
    SlaBreach.objects.create(
        care_request=r3, clock=SlaClock.FIRST_RESPONSE, due_at=at(2026, 3, 10, 15)
    )
    SlaBreach.objects.create(
        care_request=r4, clock=SlaClock.FIRST_RESPONSE, due_at=at(2026, 3, 20, 10)
    )
    SlaBreach.objects.create(
        care_request=r4, clock=SlaClock.QUALIFICATION, due_at=at(2026, 3, 20, 12)
    )
    # Due on 1 April at 00:10 Paris time: April's.
    SlaBreach.objects.create(
        care_request=r4, clock=SlaClock.APPOINTMENT, due_at=at(2026, 4, 1, 0, 10)
    )

    assert kpis.sla_breaches(MARCH).as_dict() == {
        "first_response": 2,
        "qualification": 1,
        "appointment": 0,
    }
    assert kpis.sla_breaches(replace(MARCH, concierge_id=bruno.pk)).total == 1


def test_workload_per_concierge(march_requests, alice, bruno):
    lines = kpis.workload_per_concierge(MARCH)

    # Alice: R1 closed, R2 open. Bruno: R3 open, R5 cancelled. Nobody: R4 open.
    assert [
        (line.concierge_id, line.open, line.closed, line.cancelled) for line in lines
    ] == [(alice.pk, 1, 1, 0), (bruno.pk, 1, 0, 1), (None, 1, 0, 0)]
    assert [line.name for line in lines][:2] == ["Alice Martin", "Bruno Durand"]

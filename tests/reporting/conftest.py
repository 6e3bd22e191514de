"""A small month of activity whose figures are worked out by hand in the tests.

March 2026, Paris time. Two concierges (Alice, a care coordinator; Bruno, a
medical adviser), five care requests received in March and two outside it.
"""

from datetime import timedelta

import pytest

from conciergerie.accounts.roles import Role
from conciergerie.reporting.kpis import Filters
from patients.models import CareRequest, CareRequestEvent
from tests.appointments.factories import at
from tests.factories import UserFactory
from tests.patients.factories import CareRequestFactory, PatientFactory

State = CareRequest.State
Channel = CareRequest.IntakeChannel
MARCH = Filters(start=at(2026, 3, 1).date(), end=at(2026, 3, 31).date())


def received(created, *, events=(), first_response=None, **fields) -> CareRequest:
    """A request received at `created`, with its timeline events at given offsets
    (hours) and its first answer `first_response` hours after arrival."""
    care_request = CareRequestFactory(**fields)
    first_response_at = (
        created + timedelta(hours=first_response) if first_response else None
    )
    CareRequest.objects.filter(pk=care_request.pk).update(
        created_at=created, first_response_at=first_response_at
    )
    for kind, to_state, hours in events:
        event = CareRequestEvent.objects.create(
            care_request=care_request, kind=kind, to_state=to_state
        )
        CareRequestEvent.objects.filter(pk=event.pk).update(
            created_at=created + timedelta(hours=hours)
        )
    care_request.refresh_from_db()
    return care_request


@pytest.fixture
def alice(db):
    return UserFactory(
        email="alice@conciergerie.example",
        first_name="Alice",
        last_name="Martin",
        role=Role.CARE_COORDINATOR,
    )


@pytest.fixture
def bruno(db):
    return UserFactory(
        email="bruno@conciergerie.example",
        first_name="Bruno",
        last_name="Durand",
        role=Role.MEDICAL_ADVISER,
    )


@pytest.fixture
def march_requests(alice, bruno):
    """R1…R5 received in March (R5 at 23:30 on the 31st, Paris), two outside.

    ref  received      channel  spec.   concierge  state      answer  qual.  booked
    R1   3 Mar 09:00   portal   derm.   Alice      closed     +1 h    +4 h   +24 h
    R2   5 Mar 10:00   phone    derm.   Alice      scheduled  +2 h    +6 h   +48 h
    R3   10 Mar 14:00  phone    cardio  Bruno      qualified  +3 h    +8 h
    R4   20 Mar 08:00  api      cardio  nobody     received   +4 h
    R5   31 Mar 23:30  email    derm.   Bruno      cancelled
    out  28 Feb 23:30  portal   derm.   Alice      received   +1 h
    out  1 Apr 00:30   portal   derm.   Alice      received   +9 h
    """
    patient = PatientFactory(consented=True)
    created, qualified, booked = (
        (CareRequestEvent.Kind.CREATED, State.RECEIVED),
        (CareRequestEvent.Kind.TRANSITION, State.QUALIFIED),
        (CareRequestEvent.Kind.TRANSITION, State.SCHEDULED),
    )
    common = {"patient": patient}
    requests = {
        "R1": received(
            at(2026, 3, 3, 9),
            channel=Channel.PORTAL,
            specialty="dermatology",
            assigned_to=alice,
            state=State.CLOSED,
            first_response=1,
            events=[(*created, 0), (*qualified, 4), (*booked, 24)],
            **common,
        ),
        "R2": received(
            at(2026, 3, 5, 10),
            channel=Channel.PHONE,
            specialty="dermatology",
            assigned_to=alice,
            state=State.SCHEDULED,
            first_response=2,
            events=[(*created, 0), (*qualified, 6), (*booked, 48)],
            **common,
        ),
        # No "received" event: arrival is the row's creation time.
        "R3": received(
            at(2026, 3, 10, 14),
            channel=Channel.PHONE,
            specialty="cardiology",
            assigned_to=bruno,
            state=State.QUALIFIED,
            first_response=3,
            events=[(*qualified, 8)],
            **common,
        ),
        "R4": received(
            at(2026, 3, 20, 8),
            channel=Channel.API,
            specialty="cardiology",
            state=State.RECEIVED,
            first_response=4,
            **common,
        ),
        "R5": received(
            at(2026, 3, 31, 23, 30),
            channel=Channel.EMAIL,
            specialty="dermatology",
            assigned_to=bruno,
            state=State.CANCELLED,
            **common,
        ),
    }
    received(
        at(2026, 2, 28, 23, 30),
        channel=Channel.PORTAL,
        specialty="dermatology",
        assigned_to=alice,
        state=State.RECEIVED,
        first_response=1,
        **common,
    )
    received(
        at(2026, 4, 1, 0, 30),
        channel=Channel.PORTAL,
        specialty="dermatology",
        assigned_to=alice,
        state=State.RECEIVED,
        first_response=9,
        **common,
    )
    return requests

"""Races settled by PostgreSQL: fifty partners booking one slot through real HTTP,
waitlisted patients accepting one freed slot at the same instant. Exactly one
wins each time; the others get `slot_taken` with alternatives, never a 5xx."""

import threading
from collections import Counter
from datetime import timedelta

import pytest
import requests
from django.db import connection
from django.utils import timezone

from appointments import services
from appointments.models import Appointment, Face, WaitlistEntry, WaitlistOffer
from tests.appointments.factories import free_slots, open_practitioner
from tests.patients.factories import PatientFactory

pytestmark = [pytest.mark.django_db(transaction=True)]

ATTEMPTS = 50


def race(count: int, attempt) -> list:
    """Run `attempt(i)` in `count` threads released together; their results."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=60)
            results[index] = attempt(index)
        except Exception as error:  # noqa: BLE001 - reported by the assertions
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    return results


def booking_race(
    rounds: int, *, server: str, settings, partner_client, partner_token, capsys
) -> Counter:
    """`rounds` slots, each booked by fifty partner requests released together."""
    settings.API_THROTTLE_PARTNER = "1000000/min"
    practitioner = open_practitioner()
    partner = partner_client.user
    patients = [
        PatientFactory(referred_by=partner, consented=True, reminder_channel="email")
        for _ in range(ATTEMPTS)
    ]
    token = partner_token(partner_client, "appointments:read appointments:write")
    headers = {"Authorization": f"Bearer {token.token}"}
    url = f"{server}/api/v1/appointments/"
    slots = free_slots(practitioner, after=timezone.now() + timedelta(days=2), days=30)[
        ::2
    ][:rounds]
    assert len(slots) == rounds
    statuses: Counter = Counter()

    for slot in slots:

        def attempt(index: int, slot=slot):
            response = requests.post(
                url,
                json={
                    "patient": patients[index].reference,
                    "practitioner": str(practitioner.public_id),
                    "kind": slot.kind,
                    "starts_at": slot.starts_at.isoformat(),
                },
                headers=headers,
                timeout=120,
            )
            return response.status_code, response.json()

        results = race(ATTEMPTS, attempt)

        assert not [r for r in results if isinstance(r, Exception)], results
        round_statuses = Counter(status for status, _body in results)
        statuses.update(round_statuses)
        assert round_statuses == {201: 1, 409: ATTEMPTS - 1}, round_statuses
        for status, body in results:
            if status == 409:
                assert body["code"] == "slot_taken"
                assert body["alternatives"]
                assert slot.starts_at.isoformat() not in {
                    alt["starts_at"] for alt in body["alternatives"]
                }
        assert (
            Appointment.objects.active()
            .filter(practitioner=practitioner, starts_at=slot.starts_at)
            .count()
            == 1
        )

    assert Appointment.objects.count() == rounds
    with capsys.disabled():
        print(
            f"\nBooking race: {rounds} rounds of {ATTEMPTS} simultaneous requests, "
            f"statuses {dict(statuses)}"
        )
    return statuses


def test_fifty_simultaneous_bookings_of_one_slot_make_exactly_one_appointment(
    busy_live_server, settings, partner_client, partner_token, proof_scale, capsys
):
    rounds = proof_scale(3, 20)

    statuses = booking_race(
        rounds,
        server=busy_live_server,
        settings=settings,
        partner_client=partner_client,
        partner_token=partner_token,
        capsys=capsys,
    )

    assert statuses == {201: rounds, 409: rounds * (ATTEMPTS - 1)}


@pytest.mark.proof
def test_twenty_rounds_of_fifty_simultaneous_bookings_make_twenty_appointments(
    busy_live_server, settings, partner_client, partner_token, capsys
):
    statuses = booking_race(
        20,
        server=busy_live_server,
        settings=settings,
        partner_client=partner_client,
        partner_token=partner_token,
        capsys=capsys,
    )

    assert statuses == {201: 20, 409: 20 * (ATTEMPTS - 1)}


def test_the_first_waitlisted_patient_to_accept_a_freed_slot_wins_it(settings):
    settings.APPOINTMENT_WAITLIST_OFFER_BATCH = 8
    practitioner = open_practitioner()
    slot = free_slots(practitioner, after=timezone.now() + timedelta(days=3))[0]
    first = PatientFactory(consented=True)
    booked = services.book_appointment(
        patient=first,
        practitioner=practitioner,
        kind=slot.kind,
        starts_at=slot.starts_at,
        by=None,
        via=Face.ADMIN,
    )
    waiting = [PatientFactory(consented=True) for _ in range(8)]
    for patient in waiting:
        services.join_waitlist(
            patient=patient, practitioner=practitioner, kind=slot.kind, by=None
        )

    services.cancel_appointment(
        appointment=booked, by=None, via=Face.ADMIN, reason="Empêchement"
    )
    offers = list(WaitlistOffer.objects.order_by("rank"))
    assert [offer.entry.patient for offer in offers] == waiting

    def attempt(index: int):
        return services.accept_offer(offer=offers[index], by=None, via=Face.LINK)

    results = race(len(offers), attempt)

    winners = [r for r in results if isinstance(r, Appointment)]
    losers = [r for r in results if isinstance(r, services.SlotTaken)]
    assert len(winners) == 1, [repr(r) for r in results]
    assert len(losers) == len(offers) - 1, [repr(r) for r in results]
    assert (
        Appointment.objects.active()
        .filter(practitioner=practitioner, starts_at=slot.starts_at)
        .count()
        == 1
    )
    states = Counter(WaitlistOffer.objects.values_list("state", flat=True))
    assert states == {"accepted": 1, "taken": len(offers) - 1}
    winner_entry = WaitlistEntry.objects.get(patient=winners[0].patient)
    assert winner_entry.state == WaitlistEntry.State.FULFILLED
    assert WaitlistEntry.objects.waiting().count() == len(offers) - 1

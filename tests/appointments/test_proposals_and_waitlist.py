"""Proposals of slots (picked in the portal or by the signed email link, held, then
confirmed) and the waitlist (offers in order of arrival, first to accept wins)."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from appointments import links, services
from appointments.models import (
    Appointment,
    Face,
    SlotProposal,
    WaitlistEntry,
    WaitlistOffer,
)
from conciergerie.notifications.models import Message
from patients.models import CareRequest
from tests.appointments.conftest import error_codes
from tests.appointments.factories import free_slots, open_practitioner
from tests.patients.factories import CareRequestFactory, PatientFactory


def path_of(url: str) -> str:
    return url.removeprefix("http://127.0.0.1:8000")


@pytest.fixture
def proposal(patient, practitioner, coordinator):
    other = open_practitioner()
    slots = free_slots(practitioner, after=timezone.now() + timedelta(days=3))[:2]
    slots.append(free_slots(other, after=timezone.now() + timedelta(days=3))[0])
    return services.propose_slots(
        patient=patient,
        slots=[
            services.SlotChoice(
                practitioner=practitioner if index < 2 else other,
                kind=slot.kind,
                starts_at=slot.starts_at,
            )
            for index, slot in enumerate(slots)
        ],
        by=coordinator,
        message="Trois créneaux proches de chez vous.",
    )


def test_proposing_tells_the_patient_with_a_signed_link(proposal, patient):
    assert proposal.slots.count() == 3
    messages = Message.objects.filter(template="appointments/messages/proposal")
    assert set(messages.values_list("channel", flat=True)) == {"email", "sms"}
    assert "/appointments/p/" in messages.first().context["link"]


def test_only_the_concierge_proposes(patient, practitioner):
    slot = free_slots(practitioner, after=timezone.now() + timedelta(hours=48))[0]

    with pytest.raises(PermissionDenied):
        services.propose_slots(
            patient=patient,
            slots=[
                services.SlotChoice(
                    practitioner=practitioner, kind=slot.kind, starts_at=slot.starts_at
                )
            ],
            by=patient.user,
        )


def test_a_taken_slot_cannot_be_proposed(
    patient, other_patient, practitioner, coordinator
):
    slot = free_slots(practitioner, after=timezone.now() + timedelta(days=2))[0]
    services.book_appointment(
        patient=other_patient,
        practitioner=practitioner,
        kind=slot.kind,
        starts_at=slot.starts_at,
        by=coordinator,
        via=Face.ADMIN,
    )

    with pytest.raises(ValidationError) as error:
        services.propose_slots(
            patient=patient,
            slots=[
                services.SlotChoice(
                    practitioner=practitioner, kind=slot.kind, starts_at=slot.starts_at
                )
            ],
            by=coordinator,
        )

    assert error_codes(error.value) == {"slot_unavailable"}


def test_picking_holds_then_confirming_books_and_answers_the_proposal(proposal):
    slot = proposal.slots.first()

    held = services.pick_proposed_slot(proposed_slot=slot, by=None, via=Face.LINK)
    assert held.state == Appointment.State.HELD
    booked = services.confirm_hold(appointment=held, by=None, via=Face.LINK)

    proposal.refresh_from_db()
    assert booked.state == Appointment.State.BOOKED
    assert proposal.state == SlotProposal.State.ACCEPTED
    assert proposal.appointment == booked


def test_picking_another_slot_releases_the_first_hold(proposal):
    first, second = list(proposal.slots.all())[:2]

    held = services.pick_proposed_slot(proposed_slot=first, by=None, via=Face.LINK)
    services.pick_proposed_slot(proposed_slot=second, by=None, via=Face.LINK)

    held.refresh_from_db()
    assert held.state == Appointment.State.EXPIRED
    assert (
        Appointment.objects.filter(
            proposed_slot__proposal=proposal, state=Appointment.State.HELD
        ).count()
        == 1
    )


def test_a_closed_proposal_cannot_be_picked(proposal, coordinator):
    services.withdraw_proposal(proposal=proposal, by=coordinator)

    with pytest.raises(ValidationError) as error:
        services.pick_proposed_slot(
            proposed_slot=proposal.slots.first(), by=None, via=Face.LINK
        )

    assert error_codes(error.value) == {"proposal_closed"}


def test_the_email_link_lets_the_patient_pick_and_confirm_without_signing_in(
    client, proposal
):
    url = path_of(
        links.url(
            "appointments:proposal-link", links.Purpose.PROPOSAL, proposal.public_id
        )
    )
    slot = proposal.slots.first()

    assert client.get(url).status_code == 200
    client.post(url, {"action": "pick", "slot": slot.pk})
    page = client.get(url)
    assert b"confirm" in page.content
    client.post(url, {"action": "confirm"})

    proposal.refresh_from_db()
    assert proposal.state == SlotProposal.State.ACCEPTED
    assert proposal.appointment.starts_at == slot.starts_at


def test_a_proposal_from_a_shortlist_carries_its_care_request(
    patient, practitioner, coordinator
):
    from specialists import services as directory

    request = CareRequestFactory(patient=patient, state=CareRequest.State.PROPOSED)
    shortlist = directory.create_shortlist(
        request_reference=request.reference, by=coordinator
    )
    slot = free_slots(practitioner, after=timezone.now() + timedelta(days=2))[0]

    proposal = services.propose_slots(
        patient=patient,
        shortlist=shortlist,
        slots=[
            services.SlotChoice(
                practitioner=practitioner, kind=slot.kind, starts_at=slot.starts_at
            )
        ],
        by=coordinator,
    )
    held = services.pick_proposed_slot(
        proposed_slot=proposal.slots.get(), by=patient.user, via=Face.PORTAL
    )
    services.confirm_hold(appointment=held, by=patient.user, via=Face.PORTAL)

    request.refresh_from_db()
    assert proposal.care_request == request
    assert request.state == CareRequest.State.SCHEDULED


# --- Waitlist -------------------------------------------------------------------------


def test_a_freed_slot_is_offered_in_order_to_patients_wanting_an_earlier_one(
    practitioner, coordinator, settings, django_capture_on_commit_callbacks
):
    settings.APPOINTMENT_WAITLIST_OFFER_BATCH = 2
    slots = free_slots(practitioner, after=timezone.now() + timedelta(days=2), days=10)

    def book(patient, slot):
        return services.book_appointment(
            patient=patient,
            practitioner=practitioner,
            kind=slot.kind,
            starts_at=slot.starts_at,
            by=coordinator,
            via=Face.ADMIN,
        )

    leaving = book(PatientFactory(consented=True), slots[3])
    # Already seen sooner than the freed slot: not offered a later one.
    early_bird = book(PatientFactory(consented=True), slots[1])
    services.join_waitlist(
        patient=early_bird.patient,
        practitioner=practitioner,
        kind=early_bird.consultation_kind,
        appointment=early_bird,
        by=coordinator,
    )
    waiting = [PatientFactory(consented=True) for _ in range(3)]
    for patient in waiting:
        services.join_waitlist(
            patient=patient,
            practitioner=practitioner,
            kind=leaving.consultation_kind,
            by=coordinator,
        )

    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_appointment(
            appointment=leaving, by=coordinator, via=Face.ADMIN, reason="Empêché"
        )

    offers = list(WaitlistOffer.objects.order_by("rank"))
    assert [offer.entry.patient for offer in offers] == waiting[:2]
    assert [offer.rank for offer in offers] == [1, 2]
    assert {offer.starts_at for offer in offers} == {leaving.starts_at}
    assert (
        Message.objects.filter(template="appointments/messages/waitlist_offer").count()
        == 4
    )


def test_accepting_an_offer_moves_the_patients_later_appointment(
    patient, practitioner, coordinator, django_capture_on_commit_callbacks
):
    slots = free_slots(practitioner, after=timezone.now() + timedelta(days=3), days=10)
    leaving = PatientFactory(consented=True)
    early = services.book_appointment(
        patient=leaving,
        practitioner=practitioner,
        kind=slots[0].kind,
        starts_at=slots[0].starts_at,
        by=coordinator,
        via=Face.ADMIN,
    )
    mine = services.book_appointment(
        patient=patient,
        practitioner=practitioner,
        kind=slots[-1].kind,
        starts_at=slots[-1].starts_at,
        by=patient.user,
        via=Face.PORTAL,
    )
    services.join_waitlist(
        patient=patient,
        practitioner=practitioner,
        kind=mine.consultation_kind,
        appointment=mine,
        by=patient.user,
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_appointment(
            appointment=early, by=coordinator, via=Face.ADMIN, reason="Empêché"
        )
    offer = WaitlistOffer.objects.get()

    moved = services.accept_offer(offer=offer, by=None, via=Face.LINK)

    mine.refresh_from_db()
    assert mine.state == Appointment.State.RESCHEDULED
    assert moved.starts_at == slots[0].starts_at
    assert moved.rescheduled_from == mine
    assert WaitlistEntry.objects.get().state == WaitlistEntry.State.FULFILLED


def test_an_expired_offer_cannot_be_accepted(patient, practitioner, coordinator):
    slot = free_slots(practitioner, after=timezone.now() + timedelta(days=3))[0]
    entry = services.join_waitlist(
        patient=patient, practitioner=practitioner, kind=slot.kind, by=patient.user
    )
    offer = WaitlistOffer.objects.create(
        entry=entry,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        place_id=slot.place_id,
        expires_at=timezone.now() - timedelta(minutes=1),
    )

    with pytest.raises(ValidationError) as error:
        services.accept_offer(offer=offer, by=None, via=Face.LINK)

    offer.refresh_from_db()
    assert error_codes(error.value) == {"offer_expired"}
    assert offer.state == WaitlistOffer.State.EXPIRED


def test_joining_twice_is_refused(patient, practitioner):
    services.join_waitlist(
        patient=patient, practitioner=practitioner, kind="first_visit", by=patient.user
    )

    with pytest.raises(ValidationError) as error:
        services.join_waitlist(
            patient=patient,
            practitioner=practitioner,
            kind="first_visit",
            by=patient.user,
        )

    assert error_codes(error.value) == {"already_waiting"}


def test_the_offer_link_accepts_the_slot(client, patient, practitioner):
    slot = free_slots(practitioner, after=timezone.now() + timedelta(days=3))[0]
    entry = services.join_waitlist(
        patient=patient, practitioner=practitioner, kind=slot.kind, by=patient.user
    )
    offer = WaitlistOffer.objects.create(
        entry=entry,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        place_id=slot.place_id,
        expires_at=timezone.now() + timedelta(hours=1),
    )
    url = path_of(links.url("appointments:offer", links.Purpose.OFFER, offer.public_id))

    assert client.get(url).status_code == 200
    response = client.post(url)

    assert response.status_code == 200
    offer.refresh_from_db()
    assert offer.state == WaitlistOffer.State.ACCEPTED
    assert offer.appointment.patient == patient

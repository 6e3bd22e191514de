"""A patient books a directory slot, confirms the hold, then cancels; another picks
a proposed slot from the email link without signing in."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from appointments import links, services
from appointments.models import Appointment, SlotProposal
from tests.appointments.factories import free_slots, open_practitioner
from tests.factories import UserFactory
from tests.patients.factories import PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [
            {
                "name": "sessionid",
                "value": client.cookies["sessionid"].value,
                "url": live_server.url,
            }
        ]
    )


def test_a_patient_books_a_directory_slot_then_cancels_it(page, live_server):
    practitioner = open_practitioner(minimum_notice_minutes=180)
    user = UserFactory(role="patient")
    patient = PatientFactory(user=user, email=user.email, consented=True)
    sign_in(page, live_server, user)

    page.goto(practitioner.get_absolute_url())
    page.locator("a.slot").first.click()
    page.get_by_role("button", name="Réserver ce créneau").click()
    page.get_by_role("heading", name="Confirmez votre rendez-vous").wait_for()
    page.get_by_role("button", name="Confirmer le rendez-vous").click()

    page.get_by_text("Votre rendez-vous est réservé").wait_for()
    appointment = Appointment.objects.get(patient=patient)
    assert appointment.state == Appointment.State.BOOKED

    page.get_by_text("Annuler ce rendez-vous").click()
    page.get_by_label("Pourquoi ?").fill("Un empêchement")
    page.get_by_role("button", name="Annuler le rendez-vous").click()

    page.get_by_text("Votre rendez-vous est annulé").wait_for()
    appointment.refresh_from_db()
    assert appointment.state in (
        Appointment.State.CANCELLED,
        Appointment.State.LATE_CANCELLED,
    )


def test_a_patient_picks_a_proposed_slot_from_the_email_link(page, live_server):
    coordinator = UserFactory(role="care_coordinator")
    practitioner = open_practitioner()
    patient = PatientFactory(consented=True)
    slots = free_slots(practitioner, after=timezone.now() + timedelta(days=3))[:3]
    proposal = services.propose_slots(
        patient=patient,
        slots=[
            services.SlotChoice(
                practitioner=practitioner, kind=slot.kind, starts_at=slot.starts_at
            )
            for slot in slots
        ],
        by=coordinator,
        message="Trois créneaux la semaine prochaine.",
    )
    url = links.url(
        "appointments:proposal-link", links.Purpose.PROPOSAL, proposal.public_id
    ).removeprefix("http://127.0.0.1:8000")

    page.goto(url)
    page.get_by_role("heading", name="Choisissez votre rendez-vous").wait_for()
    page.get_by_role("button", name="Choisir").nth(1).click()
    page.get_by_role("heading", name="Le créneau choisi").wait_for()
    page.get_by_role("button", name="Confirmer le rendez-vous").click()

    page.get_by_text(re.compile("Votre rendez-vous est réservé")).first.wait_for()
    proposal.refresh_from_db()
    assert proposal.state == SlotProposal.State.ACCEPTED
    assert proposal.appointment.starts_at == slots[1].starts_at

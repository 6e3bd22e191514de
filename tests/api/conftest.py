"""Data a partner may reach through the API, for the fuzzing and isolation proofs."""

from datetime import time

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from conciergerie.partners import services
from conciergerie.partners.models import EventType


@pytest.fixture
def all_scopes():
    return sorted(settings.API_SCOPES)


@pytest.fixture
def make_partner(partner_token, all_scopes, db):
    """An organisation, an application allowed every scope, and a token for it."""

    def make(name: str, kind: str = "clinic"):
        organisation = services.create_organisation(
            name=name, kind=kind, technical_email=f"it@{kind}.example.fr"
        )
        profile, _secret = services.create_application(
            organisation=organisation, name=f"{name} API", scopes=all_scopes
        )
        token = partner_token(profile.application, " ".join(all_scopes))
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.token}")
        return organisation, token.token, client

    return make


@pytest.fixture
def billing_catalogue(db):
    """The VAT rates and services come from a data migration that a transactional
    test's flush empties: put them back when they are missing."""
    from importlib import import_module

    from django.apps import apps

    from billing.models import VatRate

    if not VatRate.objects.exists():
        import_module("billing.migrations.0004_seed_catalogue").seed(apps, None)


@pytest.fixture
def partner_data(make_partner, billing_catalogue):
    """A clinic's own world: referred patients, a document, an invoice, a webhook
    subscription and a delivery, and a verified practitioner with hours."""
    from tests.billing.factories import CustomerFactory, issued_invoice
    from tests.patients.factories import DocumentFactory, PatientFactory
    from tests.specialists.factories import (
        OpeningHoursFactory,
        PracticePlaceFactory,
        PractitionerFactory,
    )

    organisation, token, client = make_partner("Clinique du Parc")
    user = organisation.service_user
    patient = PatientFactory(referred_by=user, consented=True)
    document = DocumentFactory(patient=patient, uploaded_by=user)
    customer = CustomerFactory(company=True, user=user, name="Clinique du Parc")
    invoice = issued_invoice(customer=customer)
    subscription, _ = services.subscribe(
        organisation=organisation,
        url="https://hooks.clinique-parc.example/conciergerie",
        event_types=[EventType.INVOICE_ISSUED],
    )
    event = services.publish_event(
        event_type=EventType.INVOICE_ISSUED,
        organisations=[organisation],
        payload={"id": str(invoice.public_id)},
    )
    claim = _claim_addressed_to(user, patient)
    care_request = _care_request_referred_by(user, patient)
    appointment = _appointment_of(patient)
    teleconsultation = _teleconsultation_of(patient)
    practitioner = PractitionerFactory(verified=True, specialties=["cardiology"])
    place = PracticePlaceFactory(practitioner=practitioner)
    OpeningHoursFactory(
        practitioner=practitioner,
        place=place,
        weekday=0,
        starts_at=time(9),
        ends_at=time(12),
    )
    return {
        "organisation": organisation,
        "token": token,
        "client": client,
        "patient": patient,
        "document": document,
        "invoice": invoice,
        "subscription": subscription,
        "delivery": event.deliveries.get(),
        "practitioner": practitioner,
        "claim": claim,
        "care_request": care_request,
        "appointment": appointment,
        "teleconsultation": teleconsultation,
    }


def _claim_addressed_to(user, patient):
    """A claim sent to the insurer whose partner account is `user`."""
    from conciergerie.accounts.roles import Role
    from tests.factories import UserFactory
    from tests.reimbursements.factories import InsurerFactory, sent_claim

    InsurerFactory(partner=user)
    claim = sent_claim(by=UserFactory(role=Role.CARE_COORDINATOR), patient=patient)
    assert claim.payer_partner_id == user.pk
    return claim


def _care_request_referred_by(user, patient):
    """A care request the partner referred (once care requests exist)."""
    from django.apps import apps

    try:
        apps.get_model("patients", "CareRequest")
    except LookupError:
        return None
    from tests.patients.factories import CareRequestFactory

    return CareRequestFactory(patient=patient, requested_by=user)


def _appointment_of(patient):
    """An appointment of the partner's referred patient."""
    from tests.appointments.factories import AppointmentFactory

    return AppointmentFactory(patient=patient)


def _teleconsultation_of(patient):
    """The video session of a teleconsultation of the partner's referred patient."""
    from tests.teleconsult.conftest import make_video_appointment

    return make_video_appointment(patient=patient, starts_in=60 * 24).teleconsultation

"""The events other apps publish today: document.added and invoice.issued."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from conciergerie.partners import services
from conciergerie.partners.models import EventType, WebhookEvent
from tests.billing.factories import CustomerFactory, issued_invoice
from tests.patients.factories import PDF_BYTES, PatientFactory


@pytest.fixture(autouse=True)
def vat_catalogue(db):
    from importlib import import_module

    from django.apps import apps

    from billing.models import VatRate

    if not VatRate.objects.exists():
        import_module("billing.migrations.0004_seed_catalogue").seed(apps, None)


def subscribe(organisation, receiver, *events):
    subscription, _secret = services.subscribe(
        organisation=organisation, url=receiver.url, event_types=list(events)
    )
    return subscription


def test_issuing_an_invoice_tells_the_organisation_it_is_addressed_to(
    clinic, laboratory, receiver, django_capture_on_commit_callbacks
):
    subscribe(clinic, receiver, EventType.INVOICE_ISSUED)
    subscribe(laboratory, receiver, EventType.INVOICE_ISSUED)
    customer = CustomerFactory(company=True, user=clinic.service_user)

    with django_capture_on_commit_callbacks(execute=True):
        invoice = issued_invoice(customer=customer)

    [request] = receiver.requests
    event = json.loads(request.body)
    assert event["type"] == "invoice.issued"
    assert event["data"]["id"] == str(invoice.public_id)
    assert event["data"]["number"] == invoice.number
    assert event["data"]["total"] == str(invoice.total)


def test_an_invoice_to_someone_else_tells_no_partner(clinic, receiver):
    subscribe(clinic, receiver, EventType.INVOICE_ISSUED)

    issued_invoice(customer=CustomerFactory(company=True))

    assert not WebhookEvent.objects.exists()


def test_a_laboratorys_upload_tells_the_laboratory_and_no_other_partner(
    laboratory, clinic, receiver, partner_token, django_capture_on_commit_callbacks
):
    subscribe(laboratory, receiver, EventType.DOCUMENT_ADDED)
    subscribe(clinic, receiver, EventType.DOCUMENT_ADDED)
    patient = PatientFactory(referred_by=laboratory.service_user, consented=True)
    profile, _ = services.create_application(
        organisation=laboratory, name="LIMS", scopes=["documents:write"]
    )
    token = partner_token(profile.application, "documents:write")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.token}")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/api/v1/patients/{patient.reference}/documents/",
            {
                "file": SimpleUploadedFile("nfs.pdf", PDF_BYTES, "application/pdf"),
                "kind": "results",
            },
            format="multipart",
        )

    assert response.status_code == 201
    [request] = receiver.requests
    event = json.loads(request.body)
    assert event["type"] == "document.added"
    assert event["data"] == {
        "id": response.json()["id"],
        "patient": patient.reference,
        "kind": "results",
    }

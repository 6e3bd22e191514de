"""Partner flows end to end over HTTP: a live server, a real HTTP client with an
OAuth2 token from /o/token/, and the partner's webhook endpoint on 127.0.0.1.

The clinic refers a patient and follows the request to the booked appointment
(the concierge's side moves it through the services, as the back-office does);
the laboratory sends results that land in the file, audited, with the concierge
told; the clinic reads the appointment as FHIR too.
"""

import json
import time
import uuid
from datetime import timedelta

import pytest
import requests
from django.core import mail
from django.utils import timezone

from appointments import services as appointments
from appointments.models import Appointment, Face
from conciergerie.accounts.roles import Role
from conciergerie.audit.models import AccessLog
from conciergerie.notifications.models import Message
from conciergerie.partners import services as partners
from conciergerie.partners import signing
from conciergerie.partners.models import Organisation
from patients.models import CareRequest, Document, Patient
from patients.services import care_requests
from tests.appointments.factories import free_slots, open_practitioner
from tests.factories import UserFactory
from tests.patients.factories import PDF_BYTES

pytestmark = pytest.mark.django_db(transaction=True)

CLINIC_SCOPES = [
    "patients:read",
    "patients:write",
    "care-requests:read",
    "care-requests:write",
    "appointments:read",
    "webhooks",
]


class Partner:
    """What a partner's integration holds: a session with a bearer token."""

    def __init__(self, base: str, client_id: str, secret: str, scopes: list[str]):
        answer = requests.post(
            f"{base}/o/token/",
            data={"grant_type": "client_credentials", "scope": " ".join(scopes)},
            auth=(client_id, secret),
            timeout=10,
        )
        answer.raise_for_status()
        assert set(answer.json()["scope"].split()) == set(scopes)
        self.base = base
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"

    def get(self, path: str, **params) -> requests.Response:
        return self.http.get(f"{self.base}{path}", params=params, timeout=10)

    def post(self, path: str, **kwargs) -> requests.Response:
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        return self.http.post(
            f"{self.base}{path}", headers=headers, timeout=10, **kwargs
        )


def application(organisation, scopes):
    profile, secret = partners.create_application(
        organisation=organisation, name="Intégration", scopes=scopes
    )
    return profile.client_id, secret


def poll(read, until, *, attempts=50):
    """Read until the answer satisfies `until`, as a partner's job would."""
    for _attempt in range(attempts):
        answer = read()
        if until(answer):
            return answer
        time.sleep(0.1)
    raise AssertionError(f"Never reached: last answer {answer!r}")


def events(receiver, secret):
    """The webhook requests received, each checked like the partner must."""
    received = []
    for request in receiver.requests:
        signing.verify(
            body=request.body,
            header=request.headers["X-Conciergerie-Signature"],
            secret=secret,
        )
        received.append(json.loads(request.body))
    return received


@pytest.fixture(autouse=True)
def local_hooks(settings):
    settings.WEBHOOK_REQUIRE_HTTPS = False
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True


@pytest.fixture
def staff(db):
    return (
        UserFactory(email="adviser@example.fr", role=Role.MEDICAL_ADVISER),
        UserFactory(email="coordinator@example.fr", role=Role.CARE_COORDINATOR),
    )


def test_a_clinic_refers_a_patient_and_follows_the_request_to_the_booked_appointment(
    live_server, receiver, staff
):
    adviser, coordinator = staff
    practitioner = open_practitioner()
    clinic = partners.create_organisation(
        name="Clinique du Parc", kind=Organisation.Kind.CLINIC
    )
    clinic_api = Partner(
        live_server.url, *application(clinic, CLINIC_SCOPES), CLINIC_SCOPES
    )

    # The clinic listens to its requests and their appointments.
    subscription = clinic_api.post(
        "/api/v1/webhooks/",
        json={
            "url": receiver.url,
            "event_types": ["care_request.state_changed", "appointment.booked"],
        },
    )
    assert subscription.status_code == 201, subscription.text
    webhook_secret = subscription.json()["secret"]

    # It refers the patient, then describes the need.
    patient = clinic_api.post(
        "/api/v1/patients/",
        json={
            "last_name": "Girard",
            "first_names": "Inès",
            "birth_date": "1995-10-04",
            "sex": "female",
            "email": "ines.girard@example.fr",
            "health_data_consent_collected": True,
        },
    )
    assert patient.status_code == 201, patient.text
    patient_reference = patient.json()["reference"]
    referral = clinic_api.post(
        "/api/v1/care-requests/",
        json={
            "patient": patient_reference,
            "need": "Palpitations à l'effort depuis deux semaines, bilan à faire.",
            "specialty": "cardiology",
            "partner_reference": "CDP-2026-118",
        },
    )
    assert referral.status_code == 201, referral.text
    request_reference = referral.json()["reference"]
    assert referral.json()["state"] == "received"

    # The concierge's side: qualify, search, propose by phone, book.
    care_request = CareRequest.objects.get(reference=request_reference)
    care_request = care_requests.qualify_care_request(
        care_request=care_request, by=adviser, specialty="cardiology", urgency="routine"
    )
    care_request = care_requests.start_search(care_request=care_request, by=coordinator)
    care_request = care_requests.propose_care_request(
        care_request=care_request,
        by=coordinator,
        comment="Dr proposé par téléphone, créneau accepté par la patiente.",
    )
    slot = free_slots(practitioner, after=timezone.now() + timedelta(days=3))[0]
    booked = appointments.book_appointment(
        patient=Patient.objects.get(reference=patient_reference),
        practitioner=practitioner,
        kind=slot.kind,
        starts_at=slot.starts_at,
        by=coordinator,
        via=Face.ADMIN,
        care_request=care_request,
    )

    # The clinic polls its request until it is scheduled, then reads the booking.
    followed = poll(
        lambda: clinic_api.get(f"/api/v1/care-requests/{request_reference}/").json(),
        lambda body: body["state"] == "scheduled",
    )
    assert followed["partner_reference"] == "CDP-2026-118"
    listed = clinic_api.get("/api/v1/appointments/", patient=patient_reference).json()
    [appointment] = listed["results"]
    assert appointment["id"] == str(booked.public_id)
    assert appointment["state"] == Appointment.State.BOOKED
    fhir = clinic_api.get("/fhir/r4/Appointment", patient=patient_reference)
    assert fhir.headers["Content-Type"].startswith("application/fhir+json")
    [entry] = fhir.json()["entry"]
    assert entry["resource"]["id"] == str(booked.public_id)
    assert entry["resource"]["status"] == "booked"

    # Every step reached the clinic's endpoint, signed with its secret.
    received = poll(
        lambda: events(receiver, webhook_secret),
        lambda got: any(event["type"] == "appointment.booked" for event in got),
    )
    states = [
        event["data"]["state"]
        for event in received
        if event["type"] == "care_request.state_changed"
    ]
    assert states[-4:] == ["qualified", "matching", "proposed", "scheduled"]
    [booked_event] = [e for e in received if e["type"] == "appointment.booked"]
    assert booked_event["data"]["appointment"] == str(booked.public_id)
    assert booked_event["data"]["patient"] == patient_reference
    assert len({event["id"] for event in received}) == len(received)


def test_a_laboratory_sends_results_to_the_file_and_the_concierge_is_told(
    live_server, receiver, staff
):
    adviser, coordinator = staff
    laboratory = partners.create_organisation(
        name="Laboratoire Pasteur Lyon",
        kind=Organisation.Kind.LABORATORY,
        technical_email="dsi@labo-pasteur.fr",
    )
    scopes = ["patients:write", "documents:write", "webhooks"]
    lab_api = Partner(live_server.url, *application(laboratory, scopes), scopes)
    subscription = lab_api.post(
        "/api/v1/webhooks/",
        json={"url": receiver.url, "event_types": ["document.added"]},
    )
    webhook_secret = subscription.json()["secret"]
    referred = lab_api.post(
        "/api/v1/patients/",
        json={
            "last_name": "Marchand",
            "first_names": "Paul",
            "birth_date": "1961-02-11",
            "sex": "male",
            "email": "paul.marchand@example.fr",
            "health_data_consent_collected": True,
        },
    )
    reference = referred.json()["reference"]
    patient = Patient.objects.get(reference=reference)
    patient.assigned_staff.add(coordinator)

    sent = lab_api.http.post(
        f"{live_server.url}/api/v1/patients/{reference}/documents/",
        files={"file": ("bilan.pdf", PDF_BYTES, "application/pdf")},
        data={"kind": "results", "title": "Bilan lipidique", "source": "Pasteur Lyon"},
        headers={"Idempotency-Key": str(uuid.uuid4())},
        timeout=10,
    )

    assert sent.status_code == 201, sent.text
    document = Document.objects.get(pk=sent.json()["id"])
    assert document.patient == patient
    assert document.kind == "results"
    # Audited as the laboratory's account.
    assert AccessLog.objects.filter(
        patient_ref=reference,
        action=AccessLog.Action.CREATE,
        object_id=str(document.pk),
    ).exists()
    # The concierge in charge of the file is told, through the outbox.
    [message] = Message.objects.filter(template="patients/email/document_received")
    assert message.to == coordinator.email
    assert message.context["patient_reference"] == reference
    assert message.context["sender"] == "Laboratoire Pasteur Lyon"
    poll(lambda: [m.to for m in mail.outbox], lambda to: [coordinator.email] in to)
    # The laboratory hears of its own document, signed.
    [event] = poll(lambda: events(receiver, webhook_secret), bool)
    assert event["type"] == "document.added"
    assert event["data"] == {
        "id": str(document.pk),
        "patient": reference,
        "kind": "results",
    }


def test_a_laboratory_without_consent_sends_nothing(live_server, staff):
    laboratory = partners.create_organisation(
        name="Laboratoire Bio", kind=Organisation.Kind.LABORATORY
    )
    scopes = ["documents:write"]
    lab_api = Partner(live_server.url, *application(laboratory, scopes), scopes)
    stranger = UserFactory(email="x@example.fr", role=Role.PATIENT)
    from tests.patients.factories import PatientFactory

    patient = PatientFactory(user=stranger, consented=True)

    sent = lab_api.http.post(
        f"{live_server.url}/api/v1/patients/{patient.reference}/documents/",
        files={"file": ("bilan.pdf", PDF_BYTES, "application/pdf")},
        data={"kind": "results"},
        headers={"Idempotency-Key": str(uuid.uuid4())},
        timeout=10,
    )

    assert sent.status_code == 404
    assert not Document.objects.filter(patient=patient).exists()
    assert not Message.objects.filter(
        template="patients/email/document_received"
    ).exists()


def test_an_insurer_answers_a_claim_and_hears_of_each_step(
    live_server, receiver, staff
):
    from reimbursements.models import Claim, SendingMethod
    from tests.reimbursements.factories import InsurerFactory, sent_claim

    _adviser, coordinator = staff
    insurer = partners.create_organisation(
        name="Harmonie Mutuelle", kind=Organisation.Kind.INSURER
    )
    InsurerFactory(partner=insurer.service_user)
    scopes = ["claims:read", "claims:write", "webhooks"]
    insurer_api = Partner(live_server.url, *application(insurer, scopes), scopes)
    subscription = insurer_api.post(
        "/api/v1/webhooks/",
        json={"url": receiver.url, "event_types": ["claim.updated"]},
    )
    webhook_secret = subscription.json()["secret"]
    claim = sent_claim(by=coordinator, via=SendingMethod.EMAIL)

    listed = insurer_api.get("/api/v1/claims/").json()["results"]
    acknowledged = insurer_api.post(
        f"/api/v1/claims/{claim.public_id}/acknowledge/",
        json={"file_number": "HM-117733"},
    )
    paid = insurer_api.post(
        f"/api/v1/claims/{claim.public_id}/pay/",
        json={"amount": str(claim.amount_expected)},
    )

    assert [row["id"] for row in listed] == [str(claim.public_id)]
    assert acknowledged.status_code == 200, acknowledged.text
    assert paid.status_code == 200, paid.text
    assert paid.json()["state"] == "paid"
    assert Claim.objects.get(pk=claim.pk).state == "paid"
    received = poll(
        lambda: events(receiver, webhook_secret),
        lambda got: any(event["data"]["state"] == "paid" for event in got),
    )
    assert [event["type"] for event in received] == ["claim.updated"] * len(received)
    assert received[-1]["data"]["reference"] == claim.reference

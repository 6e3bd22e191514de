"""The insurers' claims API over real HTTP: isolation, scopes, answers, errors."""

from decimal import Decimal as D

import pytest

from conciergerie.audit.models import AccessLog
from reimbursements.models import Claim, ClaimEvent, SendingMethod
from tests.factories import ApplicationFactory
from tests.patients.factories import PDF_BYTES
from tests.reimbursements.factories import InsurerFactory, draft_claim, sent_claim

pytestmark = pytest.mark.django_db

URL = "/api/v1/claims/"


@pytest.fixture
def harmonie(db):
    """An insurer's application, and the directory entry that points at it."""
    application = ApplicationFactory(name="Harmonie Mutuelle API")
    InsurerFactory(partner=application.user)
    return application


@pytest.fixture
def mgen(db):
    application = ApplicationFactory(name="MGEN API")
    InsurerFactory(
        name="MGEN",
        claims_email="prestations@mgen.example.fr",
        partner=application.user,
    )
    return application


def client_for(
    api_client, partner_token, application, scopes="claims:read claims:write"
):
    token = partner_token(application, scopes)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.token}")
    return api_client


@pytest.fixture
def claim(coordinator, harmonie):
    return sent_claim(by=coordinator, via=SendingMethod.EMAIL)


def test_without_a_token_the_api_answers_401(api_client, claim):
    response = api_client.get(URL)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_a_token_without_the_claims_scope_is_refused(
    api_client, partner_token, harmonie, claim
):
    client = client_for(api_client, partner_token, harmonie, "invoices:read")

    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}{claim.public_id}/").status_code == 403


def test_reading_is_not_answering_a_claim(api_client, partner_token, harmonie, claim):
    client = client_for(api_client, partner_token, harmonie, "claims:read")

    response = client.post(f"{URL}{claim.public_id}/pay/", {"amount": "10"})

    assert response.status_code == 403
    assert Claim.objects.get(pk=claim.pk).amount_received == 0


def test_an_insurer_lists_only_the_claims_sent_to_it(
    api_client, partner_token, coordinator, harmonie, mgen, claim
):
    draft = draft_claim(by=coordinator)  # addressed to Harmonie, not sent yet
    other = sent_claim(by=coordinator)
    Claim.objects.filter(pk=other.pk).update(payer_partner=mgen.user)
    client = client_for(api_client, partner_token, harmonie)

    response = client.get(URL)

    assert response.status_code == 200
    ids = [row["id"] for row in response.json()["results"]]
    assert ids == [str(claim.public_id)]
    assert str(draft.public_id) not in ids
    assert (
        AccessLog.objects.filter(
            actor=harmonie.user, object_id=claim.reference, action=AccessLog.Action.READ
        ).count()
        == 1
    )
    row = response.json()["results"][0]
    assert row["payer"]["contract_number"] == "HM-2026-0042"
    assert row["beneficiary"]["reference"] == claim.patient.reference
    assert (row["amount_expected"], row["amount_received"]) == ("37.95", "0.00")
    assert [document["kind"] for document in row["documents"]] == ["care_sheet"]


def test_another_insurers_claim_is_not_found(
    api_client, partner_token, coordinator, harmonie, mgen, claim
):
    client = client_for(api_client, partner_token, mgen)

    read = client.get(f"{URL}{claim.public_id}/")
    pay = client.post(f"{URL}{claim.public_id}/pay/", {"amount": "37.95"})
    document = claim.attachments.get().document
    download = client.get(f"{URL}{claim.public_id}/documents/{document.pk}/")

    assert (read.status_code, pay.status_code, download.status_code) == (404, 404, 404)
    assert read.json()["code"] == "not_found"
    assert Claim.objects.get(pk=claim.pk).state == Claim.State.SENT


def test_reading_a_claim_is_in_the_patients_access_log(
    api_client, partner_token, harmonie, claim
):
    client = client_for(api_client, partner_token, harmonie)

    response = client.get(f"{URL}{claim.public_id}/")

    assert response.status_code == 200
    entry = AccessLog.objects.filter(patient_ref=claim.patient.reference).latest("pk")
    assert (entry.actor, entry.action, entry.object_id, entry.face) == (
        harmonie.user,
        AccessLog.Action.READ,
        claim.reference,
        AccessLog.Face.API,
    )


def test_the_insurer_downloads_a_document_and_the_download_is_logged(
    api_client, partner_token, harmonie, claim
):
    client = client_for(api_client, partner_token, harmonie)
    document = claim.attachments.get().document

    response = client.get(f"{URL}{claim.public_id}/documents/{document.pk}/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content == PDF_BYTES
    assert AccessLog.objects.filter(
        actor=harmonie.user,
        action=AccessLog.Action.DOWNLOAD,
        object_id=str(document.pk),
    ).exists()


def test_the_insurer_acknowledges_then_pays_in_two_instalments(
    api_client, partner_token, harmonie, claim, mailoutbox
):
    client = client_for(api_client, partner_token, harmonie)

    acknowledged = client.post(
        f"{URL}{claim.public_id}/acknowledge/", {"file_number": "HM-117733"}
    )
    partly = client.post(f"{URL}{claim.public_id}/pay/", {"amount": "20.00"})
    settled = client.post(f"{URL}{claim.public_id}/pay/", {"amount": "17.95"})

    assert acknowledged.status_code == 200
    assert acknowledged.json()["state"] == "acknowledged"
    assert acknowledged.json()["payer"]["file_number"] == "HM-117733"
    assert partly.json()["state"] == "partially_paid"
    assert partly.json()["discrepancy_flagged"] is True
    body = settled.json()
    assert (body["state"], body["amount_received"], body["amount_outstanding"]) == (
        "paid",
        "37.95",
        "0.00",
    )
    assert body["discrepancy_flagged"] is False
    assert [event["event"] for event in body["history"]][-3:] == [
        "acknowledged",
        "payment",
        "payment",
    ]
    payment = claim.events.filter(kind=ClaimEvent.Kind.PAYMENT).first()
    assert (payment.by, payment.by_label) == (harmonie.user, "Harmonie Mutuelle")


def test_the_insurer_rejects_with_a_reason(api_client, partner_token, harmonie, claim):
    client = client_for(api_client, partner_token, harmonie)

    response = client.post(
        f"{URL}{claim.public_id}/reject/", {"reason": "Contrat résilié"}
    )

    assert response.status_code == 200
    assert (response.json()["state"], response.json()["rejection_reason"]) == (
        "rejected",
        "Contrat résilié",
    )


@pytest.mark.parametrize(
    ("action", "body", "field", "code"),
    [
        ("pay", {}, "amount", "required"),
        ("pay", {"amount": "-5"}, "amount", "min_value"),
        ("pay", {"amount": "douze"}, "amount", "invalid"),
        ("pay", {"amount": "1000"}, "amount", "amount_over_charged"),
        ("reject", {}, "reason", "required"),
        ("reject", {"reason": ""}, "reason", "blank"),
        ("acknowledge", {"file_number": "x" * 65}, "file_number", "max_length"),
    ],
)
def test_bad_input_is_a_400_with_the_shared_error_shape(
    api_client, partner_token, harmonie, claim, action, body, field, code
):
    client = client_for(api_client, partner_token, harmonie)

    response = client.post(f"{URL}{claim.public_id}/{action}/", body)

    assert response.status_code == 400
    payload = response.json()
    assert payload["code"] == "invalid"
    assert payload["fields"][field][0]["code"] == code
    assert Claim.objects.get(pk=claim.pk).state == Claim.State.SENT


def test_answering_a_claim_in_the_wrong_state_is_a_400_with_its_code(
    api_client, partner_token, coordinator, harmonie, claim
):
    from reimbursements import services

    services.record_claim_payment(claim=claim, by=coordinator, amount=D("37.95"))
    client = client_for(api_client, partner_token, harmonie)

    pay = client.post(f"{URL}{claim.public_id}/pay/", {"amount": "1"})
    acknowledge = client.post(f"{URL}{claim.public_id}/acknowledge/", {})

    assert pay.status_code == acknowledge.status_code == 400
    assert pay.json()["code"] == "not_payable"
    assert acknowledge.json()["code"] == "not_acknowledgeable"


def test_filters_by_state_and_refuses_an_unknown_one(
    api_client, partner_token, coordinator, harmonie, claim
):
    from reimbursements import services

    paid = sent_claim(by=coordinator)
    services.record_claim_payment(claim=paid, by=coordinator, amount=D("37.95"))
    client = client_for(api_client, partner_token, harmonie)

    only_paid = client.get(URL, {"state": "paid"})
    unknown = client.get(URL, {"state": "lost"})

    assert [row["id"] for row in only_paid.json()["results"]] == [str(paid.public_id)]
    assert unknown.status_code == 400
    assert unknown.json()["fields"]["state"][0]["code"] == "invalid_choice"


def test_a_patient_signed_in_reads_their_claim_but_cannot_answer_it(
    api_client, coordinator, patient, harmonie
):
    claim = sent_claim(by=coordinator, patient=patient)
    api_client.force_authenticate(patient.user)

    read = api_client.get(f"{URL}{claim.public_id}/")
    pay = api_client.post(f"{URL}{claim.public_id}/pay/", {"amount": "37.95"})

    assert read.status_code == 200
    assert pay.status_code == 403
    assert Claim.objects.get(pk=claim.pk).amount_received == 0


def test_the_schema_documents_the_claims_endpoints(api_client):
    response = api_client.get("/api/v1/schema/", {"format": "json"})

    paths = response.json()["paths"]
    assert set(paths["/api/v1/claims/{id}/pay/"]) >= {"post"}
    pay = paths["/api/v1/claims/{id}/pay/"]["post"]
    assert pay["security"][0]["oauth2"] == ["claims:write"]
    assert {"200", "400", "401", "403", "404"} <= set(pay["responses"])
    assert "Paid in full" in str(pay["requestBody"])
    assert "/api/v1/claims/{id}/acknowledge/" in paths
    assert "/api/v1/claims/{id}/reject/" in paths
    assert paths["/api/v1/claims/"]["get"]["security"][0]["oauth2"] == ["claims:read"]

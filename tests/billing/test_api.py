"""Partner API: invoices addressed to the partner, read-only, scoped."""

from datetime import date

import facturx
import pytest

from billing import services
from tests.billing.factories import CustomerFactory, issued_invoice


@pytest.fixture
def insurer_invoice(partner_client):
    customer = CustomerFactory(insurer=True, user=partner_client.user)
    return issued_invoice(customer, on=date(2026, 5, 4))


@pytest.fixture
def token(partner_client, partner_token):
    return partner_token(partner_client, "invoices:read").token


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_a_partner_lists_the_invoices_addressed_to_it(
    api_client, insurer_invoice, token
):
    issued_invoice(CustomerFactory(company=True))  # someone else's

    response = api_client.get("/api/v1/invoices/", **bearer(token))

    assert response.status_code == 200
    results = response.json()["results"]
    assert [item["id"] for item in results] == [str(insurer_invoice.public_id)]
    item = results[0]
    assert item["number"] == "FA-2026-000001"
    assert item["total"] == "58.80"
    assert item["balance"] == "58.80"
    assert item["buyer"]["siren"] == "775685019"
    assert item["lines"][0]["vat_rate"] == "20.00"
    assert item["pdf_url"].endswith(
        f"/api/v1/invoices/{insurer_invoice.public_id}/pdf/"
    )


def test_a_partner_reads_one_invoice_with_its_credit_notes(
    api_client, insurer_invoice, token
):
    services.create_credit_note(invoice=insurer_invoice, reason="Erreur de taux")

    response = api_client.get(
        f"/api/v1/invoices/{insurer_invoice.public_id}/", **bearer(token)
    )

    body = response.json()
    assert response.status_code == 200
    assert body["state"] == "cancelled"
    assert body["credit_notes"][0]["number"] == "AV-2026-000001"


def test_the_list_filters_by_state_and_issue_date(api_client, insurer_invoice, token):
    other = issued_invoice(insurer_invoice.customer, on=date(2026, 6, 1))
    services.record_payment(invoice=other, amount=other.total, method="bank_transfer")

    paid = api_client.get("/api/v1/invoices/?state=paid", **bearer(token)).json()
    may = api_client.get(
        "/api/v1/invoices/?issued_from=2026-05-01&issued_to=2026-05-31", **bearer(token)
    ).json()

    assert [item["number"] for item in paid["results"]] == [other.number]
    assert [item["number"] for item in may["results"]] == [insurer_invoice.number]


def test_a_bad_date_filter_is_a_400_with_the_field(api_client, token, db):
    response = api_client.get(
        "/api/v1/invoices/?issued_from=yesterday", **bearer(token)
    )

    assert response.status_code == 400
    assert "issued_from" in response.json()["fields"]


def test_a_partner_downloads_the_factur_x_pdf(api_client, insurer_invoice, token):
    response = api_client.get(
        f"/api/v1/invoices/{insurer_invoice.public_id}/pdf/",
        HTTP_ACCEPT="application/pdf",
        **bearer(token),
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    filename, xml = facturx.get_xml_from_pdf(response.content, check_xsd=True)
    assert insurer_invoice.number.encode() in xml


def test_a_partner_downloads_the_cii_xml(api_client, insurer_invoice, token):
    response = api_client.get(
        f"/api/v1/invoices/{insurer_invoice.public_id}/xml/", **bearer(token)
    )

    assert response.status_code == 200
    assert facturx.xml_check_xsd(response.content, flavor="factur-x", level="en16931")


@pytest.mark.parametrize("suffix", ["", "pdf/", "xml/"])
def test_another_partners_invoice_answers_404(
    api_client, partner_token, insurer_invoice, suffix, db
):
    from tests.factories import ApplicationFactory

    other = ApplicationFactory(name="Autre assureur")
    token = partner_token(other, "invoices:read").token

    response = api_client.get(
        f"/api/v1/invoices/{insurer_invoice.public_id}/{suffix}", **bearer(token)
    )

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_without_a_token_the_api_answers_401(api_client, insurer_invoice):
    response = api_client.get(f"/api/v1/invoices/{insurer_invoice.public_id}/pdf/")

    assert response.status_code == 401


def test_a_token_without_the_invoices_scope_is_403(
    api_client, partner_client, partner_token, insurer_invoice
):
    token = partner_token(partner_client, "profile claims:read").token

    response = api_client.get("/api/v1/invoices/", **bearer(token))

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_the_api_is_read_only(api_client, token, insurer_invoice):
    response = api_client.post("/api/v1/invoices/", {}, **bearer(token))

    assert response.status_code in (403, 405)


def test_drafts_never_reach_the_api(api_client, partner_client, token):
    from tests.billing.factories import draft_invoice

    draft = draft_invoice(CustomerFactory(insurer=True, user=partner_client.user))

    response = api_client.get(f"/api/v1/invoices/{draft.public_id}/", **bearer(token))

    assert response.status_code == 404


def test_the_schema_documents_the_invoice_endpoints(api_client, db):
    response = api_client.get("/api/v1/schema/", HTTP_ACCEPT="application/json")

    paths = response.json()["paths"]
    assert "/api/v1/invoices/{id}/pdf/" in paths
    assert (
        "application/pdf"
        in paths["/api/v1/invoices/{id}/pdf/"]["get"]["responses"]["200"]["content"]
    )


def test_an_invoice_names_the_patient_by_reference(api_client, partner_client, token):
    from tests.patients.factories import PatientFactory

    patient = PatientFactory()
    customer = CustomerFactory(insurer=True, user=partner_client.user)
    invoice = issued_invoice(customer, patient=patient)

    response = api_client.get(f"/api/v1/invoices/{invoice.public_id}/", **bearer(token))

    assert response.json()["patient_reference"] == patient.reference

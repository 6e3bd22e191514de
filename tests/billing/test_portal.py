"""The patient portal: quotes to decide, invoices to download, what is due."""

from decimal import Decimal

import facturx
import pytest

from billing import services
from billing.models import Quote
from tests.billing.factories import CustomerFactory, issued_invoice, lines
from tests.factories import UserFactory

D = Decimal


@pytest.fixture
def sent_quote(patient_customer):
    quote = services.create_quote(
        customer=patient_customer, lines=lines(("Accompagnement", 2, "45.00"))
    )
    return services.send_quote(quote=quote)


def test_the_billing_page_shows_what_is_due(client, patient_user, patient_customer):
    invoice = issued_invoice(patient_customer)
    services.record_payment(invoice=invoice, amount=D("8.80"), method="cheque")
    client.force_login(patient_user)

    response = client.get("/billing/")

    assert response.status_code == 200
    assert response.context["total_due"] == D("50.00")
    assert list(response.context["outstanding"]) == [invoice]
    assert invoice.number in response.content.decode()


def test_the_billing_page_needs_a_login(client, db):
    response = client.get("/billing/")

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_a_patient_accepts_a_quote_from_the_portal(client, patient_user, sent_quote):
    client.force_login(patient_user)

    response = client.post(
        f"/billing/quotes/{sent_quote.public_id}/accept/",
        HTTP_USER_AGENT="Mozilla/5.0 (test)",
        REMOTE_ADDR="198.51.100.4",
    )

    assert response.status_code == 302
    sent_quote.refresh_from_db()
    assert sent_quote.state == Quote.State.ACCEPTED
    assert sent_quote.decided_by == patient_user
    assert sent_quote.decision_ip == "198.51.100.4"
    assert sent_quote.decision_user_agent == "Mozilla/5.0 (test)"


def test_a_patient_refuses_a_quote_with_a_reason(client, patient_user, sent_quote):
    client.force_login(patient_user)

    client.post(
        f"/billing/quotes/{sent_quote.public_id}/refuse/", {"reason": "Trop cher"}
    )

    sent_quote.refresh_from_db()
    assert sent_quote.state == Quote.State.REFUSED
    assert sent_quote.refusal_reason == "Trop cher"


def test_accepting_twice_shows_a_message_not_an_error(client, patient_user, sent_quote):
    client.force_login(patient_user)
    url = f"/billing/quotes/{sent_quote.public_id}/accept/"
    client.post(url)

    response = client.post(url, follow=True)

    assert response.status_code == 200
    assert [m.level_tag for m in response.context["messages"]][-1] == "error"


def test_a_quote_page_and_pdf_open_for_its_patient(client, patient_user, sent_quote):
    client.force_login(patient_user)

    page = client.get(f"/billing/quotes/{sent_quote.public_id}/")
    document = client.get(f"/billing/quotes/{sent_quote.public_id}/pdf/")

    assert page.status_code == 200
    assert document.status_code == 200
    assert document["Content-Type"] == "application/pdf"
    assert document.content.startswith(b"%PDF")


def test_an_invoice_downloads_as_factur_x(client, patient_user, patient_customer):
    invoice = issued_invoice(patient_customer)
    client.force_login(patient_user)

    response = client.get(f"/billing/invoices/{invoice.public_id}/pdf/")

    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="{invoice.number}.pdf"'
    )
    filename, xml = facturx.get_xml_from_pdf(response.content, check_xsd=True)
    assert filename == "factur-x.xml"
    assert invoice.number.encode() in xml


@pytest.mark.parametrize(
    "path",
    [
        "/billing/quotes/{quote}/",
        "/billing/quotes/{quote}/pdf/",
        "/billing/invoices/{invoice}/",
        "/billing/invoices/{invoice}/pdf/",
        "/billing/credit-notes/{credit_note}/pdf/",
    ],
)
def test_another_patients_documents_answer_404(
    client, other_patient_user, patient_customer, sent_quote, path
):
    invoice = issued_invoice(patient_customer)
    credit_note = services.create_credit_note(invoice=invoice, reason="Erreur")
    client.force_login(other_patient_user)

    response = client.get(
        path.format(
            quote=sent_quote.public_id,
            invoice=invoice.public_id,
            credit_note=credit_note.public_id,
        )
    )

    assert response.status_code == 404


def test_another_patient_cannot_accept_my_quote(client, other_patient_user, sent_quote):
    client.force_login(other_patient_user)

    response = client.post(f"/billing/quotes/{sent_quote.public_id}/accept/")

    assert response.status_code == 404
    sent_quote.refresh_from_db()
    assert sent_quote.state == Quote.State.SENT


def test_drafts_stay_invisible_in_the_portal(client, patient_user, patient_customer):
    from tests.billing.factories import draft_invoice

    draft = draft_invoice(patient_customer)
    client.force_login(patient_user)

    assert client.get(f"/billing/invoices/{draft.public_id}/").status_code == 404
    assert draft not in client.get("/billing/").context["invoices"]


def test_accepting_needs_a_post(client, patient_user, sent_quote):
    client.force_login(patient_user)

    response = client.get(f"/billing/quotes/{sent_quote.public_id}/accept/")

    assert response.status_code == 405


def test_a_company_invoice_is_not_shown_to_a_patient(client, patient_user):
    issued_invoice(CustomerFactory(company=True))
    client.force_login(patient_user)

    response = client.get("/billing/")

    assert list(response.context["invoices"]) == []


# --- Documents about a patient's care ----------------------------------------------


def test_a_guardian_sees_the_invoices_about_their_child(client, db):
    from tests.patients.factories import GuardianshipFactory

    guardianship = GuardianshipFactory()
    payer = CustomerFactory(user=None, email="")  # e.g. the other parent
    invoice = issued_invoice(payer, patient=guardianship.patient)
    client.force_login(guardianship.guardian)

    listing = client.get("/billing/")
    detail = client.get(f"/billing/invoices/{invoice.public_id}/")

    assert list(listing.context["invoices"]) == [invoice]
    assert detail.status_code == 200


def test_the_patient_sees_an_invoice_about_them_paid_by_their_employer(client, db):
    from tests.patients.factories import PatientFactory

    employee = PatientFactory(user=UserFactory(role="patient"))
    invoice = issued_invoice(CustomerFactory(company=True), patient=employee)
    client.force_login(employee.user)

    response = client.get(f"/billing/invoices/{invoice.public_id}/")

    assert response.status_code == 200


def test_an_ended_guardianship_closes_the_childs_invoices(client, db):
    from django.utils import timezone

    from tests.patients.factories import GuardianshipFactory

    guardianship = GuardianshipFactory(ended_at=timezone.now())
    invoice = issued_invoice(CustomerFactory(user=None), patient=guardianship.patient)
    client.force_login(guardianship.guardian)

    response = client.get(f"/billing/invoices/{invoice.public_id}/")

    assert response.status_code == 404


def test_the_pdf_names_the_patient_by_reference_only(db, tmp_path):
    from billing import pdf
    from tests.billing.test_documents import pdf_text
    from tests.patients.factories import PatientFactory

    patient = PatientFactory(last_name="Durandal")
    invoice = issued_invoice(CustomerFactory(company=True), patient=patient)

    text = pdf_text(pdf.render_pdf(invoice, language="fr"), tmp_path)

    assert f"Patient {patient.reference}" in text
    assert "Durandal" not in text


def test_staff_without_billing_rights_see_no_invoice_in_the_portal(client, adviser):
    issued_invoice()
    client.force_login(adviser)

    response = client.get("/billing/")

    assert list(response.context["invoices"]) == []


def test_a_billing_manager_sees_every_invoice(client, manager):
    invoice = issued_invoice()
    client.force_login(manager)

    response = client.get(f"/billing/invoices/{invoice.public_id}/")

    assert response.status_code == 200

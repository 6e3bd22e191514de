"""The back-office wiring: editors, actions, read-only issued invoices, exports."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import translation
from django.utils.translation import gettext

from billing import services
from billing.models import CreditNote, Invoice, Payment
from tests.billing.factories import CustomerFactory, draft_invoice, issued_invoice

D = Decimal


@pytest.fixture
def manager_client(staff_client, manager):
    return staff_client(manager)


def test_a_manager_issues_drafts_with_the_admin_action(manager_client, manager):
    invoice = draft_invoice()

    response = manager_client.post(
        "/admin/billing/invoice/",
        {"action": "issue", "_selected_action": [invoice.pk]},
        follow=True,
    )

    assert response.status_code == 200
    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.ISSUED
    assert invoice.issued_by == manager


def test_an_issued_invoice_shows_no_editable_field(manager_client):
    invoice = issued_invoice()

    response = manager_client.get(f"/admin/billing/invoice/{invoice.pk}/change/")

    assert response.status_code == 200
    assert list(response.context["adminform"].form.fields) == []
    inline = response.context["inline_admin_formsets"][0]
    assert not inline.has_add_permission
    assert not inline.has_delete_permission
    assert "Issue a credit note" in response.content.decode() or (
        "Émettre un avoir" in response.content.decode()
    )


def test_posting_to_an_issued_invoice_changes_nothing(manager_client):
    invoice = issued_invoice()

    manager_client.post(
        f"/admin/billing/invoice/{invoice.pk}/change/",
        {"notes": "changed", "reference": "X"},
    )

    invoice.refresh_from_db()
    assert invoice.notes == ""
    assert invoice.reference == ""


def test_an_issued_invoice_cannot_be_deleted_in_the_admin(manager_client):
    invoice = issued_invoice()

    response = manager_client.post(
        f"/admin/billing/invoice/{invoice.pk}/delete/", {"post": "yes"}
    )

    assert response.status_code == 403
    assert Invoice.objects.filter(pk=invoice.pk).exists()


def test_a_draft_is_edited_with_its_lines_and_totals_follow(manager_client):
    invoice = draft_invoice()
    line = invoice.lines.get()
    prefix = "lines"
    data = {
        "customer": invoice.customer_id,
        "reference": "D-ABC123",
        "service_date": "",
        "due_date": "",
        "notes": "",
        f"{prefix}-TOTAL_FORMS": "1",
        f"{prefix}-INITIAL_FORMS": "1",
        f"{prefix}-0-id": line.pk,
        f"{prefix}-0-invoice": invoice.pk,
        f"{prefix}-0-position": "10",
        f"{prefix}-0-description": line.description,
        f"{prefix}-0-quantity": "3",
        f"{prefix}-0-unit": "unit",
        f"{prefix}-0-unit_price_excl_vat": "49.00",
        f"{prefix}-0-vat_category": "standard",
        f"{prefix}-0-vat_rate": "20.00",
        "payments-TOTAL_FORMS": "0",
        "payments-INITIAL_FORMS": "0",
        "credit_notes-TOTAL_FORMS": "0",
        "credit_notes-INITIAL_FORMS": "0",
    }

    response = manager_client.post(f"/admin/billing/invoice/{invoice.pk}/change/", data)

    assert response.status_code == 302, response.context["errors"]
    invoice.refresh_from_db()
    assert invoice.reference == "D-ABC123"
    assert invoice.total == D("176.40")


def test_a_payment_is_recorded_from_the_invoice_page(manager_client, manager):
    invoice = issued_invoice()

    response = manager_client.post(
        f"/admin/billing/invoice/{invoice.pk}/pay/",
        {
            "amount": "20.00",
            "method": "cheque",
            "received_on": "2026-05-02",
            "reference": "CHQ 1234567",
        },
    )

    assert response.status_code == 302
    payment = Payment.objects.get()
    assert (payment.amount, payment.method, payment.recorded_by) == (
        D("20.00"),
        "cheque",
        manager,
    )


def test_an_overpayment_shows_the_error_on_the_form(manager_client):
    invoice = issued_invoice()

    response = manager_client.post(
        f"/admin/billing/invoice/{invoice.pk}/pay/",
        {"amount": "999", "method": "card", "received_on": "2026-05-02"},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["amount"]
    assert not Payment.objects.exists()


def test_a_partial_credit_note_is_issued_from_the_invoice_page(manager_client):
    invoice = issued_invoice()
    line = invoice.lines.get()

    response = manager_client.post(
        f"/admin/billing/invoice/{invoice.pk}/credit/",
        {"reason": "Geste commercial", f"line_{line.pk}": "9.00"},
    )

    assert response.status_code == 302
    credit_note = CreditNote.objects.get()
    assert credit_note.total == D("10.80")


def test_the_full_credit_action_cancels_the_invoice(manager_client):
    invoice = issued_invoice()

    manager_client.post(
        "/admin/billing/invoice/",
        {"action": "credit_in_full", "_selected_action": [invoice.pk]},
    )

    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.CANCELLED


@pytest.mark.parametrize("suffix", ["pdf/", "facturx/"])
def test_documents_download_from_the_admin(manager_client, suffix):
    invoice = issued_invoice()

    response = manager_client.get(f"/admin/billing/invoice/{invoice.pk}/{suffix}")

    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")


def test_credit_notes_and_payments_are_read_only_in_the_admin(manager_client):
    invoice = issued_invoice()
    services.record_payment(invoice=invoice, amount=D("10"), method="card")
    credit_note = services.create_credit_note(invoice=invoice, reason="Erreur")

    assert manager_client.get("/admin/billing/payment/add/").status_code == 403
    assert manager_client.get("/admin/billing/creditnote/add/").status_code == 403
    page = manager_client.get(f"/admin/billing/creditnote/{credit_note.pk}/change/")
    assert page.status_code == 200
    assert list(page.context["adminform"].form.fields) == []
    pdf = manager_client.get(f"/admin/billing/creditnote/{credit_note.pk}/pdf/")
    assert pdf.content.startswith(b"%PDF")


def test_a_quote_is_sent_and_invoiced_from_the_admin(manager_client, patient_customer):
    quote = services.create_quote(
        customer=patient_customer,
        lines=[services.LineSpec(description="Transport", unit_price=D("25"))],
    )

    manager_client.post(
        "/admin/billing/quote/", {"action": "send", "_selected_action": [quote.pk]}
    )
    quote.refresh_from_db()
    services.accept_quote(quote=quote, by=patient_customer.user, ip=None)
    manager_client.post(
        "/admin/billing/quote/",
        {"action": "make_invoice", "_selected_action": [quote.pk]},
    )

    assert quote.invoice.state == Invoice.State.DRAFT


def test_a_care_coordinator_sees_billing_but_cannot_act(staff_client, coordinator):
    invoice = issued_invoice()
    client = staff_client(coordinator)

    changelist = client.get("/admin/billing/invoice/")
    payment = client.post(
        f"/admin/billing/invoice/{invoice.pk}/pay/",
        {"amount": "1", "method": "card", "received_on": "2026-05-02"},
    )

    assert changelist.status_code == 200
    assert changelist.context["action_form"] is None  # no action at all
    assert payment.status_code == 403
    assert client.get("/admin/billing/invoice/export/").status_code == 403


def test_a_patient_never_reaches_the_billing_admin(staff_client, patient_user):
    response = staff_client(patient_user).get("/admin/billing/invoice/")

    assert response.status_code == 302


# --- Exports -----------------------------------------------------------------------


@pytest.fixture
def period_activity(db):
    company = CustomerFactory(company=True)
    invoice = issued_invoice(company, on=date(2026, 3, 10))
    issued_invoice(company, on=date(2026, 4, 10))  # outside March
    services.record_payment(
        invoice=invoice,
        amount=D("10.50"),
        method="bank_transfer",
        received_on=date(2026, 3, 20),
    )
    services.create_credit_note(invoice=invoice, reason="Erreur", on=date(2026, 3, 25))
    services.record_refund(
        invoice=invoice,
        amount=D("10.50"),
        method="bank_transfer",
        refunded_on=date(2026, 3, 28),
    )
    return invoice


def read_csv(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))


def test_the_invoice_export_is_french_accounting_friendly(
    manager_client, period_activity
):
    response = manager_client.get(
        "/admin/billing/invoice/export/",
        {"kind": "invoices", "start": "2026-03-01", "end": "2026-03-31"},
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = read_csv(response.content.decode())
    assert rows[0][:4] == [
        "Numéro",
        "Date d'émission",
        "Date de la prestation",
        "Échéance",
    ]
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Numéro"] == period_activity.number
    assert row["Date d'émission"] == "10/03/2026"
    assert row["Total HT"] == "49,00"
    assert row["Net à payer"] == "58,80"
    with translation.override("fr"):
        status_column = gettext("Status")  # a msgid shared with other apps
    assert row[status_column] == "Annulée par avoir"


def test_the_payment_export_signs_refunds(manager_client, period_activity):
    response = manager_client.get(
        "/admin/billing/invoice/export/",
        {"kind": "payments", "start": "2026-03-01", "end": "2026-03-31"},
    )

    rows = read_csv(response.content.decode())
    assert [row[3] for row in rows[1:]] == ["10,50", "-10,50"]


def test_the_credit_note_export_lists_the_period(period_activity):
    out = io.StringIO()

    call_command(
        "export_billing",
        "credit_notes",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-31",
        stdout=out,
    )

    rows = read_csv(out.getvalue())
    assert rows[1][0] == "AV-2026-000001"
    assert rows[1][2] == period_activity.number
    assert rows[1][9] == "58,80"


def test_a_reversed_period_is_a_form_error(manager_client, db):
    response = manager_client.get(
        "/admin/billing/invoice/export/",
        {"kind": "invoices", "start": "2026-03-31", "end": "2026-03-01"},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["__all__"]

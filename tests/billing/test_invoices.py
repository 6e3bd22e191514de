from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import override_settings

from billing import services
from billing.models import Customer, Invoice, InvoiceLine
from tests.billing.factories import (
    CustomerFactory,
    catalogue,
    draft_invoice,
    error_code,
    issued_invoice,
    lines,
)

D = Decimal


def test_issuing_freezes_the_seller_terms_and_buyer(company_customer):
    invoice = draft_invoice(company_customer)

    issued = services.issue_invoice(invoice=invoice, on=date(2026, 4, 10))

    assert issued.state == Invoice.State.ISSUED
    assert issued.issue_date == date(2026, 4, 10)
    assert issued.due_date == date(2026, 5, 10)
    assert issued.service_date == date(2026, 3, 2)  # the lines' date
    assert issued.seller["siret"] == "90123456700013"
    assert issued.seller["vat_number"] == "FR15901234567"
    assert issued.late_penalty_rate == D("12.15")
    assert issued.recovery_indemnity == D("40.00")
    assert issued.buyer_name == "Horizon Industries SA"
    assert issued.buyer_siren == "552100554"


def test_a_consumer_invoice_carries_no_recovery_indemnity(patient_customer):
    invoice = issued_invoice(patient_customer)

    assert invoice.recovery_indemnity is None
    assert invoice.late_penalty_rate == D("12.15")


def test_changing_the_customer_later_leaves_the_issued_invoice_as_it_was(
    company_customer,
):
    invoice = issued_invoice(company_customer)

    Customer.objects.filter(pk=company_customer.pk).update(
        name="Horizon Group", address="1 place Bellecour"
    )
    invoice.refresh_from_db()

    assert invoice.buyer_name == "Horizon Industries SA"
    assert invoice.buyer_address == "3 rue des Lilas"


@override_settings(SELLER_LEGAL_NAME="Nouvelle Raison Sociale")
def test_changing_the_seller_settings_later_leaves_the_issued_invoice_as_it_was(db):
    with override_settings(SELLER_LEGAL_NAME="Conciergerie Médicale SAS"):
        invoice = issued_invoice()

    invoice.refresh_from_db()

    assert invoice.seller["name"] == "Conciergerie Médicale SAS"


def test_an_invoice_cannot_be_issued_twice(db):
    invoice = issued_invoice()

    with pytest.raises(ValidationError) as error:
        services.issue_invoice(invoice=invoice)

    assert error_code(error.value) == "not_draft"


def test_an_invoice_for_a_company_without_siren_is_refused(db):
    customer = CustomerFactory(company=True)
    Customer.objects.filter(pk=customer.pk).update(siren="")

    with pytest.raises(ValidationError) as error:
        issued_invoice(customer)

    assert error_code(error.value) == "buyer_siren_missing"


def test_a_business_customer_needs_a_valid_siren():
    customer = Customer(
        kind="insurer", name="X", address="a", postal_code="1", city="c", siren="123"
    )

    with pytest.raises(ValidationError) as error:
        customer.full_clean()

    assert error.value.error_dict["siren"][0].code == "invalid_siren"


def test_a_draft_without_lines_cannot_be_issued(db):
    invoice = draft_invoice()
    invoice.lines.all().delete()

    with pytest.raises(ValidationError) as error:
        services.issue_invoice(invoice=invoice)

    assert error_code(error.value) == "no_lines"


def test_a_line_outside_the_catalogue_needs_a_price(db):
    with pytest.raises(ValidationError) as error:
        services.create_invoice(
            customer=CustomerFactory(),
            lines=[services.LineSpec(description="Free text")],
        )

    assert error_code(error.value) == "price_required"


def test_a_disbursement_cannot_carry_vat(db):
    invoice = draft_invoice()
    line = InvoiceLine(
        invoice=invoice,
        description="Honoraires",
        unit_price_excl_vat=D("30"),
        vat_category="disbursement",
        vat_rate=D("20"),
    )

    with pytest.raises(ValidationError) as error:
        line.full_clean()

    assert error.value.error_dict["vat_rate"][0].code == "disbursement_with_vat"


def test_a_draft_can_still_be_edited_and_recomputed(db):
    invoice = draft_invoice()
    line = invoice.lines.get()
    line.quantity = D("2")
    line.save()

    services.refresh_totals(document=invoice)

    assert invoice.total == D("117.60")


def test_an_accepted_quote_becomes_an_invoice_with_the_same_lines(patient_customer):
    quote = services.create_quote(
        customer=patient_customer,
        lines=[
            services.LineSpec(service=catalogue("request-fee")),
            services.LineSpec(
                service=catalogue("practitioner-fee"), unit_price=D("60.00")
            ),
        ],
    )
    quote = services.send_quote(quote=quote)
    services.accept_quote(quote=quote, by=patient_customer.user, ip="192.0.2.1")

    invoice = services.create_invoice_from_quote(quote=quote)

    quote.refresh_from_db()
    assert quote.state == quote.State.INVOICED
    assert invoice.quote == quote
    assert invoice.state == Invoice.State.DRAFT
    assert invoice.total == quote.total == D("118.80")
    assert [(line.description, line.net_amount) for line in invoice.lines.all()] == [
        (line.description, line.net_amount) for line in quote.lines.all()
    ]


# --- Immutability ------------------------------------------------------------------


def test_an_issued_invoice_refuses_changes_to_its_content(db):
    invoice = issued_invoice()
    invoice = Invoice.objects.get(pk=invoice.pk)
    invoice.buyer_name = "Someone else"

    with pytest.raises(ValidationError) as error:
        invoice.save()

    assert error_code(error.value) == "document_immutable"
    with pytest.raises(ValidationError):
        invoice.full_clean(exclude=["state"])  # as the admin's form does


def test_an_issued_invoice_refuses_a_targeted_save_of_a_frozen_field(db):
    invoice = Invoice.objects.get(pk=issued_invoice().pk)
    invoice.total = D("1.00")

    with pytest.raises(ValidationError) as error:
        invoice.save(update_fields=["total"])

    assert error_code(error.value) == "document_immutable"


def test_an_issued_invoice_cannot_be_deleted(db):
    invoice = Invoice.objects.get(pk=issued_invoice().pk)

    with pytest.raises(ValidationError) as error:
        invoice.delete()

    assert error_code(error.value) == "document_immutable"


def test_the_lines_of_an_issued_invoice_cannot_change(db):
    line = issued_invoice().lines.get()
    line.unit_price_excl_vat = D("1.00")

    with pytest.raises(ValidationError) as error:
        line.save()
    with pytest.raises(ValidationError):
        line.delete()

    assert error_code(error.value) == "document_immutable"


def test_the_database_refuses_to_rewrite_an_issued_invoice_even_in_raw_updates(db):
    invoice = issued_invoice()

    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.filter(pk=invoice.pk).update(total=D("1.00"))
    with pytest.raises(IntegrityError), transaction.atomic():
        InvoiceLine.objects.filter(invoice=invoice).update(quantity=D("9"))
    with pytest.raises(IntegrityError), transaction.atomic():
        InvoiceLine.objects.filter(invoice=invoice).delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.filter(pk=invoice.pk)._raw_delete(Invoice.objects.db)

    invoice.refresh_from_db()
    assert invoice.total == D("58.80")


def test_the_database_still_lets_settlement_columns_move(db):
    invoice = issued_invoice()

    Invoice.objects.filter(pk=invoice.pk).update(amount_paid=D("10.00"))

    invoice.refresh_from_db()
    assert invoice.amount_paid == D("10.00")


def test_every_change_of_an_invoice_is_in_its_history(db):
    invoice = issued_invoice()
    services.record_payment(invoice=invoice, amount=D("10"), method="cheque")

    states = [record.state for record in invoice.history.order_by("history_date")]

    assert states[-2:] == ["issued", "partially_paid"]
    assert states[0] == "draft"


def test_a_due_date_set_on_the_draft_is_kept(db):
    invoice = draft_invoice()
    invoice.due_date = date(2026, 4, 20)
    invoice.save(update_fields=["due_date"])

    issued = services.issue_invoice(invoice=invoice, on=date(2026, 4, 1))

    assert issued.due_date == date(2026, 4, 20)


def test_the_invoice_email_carries_the_factur_x_pdf(
    patient_customer, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=True):
        invoice = issued_invoice(patient_customer)

    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == [patient_customer.email]
    assert invoice.number in message.subject
    name, content, mimetype = message.attachments[0]
    assert (name, mimetype) == (f"{invoice.number}.pdf", "application/pdf")
    assert content.startswith(b"%PDF")


def test_overdue_invoices_are_flagged_after_their_due_date(db):
    invoice = issued_invoice(on=date(2026, 1, 5))
    today = invoice.due_date + timedelta(days=1)

    assert services.mark_overdue_invoices(today=invoice.due_date) == 0
    assert services.mark_overdue_invoices(today=today) == 1

    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.OVERDUE


def test_several_lines_and_rates_total_as_printed(db):
    invoice = draft_invoice(
        specs=lines(
            ("Accompagnement", "2.5", "45.00"),
            ("Transport", 1, "25.00"),
            ("Honoraires", 1, "57.00", "disbursement"),
        )
    )

    assert invoice.total_excl_vat == D("137.50")
    assert invoice.total_vat == D("27.50")
    assert invoice.total_disbursements == D("57.00")
    assert invoice.total == D("222.00")

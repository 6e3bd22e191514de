"""Payments, credit notes and the balance they leave."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from billing import services
from billing.models import CreditNote, Invoice, OverdueReminder
from tests.billing.factories import CustomerFactory, error_code, issued_invoice, lines

D = Decimal


@pytest.fixture
def invoice(db):
    """3 h of accompaniment at 33.33 (VAT 20.00) + 60.00 of disbursements."""
    return issued_invoice(
        specs=lines(
            ("Accompagnement", 3, "33.33"),
            ("Honoraires avancés", 1, "60.00", "disbursement"),
        ),
    )


def test_the_invoice_under_test_totals_as_expected(invoice):
    assert (invoice.total_excl_vat, invoice.total_vat) == (D("99.99"), D("20.00"))
    assert invoice.total == D("179.99")


# --- Payments ----------------------------------------------------------------------


def test_a_partial_payment_leaves_the_rest_due(invoice):
    payment = services.record_payment(
        invoice=invoice, amount=D("100"), method="bank_transfer", reference="VIR-1"
    )

    invoice.refresh_from_db()
    assert payment.amount == D("100.00")
    assert invoice.state == Invoice.State.PARTIALLY_PAID
    assert invoice.balance == D("79.99")


def test_paying_the_balance_settles_the_invoice(invoice):
    services.record_payment(invoice=invoice, amount=D("100"), method="cheque")
    services.record_payment(invoice=invoice, amount=D("79.99"), method="card")

    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.PAID
    assert invoice.balance == D("0.00")
    assert invoice.paid_at is not None


def test_a_payment_above_the_balance_is_refused(invoice):
    with pytest.raises(ValidationError) as error:
        services.record_payment(invoice=invoice, amount=D("180.00"), method="card")

    assert error_code(error.value) == "overpayment"


@pytest.mark.parametrize("amount", [D("0"), D("-5")])
def test_a_payment_must_be_positive(invoice, amount):
    with pytest.raises(ValidationError) as error:
        services.record_payment(invoice=invoice, amount=amount, method="card")

    assert error_code(error.value) == "amount_not_positive"


def test_a_draft_cannot_be_paid(db):
    from tests.billing.factories import draft_invoice

    with pytest.raises(ValidationError) as error:
        services.record_payment(invoice=draft_invoice(), amount=D("1"), method="card")

    assert error_code(error.value) == "not_payable"


def test_a_payment_on_an_overdue_invoice_settles_it(invoice):
    services.mark_overdue_invoices(today=invoice.due_date + timedelta(days=3))

    services.record_payment(invoice=invoice, amount=invoice.total, method="card")

    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.PAID


def test_a_partial_payment_on_an_overdue_invoice_keeps_it_overdue(invoice):
    services.mark_overdue_invoices(today=invoice.due_date + timedelta(days=3))

    services.record_payment(invoice=invoice, amount=D("10"), method="card")

    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.OVERDUE
    assert invoice.balance == D("169.99")


# --- Credit notes ------------------------------------------------------------------


def test_a_full_credit_note_mirrors_the_invoice_and_cancels_it(invoice):
    credit_note = services.create_credit_note(invoice=invoice, reason="Annulation")

    invoice.refresh_from_db()
    assert credit_note.invoice == invoice
    assert (
        credit_note.total_excl_vat,
        credit_note.total_vat,
        credit_note.total_disbursements,
        credit_note.total,
    ) == (D("99.99"), D("20.00"), D("60.00"), D("179.99"))
    assert invoice.amount_credited == D("179.99")
    assert invoice.state == Invoice.State.CANCELLED
    assert credit_note.buyer_name == invoice.buyer_name


def test_partial_credit_notes_by_quantity_add_up_to_the_line_exactly(invoice):
    accompaniment = invoice.lines.get(description="Accompagnement")

    first = services.create_credit_note(
        invoice=invoice,
        reason="Une heure non effectuée",
        lines=[services.CreditSpec(invoice_line=accompaniment, quantity=D("1"))],
    )
    second = services.create_credit_note(
        invoice=invoice,
        reason="Le reste",
        lines=[services.CreditSpec(invoice_line=accompaniment, quantity=D("2"))],
    )

    assert (first.total_excl_vat, first.total_vat) == (D("33.33"), D("6.67"))
    # 66.66 × 20 % = 13.332 → 13.33: the VAT left on the line is exact.
    assert (second.total_excl_vat, second.total_vat) == (D("66.66"), D("13.33"))
    invoice.refresh_from_db()
    assert invoice.amount_credited == D("119.99")
    assert invoice.balance == D("60.00")
    assert invoice.state == Invoice.State.PARTIALLY_PAID


def test_a_partial_credit_note_by_amount(invoice):
    disbursement = invoice.lines.get(description="Honoraires avancés")

    credit_note = services.create_credit_note(
        invoice=invoice,
        reason="Dépassement remboursé par le praticien",
        lines=[
            services.CreditSpec(invoice_line=disbursement, amount_excl_vat=D("12.50"))
        ],
    )

    assert credit_note.total == credit_note.total_disbursements == D("12.50")
    assert credit_note.total_vat == D("0.00")
    invoice.refresh_from_db()
    assert invoice.balance == D("167.49")


def test_a_credit_note_cannot_exceed_what_is_left_of_a_line(invoice):
    line = invoice.lines.get(description="Accompagnement")
    services.create_credit_note(
        invoice=invoice,
        reason="Deux heures",
        lines=[services.CreditSpec(invoice_line=line, quantity=D("2"))],
    )

    with pytest.raises(ValidationError) as error:
        services.create_credit_note(
            invoice=invoice,
            reason="Trop",
            lines=[services.CreditSpec(invoice_line=line, amount_excl_vat=D("40"))],
        )

    assert error_code(error.value) == "over_credit"
    assert CreditNote.objects.count() == 1


def test_a_full_credit_note_after_a_partial_one_credits_only_the_rest(invoice):
    line = invoice.lines.get(description="Accompagnement")
    services.create_credit_note(
        invoice=invoice,
        reason="Une heure",
        lines=[services.CreditSpec(invoice_line=line, quantity=D("1"))],
    )

    rest = services.create_credit_note(invoice=invoice, reason="Annulation du reste")

    assert rest.total == D("179.99") - D("40.00")
    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.CANCELLED
    with pytest.raises(ValidationError) as error:
        services.create_credit_note(invoice=invoice, reason="Encore")
    assert error_code(error.value) == "not_creditable"


def test_a_credit_note_needs_a_reason(invoice):
    with pytest.raises(ValidationError) as error:
        services.create_credit_note(invoice=invoice, reason="  ")

    assert error_code(error.value) == "reason_required"


def test_a_line_of_another_invoice_cannot_be_credited(invoice):
    other_line = issued_invoice().lines.get()

    with pytest.raises(ValidationError) as error:
        services.create_credit_note(
            invoice=invoice,
            reason="Erreur",
            lines=[services.CreditSpec(invoice_line=other_line)],
        )

    assert error_code(error.value) == "foreign_line"


def test_a_credit_note_on_a_paid_invoice_is_refunded_then_cancels_it(invoice):
    services.record_payment(invoice=invoice, amount=invoice.total, method="card")

    services.create_credit_note(invoice=invoice, reason="Prestation annulée")
    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.PAID
    assert invoice.refund_due == D("179.99")

    with pytest.raises(ValidationError) as error:
        services.record_refund(invoice=invoice, amount=D("200"), method="card")
    assert error_code(error.value) == "refund_exceeds_credit"

    services.record_refund(invoice=invoice, amount=D("179.99"), method="bank_transfer")
    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.CANCELLED
    assert invoice.balance == D("0.00")


def test_a_credit_note_is_immutable_once_issued(invoice):
    credit_note = services.create_credit_note(invoice=invoice, reason="Annulation")
    credit_note = CreditNote.objects.get(pk=credit_note.pk)
    credit_note.reason = "Autre"

    with pytest.raises(ValidationError) as error:
        credit_note.save()
    with pytest.raises(ValidationError):
        credit_note.delete()

    assert error_code(error.value) == "document_immutable"


# --- Overdue reminders -------------------------------------------------------------


@override_settings(INVOICE_REMINDER_DAYS=[1, 15, 30])
def test_each_reminder_stage_is_sent_once(
    invoice, django_capture_on_commit_callbacks, mailoutbox
):
    due = invoice.due_date

    def sweep(days_late):
        with django_capture_on_commit_callbacks(execute=True):
            return services.process_overdue_invoices(
                today=due + timedelta(days=days_late)
            )

    assert sweep(0)["reminders_scheduled"] == 0
    assert sweep(1)["reminders_scheduled"] == 1
    assert sweep(2)["reminders_scheduled"] == 0  # the same stage, again
    assert sweep(16)["reminders_scheduled"] == 1
    assert sweep(16)["reminders_scheduled"] == 0

    assert [r.stage for r in OverdueReminder.objects.order_by("stage")] == [1, 15]
    assert len(mailoutbox) == 2
    assert all(invoice.number in message.subject for message in mailoutbox)
    assert all(r.sent_at and r.sent_to for r in OverdueReminder.objects.all())


def test_scheduling_the_same_stage_twice_queues_one_message(invoice):
    from conciergerie.notifications.models import Message

    late = invoice.due_date + timedelta(days=2)
    services.mark_overdue_invoices(today=late)

    assert services.schedule_overdue_reminders(today=late) == 1
    OverdueReminder.objects.all().delete()  # even if the guard row were lost
    services.schedule_overdue_reminders(today=late)

    assert (
        Message.objects.filter(template="billing/email/overdue_reminder").count() == 1
    )


def test_paying_an_overdue_invoice_cancels_its_unsent_reminder(invoice):
    from conciergerie.notifications.models import Message

    late = invoice.due_date + timedelta(days=2)
    services.mark_overdue_invoices(today=late)
    services.schedule_overdue_reminders(today=late)  # not sent: no commit here

    services.record_payment(invoice=invoice, amount=invoice.total, method="card")

    message = Message.objects.get(template="billing/email/overdue_reminder")
    assert message.state == Message.State.CANCELLED


def test_the_daily_sweep_runs_as_a_celery_task(invoice, settings):
    from billing import tasks

    assert "billing.tasks.process_overdue_invoices" in {
        entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }
    result = tasks.process_overdue_invoices.delay().get()

    assert set(result) == {"quotes_expired", "invoices_overdue", "reminders_scheduled"}


def test_a_business_reminder_mentions_penalties_and_the_indemnity(
    db, django_capture_on_commit_callbacks, mailoutbox
):
    invoice = issued_invoice(CustomerFactory(company=True), on=date(2026, 2, 1))

    with django_capture_on_commit_callbacks(execute=True):
        services.process_overdue_invoices(today=invoice.due_date + timedelta(days=1))

    assert "40,00" in mailoutbox[0].body

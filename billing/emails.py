"""The emails billing sends.

Quotes to decide and overdue reminders go through the notifications outbox
(exactly once, retried, cancelled when no longer true). Invoices and credit
notes go as Django emails because they carry their Factur-X PDF, which the
outbox's text messages cannot. Every message is in the customer's language
(French by default) and carries no health information.
"""

from datetime import date

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import timezone, translation

from conciergerie.notifications.services import (
    cancel_messages,
    message_key,
    schedule_message,
    subject_for,
)

from . import pdf
from .models import CreditNote, Invoice, OverdueReminder, Quote

QUOTE_TEMPLATE = "billing/email/quote_sent"
REMINDER_TEMPLATE = "billing/email/overdue_reminder"


def _day(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def _link(document) -> str:
    return f"{settings.SITE_URL}{document.get_absolute_url()}"


def schedule_quote_email(*, quote: Quote) -> None:
    """Queue the 'your quote is ready' email, inside the sending transaction."""
    schedule_message(
        key=message_key(subject=subject_for(quote), kind="sent", channel="email"),
        channel="email",
        to=quote.buyer_email,
        template=QUOTE_TEMPLATE,
        context={
            "buyer_name": quote.buyer_name,
            "number": quote.number,
            "total": str(quote.total),
            "valid_until": _day(quote.valid_until),
            "link": _link(quote),
        },
        due_at=timezone.now(),
        language=pdf.document_language(quote),
        user=quote.customer.user,
        subject=subject_for(quote),
    )


def schedule_reminder_email(*, reminder: OverdueReminder) -> None:
    """Queue one overdue reminder, once per (invoice, stage)."""
    invoice = reminder.invoice
    schedule_message(
        key=message_key(
            subject=subject_for(invoice),
            kind=f"overdue-{reminder.stage}",
            channel="email",
        ),
        channel="email",
        to=invoice.buyer_email,
        template=REMINDER_TEMPLATE,
        context={
            "buyer_name": invoice.buyer_name,
            "number": invoice.number,
            "due_date": _day(invoice.due_date),
            "balance": str(invoice.amount_due),
            "link": _link(invoice),
            "business": invoice.buyer_is_business,
            "penalty_rate": str(invoice.late_penalty_rate or ""),
            "indemnity": str(invoice.recovery_indemnity or ""),
        },
        due_at=timezone.now(),
        language=pdf.document_language(invoice),
        user=invoice.customer.user,
        subject=subject_for(invoice),
    )


def cancel_reminder_emails(*, invoice: Invoice) -> int:
    """Drop the reminders not sent yet: the invoice was paid or credited."""
    return cancel_messages(subject=subject_for(invoice), templates=[REMINDER_TEMPLATE])


def _send_with_pdf(*, template: str, document, context: dict) -> None:
    with translation.override(pdf.document_language(document)):
        context = {
            **context,
            "site_url": settings.SITE_URL,
            "service_name": settings.SERVICE_NAME,
            "service_phone": settings.SERVICE_PHONE,
        }
        subject = render_to_string(f"billing/email/{template}.subject.txt", context)
        body = render_to_string(f"billing/email/{template}.txt", context)
    message = EmailMessage(
        subject=" ".join(subject.split()),
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[document.buyer_email],
        reply_to=[settings.SERVICE_EMAIL],
    )
    message.attach(
        pdf.filename(document), pdf.render_facturx(document), "application/pdf"
    )
    message.send()


def send_invoice_email(*, invoice_id: int) -> None:
    invoice = Invoice.objects.select_related("customer__user").get(pk=invoice_id)
    if invoice.state == Invoice.State.DRAFT or not invoice.buyer_email:
        return
    _send_with_pdf(
        template="invoice_issued", document=invoice, context={"invoice": invoice}
    )


def send_credit_note_email(*, credit_note_id: int) -> None:
    credit_note = CreditNote.objects.select_related("invoice__customer__user").get(
        pk=credit_note_id
    )
    if not credit_note.buyer_email:
        return
    _send_with_pdf(
        template="credit_note_issued",
        document=credit_note,
        context={"credit_note": credit_note},
    )

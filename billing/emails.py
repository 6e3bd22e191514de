"""The emails billing sends: a quote to decide, an invoice or credit note, a reminder.

Each message is written in the customer's language (French by default) and
carries no health information: only amounts, numbers and a link to the portal.
Invoices and credit notes travel as Factur-X PDFs.
"""

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation

from . import pdf
from .models import CreditNote, Invoice, OverdueReminder, Quote


def _send(
    *, template: str, to: str, context: dict, language: str, attachment=None
) -> None:
    with translation.override(language):
        context = {
            **context,
            "SITE_URL": settings.SITE_URL,
            "SERVICE_NAME": settings.SERVICE_NAME,
            "SERVICE_EMAIL": settings.SERVICE_EMAIL,
            "SERVICE_PHONE": settings.SERVICE_PHONE,
        }
        subject = render_to_string(f"billing/email/{template}_subject.txt", context)
        body = render_to_string(f"billing/email/{template}.txt", context)
    message = EmailMessage(
        subject=" ".join(subject.split()),
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        reply_to=[settings.SERVICE_EMAIL],
    )
    if attachment is not None:
        message.attach(*attachment)
    message.send()


def send_quote_email(*, quote_id: int) -> None:
    quote = Quote.objects.select_related("customer__user").get(pk=quote_id)
    if quote.state != Quote.State.SENT or not quote.buyer_email:
        return
    _send(
        template="quote_sent",
        to=quote.buyer_email,
        context={"quote": quote},
        language=pdf.document_language(quote),
    )


def send_invoice_email(*, invoice_id: int) -> None:
    invoice = Invoice.objects.select_related("customer__user").get(pk=invoice_id)
    if invoice.state == Invoice.State.DRAFT or not invoice.buyer_email:
        return
    _send(
        template="invoice_issued",
        to=invoice.buyer_email,
        context={"invoice": invoice},
        language=pdf.document_language(invoice),
        attachment=(
            pdf.filename(invoice),
            pdf.render_facturx(invoice),
            "application/pdf",
        ),
    )


def send_credit_note_email(*, credit_note_id: int) -> None:
    credit_note = CreditNote.objects.select_related("invoice__customer__user").get(
        pk=credit_note_id
    )
    if not credit_note.buyer_email:
        return
    _send(
        template="credit_note_issued",
        to=credit_note.buyer_email,
        context={"credit_note": credit_note},
        language=pdf.document_language(credit_note),
        attachment=(
            pdf.filename(credit_note),
            pdf.render_facturx(credit_note),
            "application/pdf",
        ),
    )


def send_overdue_reminder_email(*, reminder: OverdueReminder) -> None:
    invoice = reminder.invoice
    _send(
        template="overdue_reminder",
        to=invoice.buyer_email,
        context={"invoice": invoice, "reminder": reminder},
        language=pdf.document_language(invoice),
    )

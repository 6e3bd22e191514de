"""Celery entry points of billing: load by id, call one service or mailer."""

from smtplib import SMTPException

from celery import shared_task

from . import emails, services


@shared_task(
    autoretry_for=(SMTPException, OSError),
    retry_backoff=True,
    max_retries=5,
    acks_late=True,
)
def send_quote_email(quote_id: int) -> None:
    emails.send_quote_email(quote_id=quote_id)


@shared_task(
    autoretry_for=(SMTPException, OSError),
    retry_backoff=True,
    max_retries=5,
    acks_late=True,
)
def send_invoice_email(invoice_id: int) -> None:
    emails.send_invoice_email(invoice_id=invoice_id)


@shared_task(
    autoretry_for=(SMTPException, OSError),
    retry_backoff=True,
    max_retries=5,
    acks_late=True,
)
def send_credit_note_email(credit_note_id: int) -> None:
    emails.send_credit_note_email(credit_note_id=credit_note_id)


@shared_task(
    autoretry_for=(SMTPException, OSError),
    retry_backoff=True,
    max_retries=5,
    acks_late=True,
)
def send_overdue_reminder(reminder_id: int) -> None:
    services.send_overdue_reminder(reminder_id=reminder_id)


@shared_task
def process_overdue_invoices() -> dict[str, int]:
    return services.process_overdue_invoices()

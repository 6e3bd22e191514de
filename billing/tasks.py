"""Celery entry points of billing: load by id, call one service or mailer."""

from smtplib import SMTPException

from celery import shared_task

from . import emails, services

RETRY = {
    "autoretry_for": (SMTPException, OSError),
    "retry_backoff": True,
    "max_retries": 5,
    "acks_late": True,
}


@shared_task(**RETRY)
def send_invoice_email(invoice_id: int) -> None:
    emails.send_invoice_email(invoice_id=invoice_id)


@shared_task(**RETRY)
def send_credit_note_email(credit_note_id: int) -> None:
    emails.send_credit_note_email(credit_note_id=credit_note_id)


@shared_task
def process_overdue_invoices() -> dict[str, int]:
    return services.process_overdue_invoices()

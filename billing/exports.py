"""CSV exports for the accountant: invoices, credit notes and payments of a period.

French spreadsheet and accounting conventions: `;` separates columns, amounts
use a decimal comma without thousands separator (12345,60), dates are
DD/MM/YYYY, the file is UTF-8 with a byte-order mark so that Excel opens its
accents correctly. Refunds are negative amounts in the payments file.
"""

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from .models import CreditNote, Invoice, Payment

KINDS = ("invoices", "credit_notes", "payments")


def _amount(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}".replace(".", ",")


def _day(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def _vat_detail(document) -> str:
    return " | ".join(
        f"{_amount(rate)} %: {_amount(base)} / {_amount(tax)}"
        for rate, base, tax in document.vat_breakdown()
    )


def invoice_rows(start: date, end: date) -> Iterator[list[str]]:
    yield [
        _("Number"),
        _("Issue date"),
        _("Date of service"),
        _("Due date"),
        _("Customer"),
        _("Customer kind"),
        _("SIREN"),
        _("VAT number"),
        _("Reference"),
        _("Total excl. VAT"),
        _("VAT"),
        _("Disbursements"),
        _("Total due"),
        _("VAT by rate (base / tax)"),
        _("Paid"),
        _("Credited"),
        _("Balance"),
        _("Status"),
    ]
    invoices = (
        Invoice.objects.issued_between(start, end)
        .prefetch_related("lines")
        .order_by("issue_date", "number")
    )
    for invoice in invoices:
        yield [
            invoice.number or "",
            _day(invoice.issue_date),
            _day(invoice.service_date),
            _day(invoice.due_date),
            invoice.buyer_name,
            invoice.get_buyer_kind_display(),
            invoice.buyer_siren,
            invoice.buyer_vat_number,
            invoice.reference,
            _amount(invoice.total_excl_vat),
            _amount(invoice.total_vat),
            _amount(invoice.total_disbursements),
            _amount(invoice.total),
            _vat_detail(invoice),
            _amount(invoice.amount_paid),
            _amount(invoice.amount_credited),
            _amount(invoice.balance),
            invoice.get_state_display(),
        ]


def credit_note_rows(start: date, end: date) -> Iterator[list[str]]:
    yield [
        _("Number"),
        _("Issue date"),
        _("Credited invoice"),
        _("Customer"),
        _("SIREN"),
        _("Reason"),
        _("Total excl. VAT"),
        _("VAT"),
        _("Disbursements"),
        _("Total credited"),
        _("VAT by rate (base / tax)"),
    ]
    credit_notes = (
        CreditNote.objects.filter(issue_date__gte=start, issue_date__lte=end)
        .select_related("invoice")
        .prefetch_related("lines")
        .order_by("issue_date", "number")
    )
    for credit_note in credit_notes:
        yield [
            credit_note.number,
            _day(credit_note.issue_date),
            credit_note.invoice.number or "",
            credit_note.buyer_name,
            credit_note.buyer_siren,
            credit_note.reason,
            _amount(credit_note.total_excl_vat),
            _amount(credit_note.total_vat),
            _amount(credit_note.total_disbursements),
            _amount(credit_note.total),
            _vat_detail(credit_note),
        ]


def payment_rows(start: date, end: date) -> Iterator[list[str]]:
    yield [
        _("Date"),
        _("Kind"),
        _("Method"),
        _("Amount"),
        _("Reference"),
        _("Invoice"),
        _("Customer"),
    ]
    payments = (
        Payment.objects.filter(received_on__gte=start, received_on__lte=end)
        .select_related("invoice")
        .order_by("received_on", "created_at")
    )
    for payment in payments:
        yield [
            _day(payment.received_on),
            payment.get_kind_display(),
            payment.get_method_display(),
            _amount(payment.signed_amount),
            payment.reference,
            payment.invoice.number or "",
            payment.invoice.buyer_name,
        ]


ROWS = {
    "invoices": invoice_rows,
    "credit_notes": credit_note_rows,
    "payments": payment_rows,
}


def write_csv(rows: Iterable[list[str]]) -> str:
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerows(rows)
    return buffer.getvalue()


def export_csv(
    *, kind: str, start: date, end: date, language: str | None = None
) -> str:
    """The CSV text of one kind of record issued (or paid) between two days included."""
    if kind not in ROWS:
        raise ValueError(f"Unknown export {kind!r}; choose one of {', '.join(KINDS)}.")
    with translation.override(language or settings.LANGUAGE_CODE):
        return write_csv(ROWS[kind](start, end))


def export_filename(*, kind: str, start: date, end: date) -> str:
    return f"{kind}-{start:%Y%m%d}-{end:%Y%m%d}.csv"

"""Quotes, invoices and credit notes as PDF, drawn by WeasyPrint from templates.

Documents are laid out in the language of the customer's account, French by
default. Invoices and credit notes print the seller and the terms frozen when
they were issued, so that a copy made years later matches the original.
"""

from decimal import Decimal
from functools import cache
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import translation

from .einvoice import build_cii_xml, embed_in_pdf
from .models import CreditNote, Invoice, Quote, VatCategory

STYLESHEET = "billing/pdf.css"


@cache
def _stylesheet():
    from weasyprint import CSS

    return CSS(filename=finders.find(STYLESHEET))


def document_language(document: Quote | Invoice | CreditNote) -> str:
    customer = (
        document.invoice.customer
        if isinstance(document, CreditNote)
        else document.customer
    )
    user = customer.user
    if user is not None and user.language in dict(settings.LANGUAGES):
        return user.language
    return settings.LANGUAGE_CODE


def document_context(document: Quote | Invoice | CreditNote) -> dict:
    from .services import seller_identity

    kind = {Quote: "quote", Invoice: "invoice", CreditNote: "credit_note"}[
        type(document)
    ]
    lines = list(document.lines.select_related("service"))
    seller = getattr(document, "seller", None) or seller_identity()
    return {
        "kind": kind,
        "document": document,
        "seller": seller,
        "service_lines": [
            line for line in lines if line.vat_category != VatCategory.DISBURSEMENT
        ],
        "disbursement_lines": [
            line for line in lines if line.vat_category == VatCategory.DISBURSEMENT
        ],
        "vat_breakdown": document.vat_breakdown(),
        # The patient's public reference only: enough to match the care, without
        # printing an employee's or a child's name on a payer's invoice.
        "beneficiary": getattr(
            getattr(
                document.invoice if isinstance(document, CreditNote) else document,
                "patient",
                None,
            ),
            "reference",
            "",
        ),
        "default_service_date": (
            document.invoice.service_date
            if isinstance(document, CreditNote)
            else getattr(document, "service_date", None)
        ),
        "total_incl_vat": document.total_excl_vat + document.total_vat,
        "recovery_indemnity": (
            getattr(document, "recovery_indemnity", None)
            or (
                Decimal(settings.INVOICE_RECOVERY_INDEMNITY)
                if document.buyer_is_business
                else None
            )
        ),
        "late_penalty_rate": getattr(document, "late_penalty_rate", None)
        or Decimal(settings.INVOICE_LATE_PENALTY_RATE),
    }


def render_html(
    document: Quote | Invoice | CreditNote, *, language: str | None = None
) -> str:
    with translation.override(language or document_language(document)):
        return render_to_string("billing/pdf/document.html", document_context(document))


def render_pdf(
    document: Quote | Invoice | CreditNote,
    *,
    language: str | None = None,
    pdf_variant: str | None = None,
) -> bytes:
    from weasyprint import HTML

    html = render_html(document, language=language)
    base_url = str(Path(settings.BASE_DIR) / "static")
    return HTML(string=html, base_url=base_url).write_pdf(
        stylesheets=[_stylesheet()], pdf_variant=pdf_variant
    )


def render_facturx(
    document: Invoice | CreditNote, *, language: str | None = None
) -> bytes:
    """The PDF/A-3 of an issued invoice or credit note with its CII XML inside."""
    pdf = render_pdf(document, language=language, pdf_variant="pdf/a-3b")
    return embed_in_pdf(pdf=pdf, xml=build_cii_xml(document), document=document)


def filename(document: Quote | Invoice | CreditNote, *, facturx: bool = False) -> str:
    number = document.number or f"brouillon-{document.public_id}"
    return f"{number}{'-facturx' if facturx else ''}.pdf"

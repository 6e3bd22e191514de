"""The portal's billing pages: quotes to decide, invoices to download, what is due."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from patients import viewing

from . import pdf, services
from .forms import RefuseQuoteForm
from .models import CreditNote, Invoice, Quote
from .money import ZERO


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def pdf_response(content: bytes, name: str, *, inline: bool = False) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def index(request: HttpRequest) -> HttpResponse:
    shown = viewing.invoice_filter(request, viewing.current_patient(request))
    quotes = Quote.objects.visible_to(request.user).filter(shown).order_by("-sent_at")
    invoices = (
        Invoice.objects.visible_to(request.user)
        .filter(shown)
        .order_by("-issue_date", "-number")
    )
    outstanding = invoices.outstanding()
    due = sum((invoice.amount_due for invoice in outstanding), start=ZERO)
    return render(
        request,
        "billing/index.html",
        {
            "open_quotes": [quote for quote in quotes if quote.is_open],
            "past_quotes": [quote for quote in quotes if not quote.is_open],
            "outstanding": outstanding,
            "invoices": invoices,
            "total_due": due,
            "credit_notes": CreditNote.objects.visible_to(request.user)
            .filter(invoice__in=invoices)
            .select_related("invoice"),
            "overdue_count": outstanding.filter(state=Invoice.State.OVERDUE).count(),
            "paid_total": invoices.aggregate(total=Sum("amount_paid"))["total"] or 0,
        },
    )


@login_required
def quote_detail(request: HttpRequest, public_id) -> HttpResponse:
    quote = get_object_or_404(
        Quote.objects.visible_to(request.user), public_id=public_id
    )
    return render(
        request,
        "billing/quote_detail.html",
        {"quote": quote, "lines": quote.lines.all(), "refuse_form": RefuseQuoteForm()},
    )


@login_required
@require_POST
def quote_accept(request: HttpRequest, public_id) -> HttpResponse:
    quote = get_object_or_404(
        Quote.objects.decidable_by(request.user), public_id=public_id
    )
    try:
        services.accept_quote(
            quote=quote,
            by=request.user,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent", ""),
        )
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(
            request, _("Thank you: your acceptance is recorded. We take it from here.")
        )
    return redirect(quote)


@login_required
@require_POST
def quote_refuse(request: HttpRequest, public_id) -> HttpResponse:
    quote = get_object_or_404(
        Quote.objects.decidable_by(request.user), public_id=public_id
    )
    form = RefuseQuoteForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "billing/quote_detail.html",
            {"quote": quote, "lines": quote.lines.all(), "refuse_form": form},
            status=400,
        )
    try:
        services.refuse_quote(
            quote=quote,
            by=request.user,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent", ""),
            reason=form.cleaned_data["reason"],
        )
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, _("Your refusal is recorded."))
    return redirect(quote)


@login_required
def quote_pdf(request: HttpRequest, public_id) -> HttpResponse:
    quote = get_object_or_404(
        Quote.objects.visible_to(request.user), public_id=public_id
    )
    return pdf_response(pdf.render_pdf(quote), pdf.filename(quote))


@login_required
def invoice_detail(request: HttpRequest, public_id) -> HttpResponse:
    invoice = get_object_or_404(
        Invoice.objects.visible_to(request.user), public_id=public_id
    )
    viewing.show(request, invoice.patient)
    return render(
        request,
        "billing/invoice_detail.html",
        {
            "invoice": invoice,
            "lines": invoice.lines.all(),
            "credit_notes": invoice.credit_notes.all(),
            "payments": invoice.payments.all(),
        },
    )


@login_required
def invoice_pdf(request: HttpRequest, public_id) -> HttpResponse:
    invoice = get_object_or_404(
        Invoice.objects.visible_to(request.user).exclude(state=Invoice.State.DRAFT),
        public_id=public_id,
    )
    return pdf_response(pdf.render_facturx(invoice), pdf.filename(invoice))


@login_required
def credit_note_pdf(request: HttpRequest, public_id) -> HttpResponse:
    credit_note = get_object_or_404(
        CreditNote.objects.visible_to(request.user), public_id=public_id
    )
    return pdf_response(pdf.render_facturx(credit_note), pdf.filename(credit_note))

"""Every billing write that matters: quotes, invoices, credit notes, payments.

Admin actions, portal views, API views and Celery tasks all call these functions.
Each locks the rows it changes, checks the rule, transitions, saves, and leaves
side effects (emails) to tasks enqueued after commit.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from conciergerie.partners.services import publish_event

from . import emails, tasks
from .models import (
    CreditNote,
    CreditNoteLine,
    Customer,
    Invoice,
    InvoiceLine,
    OverdueReminder,
    Payment,
    Quote,
    QuoteLine,
    Service,
    VatCategory,
    VatRate,
)
from .money import ZERO, compute_line_amounts, round_money
from .numbering import take_number

QUOTE_SERIES = "DE"
DocumentT = TypeVar("DocumentT", Quote, Invoice)


def field_error(field: str, message: str, *, code: str) -> ValidationError:
    """A field-level error that keeps its code for the API's error body."""
    return ValidationError({field: ValidationError(message, code=code)})


def seller_identity() -> dict[str, str]:
    """The seller as configured now; documents freeze a copy when issued."""
    siret = settings.SELLER_SIRET.replace(" ", "")
    return {
        "name": settings.SELLER_LEGAL_NAME,
        "trade_name": settings.SERVICE_NAME,
        "legal_form": settings.SELLER_LEGAL_FORM,
        "address": settings.SELLER_ADDRESS,
        "postal_code": settings.SELLER_POSTAL_CODE,
        "city": settings.SELLER_CITY,
        "country": settings.SELLER_COUNTRY,
        "siret": siret,
        "siren": siret[:9],
        "vat_number": settings.SELLER_VAT_NUMBER.replace(" ", ""),
        "rcs": settings.SELLER_RCS,
        "iban": settings.SELLER_IBAN.replace(" ", ""),
        "bic": settings.SELLER_BIC,
        "email": settings.SERVICE_EMAIL,
        "phone": settings.SERVICE_PHONE,
    }


# --- Customers and lines -----------------------------------------------------------


def create_customer(
    *,
    kind: str,
    name: str,
    address: str,
    postal_code: str,
    city: str,
    country: str = "FR",
    email: str = "",
    siren: str = "",
    vat_number: str = "",
    user=None,
) -> Customer:
    """Register who pays; business customers need their SIREN."""
    customer = Customer(
        kind=kind,
        name=name,
        address=address,
        postal_code=postal_code,
        city=city,
        country=country.upper(),
        email=email or (user.email if user is not None else ""),
        siren=siren.replace(" ", ""),
        vat_number=vat_number.replace(" ", "").upper(),
        user=user,
    )
    customer.full_clean()
    customer.save()
    return customer


@dataclass(frozen=True)
class LineSpec:
    """A line to bill: from the catalogue (price and VAT looked up) or free."""

    description: str = ""
    quantity: Decimal = Decimal("1")
    service: Service | None = None
    unit_price: Decimal | None = None
    vat_category: str | None = None
    service_date: date | None = None


def _line_fields(spec: LineSpec, *, on: date, position: int) -> dict:
    service = spec.service
    vat_category = spec.vat_category or (
        service.vat_category if service else VatCategory.STANDARD
    )
    unit_price = spec.unit_price
    if unit_price is None:
        if service is None:
            raise field_error(
                "unit_price",
                _("A line outside the catalogue needs a unit price."),
                code="price_required",
            )
        unit_price = service.price_on(on).unit_price_excl_vat
    description = spec.description or (service.name if service else "")
    if not description:
        raise field_error(
            "description",
            _("Each line needs a description."),
            code="description_required",
        )
    return {
        "position": position,
        "service": service,
        "description": description,
        "service_date": spec.service_date,
        "quantity": Decimal(spec.quantity),
        "unit": service.unit if service else "unit",
        "unit_price_excl_vat": round_money(Decimal(unit_price)),
        "vat_category": vat_category,
        "vat_rate": VatRate.rate_for(vat_category, on=spec.service_date or on),
    }


def _add_lines(document, line_model, parent_field: str, specs, *, on: date) -> None:
    if not specs:
        raise ValidationError(_("A document needs at least one line."), code="no_lines")
    for position, spec in enumerate(specs, start=1):
        line = line_model(
            **{parent_field: document},
            **_line_fields(spec, on=on, position=position * 10),
        )
        line.full_clean(exclude=[parent_field])
        line.save()


def refresh_totals(*, document: DocumentT) -> DocumentT:
    """Recompute a draft's totals from its lines (after an edit in the admin)."""
    if document.state != document.State.DRAFT:
        raise ValidationError(
            _("Only a draft can be recomputed."), code="document_immutable"
        )
    for line in document.lines.all():
        line.save()  # recomputes its rounded amounts
    document.compute_totals(document.lines.all())
    document.save(
        update_fields=[
            "total_excl_vat",
            "total_vat",
            "total_disbursements",
            "total",
            "updated_at",
        ]
    )
    return document


# --- Quotes ------------------------------------------------------------------------


@transaction.atomic
def create_quote(
    *,
    customer: Customer,
    lines: Sequence[LineSpec],
    by=None,
    patient=None,
    reference: str = "",
    valid_until: date | None = None,
    notes: str = "",
) -> Quote:
    """Draft a quote for a customer (about a patient's care) from lines."""
    quote = Quote(
        customer=customer,
        patient=patient,
        reference=reference,
        valid_until=valid_until,
        notes=notes,
        created_by=by,
    )
    quote.copy_buyer_from(customer)
    quote.save()
    _add_lines(quote, QuoteLine, "quote", lines, on=timezone.localdate())
    return refresh_totals(document=quote)


@transaction.atomic
def send_quote(*, quote: Quote, by=None) -> Quote:
    """Number the quote, freeze it and email the customer a link to decide."""
    quote = Quote.objects.select_for_update().get(pk=quote.pk)
    if not can_proceed(quote.send):
        raise ValidationError(_("This quote has already been sent."), code="not_draft")
    if not quote.lines.exists():
        raise ValidationError(_("A quote needs at least one line."), code="no_lines")
    refresh_totals(document=quote)
    today = timezone.localdate()
    if quote.valid_until is None:
        quote.valid_until = today + timedelta(days=settings.QUOTE_VALIDITY_DAYS)
    elif quote.valid_until < today:
        raise field_error(
            "valid_until", _("The validity date is already past."), code="validity_past"
        )
    quote.copy_buyer_from(quote.customer)
    quote.number = take_number(series=QUOTE_SERIES, year=today.year)
    quote.send()
    quote.save()
    if quote.buyer_email:
        emails.schedule_quote_email(quote=quote)
    return quote


def _guard_open_quote(quote: Quote, transition) -> None:
    expired = quote.valid_until is not None and quote.valid_until < timezone.localdate()
    if quote.state == Quote.State.SENT and expired:
        raise ValidationError(
            _("This quote expired on %(day)s.") % {"day": quote.valid_until},
            code="quote_expired",
        )
    if not can_proceed(transition):
        raise ValidationError(
            _("This quote has already been answered."), code="quote_closed"
        )


@transaction.atomic
def accept_quote(*, quote: Quote, by, ip: str | None, user_agent: str = "") -> Quote:
    """Record the customer's acceptance: who, when, from which address and browser."""
    quote = Quote.objects.select_for_update().get(pk=quote.pk)
    _guard_open_quote(quote, quote.accept)
    quote.accept(by=by, ip=ip, user_agent=user_agent)
    quote.save(
        update_fields=[
            "state",
            "decided_at",
            "decided_by",
            "decision_ip",
            "decision_user_agent",
            "updated_at",
        ]
    )
    return quote


@transaction.atomic
def refuse_quote(
    *, quote: Quote, by, ip: str | None, user_agent: str = "", reason: str = ""
) -> Quote:
    """Record the customer's refusal and its reason."""
    quote = Quote.objects.select_for_update().get(pk=quote.pk)
    _guard_open_quote(quote, quote.refuse)
    quote.refuse(by=by, ip=ip, user_agent=user_agent, reason=reason)
    quote.save(
        update_fields=[
            "state",
            "decided_at",
            "decided_by",
            "decision_ip",
            "decision_user_agent",
            "refusal_reason",
            "updated_at",
        ]
    )
    return quote


def expire_quotes(*, today: date | None = None) -> int:
    """Close the sent quotes whose validity date has passed."""
    today = today or timezone.localdate()
    expired = 0
    for pk in Quote.objects.filter(
        state=Quote.State.SENT, valid_until__lt=today
    ).values_list("pk", flat=True):
        with transaction.atomic():
            quote = (
                Quote.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, state=Quote.State.SENT)
                .first()
            )
            if quote is None:
                continue
            quote.expire()
            quote.save(update_fields=["state", "updated_at"])
            expired += 1
    return expired


@transaction.atomic
def record_reimbursement_estimate(*, quote: Quote, amount: Decimal | None) -> Quote:
    """Store what Assurance Maladie and the mutuelle should pay back (or clear it)."""
    quote = Quote.objects.select_for_update().get(pk=quote.pk)
    if amount is not None and (amount < 0 or amount > quote.total):
        raise field_error(
            "estimated_reimbursement",
            _("The estimate must lie between 0 and the total."),
            code="estimate_out_of_range",
        )
    quote.estimated_reimbursement = None if amount is None else round_money(amount)
    quote.reimbursement_estimated_at = timezone.now() if amount is not None else None
    quote.save(
        update_fields=[
            "estimated_reimbursement",
            "reimbursement_estimated_at",
            "updated_at",
        ]
    )
    return quote


@transaction.atomic
def create_invoice_from_quote(*, quote: Quote, by=None) -> Invoice:
    """Turn an accepted quote into a draft invoice with the same lines and buyer."""
    quote = Quote.objects.select_for_update().get(pk=quote.pk)
    if not can_proceed(quote.mark_invoiced):
        raise ValidationError(
            _("Only an accepted quote can be invoiced."), code="quote_not_accepted"
        )
    invoice = Invoice(
        customer=quote.customer,
        patient=quote.patient,
        quote=quote,
        reference=quote.reference,
        notes=quote.notes,
        created_by=by,
    )
    invoice.copy_buyer_from(quote.customer)
    invoice.save()
    for line in quote.lines.all():
        InvoiceLine(
            invoice=invoice,
            position=line.position,
            service=line.service,
            description=line.description,
            service_date=line.service_date,
            quantity=line.quantity,
            unit=line.unit,
            unit_price_excl_vat=line.unit_price_excl_vat,
            vat_category=line.vat_category,
            vat_rate=line.vat_rate,
        ).save()
    refresh_totals(document=invoice)
    quote.mark_invoiced()
    quote.save(update_fields=["state", "updated_at"])
    return invoice


# --- Invoices ----------------------------------------------------------------------


@transaction.atomic
def create_invoice(
    *,
    customer: Customer,
    lines: Sequence[LineSpec],
    by=None,
    patient=None,
    reference: str = "",
    service_date: date | None = None,
    notes: str = "",
) -> Invoice:
    """Draft an invoice; nothing is numbered until it is issued."""
    invoice = Invoice(
        customer=customer,
        patient=patient,
        reference=reference,
        service_date=service_date,
        notes=notes,
        created_by=by,
    )
    invoice.copy_buyer_from(customer)
    invoice.save()
    _add_lines(
        invoice, InvoiceLine, "invoice", lines, on=service_date or timezone.localdate()
    )
    return refresh_totals(document=invoice)


@transaction.atomic
def issue_invoice(*, invoice: Invoice, by=None, on: date | None = None) -> Invoice:
    """Number the invoice in this year's FA series and freeze it for good.

    The number comes from the locked counter inside this transaction: if anything
    below fails, the number goes back to the pool and the series keeps no gap.
    """
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if not can_proceed(invoice.issue):
        raise ValidationError(
            _("This invoice has already been issued."), code="not_draft"
        )
    lines = list(invoice.lines.all())
    if not lines:
        raise ValidationError(_("An invoice needs at least one line."), code="no_lines")
    on = on or timezone.localdate()
    refresh_totals(document=invoice)
    if invoice.total <= 0:
        raise ValidationError(
            _("An invoice must have a positive total."), code="empty_invoice"
        )
    invoice.copy_buyer_from(invoice.customer)
    if (
        invoice.buyer_is_business
        and invoice.buyer_country == "FR"
        and not invoice.buyer_siren
    ):
        raise ValidationError(
            _("A business customer's SIREN must be known before invoicing."),
            code="buyer_siren_missing",
        )
    invoice.service_date = invoice.service_date or min(
        (line.service_date for line in lines if line.service_date), default=on
    )
    if invoice.due_date is None or invoice.due_date < on:
        invoice.due_date = on + timedelta(days=settings.INVOICE_PAYMENT_TERMS_DAYS)
    invoice.seller = seller_identity()
    invoice.late_penalty_rate = Decimal(settings.INVOICE_LATE_PENALTY_RATE)
    invoice.recovery_indemnity = (
        Decimal(settings.INVOICE_RECOVERY_INDEMNITY)
        if invoice.buyer_is_business
        else None
    )
    number = take_number(series=Invoice.SERIES, year=on.year)
    invoice.issue(number=number, on=on, by=by)
    invoice.save()
    if invoice.buyer_email:
        tasks.send_invoice_email.delay_on_commit(invoice.pk)
    publish_event(  # the partner it is addressed to is told, after commit
        event_type="invoice.issued",
        about=invoice,
        payload={
            "id": str(invoice.public_id),
            "number": invoice.number,
            "issue_date": invoice.issue_date,
            "due_date": invoice.due_date,
            "total": invoice.total,
        },
    )
    return invoice


def _settle(invoice: Invoice, *, today: date | None = None) -> None:
    """Move the invoice to the state its amounts and due date call for."""
    today = today or timezone.localdate()
    balance = invoice.balance
    if invoice.amount_credited >= invoice.total and invoice.amount_paid <= 0:
        wanted = invoice.cancel
    elif balance <= 0:
        wanted = invoice.mark_paid
    elif invoice.due_date and invoice.due_date < today:
        wanted = invoice.mark_overdue
    elif invoice.amount_paid > 0 or invoice.amount_credited > 0:
        wanted = invoice.mark_partially_paid
    else:
        return
    if can_proceed(wanted):
        wanted()


def _lock_settled_invoice(invoice: Invoice) -> Invoice:
    return Invoice.objects.select_for_update().get(pk=invoice.pk)


@transaction.atomic
def record_payment(
    *,
    invoice: Invoice,
    amount: Decimal,
    method: str,
    received_on: date | None = None,
    by=None,
    reference: str = "",
    note: str = "",
) -> Payment:
    """Record money received; partial payments leave the rest due."""
    invoice = _lock_settled_invoice(invoice)
    if invoice.state not in (
        Invoice.State.ISSUED,
        Invoice.State.PARTIALLY_PAID,
        Invoice.State.OVERDUE,
    ):
        raise ValidationError(
            _("This invoice is not awaiting payment."), code="not_payable"
        )
    amount = round_money(Decimal(amount))
    if amount <= 0:
        raise field_error(
            "amount", _("The amount must be positive."), code="amount_not_positive"
        )
    if amount > invoice.balance:
        raise field_error(
            "amount",
            _("The amount exceeds the balance due (%(balance)s €).")
            % {"balance": invoice.balance},
            code="overpayment",
        )
    if method not in Payment.Method.values:
        raise field_error("method", _("Unknown payment method."), code="invalid_method")
    payment = Payment(
        invoice=invoice,
        kind=Payment.Kind.PAYMENT,
        method=method,
        amount=amount,
        received_on=received_on or timezone.localdate(),
        reference=reference,
        note=note,
        recorded_by=by,
    )
    payment.full_clean()
    payment.save()
    invoice.amount_paid += amount
    _settle(invoice)
    invoice.save(update_fields=["state", "amount_paid", "paid_at", "updated_at"])
    if invoice.amount_due == 0:
        emails.cancel_reminder_emails(invoice=invoice)
    return payment


@transaction.atomic
def record_refund(
    *,
    invoice: Invoice,
    amount: Decimal,
    method: str,
    refunded_on: date | None = None,
    by=None,
    reference: str = "",
    note: str = "",
) -> Payment:
    """Record money paid back after a credit note left the customer in credit."""
    invoice = _lock_settled_invoice(invoice)
    amount = round_money(Decimal(amount))
    owed_back = -invoice.balance
    if amount <= 0:
        raise field_error(
            "amount", _("The amount must be positive."), code="amount_not_positive"
        )
    if amount > owed_back:
        raise field_error(
            "amount",
            _("Only %(amount)s € is owed back to the customer.")
            % {"amount": max(owed_back, ZERO)},
            code="refund_exceeds_credit",
        )
    refund = Payment(
        invoice=invoice,
        kind=Payment.Kind.REFUND,
        method=method,
        amount=amount,
        received_on=refunded_on or timezone.localdate(),
        reference=reference,
        note=note,
        recorded_by=by,
    )
    refund.full_clean()
    refund.save()
    invoice.amount_paid -= amount
    _settle(invoice)
    invoice.save(update_fields=["state", "amount_paid", "updated_at"])
    return refund


# --- Credit notes ------------------------------------------------------------------


@dataclass(frozen=True)
class CreditSpec:
    """Credit part of an invoice line: a quantity, or an amount excluding VAT."""

    invoice_line: InvoiceLine
    quantity: Decimal | None = None
    amount_excl_vat: Decimal | None = None


def _credited_so_far(line: InvoiceLine) -> tuple[Decimal, Decimal, Decimal]:
    sums = line.credit_lines.aggregate(
        quantity=Sum("quantity"), net=Sum("net_amount"), vat=Sum("vat_amount")
    )
    return (sums["quantity"] or ZERO, sums["net"] or ZERO, sums["vat"] or ZERO)


def _credit_line(spec: CreditSpec, position: int) -> CreditNoteLine:
    line = spec.invoice_line
    done_quantity, done_net, done_vat = _credited_so_far(line)
    left_net = line.net_amount - done_net
    left_vat = line.vat_amount - done_vat
    left_quantity = line.quantity - done_quantity
    credit = CreditNoteLine(
        position=position,
        invoice_line=line,
        service=line.service,
        description=line.description,
        service_date=line.service_date,
        unit=line.unit,
        vat_category=line.vat_category,
        vat_rate=line.vat_rate,
    )
    if spec.amount_excl_vat is not None:
        credit.quantity = Decimal("1.00")
        credit.unit_price_excl_vat = round_money(Decimal(spec.amount_excl_vat))
        amounts = compute_line_amounts(
            quantity=credit.quantity,
            unit_price=credit.unit_price_excl_vat,
            vat_rate=line.vat_rate,
        )
        net, vat = amounts.net, amounts.vat
        if net == left_net:
            vat = left_vat  # crediting what is left: exact, whatever the rounding
    else:
        quantity = left_quantity if spec.quantity is None else Decimal(spec.quantity)
        credit.quantity = quantity
        credit.unit_price_excl_vat = line.unit_price_excl_vat
        if quantity == left_quantity:
            net, vat = left_net, left_vat
        else:
            amounts = compute_line_amounts(
                quantity=quantity,
                unit_price=line.unit_price_excl_vat,
                vat_rate=line.vat_rate,
            )
            net, vat = amounts.net, amounts.vat
    if credit.quantity <= 0 or net <= 0:
        raise ValidationError(
            _("Line “%(line)s”: the amount to credit must be positive.")
            % {"line": line.description},
            code="amount_not_positive",
        )
    if (
        net > left_net
        or vat > left_vat
        or (spec.amount_excl_vat is None and credit.quantity > left_quantity)
    ):
        raise ValidationError(
            _("Line “%(line)s”: only %(amount)s € excl. VAT is left to credit.")
            % {"line": line.description, "amount": left_net},
            code="over_credit",
        )
    # Set here, not recomputed on save: crediting what is left of a line must
    # take its remaining cents exactly (bulk_create does not call save()).
    credit.net_amount, credit.vat_amount = net, vat
    return credit


@transaction.atomic
def create_credit_note(
    *,
    invoice: Invoice,
    reason: str,
    by=None,
    lines: Sequence[CreditSpec] | None = None,
    on: date | None = None,
) -> CreditNote:
    """Issue an avoir for all that is left of the invoice, or for some lines.

    The credit note is numbered in the AV series inside this transaction, like
    an invoice; when credit notes cover the whole invoice and nothing stays
    paid, the invoice is cancelled.
    """
    invoice = _lock_settled_invoice(invoice)
    if invoice.state in (Invoice.State.DRAFT, Invoice.State.CANCELLED):
        raise ValidationError(
            _("Only an issued invoice that is not cancelled can be credited."),
            code="not_creditable",
        )
    if not reason.strip():
        raise field_error(
            "reason", _("Give the reason for the credit note."), code="reason_required"
        )
    invoice_lines = {line.pk: line for line in invoice.lines.all()}
    if lines is None:
        specs = [
            CreditSpec(invoice_line=line)
            for line in invoice_lines.values()
            if line.net_amount - _credited_so_far(line)[1] > 0
        ]
    else:
        specs = list(lines)
    if not specs:
        raise ValidationError(_("Nothing is left to credit."), code="nothing_to_credit")
    if len({spec.invoice_line.pk for spec in specs}) != len(specs):
        raise ValidationError(
            _("Credit each invoice line at most once per credit note."),
            code="duplicate_line",
        )
    for spec in specs:
        if spec.invoice_line.pk not in invoice_lines:
            raise ValidationError(
                _("A credited line must belong to the invoice."), code="foreign_line"
            )
    credit_lines = [
        _credit_line(spec, position=index * 10)
        for index, spec in enumerate(specs, start=1)
    ]
    on = on or timezone.localdate()
    credit_note = CreditNote(
        invoice=invoice,
        issue_date=on,
        reason=reason.strip(),
        seller=seller_identity(),
        issued_by=by,
    )
    credit_note.buyer_kind = invoice.buyer_kind
    for field in (
        "buyer_name",
        "buyer_address",
        "buyer_postal_code",
        "buyer_city",
        "buyer_country",
        "buyer_email",
        "buyer_siren",
        "buyer_vat_number",
    ):
        setattr(credit_note, field, getattr(invoice, field))
    credit_note.compute_totals(credit_lines)
    if invoice.amount_credited + credit_note.total > invoice.total:
        raise ValidationError(
            _("Credit notes cannot exceed the invoice total."), code="over_credit"
        )
    credit_note.number = take_number(series=CreditNote.SERIES, year=on.year)
    credit_note.save()
    for credit_line in credit_lines:
        credit_line.credit_note = credit_note
    CreditNoteLine.objects.bulk_create(credit_lines)
    invoice.amount_credited += credit_note.total
    _settle(invoice)
    invoice.save(update_fields=["state", "amount_credited", "paid_at", "updated_at"])
    if invoice.amount_due == 0:
        emails.cancel_reminder_emails(invoice=invoice)
    if credit_note.buyer_email:
        tasks.send_credit_note_email.delay_on_commit(credit_note.pk)
    return credit_note


# --- Overdue invoices and reminders ------------------------------------------------


def mark_overdue_invoices(*, today: date | None = None) -> int:
    """Flag the invoices whose due date has passed with a balance left."""
    today = today or timezone.localdate()
    marked = 0
    candidates = Invoice.objects.filter(
        state__in=[Invoice.State.ISSUED, Invoice.State.PARTIALLY_PAID],
        due_date__lt=today,
    ).values_list("pk", flat=True)
    for pk in candidates:
        with transaction.atomic():
            invoice = (
                Invoice.objects.select_for_update(skip_locked=True)
                .filter(pk=pk)
                .first()
            )
            if invoice is None or not can_proceed(invoice.mark_overdue):
                continue
            if (
                invoice.balance <= 0
                or not invoice.due_date
                or invoice.due_date >= today
            ):
                continue
            invoice.mark_overdue()
            invoice.save(update_fields=["state", "updated_at"])
            marked += 1
    return marked


def reminder_stage(*, due_date: date, today: date) -> int | None:
    """The latest reminder stage reached (days after the due date), if any."""
    late = (today - due_date).days
    reached = [stage for stage in settings.INVOICE_REMINDER_DAYS if 0 < stage <= late]
    return max(reached) if reached else None


def schedule_overdue_reminders(*, today: date | None = None) -> int:
    """Queue the reminder due for each overdue invoice; each stage goes out once.

    Only the latest stage reached is queued, so an invoice found late after an
    outage gets one reminder, not all the stages it missed. The unique row per
    (invoice, stage) and the outbox's unique key both guard against repeats.
    """
    today = today or timezone.localdate()
    scheduled = 0
    overdue = Invoice.objects.filter(state=Invoice.State.OVERDUE).exclude(
        buyer_email=""
    )
    for pk, due_date in overdue.values_list("pk", "due_date"):
        stage = due_date and reminder_stage(due_date=due_date, today=today)
        if not stage:
            continue
        with transaction.atomic():
            invoice = (
                Invoice.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(pk=pk, state=Invoice.State.OVERDUE)
                .select_related("customer__user")
                .first()
            )
            if invoice is None:
                continue
            reminder, created = OverdueReminder.objects.get_or_create(
                invoice=invoice,
                stage=stage,
                defaults={"sent_at": timezone.now(), "sent_to": invoice.buyer_email},
            )
            if created:
                emails.schedule_reminder_email(reminder=reminder)
                scheduled += 1
    return scheduled


def process_overdue_invoices(*, today: date | None = None) -> dict[str, int]:
    """The daily sweep: expire quotes, flag overdue invoices, schedule reminders."""
    today = today or timezone.localdate()
    return {
        "quotes_expired": expire_quotes(today=today),
        "invoices_overdue": mark_overdue_invoices(today=today),
        "reminders_scheduled": schedule_overdue_reminders(today=today),
    }

"""The billing back-office: catalogue, quotes, invoices, credit notes, payments.

Every action calls the services. Issued invoices, credit notes and payments are
shown read-only: the admin offers no way to change a legal record, only to
settle it (payment) or correct it (credit note).
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from . import exports, pdf, services
from .forms import CreditNoteForm, ExportForm, PaymentForm
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
    ServicePrice,
    VatRate,
)
from .views import pdf_response

# --- Catalogue ---------------------------------------------------------------------


class ServicePriceInline(admin.TabularInline):
    model = ServicePrice
    extra = 0
    fields = ["unit_price_excl_vat", "valid_from", "valid_to", "source"]


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "kind", "unit", "vat_category", "is_active"]
    list_filter = ["kind", "vat_category", "is_active"]
    search_fields = ["name", "code"]
    prepopulated_fields = {"code": ["name"]}
    inlines = [ServicePriceInline]


@admin.register(VatRate)
class VatRateAdmin(admin.ModelAdmin):
    search_fields = ("category", "source")
    list_display = ["category", "rate", "valid_from", "valid_to", "source"]
    list_filter = ["category"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "city", "email", "siren", "user"]
    list_filter = ["kind"]
    search_fields = ["name", "email", "siren", "city"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
    readonly_fields = ["public_id"]


# --- Shared pieces -----------------------------------------------------------------

LINE_FIELDS = [
    "position",
    "service",
    "description",
    "service_date",
    "quantity",
    "unit",
    "unit_price_excl_vat",
    "vat_category",
    "vat_rate",
    "net_amount",
    "vat_amount",
]
BUYER_FIELDS = [
    "buyer_kind",
    "buyer_name",
    "buyer_address",
    "buyer_postal_code",
    "buyer_city",
    "buyer_country",
    "buyer_email",
    "buyer_siren",
    "buyer_vat_number",
]
TOTAL_FIELDS = ["total_excl_vat", "total_vat", "total_disbursements", "total"]


class DraftLineInline(admin.TabularInline):
    """Lines editable while the document is a draft, read-only afterwards."""

    extra = 0
    fields = tuple(LINE_FIELDS)
    readonly_fields = ["net_amount", "vat_amount"]
    autocomplete_fields = ["service"]

    def _is_draft(self, obj) -> bool:
        return obj is None or obj.state == obj.State.DRAFT

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if self._is_draft(obj) else LINE_FIELDS

    def has_add_permission(self, request, obj=None) -> bool:
        return self._is_draft(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._is_draft(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._is_draft(obj) and super().has_delete_permission(request, obj)


def report(modeladmin, request, done: int, errors: list[str], success) -> None:
    for error in errors:
        modeladmin.message_user(request, error, messages.WARNING)
    if done:
        modeladmin.message_user(
            request, str(success) % {"count": done}, messages.SUCCESS
        )


def apply_service(queryset, call) -> tuple[int, list[str]]:
    done, errors = 0, []
    for obj in queryset:
        try:
            call(obj)
        except ValidationError as error:
            errors.append(f"{obj}: {' '.join(error.messages)}")
        else:
            done += 1
    return done, errors


# --- Quotes ------------------------------------------------------------------------


class QuoteLineInline(DraftLineInline):
    model = QuoteLine


@admin.register(Quote)
class QuoteAdmin(SimpleHistoryAdmin):
    date_hierarchy = "created_at"
    list_display = [
        "__str__",
        "buyer_name",
        "state",
        "total",
        "valid_until",
        "sent_at",
        "decided_at",
    ]
    list_filter = ["state"]
    search_fields = ["number", "buyer_name", "reference", "customer__name"]
    autocomplete_fields = ["customer", "patient"]
    inlines = [QuoteLineInline]
    actions = ["send", "make_invoice"]
    fieldsets = (
        (
            None,
            {"fields": ("customer", "patient", "reference", "valid_until", "notes")},
        ),
        (_("State"), {"fields": ("number", "state", "documents", "sent_at")}),
        (_("Totals"), {"fields": (*TOTAL_FIELDS, "estimated_reimbursement")}),
        (
            _("Decision"),
            {
                "fields": (
                    "decided_at",
                    "decided_by",
                    "decision_ip",
                    "decision_user_agent",
                    "refusal_reason",
                )
            },
        ),
        (_("Buyer as printed"), {"classes": ["collapse"], "fields": BUYER_FIELDS}),
    )
    readonly_fields = [
        "number",
        "state",
        "documents",
        "sent_at",
        *TOTAL_FIELDS,
        "estimated_reimbursement",
        "decided_at",
        "decided_by",
        "decision_ip",
        "decision_user_agent",
        "refusal_reason",
        *BUYER_FIELDS,
    ]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.state != Quote.State.DRAFT:
            return [
                *self.readonly_fields,
                "customer",
                "patient",
                "reference",
                "valid_until",
                "notes",
            ]
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.state != Quote.State.DRAFT:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.created_by = request.user
            obj.copy_buyer_from(obj.customer)
        elif obj.state == Quote.State.DRAFT and "customer" in form.changed_data:
            obj.copy_buyer_from(obj.customer)
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        if form.instance.state == Quote.State.DRAFT:
            services.refresh_totals(document=form.instance)

    @admin.display(description=_("documents"))
    def documents(self, obj: Quote) -> str:
        if obj.pk is None:
            return "-"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:billing_quote_pdf", args=[obj.pk]),
            _("PDF"),
        )

    @admin.action(description=_("Send to the customer"), permissions=["change"])
    def send(self, request, queryset) -> None:
        done, errors = apply_service(
            queryset, lambda quote: services.send_quote(quote=quote, by=request.user)
        )
        report(self, request, done, errors, _("%(count)d quote(s) sent."))

    @admin.action(description=_("Turn into a draft invoice"), permissions=["change"])
    def make_invoice(self, request, queryset) -> None:
        done, errors = apply_service(
            queryset,
            lambda quote: services.create_invoice_from_quote(
                quote=quote, by=request.user
            ),
        )
        report(self, request, done, errors, _("%(count)d draft invoice(s) created."))

    def get_urls(self):
        return [
            path(
                "<int:pk>/pdf/",
                self.admin_site.admin_view(self.pdf_view),
                name="billing_quote_pdf",
            ),
            *super().get_urls(),
        ]

    def pdf_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        quote = get_object_or_404(Quote, pk=pk)
        return pdf_response(pdf.render_pdf(quote), pdf.filename(quote))


# --- Invoices ----------------------------------------------------------------------


class InvoiceLineInline(DraftLineInline):
    model = InvoiceLine


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0
    fields = ("received_on", "kind", "method", "amount", "reference", "recorded_by")
    readonly_fields = fields
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class CreditNoteInline(admin.TabularInline):
    model = CreditNote
    extra = 0
    fields = ("number", "issue_date", "reason", "total")
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Invoice)
class InvoiceAdmin(SimpleHistoryAdmin):
    list_display = [
        "__str__",
        "buyer_name",
        "state",
        "issue_date",
        "due_date",
        "total",
        "balance_display",
    ]
    list_filter = ["state", "buyer_kind", "issue_date"]
    search_fields = ["number", "buyer_name", "reference", "customer__name"]
    date_hierarchy = "issue_date"
    autocomplete_fields = ["customer", "patient"]
    inlines = [InvoiceLineInline, PaymentInline, CreditNoteInline]
    actions = ["issue", "credit_in_full", "export_selected"]
    change_list_template = "billing/admin/invoice_change_list.html"
    editable_fields = [
        "customer",
        "patient",
        "reference",
        "service_date",
        "due_date",
        "notes",
    ]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "customer",
                    "patient",
                    "reference",
                    "service_date",
                    "due_date",
                    "notes",
                )
            },
        ),
        (
            _("State"),
            {"fields": ("number", "state", "issue_date", "documents", "quote")},
        ),
        (
            _("Totals"),
            {
                "fields": (
                    *TOTAL_FIELDS,
                    "amount_paid",
                    "amount_credited",
                    "balance_display",
                )
            },
        ),
        (_("Buyer as printed"), {"classes": ["collapse"], "fields": BUYER_FIELDS}),
        (
            _("Seller and terms as printed"),
            {
                "classes": ["collapse"],
                "fields": (
                    "seller",
                    "late_penalty_rate",
                    "recovery_indemnity",
                    "issued_at",
                    "issued_by",
                ),
            },
        ),
    )
    readonly_fields = [
        "number",
        "state",
        "issue_date",
        "documents",
        "quote",
        *TOTAL_FIELDS,
        "amount_paid",
        "amount_credited",
        "balance_display",
        *BUYER_FIELDS,
        "seller",
        "late_penalty_rate",
        "recovery_indemnity",
        "issued_at",
        "issued_by",
    ]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.state != Invoice.State.DRAFT:
            return [*self.readonly_fields, *self.editable_fields]
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.state != Invoice.State.DRAFT:
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.has_perm("billing.issue_invoice"):
            actions.pop("issue", None)
        if not request.user.has_perm("billing.add_creditnote"):
            actions.pop("credit_in_full", None)
        if not request.user.has_perm("billing.export_billing"):
            actions.pop("export_selected", None)
        return actions

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.created_by = request.user
            obj.copy_buyer_from(obj.customer)
        elif obj.state == Invoice.State.DRAFT and "customer" in form.changed_data:
            obj.copy_buyer_from(obj.customer)
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        if form.instance.state == Invoice.State.DRAFT:
            services.refresh_totals(document=form.instance)

    @admin.display(description=_("balance"))
    def balance_display(self, obj: Invoice):
        return obj.balance if obj.pk else None

    @admin.display(description=_("documents and actions"))
    def documents(self, obj: Invoice) -> str:
        if obj.pk is None:
            return "-"
        links = [
            (reverse("admin:billing_invoice_pdf", args=[obj.pk]), _("PDF")),
        ]
        if obj.state != Invoice.State.DRAFT:
            links.append(
                (reverse("admin:billing_invoice_facturx", args=[obj.pk]), _("Factur-X"))
            )
        if obj.state in (
            Invoice.State.ISSUED,
            Invoice.State.PARTIALLY_PAID,
            Invoice.State.OVERDUE,
        ):
            links.append(
                (
                    reverse("admin:billing_invoice_pay", args=[obj.pk]),
                    _("Record a payment"),
                )
            )
        if obj.state not in (Invoice.State.DRAFT, Invoice.State.CANCELLED):
            links.append(
                (
                    reverse("admin:billing_invoice_credit", args=[obj.pk]),
                    _("Issue a credit note"),
                )
            )
        return format_html_join(" · ", '<a href="{}">{}</a>', links)

    @admin.action(description=_("Issue (number and freeze)"), permissions=["change"])
    def issue(self, request, queryset) -> None:
        done, errors = apply_service(
            queryset.order_by("created_at"),
            lambda invoice: services.issue_invoice(invoice=invoice, by=request.user),
        )
        report(self, request, done, errors, _("%(count)d invoice(s) issued."))

    @admin.action(
        description=_("Cancel with a full credit note"), permissions=["change"]
    )
    def credit_in_full(self, request, queryset) -> None:
        done, errors = apply_service(
            queryset,
            lambda invoice: services.create_credit_note(
                invoice=invoice,
                reason=str(_("Invoice cancelled")),
                by=request.user,
            ),
        )
        report(self, request, done, errors, _("%(count)d credit note(s) issued."))

    @admin.action(
        description=_("Export the selected invoices (CSV)"), permissions=["view"]
    )
    def export_selected(self, request, queryset) -> HttpResponse | None:
        issued = queryset.exclude(state=Invoice.State.DRAFT).exclude(issue_date=None)
        dates = sorted(issued.values_list("issue_date", flat=True))
        if not dates:
            self.message_user(
                request, _("No issued invoice selected."), messages.WARNING
            )
            return None
        text = exports.write_csv(
            row
            for index, row in enumerate(exports.invoice_rows(dates[0], dates[-1]))
            if index == 0 or row[0] in set(issued.values_list("number", flat=True))
        )
        return csv_response(
            text,
            exports.export_filename(kind="invoices", start=dates[0], end=dates[-1]),
        )

    def get_urls(self):
        def view(name, function):
            return path(
                f"<int:pk>/{name}/",
                self.admin_site.admin_view(function),
                name=f"billing_invoice_{name.replace('-', '_')}",
            )

        return [
            path(
                "export/",
                self.admin_site.admin_view(self.export_view),
                name="billing_export",
            ),
            view("pdf", self.pdf_view),
            view("facturx", self.facturx_view),
            view("pay", self.payment_view),
            view("credit", self.credit_note_view),
            *super().get_urls(),
        ]

    def _invoice(self, request, pk: int, permission: str | None = None) -> Invoice:
        if not self.has_view_permission(request) or (
            permission and not request.user.has_perm(permission)
        ):
            raise PermissionDenied
        return get_object_or_404(Invoice, pk=pk)

    def pdf_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        invoice = self._invoice(request, pk)
        return pdf_response(pdf.render_pdf(invoice), pdf.filename(invoice))

    def facturx_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        invoice = self._invoice(request, pk)
        if invoice.state == Invoice.State.DRAFT:
            raise PermissionDenied
        return pdf_response(
            pdf.render_facturx(invoice), pdf.filename(invoice, facturx=True)
        )

    def _form_page(self, request, invoice, form, title: str) -> TemplateResponse:
        return TemplateResponse(
            request,
            "billing/admin/invoice_form.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "original": invoice,
                "invoice": invoice,
                "form": form,
                "title": title,
            },
        )

    def payment_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        invoice = self._invoice(request, pk, "billing.add_payment")
        form = PaymentForm(request.POST or None, initial={"amount": invoice.amount_due})
        if request.method == "POST" and form.is_valid():
            try:
                services.record_payment(
                    invoice=invoice, by=request.user, **form.cleaned_data
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.message_user(request, _("Payment recorded."), messages.SUCCESS)
                return redirect("admin:billing_invoice_change", invoice.pk)
        return self._form_page(
            request,
            invoice,
            form,
            _("Record a payment for %(invoice)s") % {"invoice": invoice},
        )

    def credit_note_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        invoice = self._invoice(request, pk, "billing.add_creditnote")
        form = CreditNoteForm(request.POST or None, invoice=invoice)
        if request.method == "POST" and form.is_valid():
            lines = None
            if not form.cleaned_data["full"]:
                lines = [
                    services.CreditSpec(invoice_line=line, amount_excl_vat=amount)
                    for line, amount in form.credited_amounts()
                ]
            try:
                credit_note = services.create_credit_note(
                    invoice=invoice,
                    reason=form.cleaned_data["reason"],
                    by=request.user,
                    lines=lines,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.message_user(
                    request,
                    _("Credit note %(number)s issued.")
                    % {"number": credit_note.number},
                    messages.SUCCESS,
                )
                return redirect("admin:billing_invoice_change", invoice.pk)
        return self._form_page(
            request,
            invoice,
            form,
            _("Credit note for %(invoice)s") % {"invoice": invoice},
        )

    def export_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("billing.export_billing"):
            raise PermissionDenied
        form = ExportForm(request.GET or None)
        if form.is_valid():
            data = form.cleaned_data
            text = exports.export_csv(
                kind=data["kind"], start=data["start"], end=data["end"]
            )
            return csv_response(
                text,
                exports.export_filename(
                    kind=data["kind"], start=data["start"], end=data["end"]
                ),
            )
        return TemplateResponse(
            request,
            "billing/admin/export.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "form": form,
                "title": _("Export for the accountant"),
            },
        )


def csv_response(text: str, name: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- Records that are never edited -------------------------------------------------


class ReadOnlyMixin:
    """Legal and accounting records: shown, never added, changed or deleted here."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class CreditNoteLineInline(admin.TabularInline):
    model = CreditNoteLine
    extra = 0
    fields = tuple(LINE_FIELDS)
    readonly_fields = LINE_FIELDS
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CreditNote)
class CreditNoteAdmin(ReadOnlyMixin, SimpleHistoryAdmin):
    list_filter = ("buyer_kind", "issue_date")
    list_display = [
        "number",
        "invoice",
        "buyer_name",
        "issue_date",
        "total",
        "pdf_link",
    ]
    search_fields = ["number", "invoice__number", "buyer_name"]
    date_hierarchy = "issue_date"
    inlines = [CreditNoteLineInline]
    fields = [
        "number",
        "invoice",
        "issue_date",
        "reason",
        *TOTAL_FIELDS,
        *BUYER_FIELDS,
        "issued_by",
        "pdf_link",
    ]

    @admin.display(description=_("PDF"))
    def pdf_link(self, obj: CreditNote) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:billing_creditnote_pdf", args=[obj.pk]),
            _("Factur-X"),
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/pdf/",
                self.admin_site.admin_view(self.pdf_view),
                name="billing_creditnote_pdf",
            ),
            *super().get_urls(),
        ]

    def pdf_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        credit_note = get_object_or_404(CreditNote, pk=pk)
        return pdf_response(
            pdf.render_facturx(credit_note), pdf.filename(credit_note, facturx=True)
        )


@admin.register(Payment)
class PaymentAdmin(ReadOnlyMixin, SimpleHistoryAdmin):
    list_display = ["received_on", "kind", "method", "amount", "invoice", "reference"]
    list_filter = ["kind", "method"]
    search_fields = ["invoice__number", "reference", "invoice__buyer_name"]
    date_hierarchy = "received_on"


@admin.register(OverdueReminder)
class OverdueReminderAdmin(ReadOnlyMixin, admin.ModelAdmin):
    date_hierarchy = "sent_at"
    list_display = ["invoice", "stage", "sent_at", "sent_to"]
    search_fields = ["invoice__number", "sent_to"]

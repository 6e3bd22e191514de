"""Back-office: tariffs with sources, recorded acts, procedures, the claims board."""

import datetime as dt
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import Count, F, QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django_fsm import can_proceed
from simple_history.admin import SimpleHistoryAdmin

from conciergerie.accounts.models import User
from conciergerie.audit.models import AccessLog
from patients.access import AuditObject, audit

from . import services
from .forms import (
    AcknowledgeClaimForm,
    AppealClaimForm,
    AttachDocumentsForm,
    ClaimPaymentForm,
    CloseClaimForm,
    InvoiceEstimateForm,
    QuoteEstimateForm,
    RejectClaimForm,
    SendClaimForm,
)
from .models import (
    Act,
    ActTariff,
    AdministrativeProcedure,
    Claim,
    ClaimChase,
    ClaimDocument,
    ClaimEvent,
    Insurer,
    PatientContributionRule,
    Payer,
    ProcedureQuerySet,
    RecordedAct,
    RegulatoryParameter,
    ReimbursementRate,
)


class InForceFilter(admin.SimpleListFilter):
    title = _("validity")
    parameter_name = "validity"

    def lookups(self, request, model_admin):
        return [
            ("current", _("In force today")),
            ("past", _("Ended")),
            ("future", _("Future")),
        ]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        if self.value() == "current":
            return queryset.in_force_on(today)
        if self.value() == "past":
            return queryset.filter(valid_to__lt=today)
        if self.value() == "future":
            return queryset.filter(valid_from__gt=today)
        return queryset


URL_FIELDS: dict[type[models.Field], dict[str, Any]] = {
    models.URLField: {"assume_scheme": "https"}
}


class DatedRuleAdmin(SimpleHistoryAdmin):
    formfield_overrides = URL_FIELDS
    date_hierarchy = "valid_from"
    readonly_fields = ["created_at", "updated_at"]

    @admin.display(description=_("source"))
    def source_link(self, obj) -> str:
        return format_html(
            '<a href="{}" rel="noopener noreferrer" target="_blank">{}</a>',
            obj.source,
            obj.source.split("/")[2] if "//" in obj.source else obj.source,
        )


class ActTariffInline(admin.TabularInline):
    model = ActTariff
    formfield_overrides = URL_FIELDS
    extra = 0
    fields = ["grid", "base", "valid_from", "valid_to", "source", "note"]
    ordering = ["grid", "-valid_from"]


@admin.register(Act)
class ActAdmin(admin.ModelAdmin):
    list_display = ["code", "label", "kind", "contribution", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["code", "label"]
    inlines = [ActTariffInline]


@admin.register(ActTariff)
class ActTariffAdmin(DatedRuleAdmin):
    list_display = ["act", "grid", "base", "valid_from", "valid_to", "source_link"]
    list_filter = [InForceFilter, "grid", "act"]
    search_fields = ["act__code", "act__label", "note"]
    list_select_related = ["act"]
    autocomplete_fields = ["act"]


@admin.register(ReimbursementRate)
class ReimbursementRateAdmin(DatedRuleAdmin):
    search_fields = ("situation", "source")
    list_display = ["situation", "percent", "valid_from", "valid_to", "source_link"]
    list_filter = [InForceFilter, "situation"]


@admin.register(PatientContributionRule)
class PatientContributionRuleAdmin(DatedRuleAdmin):
    search_fields = ("kind", "source")
    list_display = [
        "kind",
        "amount_per_act",
        "yearly_cap",
        "adult_from_age",
        "valid_from",
        "valid_to",
        "source_link",
    ]
    list_filter = [InForceFilter, "kind"]


@admin.register(RegulatoryParameter)
class RegulatoryParameterAdmin(DatedRuleAdmin):
    search_fields = ("key", "source")
    list_display = ["key", "value", "valid_from", "valid_to", "source_link"]
    list_filter = [InForceFilter, "key"]


@admin.register(RecordedAct)
class RecordedActAdmin(admin.ModelAdmin):
    """Acts recorded for the yearly participation cap: read-only, like a ledger."""

    list_display = [
        "patient_label",
        "act",
        "performed_on",
        "sector",
        "fee",
        "amo",
        "amc",
        "participation",
        "out_of_pocket",
    ]
    list_filter = ["act", "sector"]
    search_fields = ["patient__reference", "patient__last_name", "unmatched_reference"]
    date_hierarchy = "performed_on"
    list_select_related = ["act", "patient"]
    actions = ["prepare_claims"]

    @admin.display(description=_("patient"), ordering="patient__reference")
    def patient_label(self, obj: RecordedAct) -> str:
        return obj.patient.reference if obj.patient else obj.unmatched_reference

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.action(description=_("Prepare the claims of the selected acts"))
    def prepare_claims(self, request, queryset) -> None:
        opened = 0
        for act in queryset.select_related("patient", "act"):
            try:
                opened += len(
                    services.open_claims_for_act(recorded_act=act, by=request.user)
                )
            except (ValidationError, PermissionDenied) as error:
                text = (
                    error.messages[0]
                    if isinstance(error, ValidationError)
                    else _("You may not do this.")
                )
                self.message_user(request, f"{act}: {text}", messages.WARNING)
        self.message_user(
            request,
            _("%(count)s claims prepared.") % {"count": opened},
            messages.SUCCESS,
        )


class OverdueFilter(admin.SimpleListFilter):
    title = _("deadline")
    parameter_name = "deadline"

    def lookups(self, request, model_admin):
        return [("overdue", _("Overdue")), ("open", _("Open"))]

    def queryset(self, request, queryset):
        if self.value() == "overdue":
            return queryset.overdue(timezone.localdate())
        if self.value() == "open":
            return queryset.open()
        return queryset


class ProcedureAdminForm(forms.ModelForm):
    """The rules of `services.open_procedure`, shown as field errors in the form."""

    class Meta:
        model = AdministrativeProcedure
        fields = ["kind", "title", "patient", "claim", "owner", "due_on", "notes"]

    def clean_due_on(self):
        due_on = self.cleaned_data["due_on"]
        if self.instance.pk is None and due_on < timezone.localdate():
            raise ValidationError(
                _("The due date is already past."), code="due_date_past"
            )
        return due_on


@admin.register(AdministrativeProcedure)
class AdministrativeProcedureAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "kind",
        "patient",
        "owner",
        "due_on",
        "status",
        "overdue",
    ]
    list_filter = [OverdueFilter, "status", "kind", "owner"]
    search_fields = [
        "title",
        "patient__reference",
        "patient__last_name",
        "unmatched_reference",
        "notes",
    ]
    date_hierarchy = "due_on"
    list_select_related = ["owner", "patient"]
    autocomplete_fields = ["patient", "claim"]
    readonly_fields = [
        "unmatched_reference",
        "status",
        "started_at",
        "completed_at",
        "cancelled_at",
        "cancel_reason",
        "created_at",
        "updated_at",
    ]
    fields = [
        "kind",
        "title",
        "patient",
        "claim",
        "owner",
        "due_on",
        "notes",
        *readonly_fields,
    ]
    actions = ["start", "wait", "complete", "cancel"]
    form = ProcedureAdminForm

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = cast(ProcedureQuerySet, super().get_queryset(request))
        return queryset.visible_to(request.user)

    @admin.display(description=_("overdue"), boolean=True)
    def overdue(self, obj: AdministrativeProcedure) -> bool:
        return obj.is_overdue(timezone.localdate())

    def save_model(self, request, obj, form, change) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created = services.open_procedure(
            kind=obj.kind,
            title=obj.title,
            owner=obj.owner,
            due_on=obj.due_on,
            patient=obj.patient,
            claim=obj.claim,
            notes=obj.notes,
        )
        obj.pk = created.pk
        obj.refresh_from_db()

    def _run(self, request, queryset, service, done: Any) -> None:
        count = 0
        for procedure in queryset:
            try:
                service(procedure=procedure)
            except ValidationError as error:
                self.message_user(
                    request, f"{procedure}: {error.messages[0]}", messages.WARNING
                )
            else:
                count += 1
        if count:
            self.message_user(request, done % {"count": count}, messages.SUCCESS)

    @admin.action(description=_("Start the selected procedures"))
    def start(self, request, queryset) -> None:
        self._run(request, queryset, services.start_procedure, _("%(count)s started."))

    @admin.action(description=_("Mark as waiting for a third party"))
    def wait(self, request, queryset) -> None:
        self._run(
            request, queryset, services.wait_on_third_party, _("%(count)s waiting.")
        )

    @admin.action(description=_("Mark the selected procedures as done"))
    def complete(self, request, queryset) -> None:
        self._run(request, queryset, services.complete_procedure, _("%(count)s done."))

    @admin.action(description=_("Cancel the selected procedures (no longer needed)"))
    def cancel(self, request, queryset) -> None:
        reason = _("No longer needed, cancelled by %(user)s") % {"user": request.user}

        def cancel_one(*, procedure):
            return services.cancel_procedure(procedure=procedure, reason=reason)

        self._run(request, queryset, cancel_one, _("%(count)s cancelled."))


# --- Claims -------------------------------------------------------------------------


@admin.register(Insurer)
class InsurerAdmin(admin.ModelAdmin):
    formfield_overrides = URL_FIELDS
    list_display = ["name", "kind", "claims_email", "partner", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "claims_email"]
    autocomplete_fields = ["partner"]


class WaitingFilter(admin.SimpleListFilter):
    """The claims board's age column: how long the payer has kept us waiting."""

    title = _("waiting for an answer")
    parameter_name = "waiting"
    BANDS = {
        "lt15": (None, 15),
        "15-30": (15, 30),
        "30-60": (30, 60),
        "gt60": (60, None),
    }

    def lookups(self, request, model_admin):
        return [
            ("lt15", _("Less than 15 days")),
            ("15-30", _("15 to 30 days")),
            ("30-60", _("30 to 60 days")),
            ("gt60", _("More than 60 days")),
        ]

    def queryset(self, request, queryset):
        band = self.BANDS.get(self.value() or "")
        if band is None:
            return queryset
        now = timezone.now()
        low, high = band
        queryset = queryset.awaiting_answer()
        if low is not None:
            queryset = queryset.filter(awaiting_since__lte=now - dt.timedelta(days=low))
        if high is not None:
            queryset = queryset.filter(awaiting_since__gt=now - dt.timedelta(days=high))
        return queryset


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ClaimEventInline(ReadOnlyInline):
    model = ClaimEvent
    fields = (
        "created_at",
        "kind",
        "from_state",
        "to_state",
        "amount",
        "by_label",
        "comment",
        "public",
    )
    readonly_fields = fields
    ordering = ["created_at", "pk"]


class ClaimDocumentInline(ReadOnlyInline):
    model = ClaimDocument
    fields = ("kind", "document_link", "attached_by", "created_at")
    readonly_fields = fields

    @admin.display(description=_("document"))
    def document_link(self, obj: ClaimDocument) -> str:
        if obj.document_id is None:
            return str(_("no longer in the patient's file"))
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:patients_document_change", args=[obj.document_id]),
            _("open in the patient's file"),
        )


class ClaimChaseInline(ReadOnlyInline):
    model = ClaimChase
    fields = ("stage", "waiting_since", "emailed_to", "procedure", "created_at")
    readonly_fields = fields


class ClaimAddForm(forms.ModelForm):
    """What `services.open_claim` needs; the amounts come from the act if empty."""

    amount_expected = forms.DecimalField(
        label=_("amount expected (€)"),
        required=False,
        max_digits=10,
        decimal_places=2,
        help_text=_("Empty: the share the estimate recorded with the act."),
    )
    amount_charged = forms.DecimalField(
        label=_("amount paid by the patient (€)"),
        required=False,
        max_digits=10,
        decimal_places=2,
        help_text=_("Empty: the fee of the act or the invoice total."),
    )
    care_date = forms.DateField(
        label=_("date of care"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    label = forms.CharField(label=_("what is claimed"), required=False, max_length=200)
    owner = forms.ModelChoiceField(
        label=_("concierge in charge"),
        queryset=User.objects.filter(is_staff=True, is_active=True),
        required=False,
        help_text=_("Empty: you."),
    )

    class Meta:
        model = Claim
        fields = [
            "patient",
            "payer",
            "recorded_act",
            "invoice",
            "care_reference",
            "care_date",
            "label",
            "amount_charged",
            "amount_expected",
            "owner",
            "notes",
        ]


#: Fields a concierge may still correct once the claim exists.
CLAIM_EDITABLE = ["owner", "care_reference", "notes"]
#: Where the claim goes may be corrected until it is sent.
CLAIM_EDITABLE_DRAFT = [
    "label",
    "payer_contract_number",
    "payer_member_number",
    "payer_email",
    "payer_partner",
]


@admin.register(Claim)
class ClaimAdmin(admin.ModelAdmin):
    """The claims board: by state, payer and age, with what is still awaited."""

    list_display = [
        "reference",
        "patient",
        "payer_display",
        "state",
        "care_date",
        "waiting_days",
        "amount_expected",
        "amount_received",
        "outstanding",
        "discrepancy_flagged",
    ]
    list_filter = [
        "state",
        "payer",
        WaitingFilter,
        "discrepancy_flagged",
        "sent_via",
        "owner",
        "insurer",
    ]
    search_fields = [
        "reference",
        "patient__reference",
        "patient__last_name",
        "payer_name",
        "payer_reference",
        "payer_contract_number",
    ]
    date_hierarchy = "care_date"
    list_select_related = ["patient", "owner"]
    autocomplete_fields = ["patient", "recorded_act", "invoice"]
    inlines = [ClaimDocumentInline, ClaimEventInline, ClaimChaseInline]
    actions = ["acknowledge_selected", "close_selected", "chase_selected"]
    change_list_template = "reimbursements/admin/claim_change_list.html"
    # The claim's page in the portal is the patient's, not the team's.
    view_on_site = False
    readonly_fields = [
        "reference",
        "state",
        "next_steps",
        "patient",
        "payer",
        "insurer",
        "payer_name",
        "payer_reference",
        "recorded_act",
        "invoice",
        "care_date",
        "amount_charged",
        "amount_expected",
        "amount_received",
        "outstanding",
        "discrepancy_flagged",
        "sent_via",
        "sent_at",
        "awaiting_since",
        "acknowledged_at",
        "last_paid_at",
        "paid_at",
        "rejected_at",
        "rejection_reason",
        "appealed_at",
        "closed_at",
        "created_by",
        "created_at",
    ]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "reference",
                    "state",
                    "next_steps",
                    "patient",
                    "label",
                    "care_date",
                    "recorded_act",
                    "invoice",
                    "care_reference",
                    "owner",
                    "notes",
                )
            },
        ),
        (
            _("Amounts"),
            {
                "fields": (
                    "amount_charged",
                    "amount_expected",
                    "amount_received",
                    "outstanding",
                    "discrepancy_flagged",
                )
            },
        ),
        (
            _("Payer"),
            {
                "fields": (
                    "payer",
                    "insurer",
                    "payer_name",
                    "payer_contract_number",
                    "payer_member_number",
                    "payer_email",
                    "payer_partner",
                    "payer_reference",
                )
            },
        ),
        (
            _("Dates"),
            {
                "classes": ["collapse"],
                "fields": (
                    "sent_via",
                    "sent_at",
                    "awaiting_since",
                    "acknowledged_at",
                    "last_paid_at",
                    "paid_at",
                    "rejected_at",
                    "rejection_reason",
                    "appealed_at",
                    "closed_at",
                    "created_by",
                    "created_at",
                ),
            },
        ),
    )

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ClaimAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": ClaimAddForm.Meta.fields})]
        return self.fieldsets

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        editable = set(CLAIM_EDITABLE)
        if obj.state == Claim.State.DRAFT:
            editable |= set(CLAIM_EDITABLE_DRAFT)
        fields = [
            *self.readonly_fields,
            "label",
            "payer_contract_number",
            "payer_member_number",
            "payer_email",
            "payer_partner",
            "owner",
            "care_reference",
            "notes",
        ]
        return [name for name in dict.fromkeys(fields) if name not in editable]

    def get_autocomplete_fields(self, request):
        return [*self.autocomplete_fields, "owner", "payer_partner"]

    def has_delete_permission(self, request, obj=None) -> bool:
        # A claim leaves a trace once sent; a draft made by mistake may go.
        if obj is not None and obj.state != Claim.State.DRAFT:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        created = services.open_claim(
            patient=data["patient"],
            payer=data["payer"],
            by=request.user,
            recorded_act=data.get("recorded_act"),
            invoice=data.get("invoice"),
            amount_expected=data.get("amount_expected"),
            amount_charged=data.get("amount_charged"),
            care_date=data.get("care_date"),
            label=data.get("label") or "",
            care_reference=data.get("care_reference") or "",
            owner=data.get("owner"),
            notes=data.get("notes") or "",
        )
        obj.pk = created.pk
        obj.refresh_from_db()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        claim = getattr(response, "context_data", {}).get("original")
        if request.method == "GET" and claim is not None:
            # The claim names the patient's care: reading it is in their log.
            audit(
                by=request.user,
                action=AccessLog.Action.READ,
                patient=claim.patient,
                what=AuditObject.INSURANCE,
                object_id=claim.reference,
                request=request,
            )
        return response

    def add_view(self, request, form_url="", extra_context=None):
        try:
            return super().add_view(request, form_url, extra_context)
        except ValidationError as error:
            # The service's rules (no mutuelle, already claimed…) come back as a
            # message on the same form rather than a server error.
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return redirect(request.get_full_path())
        except PermissionDenied:
            raise

    class Media:
        css = {"all": ["reimbursements/admin.css"]}

    @admin.display(description=_("payer"), ordering="payer_name")
    def payer_display(self, obj: Claim) -> str:
        return f"{obj.payer_name} ({obj.get_payer_display()})"

    @admin.display(description=_("days waiting"), ordering="awaiting_since")
    def waiting_days(self, obj: Claim) -> int | None:
        return obj.days_waiting(timezone.now())

    @admin.display(description=_("still awaited"))
    def outstanding(self, obj: Claim) -> Decimal:
        return obj.amount_outstanding

    @admin.display(description=_("next steps"))
    def next_steps(self, obj: Claim) -> str:
        if obj.pk is None:
            return "-"
        steps = [
            (step, label)
            for step, label, transition in self._steps(obj)
            if transition is None or can_proceed(transition)
        ]
        return format_html_join(
            " · ",
            '<a href="{}">{}</a>',
            (
                (reverse(f"admin:reimbursements_claim_{step}", args=[obj.pk]), label)
                for step, label in steps
            ),
        )

    def _steps(self, claim: Claim) -> list[tuple[str, Any, Any]]:
        steps: list[tuple[str, Any, Any]] = []
        if claim.state != Claim.State.CLOSED:
            steps.append(("attach", _("Attach documents"), None))
        if claim.invoice_id and claim.state != Claim.State.CLOSED:
            steps.append(("attach_invoice", _("Attach the invoice PDF"), None))
        steps += [
            ("send", _("Send"), claim.send),
            ("acknowledge", _("Record an acknowledgement"), claim.acknowledge),
            (
                "pay",
                _("Record a payment"),
                claim.pay_in_part
                if claim.state in Claim.PAYABLE_STATES
                else claim.settle,
            ),
            ("reject", _("Record a refusal"), claim.reject),
            ("appeal", _("Appeal"), claim.appeal),
            ("close", _("Close"), claim.close),
        ]
        return steps

    # --- The board's summary ----------------------------------------------------------

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None)
        if context and "cl" in context:
            context["claims_summary"] = claims_summary(context["cl"].queryset)
        return response

    # --- Actions ----------------------------------------------------------------------

    def _run(self, request, queryset, call, done) -> None:
        count = 0
        for claim in queryset:
            try:
                call(claim)
            except (ValidationError, PermissionDenied) as error:
                text = (
                    error.messages[0]
                    if isinstance(error, ValidationError)
                    else _("You may not do this.")
                )
                self.message_user(request, f"{claim}: {text}", messages.WARNING)
            else:
                count += 1
        if count:
            self.message_user(request, done % {"count": count}, messages.SUCCESS)

    @admin.action(
        description=_("Record an acknowledgement of the selected claims"),
        permissions=["change"],
    )
    def acknowledge_selected(self, request, queryset) -> None:
        self._run(
            request,
            queryset,
            lambda claim: services.acknowledge_claim(claim=claim, by=request.user),
            _("%(count)s acknowledged."),
        )

    @admin.action(description=_("Close the selected claims"), permissions=["change"])
    def close_selected(self, request, queryset) -> None:
        comment = _("Closed from the claims board by %(user)s") % {"user": request.user}
        self._run(
            request,
            queryset,
            lambda claim: services.close_claim(
                claim=claim, by=request.user, comment=comment
            ),
            _("%(count)s closed."),
        )

    @admin.action(
        description=_("Chase the selected claims now if they are due"),
        permissions=["change"],
    )
    def chase_selected(self, request, queryset) -> None:
        chased = sum(1 for claim in queryset if services.chase_claim(claim_id=claim.pk))
        self.message_user(
            request,
            _("%(count)s chased; the others are not due yet or answered.")
            % {"count": chased},
            messages.SUCCESS if chased else messages.INFO,
        )

    # --- One claim's steps ------------------------------------------------------------

    def get_urls(self):
        def view(name, function):
            return path(
                f"<int:pk>/{name.replace('_', '-')}/",
                self.admin_site.admin_view(function),
                name=f"reimbursements_claim_{name}",
            )

        return [
            path(
                "estimate-quote/",
                self.admin_site.admin_view(self.quote_estimate_view),
                name="reimbursements_quote_estimate",
            ),
            path(
                "estimate-invoice/",
                self.admin_site.admin_view(self.invoice_estimate_view),
                name="reimbursements_invoice_estimate",
            ),
            view("send", self.send_view),
            view("acknowledge", self.acknowledge_view),
            view("pay", self.pay_view),
            view("reject", self.reject_view),
            view("appeal", self.appeal_view),
            view("close", self.close_view),
            view("attach", self.attach_view),
            view("attach_invoice", self.attach_invoice_view),
            *super().get_urls(),
        ]

    def _claim(self, request, pk: int) -> Claim:
        if not self.has_change_permission(request):
            raise PermissionDenied
        return get_object_or_404(Claim.objects.select_related("patient"), pk=pk)

    def _step(self, request, pk, form_class, title, call, done, **form_kwargs):
        claim = self._claim(request, pk)
        form = form_class(request.POST or None, request.FILES or None, **form_kwargs)
        if request.method == "POST" and form.is_valid():
            try:
                call(claim, form.cleaned_data)
            except ValidationError as error:
                _add_errors(form, error)
            else:
                self.message_user(request, done, messages.SUCCESS)
                return redirect("admin:reimbursements_claim_change", claim.pk)
        return TemplateResponse(
            request,
            "reimbursements/admin/claim_form.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "original": claim,
                "claim": claim,
                "form": form,
                "title": title % {"claim": claim.reference},
                "multipart": form.is_multipart(),
            },
        )

    def send_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._step(
            request,
            pk,
            SendClaimForm,
            _("Send claim %(claim)s"),
            lambda claim, data: services.send_claim(
                claim=claim, by=request.user, **data
            ),
            _("Claim sent."),
        )

    def acknowledge_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._step(
            request,
            pk,
            AcknowledgeClaimForm,
            _("Acknowledgement of claim %(claim)s"),
            lambda claim, data: services.acknowledge_claim(
                claim=claim, by=request.user, **data
            ),
            _("Acknowledgement recorded."),
        )

    def pay_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._step(
            request,
            pk,
            ClaimPaymentForm,
            _("Payment of claim %(claim)s"),
            lambda claim, data: services.record_claim_payment(
                claim=claim, by=request.user, **data
            ),
            _("Payment recorded; the patient will be told."),
        )

    def reject_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._step(
            request,
            pk,
            RejectClaimForm,
            _("Refusal of claim %(claim)s"),
            lambda claim, data: services.reject_claim(
                claim=claim, by=request.user, **data
            ),
            _("Refusal recorded."),
        )

    def appeal_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._step(
            request,
            pk,
            AppealClaimForm,
            _("Appeal of claim %(claim)s"),
            lambda claim, data: services.appeal_claim(
                claim=claim, by=request.user, **data
            ),
            _("Appeal recorded; the claim awaits an answer again."),
        )

    def close_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._step(
            request,
            pk,
            CloseClaimForm,
            _("Close claim %(claim)s"),
            lambda claim, data: services.close_claim(
                claim=claim, by=request.user, **data
            ),
            _("Claim closed."),
        )

    def attach_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        claim = self._claim(request, pk)

        def attach(claim: Claim, data: dict) -> None:
            if data["documents"]:
                services.attach_documents(
                    claim=claim,
                    documents=list(data["documents"]),
                    kind=data["kind"],
                    by=request.user,
                )
            if data["file"]:
                services.attach_new_document(
                    claim=claim,
                    by=request.user,
                    upload=data["file"],
                    kind=data["kind"],
                    request=request,
                )

        return self._step(
            request,
            pk,
            AttachDocumentsForm,
            _("Documents of claim %(claim)s"),
            attach,
            _("Documents attached."),
            claim=claim,
        )

    def quote_estimate_view(self, request: HttpRequest) -> HttpResponse:
        """The portal's simulation, by the concierge, printed on a quote."""
        if not request.user.has_perm("billing.change_quote"):
            raise PermissionDenied
        estimate = quote = None
        if request.method == "POST":
            form = QuoteEstimateForm(request.POST)
            if form.is_valid():
                quote = form.cleaned_data["quote"]
                try:
                    estimate = services.estimate_quote(
                        quote=quote, **form.engine_inputs()
                    )
                except ValidationError as error:
                    _add_errors(form, error)
                else:
                    quote.refresh_from_db()
                    self.message_user(
                        request,
                        _("Estimate printed on quote %(quote)s.") % {"quote": quote},
                        messages.SUCCESS,
                    )
        else:
            form = QuoteEstimateForm(initial=_quote_initial(request.GET.get("quote")))
        return _quote_estimate_page(self, request, form, estimate, quote)

    def invoice_estimate_view(self, request: HttpRequest) -> HttpResponse:
        """The same simulation, printed on a draft invoice and its PDF."""
        if not request.user.has_perm("billing.change_invoice"):
            raise PermissionDenied
        printed = None
        if request.method == "POST":
            form = InvoiceEstimateForm(request.POST)
            if form.is_valid():
                invoice = form.cleaned_data["invoice"]
                try:
                    printed = services.estimate_invoice(
                        invoice=invoice,
                        by=cast(User, request.user),
                        **form.engine_inputs(),
                    )
                except ValidationError as error:
                    _add_errors(form, error)
                else:
                    self.message_user(
                        request,
                        _("Estimate printed on invoice %(invoice)s.")
                        % {"invoice": invoice},
                        messages.SUCCESS,
                    )
        else:
            form = InvoiceEstimateForm(
                initial=_invoice_initial(request.GET.get("invoice"))
            )
        return TemplateResponse(
            request,
            "reimbursements/admin/invoice_estimate.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "form": form,
                "estimate": printed,
                "title": _("Estimate the reimbursement of an invoice"),
            },
        )

    def attach_invoice_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        claim = self._claim(request, pk)
        if request.method == "POST":
            try:
                services.attach_invoice_pdf(
                    claim=claim, by=request.user, request=request
                )
            except ValidationError as error:
                self.message_user(request, error.messages[0], messages.ERROR)
            else:
                self.message_user(
                    request, _("The invoice PDF is attached."), messages.SUCCESS
                )
            return redirect("admin:reimbursements_claim_change", claim.pk)
        return TemplateResponse(
            request,
            "reimbursements/admin/claim_form.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "original": claim,
                "claim": claim,
                "form": None,
                "title": _("Attach the invoice PDF to claim %(claim)s")
                % {"claim": claim.reference},
            },
        )


def _quote_estimate_page(admin_view, request, form, estimate, quote):
    return TemplateResponse(
        request,
        "reimbursements/admin/quote_estimate.html",
        {
            **admin_view.admin_site.each_context(request),
            "opts": admin_view.model._meta,
            "form": form,
            "estimate": estimate,
            "quote": quote,
            "title": _("Estimate the reimbursement of a quote"),
        },
    )


def _add_errors(form: forms.Form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


def _invoice_initial(invoice_id: str | None) -> dict:
    """Start from what the invoice's patient file says (age, mutuelle)."""
    from billing.models import Invoice

    from .views import initial_from_file

    invoice = (
        Invoice.objects.filter(pk=invoice_id).select_related("patient").first()
        if invoice_id and invoice_id.isdigit()
        else None
    )
    if invoice is None:
        return {}
    initial: dict = {"invoice": invoice.pk}
    if invoice.patient is not None:
        initial.update(initial_from_file(invoice.patient))
        if invoice.service_date:
            initial["performed_on"] = invoice.service_date
    return initial


def _quote_initial(quote_id: str | None) -> dict:
    """Start from what the quote's patient file says (age, mutuelle)."""
    from billing.models import Quote

    from .views import initial_from_file

    quote = (
        Quote.objects.filter(pk=quote_id).select_related("patient").first()
        if quote_id and quote_id.isdigit()
        else None
    )
    if quote is None:
        return {}
    initial: dict = {"quote": quote.pk}
    if quote.patient is not None:
        initial.update(initial_from_file(quote.patient))
    return initial


def claims_summary(queryset) -> dict:
    """What the board shows above the list: per state and per payer, in euros."""
    rows = (
        queryset.order_by()
        .values("state")
        .annotate(
            count=Count("pk"),
            expected=Sum("amount_expected"),
            received=Sum("amount_received"),
        )
    )
    by_state = {row["state"]: row for row in rows}
    outstanding = (
        queryset.order_by()
        .filter(state__in=OUTSTANDING_STATES)
        .values("payer")
        .annotate(
            count=Count("pk"),
            amount=Sum(F("amount_expected") - F("amount_received")),
        )
    )
    return {
        "states": [
            {
                "state": state,
                "label": label,
                "count": by_state.get(state, {}).get("count", 0),
                "expected": by_state.get(state, {}).get("expected") or Decimal(0),
                "received": by_state.get(state, {}).get("received") or Decimal(0),
            }
            for state, label in Claim.State.choices
        ],
        "outstanding": [
            {
                "payer": Payer(row["payer"]).label,
                "count": row["count"],
                "amount": max(row["amount"] or Decimal(0), Decimal(0)),
            }
            for row in outstanding
        ],
        "outstanding_total": sum(
            (max(row["amount"] or Decimal(0), Decimal(0)) for row in outstanding),
            start=Decimal(0),
        ),
        "flagged": queryset.filter(discrepancy_flagged=True).count(),
    }


#: States in which money is still awaited from the payer.
OUTSTANDING_STATES = [*Claim.AWAITING_STATES, Claim.State.PARTIALLY_PAID]

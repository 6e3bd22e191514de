"""Back-office: dated tariff data with sources, recorded acts, procedures."""

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from . import services
from .models import (
    Act,
    ActTariff,
    AdministrativeProcedure,
    PatientContributionRule,
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
    list_display = ["situation", "percent", "valid_from", "valid_to", "source_link"]
    list_filter = [InForceFilter, "situation"]


@admin.register(PatientContributionRule)
class PatientContributionRuleAdmin(DatedRuleAdmin):
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

    @admin.display(description=_("patient"), ordering="patient__reference")
    def patient_label(self, obj: RecordedAct) -> str:
        return obj.patient.reference if obj.patient else obj.unmatched_reference

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


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
        fields = ["kind", "title", "patient", "owner", "due_on", "notes"]

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
    autocomplete_fields = ["patient"]
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

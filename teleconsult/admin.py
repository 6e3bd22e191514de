from datetime import timedelta

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import services
from .models import SessionEvent, SharedDocument, SupportTicket, TeleconsultationSession
from .services import sessions


class DayFilter(admin.SimpleListFilter):
    """The day's sessions by default: the concierge on duty follows today."""

    title = _("day")
    parameter_name = "day"

    def lookups(self, request, model_admin):
        return [
            ("yesterday", _("Yesterday")),
            ("tomorrow", _("Tomorrow")),
            ("all", _("All")),
        ]

    def choices(self, changelist):
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": _("Today"),
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string(
                    {self.parameter_name: lookup}
                ),
                "display": title,
            }

    def queryset(self, request, queryset):
        if self.value() == "all":
            return queryset
        shift = {"yesterday": -1, "tomorrow": 1}.get(self.value() or "", 0)
        return queryset.of_day(timezone.localdate() + timedelta(days=shift))


class SessionEventInline(admin.TabularInline):
    model = SessionEvent
    extra = 0
    can_delete = False
    fields = ["at", "action", "by", "by_label", "note"]
    readonly_fields = ["at", "action", "by", "by_label", "note"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class SharedDocumentInline(admin.TabularInline):
    model = SharedDocument
    extra = 0
    can_delete = False
    fields = ["shared_at", "side", "document"]
    readonly_fields = ["shared_at", "side", "document"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


def _staff_visitor(request) -> sessions.Visitor:
    user = request.user
    return sessions.Visitor("staff", user, user.get_full_name() or user.email, "admin")


@admin.register(TeleconsultationSession)
class TeleconsultationSessionAdmin(admin.ModelAdmin):
    change_list_template = "admin/teleconsult/teleconsultationsession/change_list.html"
    date_hierarchy = "created_at"
    list_display = [
        "starts",
        "patient",
        "practitioner",
        "state",
        "live_practitioner",
        "patient_here",
        "reimbursable",
        "phone_fallback_requested_at",
    ]
    list_filter = [
        DayFilter,
        "state",
        "reimbursable",
        ("phone_fallback_requested_at", admin.EmptyFieldListFilter),
    ]
    search_fields = [
        "appointment__patient__reference",
        "appointment__practitioner__last_name",
        "room",
    ]
    list_select_related = ["appointment__patient", "appointment__practitioner"]
    ordering = ["appointment__starts_at"]
    inlines = [SharedDocumentInline, SessionEventInline]
    readonly_fields = [
        "public_id",
        "appointment",
        "room",
        "state",
        "practitioner_status",
        "practitioner_seen_at",
        "patient_arrived_at",
        "patient_seen_at",
        "patient_admitted",
        "admitted_at",
        "admitted_by",
        "ended_at",
        "ended_by",
        "no_show_at",
        "no_show_by",
        "closed_by_label",
        "reimbursable",
        "eligibility_reasons",
        "phone_fallback_requested_at",
        "report_document",
        "prescription_document",
        "created_at",
    ]
    exclude = ["report_draft", "prescription_draft"]
    actions = ["send_new_practitioner_link", "refresh_eligibility", "end_sessions"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("starts"), ordering="appointment__starts_at")
    def starts(self, obj: TeleconsultationSession) -> str:
        return timezone.localtime(obj.appointment.starts_at).strftime("%d/%m %H:%M")

    @admin.display(description=_("patient"))
    def patient(self, obj: TeleconsultationSession) -> str:
        return obj.appointment.patient.reference

    @admin.display(description=_("practitioner"))
    def practitioner(self, obj: TeleconsultationSession) -> str:
        return obj.appointment.practitioner.display_name

    @admin.display(description=_("practitioner now"))
    def live_practitioner(self, obj: TeleconsultationSession) -> str:
        status = sessions.practitioner_status(obj)
        return str(TeleconsultationSession.PractitionerStatus(status).label)

    @admin.display(description=_("patient in the waiting room"), boolean=True)
    def patient_here(self, obj: TeleconsultationSession) -> bool:
        return obj.is_open and sessions.is_present(obj.patient_seen_at, timezone.now())

    @admin.action(
        description=_("Send the practitioner a new single-use link"),
        permissions=["change"],
    )
    def send_new_practitioner_link(self, request, queryset):
        sent = 0
        for session in queryset.select_related("appointment__practitioner"):
            if session.appointment.practitioner.user_id is None and session.is_open:
                sessions.issue_practitioner_pass(session=session)
                sent += 1
        messages.success(request, _("New links sent: %(count)s.") % {"count": sent})

    @admin.action(
        description=_("Check the reimbursement conditions again"),
        permissions=["change"],
    )
    def refresh_eligibility(self, request, queryset):
        for session in queryset.select_related("appointment"):
            sessions.refresh_eligibility(session=session)
        messages.success(request, _("The reimbursement conditions are up to date."))

    @admin.action(
        description=_("End the session (the appointment is marked done)"),
        permissions=["change"],
    )
    def end_sessions(self, request, queryset):
        for session in queryset:
            try:
                sessions.end_session(
                    session=session, by=_staff_visitor(request), request=request
                )
            except (ValidationError, PermissionDenied) as error:
                messages.error(request, f"{session}: {error}")


@admin.register(SupportTicket)
class SupportTicketAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "kind",
        "opened_by",
        "phone",
        "failed",
        "handled_at",
        "handled_by",
    ]
    list_filter = ["kind", ("handled_at", admin.EmptyFieldListFilter)]
    search_fields = ["opened_by__email", "message", "phone"]
    date_hierarchy = "created_at"
    list_select_related = ["opened_by", "handled_by"]
    readonly_fields = [
        "public_id",
        "kind",
        "opened_by",
        "session",
        "phone",
        "message",
        "check_results",
        "user_agent",
        "handled_by",
        "handled_at",
        "created_at",
    ]
    fields = [*readonly_fields, "resolution"]
    actions = ["mark_handled"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description=_("failed checks"))
    def failed(self, obj: SupportTicket) -> str:
        return ", ".join(obj.failed_checks) or "—"

    @admin.action(description=_("Mark as handled"))
    def mark_handled(self, request, queryset):
        for ticket in queryset:
            services.resolve_support_ticket(ticket=ticket, by=request.user)
        messages.success(request, _("The tickets are marked as handled."))

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from . import services
from .models import SupportTicket


@admin.register(SupportTicket)
class SupportTicketAdmin(admin.ModelAdmin):
    list_display = ["created_at", "opened_by", "failed", "handled_at", "handled_by"]
    list_filter = [("handled_at", admin.EmptyFieldListFilter)]
    search_fields = ["opened_by__email", "message"]
    date_hierarchy = "created_at"
    list_select_related = ["opened_by", "handled_by"]
    readonly_fields = [
        "public_id",
        "opened_by",
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

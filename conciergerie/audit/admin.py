"""The access log in the back-office: read-only, for auditors."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import AccessLog

FIELDS = (
    "occurred_at",
    "actor",
    "actor_role",
    "actor_label",
    "patient_ref",
    "object_type",
    "object_id",
    "action",
    "face",
    "reason",
    "ip_address",
    "user_agent",
    "previous_hash",
    "row_hash",
)


@admin.register(AccessLog)
class AccessLogAdmin(admin.ModelAdmin):
    list_display = [
        "occurred_at",
        "actor_label",
        "actor_role",
        "action",
        "patient_ref",
        "object_type",
        "face",
        "ip_address",
        "has_reason",
    ]
    list_filter = ["action", "face", "actor_role", "occurred_at"]
    search_fields = ["=patient_ref", "actor__email", "actor_label", "=object_id"]
    date_hierarchy = "occurred_at"
    list_select_related = ["actor"]
    show_full_result_count = False
    actions = None
    fields = FIELDS
    readonly_fields = FIELDS

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(boolean=True, description=_("reason given"))
    def has_reason(self, obj: AccessLog) -> bool:
        return bool(obj.reason)

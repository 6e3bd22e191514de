"""The outbox monitor: every message, its attempts and errors; retry or cancel."""

from datetime import timedelta

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Min
from django.utils import timezone
from django.utils.html import format_html, linebreaks
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import services
from .models import Message

SUMMARY_DAYS = 7


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = [
        "key",
        "channel",
        "to",
        "template",
        "state",
        "attempts",
        "due_at",
        "next_attempt_at",
        "sent_at",
        "error_code",
    ]
    list_filter = ["state", "channel", "error_code", "template", "language"]
    search_fields = ["to", "key", "subject", "provider_id"]
    date_hierarchy = "due_at"
    show_full_result_count = False
    list_per_page = 50
    actions = ["retry_now", "cancel"]
    change_list_template = "notifications/admin/message_change_list.html"
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "key",
                    "subject",
                    "channel",
                    "to",
                    "user",
                    "template",
                    "language",
                )
            },
        ),
        (
            _("Delivery"),
            {
                "fields": (
                    "state",
                    "attempts",
                    "provider_id",
                    "error_code",
                    "last_error",
                )
            },
        ),
        (
            _("Timing"),
            {
                "fields": (
                    "due_at",
                    "expires_at",
                    "next_attempt_at",
                    "queued_at",
                    "claimed_at",
                    "sent_at",
                    "delivered_at",
                    "failed_at",
                    "cancelled_at",
                )
            },
        ),
        (_("Content"), {"fields": ("context", "preview")}),
    )

    def get_readonly_fields(self, request, obj=None):
        return [name for fieldset in self.fieldsets for name in fieldset[1]["fields"]]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        # The change permission opens the actions; the rows themselves stay as
        # the outbox wrote them.
        if obj is not None:
            return False
        return super().has_change_permission(request)

    @admin.display(description=_("preview"))
    def preview(self, obj: Message) -> str:
        try:
            rendered = services.render_message(
                channel=obj.channel,
                template=obj.template,
                context=obj.context,
                language=obj.language,
            )
        except Exception as error:  # a broken template must not break the page
            return format_html("<em>{}</em>", str(error))
        if rendered.subject:
            return format_html(
                "<strong>{}</strong>{}", rendered.subject, linebreaks(rendered.text)
            )
        return linebreaks(rendered.text)

    @admin.action(description=_("Retry now"), permissions=["change"])
    def retry_now(self, request, queryset) -> None:
        count = self._apply(request, queryset, services.retry_message)
        if count:
            self.message_user(
                request,
                ngettext(
                    "%(count)d message will be sent again.",
                    "%(count)d messages will be sent again.",
                    count,
                )
                % {"count": count},
                messages.SUCCESS,
            )

    @admin.action(description=_("Cancel"), permissions=["change"])
    def cancel(self, request, queryset) -> None:
        count = self._apply(request, queryset, services.cancel_message)
        if count:
            self.message_user(
                request,
                ngettext(
                    "%(count)d message cancelled.",
                    "%(count)d messages cancelled.",
                    count,
                )
                % {"count": count},
                messages.SUCCESS,
            )

    def _apply(self, request, queryset, service) -> int:
        """Call `service` on each message; report refusals one by one."""
        count = 0
        for message in queryset:
            try:
                service(message=message)
            except ValidationError as error:
                self.message_user(
                    request, f"{message.key}: {error.messages[0]}", messages.WARNING
                )
            else:
                count += 1
        return count

    def changelist_view(self, request, extra_context=None):
        now = timezone.now()
        recent = Message.objects.filter(
            due_at__gte=now - timedelta(days=SUMMARY_DAYS), due_at__lte=now
        )
        late = Message.objects.filter(
            state__in=[
                Message.State.PENDING,
                Message.State.QUEUED,
                Message.State.SENDING,
            ],
            next_attempt_at__lte=now,
        ).aggregate(oldest=Min("next_attempt_at"))
        extra_context = {
            **(extra_context or {}),
            "summary": recent.delivery_summary(),
            "summary_days": SUMMARY_DAYS,
            "waiting_since": late["oldest"],
        }
        return super().changelist_view(request, extra_context=extra_context)

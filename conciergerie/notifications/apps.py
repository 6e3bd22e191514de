from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "conciergerie.notifications"
    label = "notifications"
    verbose_name = _("Notifications")
    role_permissions = {
        "manager": ["view_message", "change_message"],
        "care_coordinator": ["view_message", "change_message"],
        "medical_adviser": ["view_message"],
    }

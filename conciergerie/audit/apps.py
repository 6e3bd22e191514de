from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "conciergerie.audit"
    label = "audit"
    verbose_name = _("Audit log")
    # Reading the log shows who opened which file, never medical content.
    role_permissions = {
        "medical_adviser": ["view_accesslog"],
        "manager": ["view_accesslog"],
    }

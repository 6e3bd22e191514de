from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PartnersConfig(AppConfig):
    name = "conciergerie.partners"
    label = "partners"
    verbose_name = _("Partners")
    # Managers run the partnerships (keys, scopes, webhooks); coordinators follow
    # deliveries and may redeliver a webhook a partner missed.
    role_permissions = {
        "manager": [
            "view_organisation",
            "add_organisation",
            "change_organisation",
            "view_contact",
            "add_contact",
            "change_contact",
            "delete_contact",
            "view_partnerapplication",
            "add_partnerapplication",
            "change_partnerapplication",
            "view_webhooksubscription",
            "add_webhooksubscription",
            "change_webhooksubscription",
            "delete_webhooksubscription",
            "view_webhookdelivery",
            "change_webhookdelivery",
        ],
        "care_coordinator": [
            "view_organisation",
            "view_contact",
            "view_webhooksubscription",
            "view_webhookdelivery",
            "change_webhookdelivery",
        ],
    }

    def ready(self) -> None:
        from conciergerie.notifications.channels import register_channel

        from .webhooks import WebhookChannel

        register_channel("webhook", WebhookChannel())

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "conciergerie.accounts"
    label = "accounts"
    verbose_name = _("Accounts and roles")
    role_permissions = {
        "manager": ["view_user", "change_user", "add_user"],
        "medical_adviser": ["view_user"],
        "care_coordinator": ["view_user"],
    }

    def ready(self) -> None:
        from .roles import sync_role_permissions

        post_migrate.connect(
            sync_role_permissions, dispatch_uid="sync_role_permissions"
        )

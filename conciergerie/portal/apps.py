from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "conciergerie.portal"
    label = "portal"
    verbose_name = _("Patient portal")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_logged_out

        from . import sessions

        user_logged_in.connect(sessions.on_login, dispatch_uid="portal_session_login")
        user_logged_out.connect(
            sessions.on_logout, dispatch_uid="portal_session_logout"
        )

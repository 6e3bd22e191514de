from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class ConciergerieConfig(AppConfig):
    default = True
    name = "conciergerie"
    verbose_name = "Conciergerie"

    def ready(self) -> None:
        from . import schema  # noqa: F401  (registers the OpenAPI extensions)


class ConciergerieAdminConfig(admin_apps.AdminConfig):
    default = False
    default_site = "conciergerie.admin_site.ConciergerieAdminSite"

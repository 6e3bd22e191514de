from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TeleconsultationConfig(AppConfig):
    name = "teleconsult"
    verbose_name = _("Video teleconsultations")

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

_READ = [
    "view_procedure",
    "view_procedureversion",
    "view_acknowledgement",
    "acknowledge_procedure",
]


class ProceduresConfig(AppConfig):
    name = "conciergerie.procedures"
    label = "procedures"
    verbose_name = _("Procedures library")
    # Managers write procedures; every member of staff reads and acknowledges them.
    role_permissions = {
        "medical_adviser": _READ,
        "care_coordinator": _READ,
        "manager": [*_READ, "add_procedure", "change_procedure"],
    }

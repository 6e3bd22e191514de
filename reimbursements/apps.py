from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

_TARIFF_MODELS = [
    "act",
    "acttariff",
    "reimbursementrate",
    "patientcontributionrule",
    "regulatoryparameter",
]


class ReimbursementsConfig(AppConfig):
    name = "reimbursements"
    verbose_name = _("Reimbursement estimates and claims")
    role_permissions = {
        # Managers keep the tariff data up to date; everyone in the back-office
        # reads it to explain an estimate, and runs the administrative procedures.
        "manager": [
            *(
                f"{verb}_{model}"
                for model in _TARIFF_MODELS
                for verb in ("view", "add", "change")
            ),
            "view_recordedact",
            "view_administrativeprocedure",
            "add_administrativeprocedure",
            "change_administrativeprocedure",
        ],
        "medical_adviser": [
            *(f"view_{model}" for model in _TARIFF_MODELS),
            "view_recordedact",
            "view_administrativeprocedure",
            "add_administrativeprocedure",
            "change_administrativeprocedure",
        ],
        "care_coordinator": [
            *(f"view_{model}" for model in _TARIFF_MODELS),
            "view_recordedact",
            "view_administrativeprocedure",
            "add_administrativeprocedure",
            "change_administrativeprocedure",
        ],
    }

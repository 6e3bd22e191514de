from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

_TARIFF_MODELS = [
    "act",
    "acttariff",
    "reimbursementrate",
    "patientcontributionrule",
    "regulatoryparameter",
]


_CLAIM_MODELS = ["claim", "claimevent", "claimdocument", "claimchase", "insurer"]


class ReimbursementsConfig(AppConfig):
    name = "reimbursements"
    verbose_name = _("Reimbursement estimates and claims")
    role_permissions = {
        # Managers keep the tariff data and the insurers' directory up to date;
        # everyone in the back-office reads them to explain an estimate.
        # Coordinators and managers prepare, send and follow the claims; medical
        # advisers read them; all run the administrative procedures.
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
            *(f"view_{model}" for model in _CLAIM_MODELS),
            "add_claim",
            "change_claim",
            "delete_claim",
            "add_insurer",
            "change_insurer",
        ],
        "medical_adviser": [
            *(f"view_{model}" for model in _TARIFF_MODELS),
            "view_recordedact",
            "view_administrativeprocedure",
            "add_administrativeprocedure",
            "change_administrativeprocedure",
            *(f"view_{model}" for model in _CLAIM_MODELS),
        ],
        "care_coordinator": [
            *(f"view_{model}" for model in _TARIFF_MODELS),
            "view_recordedact",
            "view_administrativeprocedure",
            "add_administrativeprocedure",
            "change_administrativeprocedure",
            *(f"view_{model}" for model in _CLAIM_MODELS),
            "add_claim",
            "change_claim",
            "delete_claim",
        ],
    }

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

_MODELS = [
    "service",
    "serviceprice",
    "vatrate",
    "customer",
    "quote",
    "quoteline",
    "invoice",
    "invoiceline",
    "creditnote",
    "creditnoteline",
    "payment",
    "overduereminder",
]


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = _("Quotes, invoices and payments")
    # Managers run billing; care coordinators read it to answer patients.
    role_permissions = {
        "manager": [
            *(f"{action}_{model}" for model in _MODELS for action in ("view", "add")),
            *(
                f"change_{model}"
                for model in (
                    "service",
                    "serviceprice",
                    "vatrate",
                    "customer",
                    "quote",
                    "quoteline",
                    "invoice",
                    "invoiceline",
                )
            ),
            *(f"delete_{model}" for model in ("quoteline", "invoiceline")),
            "issue_invoice",
            "export_billing",
        ],
        "care_coordinator": [f"view_{model}" for model in _MODELS],
    }

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the seller settings check)

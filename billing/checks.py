"""Invoices are legal documents: warn at start-up when the seller is incomplete."""

from django.conf import settings
from django.core.checks import Warning, register
from stdnum.fr import siret, tva

REQUIRED = (
    "SELLER_LEGAL_NAME",
    "SELLER_LEGAL_FORM",
    "SELLER_ADDRESS",
    "SELLER_POSTAL_CODE",
    "SELLER_CITY",
    "SELLER_SIRET",
    "SELLER_VAT_NUMBER",
)


@register()
def check_seller_identity(app_configs, **kwargs) -> list[Warning]:
    warnings = [
        Warning(
            f"{name} is empty: invoices would lack a mandatory mention.",
            id="billing.W001",
        )
        for name in REQUIRED
        if not getattr(settings, name, "")
    ]
    if settings.SELLER_SIRET and not siret.is_valid(settings.SELLER_SIRET):
        warnings.append(
            Warning("SELLER_SIRET is not a valid SIRET number.", id="billing.W002")
        )
    if settings.SELLER_VAT_NUMBER and not tva.is_valid(settings.SELLER_VAT_NUMBER):
        warnings.append(
            Warning(
                "SELLER_VAT_NUMBER is not a valid French VAT number.",
                id="billing.W003",
            )
        )
    return warnings

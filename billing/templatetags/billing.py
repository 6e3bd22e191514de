from decimal import Decimal

from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def money(value: Decimal | None) -> str:
    """1 234,50 € in French, 1,234.50 € in English: always two decimals."""
    if value is None or value == "":
        return ""
    return (
        number_format(Decimal(value), 2, use_l10n=True, force_grouping=True) + "\u00a0€"
    )


@register.filter
def rate(value: Decimal | None) -> str:
    """A percentage without useless decimals: 20 %, 5,5 %."""
    if value is None or value == "":
        return ""
    text = number_format(Decimal(value).normalize(), use_l10n=True)
    return f"{text}\u00a0%"


@register.filter
def quantity(value: Decimal | None) -> str:
    if value is None or value == "":
        return ""
    return number_format(Decimal(value).normalize(), use_l10n=True)

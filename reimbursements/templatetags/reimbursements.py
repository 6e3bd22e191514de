from decimal import Decimal

from django import template

from reimbursements.engine import format_euros

register = template.Library()


@register.filter
def euros(amount: Decimal | None) -> str:
    """`{{ amount|euros }}`: 19,00 € in French, €19.00 in English."""
    return "" if amount is None else format_euros(amount)

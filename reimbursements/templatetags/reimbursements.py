import datetime as dt
from decimal import Decimal

from django import template
from django.utils import timezone

from reimbursements.engine import format_euros

register = template.Library()


@register.filter
def euros(amount: Decimal | None) -> str:
    """`{{ amount|euros }}`: 19,00 € in French, €19.00 in English."""
    return "" if amount is None else format_euros(amount)


@register.inclusion_tag("reimbursements/_booking_estimate.html", takes_context=True)
def booking_estimate(
    context: template.Context,
    practitioner,
    when: dt.datetime | dt.date | None = None,
    patient=None,
    teleconsultation: bool = False,
    compact: bool = False,
) -> dict:
    """`{% booking_estimate practitioner when %}`: what the patient will pay.

    The booking pages of the directory and of the proposals show it without
    their apps knowing about reimbursements: the figures come from the same
    service as the portal's simulation, for the patient's own file unless the
    page names one.
    """
    from patients.models import Patient
    from reimbursements import services

    if isinstance(when, dt.datetime):
        on = timezone.localdate(when)
    else:
        on = when or timezone.localdate()
    request = context.get("request")
    user = getattr(request, "user", None)
    if patient is None and user is not None and user.is_authenticated:
        patient = Patient.objects.active().filter(user=user).first()
    return {
        "booking": services.estimate_booking(
            practitioner=practitioner,
            patient=patient,
            on=on,
            teleconsultation=bool(teleconsultation),
        ),
        "compact": compact,
    }

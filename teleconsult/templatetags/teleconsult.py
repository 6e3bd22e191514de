"""Teleconsultation pieces shown on the appointments' pages: the reimbursement
warning before booking, and the way into the video on the appointment's page."""

from django import template
from django.utils import timezone

from ..eligibility import check_eligibility
from ..services import sessions

register = template.Library()


@register.inclusion_tag("teleconsult/_eligibility_notice.html")
def teleconsultation_notice(appointment) -> dict:
    """Tell the patient, before they confirm, when a video visit is not reimbursed."""
    if appointment is None or not appointment.is_video:
        return {"messages": []}
    result = check_eligibility(
        patient=appointment.patient,
        practitioner=appointment.practitioner,
        specialty=appointment.specialty,
        on=appointment.starts_at,
    )
    return {"messages": [] if result.reimbursable else result.messages}


@register.inclusion_tag("teleconsult/_join.html")
def teleconsultation_join(appointment) -> dict:
    """The button to the waiting room of an upcoming video appointment."""
    if appointment is None or not appointment.is_video or not appointment.is_upcoming:
        return {"show": False}
    opens, _closes = sessions.window_of(appointment)
    return {
        "show": True,
        "appointment": appointment,
        "open": opens <= timezone.now(),
        "opens": opens,
    }

"""Where teleconsultations hook into appointments, which cannot know about them.

- A video appointment that becomes booked (booked at once, a hold confirmed, or
  the new appointment of a move) gets its session, in the same transaction.
- Messages about a video appointment carry the patient's personal join link.
"""

from django.db import transaction

from appointments.models import Appointment

#: States in which a video appointment needs its room.
BOOKED_STATES = (Appointment.State.BOOKED, Appointment.State.CONFIRMED)


def create_session_for_booking(
    sender, instance: Appointment, created: bool, update_fields=None, **kwargs
) -> None:
    if kwargs.get("raw") or instance.mode != Appointment.Mode.VIDEO:
        return
    if instance.state not in BOOKED_STATES:
        return
    if update_fields is not None and "state" not in update_fields:
        return
    from .services import sessions

    # Runs inside the booking's transaction: no booking without its room.
    with transaction.atomic():
        sessions.ensure_session(appointment=instance)


def join_link_context(appointment: Appointment) -> dict:
    """The personal join link of a video appointment, for its messages."""
    if not appointment.is_video:
        return {}
    from django.conf import settings

    from . import links

    return {
        "join_url": links.patient_url(appointment),
        "join_opens_minutes": settings.VIDEO_JOIN_OPENS_MINUTES,
    }

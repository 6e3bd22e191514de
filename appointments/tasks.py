"""Celery entry points of appointments: thin, safe to run twice, ids only."""

from celery import shared_task

from . import services


@shared_task(ignore_result=True)
def expire_stale_holds() -> int:
    """Release every hold whose time is up (beat, every minute)."""
    return len(services.expire_stale_holds())


@shared_task(acks_late=True, ignore_result=True)
def offer_freed_slot(appointment_id: int) -> int:
    """Offer the slot a cancelled or moved appointment left to the waitlist."""
    from .models import Appointment

    appointment = Appointment.objects.filter(pk=appointment_id).first()
    if appointment is None:
        return 0
    return len(services.offer_freed_slot(appointment=appointment))


@shared_task(ignore_result=True)
def close_stale_waitlist() -> int:
    """Expire past offers and waitlist entries that can no longer be served (daily)."""
    return services.close_stale_waitlist()


@shared_task(ignore_result=True)
def chase_missing_reports() -> int:
    """Remind practitioners whose report is late (daily)."""
    return services.chase_missing_reports()


@shared_task(acks_late=True, ignore_result=True)
def close_other_offers(offer_id: int) -> int:
    """An offer was accepted: close the other offers of the same slot."""
    from .models import WaitlistOffer

    offer = WaitlistOffer.objects.select_related("entry").filter(pk=offer_id).first()
    if offer is None:
        return 0
    return services.waitlist.close_other_offers(offer=offer)


@shared_task(acks_late=True, ignore_result=True)
def send_survey(survey_id: int) -> int:
    """Put a satisfaction survey's invitation in the outbox for its due time."""
    from . import surveys

    return surveys.send_survey(survey_id=survey_id)

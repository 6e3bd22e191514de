"""Celery entry points of the directory: thin, and safe to run twice."""

from celery import shared_task

from . import services


@shared_task(acks_late=True)
def refresh_practitioner_availability(practitioner_id: int) -> None:
    services.refresh_availability(practitioner_ids=[practitioner_id])


@shared_task(acks_late=True)
def refresh_availability() -> int:
    """Periodic: time passes, so every next slot moves forward."""
    return services.refresh_availability()

"""Celery entry points of the outbox: thin, safe to run twice, ids only."""

from dataclasses import asdict

from celery import shared_task

from . import parking, services


@shared_task(
    acks_late=True,
    ignore_result=True,
    soft_time_limit=60,
    time_limit=90,
    park_when_unpublished=False,  # the outbox sweep finds its rows again
)
def send_message(message_id: int) -> None:
    """Send one outbox row; a duplicate or stale task finds nothing to claim."""
    services.send_message(message_id=message_id)


@shared_task(ignore_result=True)
def sweep_outbox() -> dict[str, int]:
    """Recover rows left in flight and enqueue the due ones (beat, every 30 s)."""
    return asdict(services.sweep_outbox())


@shared_task(ignore_result=True, park_when_unpublished=False)
def republish_parked_tasks() -> int:
    """Hand over the tasks parked while the broker was away (beat, every minute)."""
    return parking.republish_parked_tasks()

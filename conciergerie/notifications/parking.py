"""Tasks the broker refused after a commit wait in the database, not in a log.

When Redis is away at the moment a transaction commits, `delay_on_commit` cannot
publish: the change is saved and raising would only turn it into an error page.
Tasks with a sweep of their own (the outbox, care request events) are found
again by it; every other task (an invoice email, a freed slot offered to the
waitlist, the on-duty alert of a teleconsultation) is parked as a row here, and
`republish_parked_tasks`, run by beat every minute, hands the rows to the broker
once it answers, oldest first.
"""

import logging
from typing import Any

from django.db import transaction
from django.db.models import F
from kombu.exceptions import OperationalError

from .models import ParkedTask

logger = logging.getLogger(__name__)


def park_task(name: str, args: tuple, kwargs: dict[str, Any]) -> ParkedTask:
    parked = ParkedTask.objects.create(name=name, args=list(args), kwargs=kwargs)
    logger.warning("Broker unavailable: %s parked as #%s", name, parked.pk)
    return parked


def republish_parked_tasks(*, limit: int = 500) -> int:
    """Publish parked tasks, oldest first; stop at the first refusal. Returns how
    many were handed over."""
    from conciergerie.celery import app

    published = 0
    with transaction.atomic():
        # Two overlapping runs never take the same rows.
        rows = list(
            ParkedTask.objects.select_for_update(skip_locked=True).order_by(
                "parked_at", "pk"
            )[:limit]
        )
        for parked in rows:
            task = app.tasks.get(parked.name)
            if task is None:  # a task renamed or removed since: keep it visible
                logger.error("Parked task %s is unknown", parked.name)
                continue
            try:
                task.apply_async(args=parked.args, kwargs=parked.kwargs)
            except OperationalError:
                ParkedTask.objects.filter(pk=parked.pk).update(
                    attempts=F("attempts") + 1
                )
                waiting = len(rows) - published
                logger.warning("Broker still unavailable: %s parked tasks", waiting)
                break
            parked.delete()
            published += 1
    if published:
        logger.info("Parked tasks handed to the broker: %s", published)
    return published

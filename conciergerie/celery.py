"""The Celery application: Redis as broker, the beat schedule in settings."""

import logging
import os

from celery import Celery, Task
from django.db import transaction
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "conciergerie.settings")


class ProjectTask(Task):
    #: Park the task in the database when the broker refuses it after a commit
    #: (False for tasks whose own sweep finds their work again).
    park_when_unpublished = True

    def delay_on_commit(self, *args, **kwargs) -> None:
        """Publish after commit; a broker outage is logged and parked, not raised.

        The transaction has committed by then: raising would turn a saved change
        into an error page. What could not be published is parked as a row and
        published again once the broker answers
        (conciergerie/notifications/parking.py); the outbox and care request
        events have sweeps of their own, as after a Redis restart. Any other
        error (an eager task failing in the tests) still raises.
        """

        def publish() -> None:
            try:
                self.delay(*args, **kwargs)
            except OperationalError:
                if not self.park_when_unpublished:
                    logger.exception("Broker unavailable: %s not published", self.name)
                    return
                from conciergerie.notifications.parking import park_task

                park_task(self.name, args, kwargs)

        transaction.on_commit(publish)


app = Celery("conciergerie", task_cls=ProjectTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

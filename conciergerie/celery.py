"""The Celery application: Redis as broker, the beat schedule in settings."""

import logging
import os

from celery import Celery, Task
from django.db import transaction
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "conciergerie.settings")


class ProjectTask(Task):
    def delay_on_commit(self, *args, **kwargs) -> None:
        """Publish after commit; a broker outage is logged, not raised.

        The transaction has committed by then: raising would turn a saved change
        into an error page. What was not published is found again by the sweeps
        (the outbox re-enqueues rows left queued, care request events left
        unannounced are announced), as after a Redis restart. Any other error
        (an eager task failing in the tests) still raises.
        """

        def publish() -> None:
            try:
                self.delay(*args, **kwargs)
            except OperationalError:
                logger.exception("Broker unavailable: %s not published", self.name)

        transaction.on_commit(publish)


app = Celery("conciergerie", task_cls=ProjectTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

"""The Celery application: Redis as broker, the beat schedule in settings."""

import os

from celery import Celery, Task
from django.db import transaction

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "conciergerie.settings")


class ProjectTask(Task):
    def delay_on_commit(self, *args, **kwargs) -> None:
        """Publish after commit; a broker outage is logged, not raised.

        The transaction has committed by then: raising would turn a saved change
        into an error page. What was not published is found again by the sweeps
        (the outbox re-enqueues rows left queued, care request events left
        unannounced are announced), as after a Redis restart.
        """

        def publish() -> None:
            self.delay(*args, **kwargs)

        publish.__qualname__ = f"{self.name}.delay"
        transaction.on_commit(publish, robust=True)


app = Celery("conciergerie", task_cls=ProjectTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

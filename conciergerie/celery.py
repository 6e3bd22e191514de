"""The Celery application: Redis as broker, the beat schedule in settings."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "conciergerie.settings")

app = Celery("conciergerie")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

from datetime import timedelta

import pytest
from django.conf import settings

from conciergerie import celery_app
from conciergerie.notifications import tasks
from conciergerie.notifications.backends import LocmemSmsBackend
from conciergerie.notifications.models import Message
from tests.notifications.factories import make_due, schedule

pytestmark = pytest.mark.django_db


def test_beat_runs_the_outbox_sweep_at_least_every_minute():
    entry = settings.CELERY_BEAT_SCHEDULE["notifications-sweep-outbox"]

    assert entry["task"] in celery_app.tasks
    assert entry["task"] == tasks.sweep_outbox.name
    assert entry["schedule"] <= timedelta(minutes=1)


def test_the_send_task_is_acknowledged_only_once_done():
    assert tasks.send_message.acks_late is True
    assert tasks.send_message.ignore_result is True


def test_the_sweep_task_enqueues_and_the_send_task_sends(
    django_capture_on_commit_callbacks,
):
    message = schedule()
    make_due(message)

    with django_capture_on_commit_callbacks(execute=True):
        report = tasks.sweep_outbox.delay().get()

    message.refresh_from_db()
    assert report == {"recovered": 0, "gave_up": 0, "enqueued": 1}
    assert message.state == Message.State.SENT
    assert len(LocmemSmsBackend.outbox) == 1


def test_a_task_for_a_message_already_sent_does_nothing():
    message = schedule()
    make_due(message)
    tasks.send_message.delay(message.pk)

    tasks.send_message.delay(message.pk)

    assert len(LocmemSmsBackend.attempts) == 1

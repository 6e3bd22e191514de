"""Tasks the broker refuses after a commit are parked, then published once it is back.

A private redis-server stands for the broker. It is crashed, a task is published
after a commit (an invoice email, a freed slot offered to the waitlist): the
caller sees no error, the task waits as a row. Redis starts again, the beat job
hands the row over, and the task is in its queue exactly once. Tasks whose own
sweep finds their work again (the outbox) are not parked twice.
"""

import base64
import json
import shutil

import pytest
import redis

from billing import tasks as billing_tasks
from conciergerie.notifications import parking
from conciergerie.notifications import tasks as notification_tasks
from conciergerie.notifications.models import ParkedTask
from tests.notifications.harness import OwnRedis, publishing_to

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis"),
]


@pytest.fixture
def own_redis():
    server = OwnRedis().start()
    yield server
    server.crash()


def queued(server: OwnRedis, queue: str) -> list[tuple[str, list]]:
    """(task name, positional arguments) of every message waiting in `queue`."""
    client = redis.Redis(port=server.port)
    found = []
    for raw in client.lrange(queue, 0, -1):
        message = json.loads(raw)
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        found.append((message["headers"]["task"], args))
    return found


def test_a_refused_task_is_parked_then_published_once_the_broker_is_back(
    own_redis, django_capture_on_commit_callbacks
):
    own_redis.crash()
    with publishing_to(own_redis.url):
        with django_capture_on_commit_callbacks(execute=True):
            billing_tasks.send_invoice_email.delay_on_commit(4242)

        parked = ParkedTask.objects.get()
        assert parked.name == "billing.tasks.send_invoice_email"
        assert parked.args == [4242]

        # Still down: the row stays, its attempt is counted.
        assert parking.republish_parked_tasks() == 0
        parked.refresh_from_db()
        assert parked.attempts == 1

        own_redis.start()
        assert notification_tasks.republish_parked_tasks() == 1
        assert parking.republish_parked_tasks() == 0

    assert not ParkedTask.objects.exists()
    # Once, in the default queue (the test settings route every task there).
    assert queued(own_redis, "celery") == [("billing.tasks.send_invoice_email", [4242])]


def test_parked_tasks_leave_oldest_first(own_redis, django_capture_on_commit_callbacks):
    own_redis.crash()
    with publishing_to(own_redis.url):
        with django_capture_on_commit_callbacks(execute=True):
            for invoice_id in (1, 2, 3):
                billing_tasks.send_invoice_email.delay_on_commit(invoice_id)
        own_redis.start()
        assert parking.republish_parked_tasks() == 3

    # Redis lists are pushed on the left and consumed from the right.
    assert [args for _name, args in reversed(queued(own_redis, "celery"))] == [
        [1],
        [2],
        [3],
    ]


def test_outbox_tasks_are_left_to_the_outbox_sweep(
    own_redis, django_capture_on_commit_callbacks
):
    own_redis.crash()
    with (
        publishing_to(own_redis.url),
        django_capture_on_commit_callbacks(execute=True),
    ):
        notification_tasks.send_message.delay_on_commit(7)

    assert not ParkedTask.objects.exists()

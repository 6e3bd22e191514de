"""The outbox under failure, with real processes: nothing lost, nothing doubled.

N appointments each get a reminder by SMS (the real HTTP backend, to a local
gateway) and by email (the real SMTP backend, to a local aiosmtpd relay). A real
Celery worker starts sending through a private Redis; it is killed with -9 in the
middle of the dispatch, Redis is crashed and restarted empty (every queued task is
lost), a new worker starts, Redis is crashed once more under it, and the sweep
alone brings every message home. Each message must reach its recipient exactly
once. `make test` runs 200 appointments, `make proof` 2,000.
"""

import shutil
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from conciergerie.notifications import services
from conciergerie.notifications.channels import EmailChannel
from conciergerie.notifications.models import Message
from tests.notifications.fakes import FakeSmsProvider, FakeSmtpServer
from tests.notifications.harness import (
    OwnRedis,
    Worker,
    publishing_to,
    worker_environment,
)

pytestmark = [
    pytest.mark.worker,
    pytest.mark.usefixtures("committed_db"),
    pytest.mark.skipif(
        shutil.which("redis-server") is None,
        reason="needs redis-server (make test installs it)",
    ),
]

State = Message.State


@pytest.fixture
def own_redis():
    server = OwnRedis().start()
    yield server
    server.crash()


@pytest.fixture
def fakes():
    sms = FakeSmsProvider().start()
    smtp = FakeSmtpServer().start()
    yield sms, smtp
    sms.stop()
    smtp.stop()


def schedule_reminders(count: int, due_at) -> list[Message]:
    messages = []
    for number in range(count):
        subject = f"appointments.appointment:proof-{number}"
        for channel, to in (
            ("sms", f"+3361{number:07d}"),
            ("email", f"patient{number}@example.fr"),
        ):
            messages.append(
                services.schedule_message(
                    key=services.message_key(
                        subject=subject, kind="reminder", channel=channel
                    ),
                    subject=subject,
                    channel=channel,
                    to=to,
                    template="notifications/notice",
                    context={"first_name": f"Patient {number}"},
                    due_at=due_at,
                    language="fr" if number % 3 else "en",
                )
            )
    return messages


def wait_until(condition, *, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def states() -> Counter:
    return Counter(Message.objects.values_list("state", flat=True))


def run_reminders_through_crashes(appointments, own_redis, fakes, settings, capsys):
    sms, smtp = fakes
    settings.NOTIFICATIONS_CLAIM_TIMEOUT = 5
    settings.NOTIFICATIONS_QUEUE_TIMEOUT = 8
    # What the worker drains well within the queue timeout.
    settings.NOTIFICATIONS_MAX_QUEUED = 150
    total = appointments * 2
    env = worker_environment(
        broker=own_redis.url,
        sms_url=sms.url,
        sms_token=sms.token,
        smtp_port=smtp.port,
    )

    def delivered() -> int:
        return len(sms.delivered) + len(smtp.mailbox)

    started = time.monotonic()
    messages = schedule_reminders(appointments, timezone.now() + timedelta(days=1))
    scheduled_in = time.monotonic() - started
    assert states() == {State.PENDING: total}
    # A day goes by: every reminder falls due at once.
    now = timezone.now()
    Message.objects.update(due_at=now, next_attempt_at=now)
    sweeps = []

    with publishing_to(own_redis.url):
        # Phase 1: a worker sends until a third is out, then dies with -9.
        first = Worker(env).start()
        try:
            dispatch_started = time.monotonic()
            sweeps.append(services.sweep_outbox())
            assert sweeps[0].enqueued == min(total, settings.NOTIFICATIONS_MAX_QUEUED)

            def a_third_out() -> bool:
                sweeps.append(services.sweep_outbox())
                return delivered() >= total // 3

            assert wait_until(a_third_out, timeout=300, step=0.5), first.output()
            # The gateway now takes the SMS but answers late: both worker
            # processes end up waiting for an answer, the SMS already on its way.
            sms.hold_answers()
            assert wait_until(lambda: len(sms.held) >= 2, timeout=30), first.output()
            first.kill()
        finally:
            first.kill()
            sms.release_answers()
        at_kill = states()
        delivered_at_kill = delivered()
        # Those rows are still `sending`: the one window for a duplicate.
        caught_in_the_window = set(sms.held)
        assert at_kill[State.SENDING] >= len(caught_in_the_window) == 2

        # Phase 2: Redis crashes and comes back empty; the queued tasks are gone.
        own_redis.restart()
        lost_tasks = at_kill[State.QUEUED]
        second = Worker(env).start()
        try:
            # Phase 3: halfway through the rest, Redis crashes again under the
            # live worker, which reconnects; the sweep does the rest.
            restarted_again = False
            deadline = time.monotonic() + (120 if total <= 1000 else 600)
            while time.monotonic() < deadline:
                sweeps.append(services.sweep_outbox())
                second.supervise()
                if not restarted_again and delivered() >= (total * 2) // 3:
                    own_redis.restart()
                    restarted_again = True
                if states()[State.SENT] == total:
                    break
                time.sleep(1)
            finished = time.monotonic()
            final = states()
            assert final == {State.SENT: total}, (final, second.output())
        finally:
            second.stop()

    # Every message reached its recipient exactly once.
    sms_keys = {m.key for m in messages if m.channel == "sms"}
    email_ids = {
        EmailChannel.message_id(m.key) for m in messages if m.channel == "email"
    }
    assert set(sms.delivered) == sms_keys
    assert set(smtp.mailbox) == email_ids
    assert len(sms_keys) == len(email_ids) == appointments
    wire = sms.delivery_counts() + smtp.delivery_counts()
    repeats = sum(wire.values()) - len(wire)
    # A repeat on the wire can only come from a send interrupted by the kill
    # (or a claim that outlived its timeout); the key kept it off the phone.
    assert set(wire) == sms_keys | email_ids
    # The rows caught in the window were sent again, and dropped by the gateway.
    assert all(wire[key] >= 2 for key in caught_in_the_window)
    assert repeats >= 2
    # Every row records the id the provider gave it.
    sent_ids = dict(
        Message.objects.filter(channel="sms").values_list("key", "provider_id")
    )
    assert sent_ids == {key: sms.delivered[key]["id"] for key in sms_keys}

    figures = {
        "appointments": appointments,
        "messages": total,
        "scheduled in (s)": round(scheduled_in, 2),
        "delivered when the worker was killed": delivered_at_kill,
        "rows in flight (sending) at the kill": at_kill[State.SENDING],
        "of which accepted by the gateway, unanswered": len(caught_in_the_window),
        "tasks lost with Redis (queued rows)": lost_tasks,
        "redis restarts": own_redis.restarts,
        "worker exits restarted as a supervisor would": second.restarts,
        "rows put back in line by the sweep": sum(s.recovered for s in sweeps),
        "sweeps run": len(sweeps),
        "requests on the wire": sum(wire.values()),
        "repeated on the wire, dropped by key": repeats,
        "delivered at the recipients": len(sms.delivered) + len(smtp.mailbox),
        "duplicates at the recipients": 0,
        "dispatch to last delivery (s)": round(finished - dispatch_started, 1),
        "throughput (messages/s)": round(total / (finished - dispatch_started), 1),
    }
    with capsys.disabled():
        print("\nOutbox reliability proof:")
        for name, value in figures.items():
            print(f"  {name:<48} {value}")
    return figures


def test_no_reminder_is_lost_or_doubled_through_a_killed_worker_and_redis_restarts(
    own_redis, fakes, settings, capsys, proof_scale
):
    appointments = proof_scale(200, 2000)

    figures = run_reminders_through_crashes(
        appointments, own_redis, fakes, settings, capsys
    )

    assert figures["delivered at the recipients"] == 2 * appointments


@pytest.mark.proof
def test_two_thousand_reminders_survive_a_killed_worker_and_redis_restarts(
    own_redis, fakes, settings, capsys
):
    figures = run_reminders_through_crashes(2000, own_redis, fakes, settings, capsys)

    assert figures["delivered at the recipients"] == 4000

"""Outbox throughput: messages per second through Celery to the fake providers.

A real worker (prefork, 2 processes, on a private Redis) sends N messages, half by
SMS (the real HTTP backend, to a local gateway) and half by email (the real SMTP
backend, to a local aiosmtpd relay); the clock runs from the sweep that enqueues
them to the last row recorded `sent`. The baseline is N empty Celery tasks
(`conciergerie.tasks.ping`) through the same worker and Redis in the same run, so
the ratio shows what the outbox costs over Celery itself. Goal: >= 50 messages/s.

    .venv/bin/python bench/bench_notifications.py            # 2,000 messages
    BENCH_MESSAGES=500 .venv/bin/python bench/bench_notifications.py
"""

import os
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "conciergerie.settings_test"
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL",
    "postgres://postgres@127.0.0.1:5432/conciergerie_bench_notifications",
)

import django  # noqa: E402

django.setup()

import redis  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from conciergerie.notifications import services  # noqa: E402
from conciergerie.notifications.models import Message  # noqa: E402
from conciergerie.tasks import ping  # noqa: E402
from tests.notifications.fakes import FakeSmsProvider, FakeSmtpServer  # noqa: E402
from tests.notifications.harness import (  # noqa: E402
    OwnRedis,
    Worker,
    publishing_to,
    worker_environment,
)

GOAL = 50.0


def wait(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"Timed out waiting for {what}")
        time.sleep(0.02)


def broker_idle(broker: OwnRedis) -> bool:
    """No task waiting and none delivered but unacknowledged (acks are late)."""
    client = redis.Redis(port=broker.port)
    return client.llen("celery") == 0 and client.hlen("unacked") == 0


def schedule(count: int) -> None:
    later = timezone.now() + timedelta(days=1)
    for number in range(count):
        channel = "sms" if number % 2 else "email"
        services.schedule_message(
            key=f"bench.appointment:{number}:reminder:{channel}",
            subject=f"bench.appointment:{number}",
            channel=channel,
            to=f"+3361{number:07d}" if channel == "sms" else f"p{number}@example.fr",
            template="notifications/notice",
            context={"first_name": f"Patient {number}"},
            due_at=later,
            language="fr",
        )
    now = timezone.now()
    Message.objects.update(due_at=now, next_attempt_at=now)


def main() -> None:
    count = int(os.environ.get("BENCH_MESSAGES", "2000"))
    call_command("ensure_database", verbosity=0)
    call_command("migrate", verbosity=0, interactive=False)
    Message.objects.all().delete()

    broker = OwnRedis().start()
    sms = FakeSmsProvider().start()
    smtp = FakeSmtpServer().start()
    env = worker_environment(
        broker=broker.url, sms_url=sms.url, sms_token=sms.token, smtp_port=smtp.port
    )
    worker = Worker(env, concurrency=2).start()
    try:
        with publishing_to(broker.url):
            ping.delay().get(timeout=60)  # the worker is up

            started = time.perf_counter()
            for _ in range(count):
                ping.apply_async(ignore_result=True)
            wait(lambda: broker_idle(broker), timeout=600, what="the empty tasks")
            baseline = count / (time.perf_counter() - started)

            schedule(count)
            started = time.perf_counter()
            report = services.sweep_outbox()
            enqueued = time.perf_counter() - started
            wait(
                lambda: (
                    Message.objects.filter(state=Message.State.SENT).count() == count
                ),
                timeout=600,
                what="the messages",
            )
            elapsed = time.perf_counter() - started
    finally:
        worker.stop()
        sms.stop()
        smtp.stop()
        broker.crash()

    assert report.enqueued == count
    assert len(sms.delivered) + len(smtp.mailbox) == count
    rate = count / elapsed
    figures = [
        ("messages", f"{count} ({count // 2} SMS, {count - count // 2} email)"),
        ("empty Celery tasks", f"{baseline:.1f} /s"),
        ("outbox messages to the providers", f"{rate:.1f} /s"),
        ("  of which the sweep enqueuing them", f"{enqueued:.2f} s"),
        ("ratio outbox / empty task", f"{rate / baseline:.2f}"),
        (f"goal >= {GOAL:.0f} messages/s", "met" if rate >= GOAL else "NOT met"),
    ]
    for name, value in figures:
        print(f"{name:<36} {value}")
    Message.objects.all().delete()


if __name__ == "__main__":
    main()

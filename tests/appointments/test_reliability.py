"""Appointment reminders through a real worker killed mid-run and Redis restarted.

N appointments are booked through the booking service (confirmation sent at
once, reminders by SMS and email scheduled for the day before). A day goes by:
every reminder falls due. A real Celery worker sends them through a private
Redis, to a local SMS gateway (the real HTTP backend) and a local SMTP relay; it
is killed with -9 mid-dispatch, Redis is crashed and restarted empty, a new
worker starts, Redis crashes once more under it, and the sweep brings every
reminder home. Each must reach its recipient exactly once. `make test` books 200
appointments, `make proof` 2,000.
"""

import shutil
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from appointments import services
from appointments.models import Appointment, Face
from conciergerie.notifications import services as outbox
from conciergerie.notifications.channels import EmailChannel
from conciergerie.notifications.models import Message
from tests.appointments.factories import free_slots, open_practitioner
from tests.notifications.fakes import FakeSmsProvider, FakeSmtpServer
from tests.notifications.harness import (
    OwnRedis,
    Worker,
    publishing_to,
    worker_environment,
)
from tests.patients.factories import PatientFactory

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        shutil.which("redis-server") is None,
        reason="needs redis-server (make test installs it)",
    ),
]

State = Message.State
REMINDER = "appointments/messages/reminder"
APPOINTMENTS_PER_PATIENT = 10


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


def book_appointments(count: int) -> list[Appointment]:
    """`count` appointments from three days on, booked like the portal books them."""
    after = timezone.now() + timedelta(days=3)
    booked: list[Appointment] = []
    patients = [
        PatientFactory(consented=True, reminder_channel="both")
        for _ in range(-(-count // APPOINTMENTS_PER_PATIENT))
    ]
    while len(booked) < count:
        practitioner = open_practitioner(specialties=())
        for slot in free_slots(practitioner, after=after, days=10):
            if len(booked) == count:
                break
            patient = patients[len(booked) // APPOINTMENTS_PER_PATIENT]
            booked.append(
                services.book_appointment(
                    patient=patient,
                    practitioner=practitioner,
                    kind=slot.kind,
                    starts_at=slot.starts_at,
                    by=patient.user,
                    via=Face.PORTAL,
                )
            )
    return booked


def wait_until(condition, *, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def reminder_states() -> Counter:
    return Counter(
        Message.objects.filter(template=REMINDER).values_list("state", flat=True)
    )


def run(count: int, own_redis, fakes, settings, capsys) -> dict:
    sms, smtp = fakes
    settings.NOTIFICATIONS_CLAIM_TIMEOUT = 5
    settings.NOTIFICATIONS_QUEUE_TIMEOUT = 8
    settings.NOTIFICATIONS_MAX_QUEUED = 150
    settings.APPOINTMENT_REMINDER_OFFSETS = [24]
    env = worker_environment(
        broker=own_redis.url, sms_url=sms.url, sms_token=sms.token, smtp_port=smtp.port
    )

    started = time.monotonic()
    appointments = book_appointments(count)
    booked_in = time.monotonic() - started
    reminders = list(Message.objects.filter(template=REMINDER))
    total = len(reminders)
    assert total == 2 * count
    assert {m.subject for m in reminders} == {
        outbox.subject_for(a) for a in appointments
    }
    assert reminder_states() == {State.PENDING: total}
    # The confirmations went at booking; what the worker sends is the reminders.
    assert (
        not Message.objects.exclude(template=REMINDER)
        .filter(state__in=[State.PENDING, State.QUEUED])
        .exclude(template__endswith="practitioner_notice")
        .exists()
    )
    Message.objects.exclude(template=REMINDER).delete()

    # A day goes by: every reminder falls due (each still expires at its start).
    now = timezone.now()
    Message.objects.update(due_at=now, next_attempt_at=now)

    def delivered() -> int:
        return len(sms.delivered) + len(smtp.mailbox)

    sweeps = []
    with publishing_to(own_redis.url):
        first = Worker(env).start()
        try:
            dispatch_started = time.monotonic()
            sweeps.append(outbox.sweep_outbox())

            def a_third_out() -> bool:
                sweeps.append(outbox.sweep_outbox())
                return delivered() >= total // 3

            assert wait_until(a_third_out, timeout=300, step=0.5), first.output()
            # Both worker processes end up waiting for a gateway that took the
            # SMS but does not answer: the kill lands in the one risky window.
            sms.hold_answers()
            assert wait_until(lambda: len(sms.held) >= 2, timeout=30), first.output()
            first.kill()
        finally:
            first.kill()
            sms.release_answers()
        at_kill = reminder_states()
        delivered_at_kill = delivered()
        caught_in_the_window = set(sms.held)

        own_redis.restart()
        lost_tasks = at_kill[State.QUEUED]
        second = Worker(env).start()
        try:
            restarted_again = False
            deadline = time.monotonic() + (120 if total <= 1000 else 900)
            while time.monotonic() < deadline:
                sweeps.append(outbox.sweep_outbox())
                second.supervise()
                if not restarted_again and delivered() >= (total * 2) // 3:
                    own_redis.restart()
                    restarted_again = True
                if reminder_states()[State.SENT] == total:
                    break
                time.sleep(1)
            finished = time.monotonic()
            final = reminder_states()
            assert final == {State.SENT: total}, (final, second.output())
        finally:
            second.stop()

    sms_keys = {m.key for m in reminders if m.channel == "sms"}
    email_ids = {
        EmailChannel.message_id(m.key) for m in reminders if m.channel == "email"
    }
    assert len(sms_keys) == len(email_ids) == count
    # Exactly once at the recipients: one SMS per key, one email per Message-ID.
    assert set(sms.delivered) == sms_keys
    assert set(smtp.mailbox) == email_ids
    wire = sms.delivery_counts() + smtp.delivery_counts()
    repeats = sum(wire.values()) - len(wire)
    assert set(wire) == sms_keys | email_ids
    assert all(wire[key] >= 2 for key in caught_in_the_window)
    for key in sms_keys:
        assert "/appointments/a/" in sms.delivered[key]["text"]
    figures = {
        "appointments booked through the service": count,
        "booking time (s)": round(booked_in, 1),
        "reminders (SMS + email)": total,
        "delivered when the worker was killed": delivered_at_kill,
        "rows in flight (sending) at the kill": at_kill[State.SENDING],
        "of which accepted by the gateway, unanswered": len(caught_in_the_window),
        "tasks lost with Redis (queued rows)": lost_tasks,
        "redis restarts": own_redis.restarts,
        "worker exits restarted as a supervisor would": second.restarts,
        "rows put back in line by the sweep": sum(s.recovered for s in sweeps),
        "requests on the wire": sum(wire.values()),
        "repeated on the wire, dropped by key": repeats,
        "delivered at the recipients": delivered(),
        "duplicates at the recipients": 0,
        "dispatch to last delivery (s)": round(finished - dispatch_started, 1),
        "throughput (reminders/s)": round(total / (finished - dispatch_started), 1),
    }
    with capsys.disabled():
        print("\nAppointment reminders through a killed worker and Redis restarts:")
        for name, value in figures.items():
            print(f"  {name:<48} {value}")
    return figures


def test_no_appointment_reminder_is_lost_or_doubled_through_crashes(
    own_redis, fakes, settings, capsys, proof_scale
):
    count = proof_scale(200, 2000)

    figures = run(count, own_redis, fakes, settings, capsys)

    assert figures["delivered at the recipients"] == 2 * count


@pytest.mark.proof
def test_two_thousand_appointment_reminders_survive_crashes(
    own_redis, fakes, settings, capsys
):
    figures = run(2000, own_redis, fakes, settings, capsys)

    assert figures["delivered at the recipients"] == 4000

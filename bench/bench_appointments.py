"""Appointments: booking latency through the API, reminder throughput through Celery.

1. Booking: a partner books free slots through `POST /api/v1/appointments/`
   (token, scope, slot check against the directory, the exclusion constraint,
   confirmation and reminders into the outbox, tasks published to a real Redis),
   one request after another through the in-process client; p50/p95 against a
   bare Django view and a bare API view (token and scope only) in the same run.
   Goal: p95 <= 150 ms.
2. Reminders: appointments booked through the booking service, their reminders
   (SMS and email) fall due; a real worker (prefork, 2 processes) on a private
   Redis sends them to the fake SMS gateway and SMTP relay; reminders per second
   from the sweep to the last row recorded sent, against empty Celery tasks
   through the same worker and Redis. Goal: >= 50 reminders/s.

    .venv/bin/python bench/bench_appointments.py
    BENCH_BOOKINGS=100 BENCH_APPOINTMENTS=300 \
        .venv/bin/python bench/bench_appointments.py

It uses its own database, conciergerie_bench_appointments, created and migrated
here; appointments and messages of earlier runs are removed first.
"""

import os
import statistics
import sys
import time
import types
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATABASE_NAME = "conciergerie_bench_appointments"
GOALS = {"booking_p95_ms": 150.0, "reminders_per_second": 50.0}


def configure() -> None:
    base = os.environ.get(
        "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/conciergerie"
    )
    parts = urlsplit(base)
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{DATABASE_NAME}"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "conciergerie.settings_test"
    os.environ["DJANGO_CONN_MAX_AGE"] = "600"

    import psycopg

    with psycopg.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password,
        dbname="postgres",
        autocommit=True,
    ) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{DATABASE_NAME}"')

    import django

    django.setup()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> str:
    return (
        f"p50 {statistics.median(values):7.2f} ms   "
        f"p95 {percentile(values, 0.95):7.2f} ms   "
        f"p99 {percentile(values, 0.99):7.2f} ms"
    )


def timed(call, repeat: int) -> list[float]:
    durations = []
    for index in range(repeat):
        tick = time.perf_counter()
        call(index)
        durations.append((time.perf_counter() - tick) * 1000)
    return durations


def wait(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"Timed out waiting for {what}")
        time.sleep(0.02)


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def reset() -> None:
    """Remove what earlier runs made: appointments, messages, practitioners and
    patients (this database is the benchmark's own)."""
    from appointments.models import Appointment, AppointmentEvent
    from conciergerie.notifications.models import Message
    from patients.models import Patient
    from specialists.models import Practitioner

    AppointmentEvent.objects.all().delete()
    Appointment.objects.update(rescheduled_from=None, follows=None)
    Appointment.objects.all().delete()
    Message.objects.all().delete()
    Practitioner.objects.all().delete()
    Patient.objects.all().delete()


def bench_booking(requests: int, broker) -> float:
    import redis
    from django.conf import settings
    from django.http import JsonResponse
    from django.test import Client
    from django.urls import clear_url_caches, path
    from django.utils import timezone
    from rest_framework.response import Response
    from rest_framework.views import APIView

    from conciergerie import urls as project_urls
    from tests.appointments.factories import free_slots, open_practitioner
    from tests.factories import ApplicationFactory
    from tests.notifications.harness import publishing_to
    from tests.patients.factories import PatientFactory

    # One client bursting on purpose: the throttles (tested on their own) would
    # answer 429.
    APIView.throttle_classes = ()

    def bare(request):
        return JsonResponse({"ok": True})

    class BareApi(APIView):
        required_scopes = {
            "read": ["appointments:read"],
            "write": ["appointments:write"],
        }

        def post(self, request):
            return Response({"ok": True}, status=201)

    urlconf = types.ModuleType("bench_appointments_urls")
    urlconf.urlpatterns = [
        path("bench/bare/", bare),
        path("bench/bare-api/", BareApi.as_view()),
        *project_urls.urlpatterns,
    ]
    sys.modules[urlconf.__name__] = urlconf
    settings.ROOT_URLCONF = urlconf.__name__
    clear_url_caches()

    application = ApplicationFactory(name=f"Bench clinic {time.time_ns()}")
    from oauth2_provider.models import AccessToken

    raw_token = f"bench-appointments-{time.time_ns()}"
    AccessToken.objects.create(
        application=application,
        token=raw_token,
        scope="appointments:read appointments:write",
        expires=timezone.now() + timedelta(hours=2),
    )
    partner = application.user
    practitioners = [open_practitioner(specialties=()) for _ in range(10)]
    patients = [PatientFactory(referred_by=partner, consented=True) for _ in range(50)]
    after = timezone.now() + timedelta(days=3)
    slots = []
    for practitioner in practitioners:
        slots += [
            (practitioner, slot)
            for slot in free_slots(practitioner, after=after, days=30)[::2]
        ]
    assert len(slots) >= requests + 30, "not enough free slots"
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw_token}")

    def book(index: int):
        practitioner, slot = slots[index]
        response = client.post(
            "/api/v1/appointments/",
            {
                "patient": patients[index % len(patients)].reference,
                "practitioner": str(practitioner.public_id),
                "kind": slot.kind,
                "starts_at": slot.starts_at.isoformat(),
            },
            content_type="application/json",
        )
        assert response.status_code == 201, response.content
        return response

    with publishing_to(broker.url):
        for index in range(30):  # warm-up: connections, caches, plans
            client.get("/bench/bare/")
            client.post("/bench/bare-api/")
            book(requests + index)
        bare_times = timed(lambda i: client.get("/bench/bare/"), requests)
        api_times = timed(lambda i: client.post("/bench/bare-api/"), requests)
        booking_times = timed(book, requests)
    # The tasks the bookings published (confirmations, availability) are not
    # part of the reminders' measure.
    redis.Redis(port=broker.port).flushall()
    booking_p95 = percentile(booking_times, 0.95)
    print(f"== Booking through the API ({requests} sequential requests)")
    print(f"bare view          {summary(bare_times)}")
    print(f"bare API view      {summary(api_times)}")
    print(f"booking            {summary(booking_times)}")
    print(
        f"ratios             p95 {booking_p95 / percentile(bare_times, 0.95):.1f}x "
        f"the bare view, {booking_p95 / percentile(api_times, 0.95):.1f}x the bare "
        "API view"
    )
    print(
        f"goal               p95 <= {GOALS['booking_p95_ms']:.0f} ms "
        f"[{verdict(booking_p95 <= GOALS['booking_p95_ms'])}]"
    )
    return booking_p95


def bench_reminders(appointments: int, broker) -> float:
    import redis
    from django.conf import settings
    from django.utils import timezone

    from appointments import services
    from appointments.models import Face
    from conciergerie.notifications import services as outbox
    from conciergerie.notifications.models import Message
    from conciergerie.tasks import ping
    from tests.appointments.factories import free_slots, open_practitioner
    from tests.notifications.fakes import FakeSmsProvider, FakeSmtpServer
    from tests.notifications.harness import (
        Worker,
        publishing_to,
        worker_environment,
    )
    from tests.patients.factories import PatientFactory

    reset()
    settings.APPOINTMENT_REMINDER_OFFSETS = [24]
    after = timezone.now() + timedelta(days=3)
    patients = [PatientFactory(consented=True) for _ in range(100)]
    booked = 0
    started = time.perf_counter()
    while booked < appointments:
        practitioner = open_practitioner(specialties=())
        for slot in free_slots(practitioner, after=after, days=10):
            if booked == appointments:
                break
            patient = patients[booked % len(patients)]
            services.book_appointment(
                patient=patient,
                practitioner=practitioner,
                kind=slot.kind,
                starts_at=slot.starts_at,
                by=patient.user,
                via=Face.PORTAL,
            )
            booked += 1
    booking_rate = appointments / (time.perf_counter() - started)
    reminders = Message.objects.filter(template="appointments/messages/reminder")
    Message.objects.exclude(pk__in=reminders.values("pk")).delete()
    count = reminders.count()
    now = timezone.now()
    reminders.update(due_at=now, next_attempt_at=now)

    sms = FakeSmsProvider().start()
    smtp = FakeSmtpServer().start()
    env = worker_environment(
        broker=broker.url, sms_url=sms.url, sms_token=sms.token, smtp_port=smtp.port
    )
    worker = Worker(env, concurrency=2).start()

    def broker_idle() -> bool:
        client = redis.Redis(port=broker.port)
        return client.llen("celery") == 0 and client.hlen("unacked") == 0

    try:
        with publishing_to(broker.url):
            ping.delay().get(timeout=60)  # the worker is up
            started = time.perf_counter()
            for _ in range(count):
                ping.apply_async(ignore_result=True)
            wait(broker_idle, timeout=600, what="the empty tasks")
            baseline = count / (time.perf_counter() - started)

            started = time.perf_counter()
            outbox.sweep_outbox()
            wait(
                lambda: (
                    Message.objects.filter(state=Message.State.SENT).count() == count
                ),
                timeout=900,
                what="the reminders",
            )
            rate = count / (time.perf_counter() - started)
    finally:
        worker.stop()
        sms.stop()
        smtp.stop()
    assert len(sms.delivered) + len(smtp.mailbox) == count
    print(
        f"\n== Reminders through Celery ({appointments} appointments, "
        f"{count} reminders)"
    )
    print(f"booking through the service  {booking_rate:8.1f} appointments/s (setup)")
    print(f"empty Celery tasks           {baseline:8.1f} /s")
    print(f"reminders to the providers   {rate:8.1f} /s")
    print(f"ratio reminders / empty task {rate / baseline:8.2f}")
    print(
        f"goal >= {GOALS['reminders_per_second']:.0f} reminders/s        "
        f"[{verdict(rate >= GOALS['reminders_per_second'])}]"
    )
    return rate


def main() -> None:
    configure()
    from django.core.management import call_command

    bookings = int(os.environ.get("BENCH_BOOKINGS", "300"))
    appointments = int(os.environ.get("BENCH_APPOINTMENTS", "1000"))
    from tests.notifications.harness import OwnRedis

    print(f"Database {DATABASE_NAME}: migrating…", flush=True)
    call_command("migrate", verbosity=0, interactive=False)
    reset()
    broker = OwnRedis().start()
    try:
        bench_booking(bookings, broker)
        bench_reminders(appointments, broker)
    finally:
        broker.crash()
    reset()


if __name__ == "__main__":
    main()

"""Redis stopped under a running application, then started again.

A private redis-server on a free loopback port stands for the production Redis:
the cache (django-redis, configured as in production), the Celery broker and the
readiness probe all point at it. While it is down, the portal and the back-office
keep answering (sessions live in PostgreSQL, the cache degrades to misses),
`/readyz` answers 503 and names Redis, and messages wait in the outbox. Once it is
back, the sweep hands them to a real worker and each reaches its recipient once.
"""

import shutil
import time

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conciergerie.accounts.roles import Role
from conciergerie.notifications import services
from conciergerie.notifications.channels import EmailChannel
from conciergerie.notifications.models import Message
from tests.factories import PASSWORD, UserFactory
from tests.notifications.conftest import committed_db  # noqa: F401 - fixture
from tests.notifications.fakes import FakeSmsProvider, FakeSmtpServer
from tests.notifications.harness import (
    OwnRedis,
    Worker,
    publishing_to,
    worker_environment,
)

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="needs redis-server"
)
State = Message.State


@pytest.fixture
def own_redis():
    server = OwnRedis().start()
    yield server
    server.crash()


@pytest.fixture
def production_cache(settings, own_redis):
    """The cache and probe of production, on the private Redis (changing the
    setting makes Django rebuild its cache handlers)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "conciergerie.cache.FailoverRedisCache",
            "LOCATION": own_redis.url,
            "OPTIONS": {
                "IGNORE_EXCEPTIONS": True,
                "SOCKET_CONNECT_TIMEOUT": 1,
                "SOCKET_TIMEOUT": 1,
            },
        }
    }
    settings.REDIS_URL = own_redis.url
    return own_redis


def _schedule(number: int, channel: str) -> Message:
    subject = f"reliability.redis:{number}"
    return services.schedule_message(
        key=services.message_key(subject=subject, kind="notice", channel=channel),
        subject=subject,
        channel=channel,
        to=f"+3361{number:07d}" if channel == "sms" else f"p{number}@example.fr",
        template="notifications/notice",
        context={"first_name": f"Patient {number}"},
        due_at=timezone.now(),
        language="fr",
    )


@pytest.mark.django_db
def test_portal_and_back_office_keep_working_while_redis_is_down(
    production_cache, staff_client, django_capture_on_commit_callbacks
):
    from tests.patients.factories import PatientFactory

    patient_user = UserFactory(email="outage.patient@example.fr", role=Role.PATIENT)
    patient = PatientFactory(
        user=patient_user, email=patient_user.email, consented=True
    )
    adviser = UserFactory(email="outage.adviser@example.fr", role=Role.MEDICAL_ADVISER)
    assert Client().get("/readyz").status_code == 200

    production_cache.crash()

    # Signing in goes through the login throttle, whose counters are cached.
    portal = Client()
    response = portal.post(
        reverse("account_login"),
        {"login": patient_user.email, "password": PASSWORD},
    )
    assert response.status_code == 302, response.content[:500]
    for path in ("/", "/dashboard/", patient.get_absolute_url(), "/appointments/"):
        response = portal.get(path, follow=True)
        assert response.status_code == 200, path
    admin = staff_client(adviser)
    for path in (
        f"/{django_settings.ADMIN_URL}",
        f"/{django_settings.ADMIN_URL}patients/patient/",
        f"/{django_settings.ADMIN_URL}notifications/message/",
    ):
        assert admin.get(path).status_code == 200, path

    # A message scheduled now stays in the outbox; the request is not broken.
    with (
        publishing_to(production_cache.url),
        django_capture_on_commit_callbacks(execute=True),
    ):
        message = _schedule(1, "email")
    message.refresh_from_db()
    assert message.state in (State.PENDING, State.QUEUED)

    ready = Client().get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["redis"].startswith("error")
    assert ready.json()["checks"]["database"] == "ok"
    assert Client().get("/healthz").status_code == 200


@pytest.mark.worker
@pytest.mark.usefixtures("committed_db")
def test_messages_wait_in_the_outbox_and_leave_once_redis_is_back(own_redis, settings):
    settings.NOTIFICATIONS_QUEUE_TIMEOUT = 2
    settings.REDIS_URL = own_redis.url
    sms = FakeSmsProvider().start()
    smtp = FakeSmtpServer().start()
    count = 10
    try:
        own_redis.crash()
        with publishing_to(own_redis.url):
            # Scheduled while the broker is away: each row is written, its task
            # cannot be published, and nothing raises into the caller.
            messages = [
                _schedule(number, channel)
                for number in range(count)
                for channel in ("sms", "email")
            ]
            assert Message.objects.filter(state=State.SENT).count() == 0
            assert Client().get("/readyz").status_code == 503

            own_redis.start()
            assert Client().get("/readyz").status_code == 200
            worker = Worker(
                worker_environment(
                    broker=own_redis.url,
                    sms_url=sms.url,
                    sms_token=sms.token,
                    smtp_port=smtp.port,
                )
            ).start()
            try:
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    services.sweep_outbox()
                    if Message.objects.filter(state=State.SENT).count() == 2 * count:
                        break
                    time.sleep(1)
            finally:
                worker.stop()
        assert Message.objects.filter(state=State.SENT).count() == 2 * count, (
            worker.output()
        )
        sms_keys = {m.key for m in messages if m.channel == "sms"}
        email_ids = {
            EmailChannel.message_id(m.key) for m in messages if m.channel == "email"
        }
        assert set(sms.delivered) == sms_keys
        assert set(smtp.mailbox) == email_ids
        wire = sms.delivery_counts() + smtp.delivery_counts()
        assert set(wire) == sms_keys | email_ids
    finally:
        sms.stop()
        smtp.stop()

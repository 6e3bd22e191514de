import pytest
from django.db import connection
from django.test.utils import setup_databases

from conciergerie.notifications.backends import LocmemSmsBackend
from conciergerie.notifications.models import Message
from tests.notifications.fakes import FakeSmsProvider, FakeSmtpServer


@pytest.fixture(autouse=True)
def empty_sms_outbox():
    LocmemSmsBackend.reset()
    yield
    LocmemSmsBackend.reset()


@pytest.fixture
def fake_sms(settings):
    """A local SMS gateway behind the real HTTP backend."""
    provider = FakeSmsProvider().start()
    settings.SMS_BACKEND = "conciergerie.notifications.backends.HttpSmsBackend"
    settings.SMS_HTTP_URL = provider.url
    settings.SMS_HTTP_TOKEN = provider.token
    yield provider
    provider.stop()


@pytest.fixture
def fake_smtp(settings):
    """A local SMTP relay behind Django's real SMTP backend."""
    server = FakeSmtpServer().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    yield server
    server.stop()


@pytest.fixture
def committed_db(django_db_setup, django_db_blocker):
    """Rows really committed, visible to other connections (threads, a worker).

    Cheaper than `django_db(transaction=True)`, which truncates and re-creates
    every table's permissions afterwards: these tests write outbox rows only, so
    only those are removed.
    """
    with django_db_blocker.unblock():
        if not connection.settings_dict["NAME"].startswith("test_"):
            # pytest-django prepares the test database only if a collected test
            # is marked for it; alone, these tests prepare it themselves.
            setup_databases(
                verbosity=0, interactive=False, keepdb=True, aliases={"default"}
            )
        Message.objects.all().delete()
        yield
        Message.objects.all().delete()

import pytest

from conciergerie.notifications.backends import LocmemSmsBackend


@pytest.fixture(autouse=True)
def _bookings_from_appointments(settings, tmp_path):
    """Slots come out of real appointments; documents go to a private folder."""
    settings.SPECIALISTS_BUSY_INTERVALS = "appointments.availability.busy_intervals"
    settings.MEDIA_ROOT = tmp_path / "media"
    LocmemSmsBackend.reset()
    yield
    LocmemSmsBackend.reset()


@pytest.fixture
def practitioner(db):
    from tests.appointments.factories import open_practitioner

    return open_practitioner()


def error_codes(error) -> set[str]:
    """Every code of a Django ValidationError, field errors included."""
    if hasattr(error, "error_dict"):
        return {item.code for items in error.error_dict.values() for item in items}
    return {item.code for item in error.error_list}


@pytest.fixture
def busy_live_server(transactional_db):
    """Django's live server, with a listen backlog for a crowd.

    The stock server queues 10 connections: fifty clients connecting in the same
    millisecond would see resets before any request reached Django.
    """
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.servers.basehttp import ThreadedWSGIServer
    from django.test.testcases import LiveServerThread

    class CrowdServer(ThreadedWSGIServer):
        request_queue_size = 256

    class CrowdServerThread(LiveServerThread):
        server_class = CrowdServer

    thread = CrowdServerThread("127.0.0.1", StaticFilesHandler)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield f"http://127.0.0.1:{thread.port}"
    thread.terminate()

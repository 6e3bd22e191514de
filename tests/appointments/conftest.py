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

import pytest


@pytest.fixture(autouse=True)
def _no_bookings_by_default(settings):
    """Each test states its own busy intervals; none leak between tests."""
    settings.SPECIALISTS_BUSY_INTERVALS = "specialists.availability.no_bookings"

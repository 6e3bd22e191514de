import pytest


@pytest.fixture(autouse=True)
def _no_bookings_by_default(settings):
    """Each test states its own busy intervals; none leak between tests."""
    settings.SPECIALISTS_BUSY_INTERVALS = "specialists.availability.no_bookings"


@pytest.fixture(autouse=True)
def _no_care_request_hook_by_default(settings):
    """The directory is tested on its own: shortlists here name no real care
    request, so the care-request hook is off unless a test sets it."""
    settings.SPECIALISTS_SHORTLIST_PUBLISHED = ""


def error_codes(error) -> set[str]:
    """Every code of a Django ValidationError, field errors included."""
    if hasattr(error, "error_dict"):
        return {item.code for items in error.error_dict.values() for item in items}
    return {item.code for item in error.error_list}


@pytest.fixture
def reader(api_client, partner_client, partner_token):
    """An API client with a partner token carrying specialists:read."""
    token = partner_token(partner_client, "specialists:read")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.token}")
    return api_client

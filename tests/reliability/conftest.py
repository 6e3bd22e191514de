"""Shared by the fault tests: partner fixtures, and a clean Celery client after each."""

import pytest

from tests.api.conftest import all_scopes, make_partner  # noqa: F401 - fixtures


@pytest.fixture(autouse=True)
def _forget_the_private_broker():
    """A test that publishes to a private Redis leaves the app's result backend
    bound to it; the next test must build its own from the settings."""
    yield
    from conciergerie import celery_app

    celery_app._backend_cache = None
    celery_app._local.__dict__.pop("backend", None)
    celery_app._pool = None

"""The partner fixtures of the API tests, for the fuzzed API bodies."""

from tests.api.conftest import all_scopes, make_partner  # noqa: F401 - fixtures

"""Every back-office list keeps a constant number of queries as its rows grow.

The lists are built with N rows of every main model, counted, then grown to 3N:
a list whose count grows runs a query per row (a missing `list_select_related`,
a column reading a relation), which a concierge feels on a long list.
"""

import pytest
from django.contrib import admin
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.conciergerie.admin_world import build_world
from tests.factories import UserFactory

N = 2

ADMINS = sorted(
    admin.site._registry.items(), key=lambda item: item[0]._meta.label_lower
)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """N of everything, shared by the module and rolled back after it."""
    with django_db_blocker.unblock(), transaction.atomic():
        build_world(N)
        yield
        transaction.set_rollback(True)


@pytest.fixture
def superuser_client(staff_client, db):
    user = UserFactory(email="direction@example.fr", is_superuser=True, is_staff=True)
    return staff_client(user)


@pytest.mark.parametrize(
    "model", [model for model, _ in ADMINS], ids=[m._meta.label for m, _ in ADMINS]
)
def test_a_list_page_keeps_its_query_count_as_rows_grow(
    model, world, superuser_client, django_assert_max_num_queries
):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    superuser_client.get(url)  # warm the per-process caches (content types, sites)
    with CaptureQueriesContext(connection) as small:
        response = superuser_client.get(url)
    assert response.status_code == 200

    build_world(2 * N)

    with django_assert_max_num_queries(len(small.captured_queries)):
        response = superuser_client.get(url)
    assert response.status_code == 200

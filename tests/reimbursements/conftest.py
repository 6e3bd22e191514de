"""Fixtures of the reimbursement tests."""

import pytest

from reimbursements.tariffs import load_reference_data


@pytest.fixture
def reference_tariffs(db):
    """The reference tariffs of the data migration.

    Loaded again (idempotently) because a transactional test elsewhere in the
    session may have flushed the rows the migration created.
    """
    return load_reference_data()


@pytest.fixture
def billing_catalogue(db):
    """The billing catalogue and VAT rates (a data migration a flush may empty)."""
    from importlib import import_module

    from django.apps import apps

    from billing.models import VatRate

    if not VatRate.objects.exists():
        import_module("billing.migrations.0004_seed_catalogue").seed(apps, None)

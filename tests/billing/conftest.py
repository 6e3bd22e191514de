import pytest

from tests.billing.factories import CustomerFactory


@pytest.fixture
def patient_customer(patient_user):
    return CustomerFactory(user=patient_user, name="Camille Petit")


@pytest.fixture
def company_customer(db):
    return CustomerFactory(company=True)


@pytest.fixture(autouse=True)
def catalogue(db):
    """The catalogue comes from a data migration; a transactional test's flush
    (ours or another app's) empties it, so put it back when it is missing."""
    from importlib import import_module

    from django.apps import apps

    from billing.models import VatRate

    if not VatRate.objects.exists():
        import_module("billing.migrations.0004_seed_catalogue").seed(apps, None)

import pytest

from tests.billing.factories import CustomerFactory


@pytest.fixture
def patient_customer(patient_user):
    return CustomerFactory(user=patient_user, name="Camille Petit")


@pytest.fixture
def company_customer(db):
    return CustomerFactory(company=True)

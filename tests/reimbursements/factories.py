"""Factories of the reimbursements app."""

import datetime as dt

import factory
from django.utils import timezone

from conciergerie.accounts.roles import Role
from reimbursements.models import AdministrativeProcedure
from tests.factories import UserFactory
from tests.patients.factories import PatientFactory


class AdministrativeProcedureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AdministrativeProcedure

    kind = AdministrativeProcedure.Kind.PRIOR_APPROVAL
    title = factory.Sequence(lambda n: f"Entente préalable n°{n}")
    patient = factory.SubFactory(PatientFactory)
    owner = factory.SubFactory(UserFactory, role=Role.CARE_COORDINATOR)
    due_on = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=15))

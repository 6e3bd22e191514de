"""Rows for every main model, built from the apps' factories, for the admin tests
that walk every registered list and change form."""

from datetime import timedelta

from django.utils import timezone

from conciergerie.accounts.roles import Role


def ensure_reference_data() -> None:
    """Data migrations load the catalogue and the seeded procedures; a
    transactional test's flush in a reused database may have emptied them."""
    from importlib import import_module

    from django.apps import apps

    from billing.models import VatRate
    from conciergerie.procedures.models import Procedure

    if not VatRate.objects.exists():
        import_module("billing.migrations.0004_seed_catalogue").seed(apps, None)
    if not Procedure.objects.exists():
        import_module("conciergerie.procedures.migrations.0002_seed_procedures").seed(
            apps, None
        )


def build_world(count: int) -> None:
    """`count` patients, each with what the back-office lists most: a medical
    profile, insurance, a document, a care request with a task, a done
    appointment with its answered survey, a review, a message, paperwork."""
    from appointments import surveys
    from conciergerie.procedures import services as procedures
    from conciergerie.procedures.models import Procedure
    from tests.appointments.factories import AppointmentFactory
    from tests.billing.factories import CustomerFactory, issued_invoice
    from tests.factories import UserFactory
    from tests.notifications.factories import MessageFactory
    from tests.patients.factories import (
        CareRequestFactory,
        CareTaskFactory,
        DocumentFactory,
        ErasureRequestFactory,
        InsuranceCoverageFactory,
        MedicalProfileFactory,
        PatientFactory,
        SharingConsentFactory,
    )
    from tests.reimbursements.factories import (
        AdministrativeProcedureFactory,
        draft_claim,
    )
    from tests.specialists.factories import ReviewFactory

    ensure_reference_data()
    for _index in range(count):
        staff = UserFactory(role=Role.CARE_COORDINATOR)
        user = UserFactory(role=Role.PATIENT)
        patient = PatientFactory(user=user, email=user.email, consented=True)
        MedicalProfileFactory(patient=patient)
        InsuranceCoverageFactory(patient=patient)
        DocumentFactory(patient=patient)
        SharingConsentFactory(patient=patient)
        ErasureRequestFactory(patient=patient)
        request = CareRequestFactory(patient=patient)
        CareTaskFactory(care_request=request)
        appointment = AppointmentFactory(
            patient=patient,
            care_request=request,
            starts_at=timezone.now() - timedelta(days=2, hours=_index),
            state="done",
        )
        survey = surveys.queue_survey(appointment)
        surveys.answer_survey(
            survey=survey, satisfaction=4, recommend=9, practitioner_rating=5
        )
        ReviewFactory(practitioner=appointment.practitioner)
        MessageFactory()
        AdministrativeProcedureFactory(patient=patient)
        issued_invoice(CustomerFactory(user=user))
        draft_claim(by=staff, patient=patient)
        for procedure in Procedure.objects.all():
            procedures.acknowledge(procedure=procedure, user=staff)

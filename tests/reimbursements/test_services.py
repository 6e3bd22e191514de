"""Recording acts against the yearly participation cap, and procedures."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from conciergerie.accounts.roles import Role
from reimbursements import services
from reimbursements.engine import (
    ActInput,
    Flag,
    Pathway,
    PatientInput,
    PractitionerInput,
    Sector,
    Specialty,
)
from reimbursements.models import AdministrativeProcedure, RecordedAct
from tests.factories import UserFactory
from tests.patients.factories import PatientFactory
from tests.reimbursements.factories import AdministrativeProcedureFactory

GP = PractitionerInput(sector=Sector.SECTOR_1, specialty=Specialty.GENERAL_PRACTICE)
ADULT = PatientInput(age=45, pathway=Pathway.TREATING_DOCTOR)


def _record(patient, day: dt.date, situation: PatientInput = ADULT):
    return services.record_act(
        patient=patient,
        act=ActInput(code="G", performed_on=day, fee=D("30")),
        practitioner=GP,
        situation=situation,
    )


def test_the_participation_stops_at_the_yearly_cap(reference_tariffs, patient):
    # 25 consultations at 2 euros reach the 50 euro cap; the 26th is free of it.
    for week in range(25):
        _record(patient, dt.date(2026, 1, 5) + dt.timedelta(weeks=week))

    recorded, estimate = _record(patient, dt.date(2026, 12, 14))

    assert services.participation_paid(patient=patient, year=2026) == D("50.00")
    assert recorded.participation == D("0.00")
    assert estimate.amo == D("21.00")  # 70% of 30, nothing deducted
    assert Flag.PARTICIPATION_CAP_REACHED in estimate.flags


def test_the_participation_already_given_by_the_caller_is_ignored(
    reference_tariffs, patient
):
    # The stored acts are the truth: a caller's figure cannot skip the deduction.
    situation = PatientInput(
        age=45,
        pathway=Pathway.TREATING_DOCTOR,
        participation_paid_this_year=D("50"),
    )

    recorded, _estimate = _record(patient, dt.date(2026, 3, 2), situation)

    assert recorded.participation == D("2.00")


def test_the_cap_starts_again_each_calendar_year(reference_tariffs, patient):
    for week in range(25):
        _record(patient, dt.date(2026, 1, 5) + dt.timedelta(weeks=week))

    recorded, _estimate = _record(patient, dt.date(2027, 1, 4))

    assert recorded.participation == D("2.00")
    assert services.participation_paid(patient=patient, year=2027) == D("2.00")


def test_the_cap_is_counted_per_patient(reference_tariffs, patient, other_patient):
    for week in range(25):
        _record(patient, dt.date(2026, 1, 5) + dt.timedelta(weeks=week))

    recorded, _estimate = _record(other_patient, dt.date(2026, 12, 14))

    assert recorded.participation == D("2.00")


def test_a_minor_records_no_participation(reference_tariffs):
    child = PatientFactory(minor=True)

    recorded, _estimate = _record(
        child, dt.date(2026, 3, 2), PatientInput(age=8, pathway=Pathway.DIRECT)
    )

    assert recorded.participation == D("0.00")
    assert services.participation_paid(patient=child, year=2026) == 0


def test_recording_needs_a_saved_patient_file(reference_tariffs):
    with pytest.raises(ValidationError) as caught:
        _record(PatientFactory.build(), dt.date(2026, 3, 2))

    assert caught.value.code == "patient_required"
    assert not RecordedAct.objects.exists()


# --- Administrative procedures --------------------------------------------------------


def test_a_procedure_is_opened_for_a_staff_owner(coordinator, patient):
    procedure = services.open_procedure(
        kind=AdministrativeProcedure.Kind.ALD,
        title="Protocole de soins ALD diabète",
        owner=coordinator,
        due_on=timezone.localdate() + dt.timedelta(days=30),
        patient=patient,
    )

    assert procedure.status == AdministrativeProcedure.Status.TODO
    assert (procedure.owner, procedure.patient) == (coordinator, patient)


def test_a_procedure_owner_must_be_staff(patient_user):
    with pytest.raises(ValidationError) as caught:
        services.open_procedure(
            kind=AdministrativeProcedure.Kind.MUTUELLE_CHANGE,
            title="Changement de mutuelle",
            owner=patient_user,
            due_on=timezone.localdate(),
        )

    assert caught.value.error_dict["owner"][0].code == "owner_not_staff"


def test_a_procedure_cannot_be_due_in_the_past(coordinator):
    with pytest.raises(ValidationError) as caught:
        services.open_procedure(
            kind=AdministrativeProcedure.Kind.PRIOR_APPROVAL,
            title="Entente préalable",
            owner=coordinator,
            due_on=timezone.localdate() - dt.timedelta(days=1),
        )

    assert caught.value.error_dict["due_on"][0].code == "due_date_past"


def test_a_procedure_goes_from_todo_to_done_through_a_third_party(db):
    procedure = AdministrativeProcedureFactory()

    procedure = services.start_procedure(procedure=procedure)
    procedure = services.wait_on_third_party(procedure=procedure)
    procedure = services.start_procedure(procedure=procedure)
    procedure = services.complete_procedure(procedure=procedure)

    procedure.refresh_from_db()
    assert procedure.status == AdministrativeProcedure.Status.DONE
    assert procedure.started_at is not None
    assert procedure.completed_at is not None


def test_a_closed_procedure_cannot_be_cancelled(db):
    procedure = services.complete_procedure(procedure=AdministrativeProcedureFactory())

    with pytest.raises(ValidationError) as caught:
        services.cancel_procedure(procedure=procedure, reason="Plus nécessaire")

    assert caught.value.code == "already_closed"


def test_cancelling_needs_a_reason(db):
    procedure = AdministrativeProcedureFactory()

    with pytest.raises(ValidationError) as caught:
        services.cancel_procedure(procedure=procedure, reason="  ")

    assert caught.value.error_dict["reason"][0].code == "reason_required"
    procedure.refresh_from_db()
    assert procedure.status == AdministrativeProcedure.Status.TODO


def test_waiting_needs_a_procedure_in_progress(db):
    with pytest.raises(ValidationError) as caught:
        services.wait_on_third_party(procedure=AdministrativeProcedureFactory())

    assert caught.value.code == "not_in_progress"


def test_overdue_procedures_are_the_open_ones_past_their_date(db):
    today = timezone.localdate()
    late = AdministrativeProcedureFactory(due_on=today - dt.timedelta(days=2))
    AdministrativeProcedureFactory(due_on=today + dt.timedelta(days=2))
    done = services.complete_procedure(
        procedure=AdministrativeProcedureFactory(due_on=today - dt.timedelta(days=2))
    )

    overdue = AdministrativeProcedure.objects.overdue(today)

    assert list(overdue) == [late]
    assert not done.is_overdue(today)


def test_patients_see_no_procedure(patient_user, coordinator):
    AdministrativeProcedureFactory(owner=coordinator)

    assert not AdministrativeProcedure.objects.visible_to(patient_user).exists()
    assert AdministrativeProcedure.objects.visible_to(coordinator).count() == 1


def test_the_factory_owner_is_staff(db):
    assert AdministrativeProcedureFactory().owner.is_staff
    assert UserFactory(role=Role.PATIENT).is_staff is False


def test_the_demo_seed_runs_twice_without_duplicates(db):
    from io import StringIO

    from conciergerie import demo as kernel_demo
    from reimbursements import demo

    kernel_demo.seed(stdout=StringIO())
    demo.seed(stdout=StringIO())
    demo.seed(stdout=StringIO())

    assert AdministrativeProcedure.objects.count() == len(demo.DEMO_PROCEDURES)
    assert AdministrativeProcedure.objects.filter(owner__is_staff=True).count() == 3


# --- Deadline reminders ---------------------------------------------------------------


def test_owners_are_reminded_once_before_and_once_after_a_deadline(
    coordinator, settings
):
    from conciergerie.notifications.models import Message

    settings.PROCEDURE_REMINDER_DAYS = 2
    today = dt.date(2026, 11, 25)
    soon = AdministrativeProcedureFactory(
        owner=coordinator, due_on=today + dt.timedelta(days=2)
    )
    AdministrativeProcedureFactory(
        owner=coordinator, due_on=today + dt.timedelta(days=9)
    )
    closed = services.complete_procedure(
        procedure=AdministrativeProcedureFactory(
            owner=coordinator, due_on=today - dt.timedelta(days=1)
        )
    )

    first = services.remind_procedure_deadlines(today=today)
    again = services.remind_procedure_deadlines(today=today)
    late = services.remind_procedure_deadlines(today=today + dt.timedelta(days=3))

    assert (first, again, late) == (1, 0, 1)
    keys = sorted(Message.objects.values_list("key", flat=True))
    assert keys == [
        f"reimbursements.administrativeprocedure:{soon.pk}:due-soon-2026-11-27:email",
        f"reimbursements.administrativeprocedure:{soon.pk}:overdue-2026-11-27:email",
    ]
    assert not Message.objects.filter(subject__endswith=f":{closed.pk}").exists()


def test_the_reminder_names_no_patient_and_no_procedure(coordinator, settings, patient):
    from conciergerie.notifications.models import Message
    from conciergerie.notifications.services import render_message

    procedure = AdministrativeProcedureFactory(
        owner=coordinator,
        title="Protocole ALD diabète",
        patient=patient,
        due_on=timezone.localdate(),
    )

    services.remind_procedure_deadlines()

    message = Message.objects.get()
    assert message.to == coordinator.email
    rendered = render_message(
        channel=message.channel,
        template=message.template,
        context=message.context,
        language="fr",
    )
    text = rendered.subject + rendered.text
    assert patient.reference not in text
    assert patient.last_name not in text
    assert "diabète" not in text
    assert f"/administrativeprocedure/{procedure.pk}/change/" in text
    assert "Bonjour" in text

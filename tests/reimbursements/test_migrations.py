"""The data step that links recorded acts and procedures to patient files.

The step reads the models through the registry it is given; today's models have
the same two fields it uses (`patient`, `unmatched_reference`), so it runs here
on the real tables, inside the test's transaction, without migrating the shared
test database back and forth.
"""

import datetime as dt
from importlib import import_module

import pytest
from django.apps import apps

from reimbursements.models import AdministrativeProcedure, RecordedAct
from tests.patients.factories import PatientFactory
from tests.reimbursements.factories import (
    AdministrativeProcedureFactory,
    RecordedActFactory,
)

pytestmark = pytest.mark.django_db

step = import_module("reimbursements.migrations.0004_patient_links")


def test_typed_references_become_links_and_unknown_ones_are_kept(coordinator):
    kept = PatientFactory()
    duplicate = PatientFactory()
    duplicate.merged_into = kept
    duplicate.save()
    typed = RecordedActFactory(
        patient=None, unmatched_reference=kept.reference.lower().replace("p-", " ")
    )
    merged = RecordedActFactory(patient=None, unmatched_reference=duplicate.reference)
    unknown = RecordedActFactory(patient=None, unmatched_reference="P-ZZZZZZ")
    procedure = AdministrativeProcedureFactory(
        patient=None, owner=coordinator, unmatched_reference=kept.reference
    )
    blank = AdministrativeProcedureFactory(
        patient=None, owner=coordinator, due_on=dt.date(2026, 12, 1)
    )

    step.link_references(apps, None)

    links = {
        row.pk: (row.patient_id, row.unmatched_reference)
        for row in RecordedAct.objects.all()
    }
    assert links == {
        typed.pk: (kept.pk, ""),
        merged.pk: (kept.pk, ""),
        unknown.pk: (None, "P-ZZZZZZ"),
    }
    assert AdministrativeProcedure.objects.get(pk=procedure.pk).patient == kept
    assert AdministrativeProcedure.objects.get(pk=blank.pk).patient is None


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("P-PB2752", "P-PB2752"),
        ("pb2752", "P-PB2752"),
        ("ppb2752", "P-PB2752"),
        ("p pb2 752", "P-PB2752"),
        ("P-7KQ2MX", "P-7KQ2MX"),
    ],
)
def test_references_are_read_as_people_type_them(typed, expected):
    assert step._normalise(typed) == expected


def test_undoing_the_step_writes_the_references_back():
    patient = PatientFactory()
    act = RecordedActFactory(patient=patient)

    step.restore_references(apps, None)

    act.refresh_from_db()
    assert act.unmatched_reference == patient.reference


def test_a_merge_loop_does_not_hang_the_migration():
    first = PatientFactory()
    second = PatientFactory(merged_into=first)
    first.merged_into = second
    first.save()
    act = RecordedActFactory(patient=None, unmatched_reference=first.reference)

    step.link_references(apps, None)

    act.refresh_from_db()
    assert act.patient in (first, second)

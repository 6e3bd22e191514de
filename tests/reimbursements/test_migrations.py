"""The migration that links recorded acts and procedures to patient files."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.patients.factories import PatientFactory

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("reimbursements", "0003_reference_tariffs")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _latest():
    """Every app's leaf: going back to 0003 also unapplied the migrations of the
    apps that depend on reimbursements, which the rest of the suite needs."""
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


def test_typed_references_become_links_to_patient_files_and_come_back_when_undone(
    django_user_model,
):
    # One test: every migration run costs seconds (graph, schema, flush).
    kept = PatientFactory()
    duplicate = PatientFactory()
    duplicate.merged_into = kept
    duplicate.save()
    owner = django_user_model.objects.create_user(
        email="owner@example.fr", is_staff=True
    )
    old = _migrate(BEFORE)
    Act = old.get_model("reimbursements", "Act")
    RecordedAct = old.get_model("reimbursements", "RecordedAct")
    Procedure = old.get_model("reimbursements", "AdministrativeProcedure")
    act = Act.objects.get_or_create(
        code="G", defaults={"label": "Consultation", "kind": "consultation"}
    )[0]
    shares = {
        "performed_on": dt.date(2026, 3, 2),
        "sector": "sector_1",
        "fee": D("30"),
        "base": D("30"),
        "amo": D("19"),
        "amc": D("9"),
        "out_of_pocket": D("2"),
    }
    typed = RecordedAct.objects.create(
        patient_reference=kept.reference.lower().replace("p-", ""), act=act, **shares
    )
    merged = RecordedAct.objects.create(
        patient_reference=duplicate.reference, act=act, **shares
    )
    unknown = RecordedAct.objects.create(
        patient_reference="P-ZZZZZZ", act=act, **shares
    )
    procedure = Procedure.objects.create(
        kind="ald",
        title="Protocole ALD",
        patient_reference=kept.reference,
        owner_id=owner.pk,
        due_on=dt.date(2026, 12, 1),
    )
    blank = Procedure.objects.create(
        kind="other",
        title="Sans patient",
        owner_id=owner.pk,
        due_on=dt.date(2026, 12, 1),
    )

    new = _migrate(_latest())

    RecordedAct = new.get_model("reimbursements", "RecordedAct")
    Procedure = new.get_model("reimbursements", "AdministrativeProcedure")
    links = {
        row.pk: (row.patient_id, row.unmatched_reference)
        for row in RecordedAct.objects.all()
    }
    assert links == {
        typed.pk: (kept.pk, ""),
        merged.pk: (kept.pk, ""),
        unknown.pk: (None, "P-ZZZZZZ"),
    }
    assert Procedure.objects.get(pk=procedure.pk).patient_id == kept.pk
    assert Procedure.objects.get(pk=blank.pk).patient_id is None

    old = _migrate(BEFORE)
    try:
        restored = old.get_model("reimbursements", "RecordedAct").objects.get(
            pk=merged.pk
        )
        assert restored.patient_reference == kept.reference
    finally:
        _migrate(_latest())

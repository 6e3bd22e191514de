"""The back-office screens of tariffs, recorded acts and procedures."""

import datetime as dt

from django.utils import timezone

from reimbursements.models import ActTariff, AdministrativeProcedure
from tests.reimbursements.factories import AdministrativeProcedureFactory


def test_a_manager_sees_the_tariffs_with_their_sources(
    staff_client, manager, reference_tariffs
):
    client = staff_client(manager)

    response = client.get("/admin/reimbursements/acttariff/?validity=current")

    assert response.status_code == 200
    html = response.content.decode()
    assert "www.ameli.fr" in html
    assert (
        response.context["cl"].result_count
        == ActTariff.objects.in_force_on(timezone.localdate()).count()
    )


def test_a_manager_edits_a_tariff_and_the_change_is_kept_in_history(
    staff_client, manager, reference_tariffs
):
    client = staff_client(manager)
    tariff = ActTariff.objects.get(act__code="TCG", grid="optam")

    response = client.post(
        f"/admin/reimbursements/acttariff/{tariff.pk}/change/",
        {
            "act": tariff.act_id,
            "grid": "optam",
            "base": "26.00",
            "valid_from": "2024-12-22",
            "valid_to": "",
            "source": tariff.source,
            "note": "Corrected",
        },
    )

    assert response.status_code == 302
    tariff.refresh_from_db()
    assert str(tariff.base) == "26.00"
    assert tariff.history.count() >= 1
    assert tariff.history.first().history_user == manager


def test_an_overlapping_tariff_is_refused_in_the_admin(
    staff_client, manager, reference_tariffs
):
    client = staff_client(manager)
    tariff = ActTariff.objects.get(act__code="TCG", grid="optam")
    before = ActTariff.objects.count()

    response = client.post(
        "/admin/reimbursements/acttariff/add/",
        {
            "act": tariff.act_id,
            "grid": "optam",
            "base": "27.00",
            "valid_from": "2026-06-01",
            "valid_to": "",
            "source": tariff.source,
        },
    )

    assert response.status_code == 200
    codes = [
        e.code for e in response.context["adminform"].form.non_field_errors().as_data()
    ]
    assert codes == ["overlapping_validity"]
    assert ActTariff.objects.count() == before


def test_an_adviser_reads_the_tariffs_but_cannot_change_them(
    staff_client, adviser, reference_tariffs
):
    client = staff_client(adviser)
    tariff = ActTariff.objects.first()

    assert client.get("/admin/reimbursements/acttariff/").status_code == 200
    response = client.post(
        f"/admin/reimbursements/acttariff/{tariff.pk}/change/", {"base": "1"}
    )
    assert response.status_code == 403


def test_a_coordinator_opens_a_procedure_from_the_admin(
    staff_client, coordinator, patient
):
    client = staff_client(coordinator)
    due = timezone.localdate() + dt.timedelta(days=10)

    response = client.post(
        "/admin/reimbursements/administrativeprocedure/add/",
        {
            "kind": "prior_approval",
            "title": "Entente préalable kinésithérapie",
            "patient": patient.pk,
            "owner": coordinator.pk,
            "due_on": due.isoformat(),
            "notes": "",
        },
    )

    assert response.status_code == 302
    procedure = AdministrativeProcedure.objects.get()
    assert (procedure.owner, procedure.due_on, procedure.patient) == (
        coordinator,
        due,
        patient,
    )


def test_a_past_due_date_is_a_field_error_in_the_admin(staff_client, coordinator):
    client = staff_client(coordinator)

    response = client.post(
        "/admin/reimbursements/administrativeprocedure/add/",
        {
            "kind": "ald",
            "title": "Protocole ALD",
            "owner": coordinator.pk,
            "due_on": "2020-01-01",
        },
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors.as_data()
    assert [e.code for e in errors["due_on"]] == ["due_date_past"]
    assert not AdministrativeProcedure.objects.exists()


def test_admin_actions_move_procedures_through_their_states(staff_client, coordinator):
    client = staff_client(coordinator)
    procedure = AdministrativeProcedureFactory(owner=coordinator)
    url = "/admin/reimbursements/administrativeprocedure/"

    for action in ("start", "wait", "start", "complete"):
        client.post(url, {"action": action, "_selected_action": [procedure.pk]})

    procedure.refresh_from_db()
    assert procedure.status == AdministrativeProcedure.Status.DONE


def test_the_overdue_filter_lists_late_open_procedures(staff_client, coordinator):
    client = staff_client(coordinator)
    late = AdministrativeProcedureFactory(
        owner=coordinator, due_on=timezone.localdate() - dt.timedelta(days=1)
    )
    AdministrativeProcedureFactory(owner=coordinator)

    response = client.get(
        "/admin/reimbursements/administrativeprocedure/?deadline=overdue"
    )

    assert list(response.context["cl"].result_list) == [late]


def test_recorded_acts_are_read_only(staff_client, manager, db):
    client = staff_client(manager)

    assert client.get("/admin/reimbursements/recordedact/").status_code == 200
    assert client.get("/admin/reimbursements/recordedact/add/").status_code == 403

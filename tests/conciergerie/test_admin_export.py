"""Every back-office list exports its rows as CSV: the columns shown, the role's
hiding kept, health data exports written to the access log."""

import csv
import io

from django.contrib import admin
from django.urls import reverse

from conciergerie.admin_export import export_columns, export_csv
from conciergerie.audit.models import AccessLog
from tests.patients.factories import CareTaskFactory, PatientFactory


def read_csv(response) -> list[list[str]]:
    text = response.content.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text), delimiter=";"))


def test_the_export_is_offered_on_every_list():
    for model_admin in admin.site._registry.values():
        if model_admin.actions is None:
            continue
        assert "export_csv" in dict(admin.site.actions), model_admin


def test_a_list_exports_its_columns(staff_client, manager):
    patients = PatientFactory.create_batch(3)
    client = staff_client(manager)

    response = client.post(
        reverse("admin:patients_patient_changelist"),
        {"action": "export_csv", "_selected_action": [p.pk for p in patients]},
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = read_csv(response)
    assert len(rows) == 4
    assert any(patients[0].reference in cell for cell in sum(rows[1:], []))


def test_exporting_health_data_is_audited(staff_client, manager):
    task = CareTaskFactory()
    client = staff_client(manager)
    url = reverse("admin:patients_caretask_changelist")

    response = client.post(url, {"action": "export_csv", "_selected_action": [task.pk]})

    assert response.status_code == 200
    assert len(read_csv(response)) == 2
    assert AccessLog.objects.filter(
        actor=manager,
        action=AccessLog.Action.EXPORT,
        object_type="patients.caretask",
    ).exists()


def test_exporting_a_list_without_health_data_leaves_no_trace(staff_client, manager):
    from specialists.models import Specialty

    specialty = Specialty.objects.first()
    response = staff_client(manager).post(
        reverse("admin:specialists_specialty_changelist"),
        {"action": "export_csv", "_selected_action": [specialty.pk]},
    )

    assert response["Content-Type"].startswith("text/csv")
    assert not AccessLog.objects.filter(action=AccessLog.Action.EXPORT).exists()


def test_an_encrypted_column_is_left_out_when_the_role_does_not_see_it(
    rf, coordinator, adviser
):
    class Wide(admin.ModelAdmin):
        list_display = ("patient", "allergies")
        fields = ("patient",)

    from patients.models import MedicalProfile

    wide = Wide(MedicalProfile, admin.site)
    request = rf.get("/")
    request.user = coordinator

    assert export_columns(wide, request) == ["patient"]
    assert export_csv is not None


def test_billing_keeps_its_export_permission(staff_client, coordinator, manager):
    url = reverse("admin:billing_invoice_changelist")

    coordinator_page = staff_client(coordinator).get(url)
    manager_page = staff_client(manager).get(url)

    assert coordinator_page.context["action_form"] is None
    actions = dict(manager_page.context["action_form"].fields["action"].choices)
    assert "export_csv" in actions


def test_cells_read_like_the_list(rf, manager):
    from conciergerie.admin_export import _cell
    from tests.patients.factories import CareTaskFactory as Tasks

    task = Tasks(shared_with_patient=True)
    model_admin = admin.site._registry[type(task)]

    assert _cell("shared_with_patient", task, model_admin) == "oui"
    assert _cell("care_request", task, model_admin) == str(task.care_request)
    assert _cell("status", task, model_admin) == task.get_status_display()

"""Field-level hiding by role across the whole back-office: a care coordinator
never gets an encrypted (medical) field in any change form or inline, whatever
the model; a manager reads billing."""

import pytest
from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets
from django.test import RequestFactory

from conciergerie.accounts.roles import Role
from tests.conciergerie.admin_world import build_world
from tests.factories import UserFactory

#: Encrypted fields a coordinator reads on purpose: they are encrypted because
#: a patient may write anything in them, but they are the coordination work
#: itself, not the medical file (profile, need, triage answers, red flags,
#: documents, consultation drafts, survey comments stay hidden).
NOT_MEDICAL = {
    # Identity for the insurers' claims, not health data.
    "patients.Patient": {"nir"},
    # Why a request was cancelled or closed early: the coordinator records it.
    "patients.CareRequest": {"cancellation_reason", "closure_override_reason"},
    # The team's conversation with the patient and its own notes and calls.
    "patients.CareRequestEvent": {"comment"},
    "patients.CareRequestMessage": {"body"},
    "patients.InternalNote": {"body"},
    "patients.Interaction": {"summary"},
    # Tasks and the care plan are what the coordinator organises.
    "patients.CareTask": {"details"},
    "patients.CarePlan": {"goals"},
    "patients.CarePlanStep": {"title", "details"},
    # The patient's own words asking for erasure, which the team handles.
    "patients.ErasureRequest": {"message"},
    # Follow-up notes and timeline of a reimbursement claim (payer, dates, amounts).
    "reimbursements.Claim": {"notes"},
    "reimbursements.ClaimEvent": {"comment"},
}


def _encrypted(model) -> set[str]:
    return {
        field.name
        for field in model._meta.concrete_fields
        if getattr(field, "encrypted", False)
    } - NOT_MEDICAL.get(model._meta.label, set())


def _fields_shown(model_admin, request, obj) -> set[str]:
    return set(flatten_fieldsets(model_admin.get_fieldsets(request, obj)))


def _inline_fields(model_admin, request, obj) -> dict:
    shown = {}
    for inline in model_admin.get_inline_instances(request, obj):
        if not (
            inline.has_view_permission(request, obj)
            or inline.has_change_permission(request, obj)
        ):
            continue
        shown[inline.model] = set(flatten_fieldsets(inline.get_fieldsets(request, obj)))
    return shown


@pytest.fixture
def as_coordinator(db):
    request = RequestFactory().get("/admin/")
    request.user = UserFactory(role=Role.CARE_COORDINATOR)
    request.session = {}
    return request


def test_a_coordinator_never_sees_an_encrypted_field_in_any_admin(as_coordinator):
    build_world(1)
    request = as_coordinator
    checked = 0
    leaks = []
    for model, model_admin in admin.site._registry.items():
        if not model_admin.has_view_or_change_permission(request):
            continue
        obj = model_admin.get_queryset(request).first()
        # Change forms: what a coordinator reads (add forms only take input).
        for candidate in (obj,) if obj is not None else ():
            shown = _fields_shown(model_admin, request, candidate)
            leaks += [
                f"{model._meta.label}.{name}" for name in shown & _encrypted(model)
            ]
            for inline_model, inline_shown in _inline_fields(
                model_admin, request, candidate
            ).items():
                leaks += [
                    f"{model._meta.label} inline {inline_model._meta.label}.{name}"
                    for name in inline_shown & _encrypted(inline_model)
                ]
            checked += 1
    assert checked > 20
    assert sorted(set(leaks)) == []


def test_a_manager_sees_billing(staff_client, manager):
    client = staff_client(manager)
    from django.urls import reverse

    for name in ("invoice", "payment", "creditnote", "quote"):
        response = client.get(reverse(f"admin:billing_{name}_changelist"))
        assert response.status_code == 200, name


def test_the_need_is_hidden_from_a_coordinator_and_shown_to_an_adviser(
    staff_client, coordinator, adviser
):
    from django.urls import reverse

    from tests.patients.factories import CareRequestFactory

    request = CareRequestFactory(need="Douleurs thoraciques depuis deux jours.")
    url = reverse("admin:patients_carerequest_change", args=[request.pk])

    assert (
        "Douleurs thoraciques"
        not in staff_client(coordinator).get(url).content.decode()
    )
    assert "Douleurs thoraciques" in staff_client(adviser).get(url).content.decode()

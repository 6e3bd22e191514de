"""Care requests in the back-office: lists and filters, the steps as buttons, the
medical content for medical eyes only, intake by phone, the protocol, workload."""

import pytest
from django.urls import reverse

from conciergerie.audit.models import AccessLog
from patients.models import CareRequest, CareTask
from patients.services import care_team
from tests.patients.factories import CareRequestFactory, CareTaskFactory, PatientFactory

NEED = "Plaques rouges très prurigineuses sur les avant-bras."
CHANGELIST = reverse("admin:patients_carerequest_changelist")


def _change(care_request) -> str:
    return reverse("admin:patients_carerequest_change", args=[care_request.pk])


def _step(care_request, name: str) -> str:
    return reverse(
        "admin:patients_carerequest_transition", args=[care_request.pk, name]
    )


def _form_data(response) -> dict:
    """The POST body the admin change page would send back unchanged."""
    data = {}
    form = response.context["adminform"].form
    for name in form.fields:
        value = form[name].value()
        if value is None:
            continue
        if isinstance(value, list | tuple):
            data[f"{form.add_prefix(name)}"] = [str(v) for v in value]
        elif isinstance(value, bool):
            if value:
                data[form.add_prefix(name)] = "on"
        else:
            data[form.add_prefix(name)] = str(value)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for key, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{key}"] = value
        for sub in formset.forms:
            for name in sub.fields:
                value = sub[name].value()
                if value in (None, False):
                    continue
                data[sub.add_prefix(name)] = "on" if value is True else str(value)
    return data


@pytest.fixture
def request_received(patient):
    return CareRequestFactory(patient=patient, need=NEED)


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"state": "received"},
        {"urgency": "routine"},
        {"assignee": "me"},
        {"assignee": "none"},
        {"specialty": "dermatology"},
        {"specialty": "-"},
        {"overdue": "any"},
        {"overdue": "first_response"},
        {"overdue": "ok"},
        {"kind": "specialist"},
        {"q": "D-"},
    ],
)
def test_the_list_filters_by_state_urgency_assignee_specialty_and_deadlines(
    staff_client, coordinator, request_received, query
):
    response = staff_client(coordinator).get(CHANGELIST, query)

    assert response.status_code == 200


def test_the_list_shows_what_matters(staff_client, coordinator, request_received):
    response = staff_client(coordinator).get(CHANGELIST)

    content = response.content.decode()
    assert request_received.reference in content
    assert request_received.patient.reference in content
    assert "care-state-received" in content
    assert reverse("admin:patients_carerequest_workload") in content


def test_a_coordinator_sees_their_steps_but_not_the_medical_content(
    staff_client, coordinator, patient
):
    qualified = CareRequestFactory(patient=patient, state="qualified", need=NEED)

    response = staff_client(coordinator).get(_change(qualified))

    content = response.content.decode()
    assert response.status_code == 200
    assert 'data-step="start_search"' in content
    assert 'data-step="qualify"' not in content
    assert 'data-step="escalate"' in content  # anyone may raise an emergency
    assert NEED not in content
    assert "specialists/practitioner/match/" in content
    row = AccessLog.objects.filter(object_type="care_request").latest("pk")
    assert (row.object_id, row.action) == (qualified.reference, "read")
    assert row.reason  # read without the medical content


def test_a_medical_adviser_reads_the_need_and_qualifies(
    staff_client, adviser, request_received
):
    client = staff_client(adviser)

    page = client.get(_change(request_received))
    form = client.get(_step(request_received, "qualify"))
    done = client.post(
        _step(request_received, "qualify"),
        {"specialty": "dermatology", "urgency": "soon", "comment": "Eczéma probable."},
    )

    assert NEED in page.content.decode()
    assert 'data-step="qualify"' in page.content.decode()
    assert form.status_code == 200
    assert done.status_code == 302
    request_received.refresh_from_db()
    assert (request_received.state, request_received.urgency) == ("qualified", "soon")
    assert request_received.eligibility["consent"] is True


def test_an_illegal_step_shows_an_error_not_a_server_error(
    staff_client, adviser, patient
):
    matching = CareRequestFactory(patient=patient, state="matching")

    response = staff_client(adviser).post(
        _step(matching, "qualify"), {"specialty": "dermatology", "urgency": "soon"}
    )

    assert response.status_code == 200
    assert [e.code for e in response.context["form"].non_field_errors().as_data()] == [
        "transition_not_allowed"
    ]
    matching.refresh_from_db()
    assert matching.state == "matching"


def test_a_step_refused_to_the_role_comes_back_with_a_message(
    staff_client, coordinator, request_received
):
    response = staff_client(coordinator).post(
        _step(request_received, "qualify"),
        {"specialty": "dermatology", "urgency": "soon"},
        follow=True,
    )

    assert response.status_code == 200
    assert [m.level_tag for m in response.context["messages"]] == ["error"]
    request_received.refresh_from_db()
    assert request_received.state == "received"


def test_closing_with_open_items_asks_a_manager_for_a_reason(
    staff_client, manager, patient
):
    finishing = CareRequestFactory(patient=patient, state="follow_up")
    CareTaskFactory(care_request=finishing, title="Envoyer le formulaire ALD")
    client = staff_client(manager)

    form = client.get(_step(finishing, "close"))
    refused = client.post(_step(finishing, "close"), {"comment": "Fin."})
    closed = client.post(
        _step(finishing, "close"), {"override_reason": "Formulaire envoyé par la CPAM."}
    )

    assert "Envoyer le formulaire ALD" in form.content.decode()
    assert refused.status_code == 200
    assert closed.status_code == 302
    finishing.refresh_from_db()
    assert finishing.state == "closed"


def test_a_concierge_takes_a_request_on_the_phone(staff_client, coordinator, patient):
    response = staff_client(coordinator).post(
        reverse("admin:patients_carerequest_add"),
        {
            "patient": str(patient.pk),
            "kind": "specialist",
            "channel": "phone",
            "need": "Douleur au genou droit depuis une chute au ski.",
            "specialty": "",
            "place_postal_code": "",
            "radius_km": "20",
            "mode": "in_person",
        },
    )

    care_request = CareRequest.objects.get()
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert (care_request.channel, care_request.requested_by) == ("phone", coordinator)
    assert care_request.suggested_specialty == "orthopaedics"


def test_a_phone_intake_with_red_flags_warns_the_concierge(
    staff_client, coordinator, patient
):
    response = staff_client(coordinator).post(
        reverse("admin:patients_carerequest_add"),
        {
            "patient": str(patient.pk),
            "kind": "specialist",
            "channel": "phone",
            "need": "Elle a le visage paralysé d'un côté et parle bizarrement.",
            "radius_km": "20",
            "mode": "in_person",
        },
        follow=True,
    )

    assert CareRequest.objects.get().state == "emergency"
    assert "warning" in [m.level_tag for m in response.context["messages"]]


def test_a_phone_intake_without_consent_is_refused_on_the_form(
    staff_client, coordinator
):
    patient = PatientFactory()  # no consent

    response = staff_client(coordinator).post(
        reverse("admin:patients_carerequest_add"),
        {
            "patient": str(patient.pk),
            "kind": "specialist",
            "channel": "phone",
            "need": "Bilan.",
            "radius_km": "20",
            "mode": "in_person",
        },
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.non_field_errors().as_data()
    assert [e.code for e in errors] == ["consent_required"]


def test_the_protocol_is_ticked_with_who_and_when(staff_client, coordinator, patient):
    emergency = CareRequestFactory(patient=patient, state="emergency", protocol="open")
    client = staff_client(coordinator)
    page = client.get(_change(emergency))
    data = _form_data(page)
    data["emergency_checklist-0-done"] = "on"
    data["emergency_checklist-0-note"] = "Patiente rappelée, SAMU en route."

    response = client.post(_change(emergency), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    step = emergency.emergency_checklist.get(code="call_patient")
    assert (step.checked_by, step.note) == (
        coordinator,
        "Patiente rappelée, SAMU en route.",
    )
    assert step.checked_at is not None
    emergency.refresh_from_db()
    assert emergency.first_response_at is not None
    assert "EMERGENCY" in page.content.decode() or "URGENCE" in page.content.decode()


def test_the_team_writes_notes_messages_calls_and_tasks_from_the_page(
    staff_client, coordinator, request_received, mailoutbox
):
    client = staff_client(coordinator)
    data = _form_data(client.get(_change(request_received)))
    data.update(
        {
            "messages-TOTAL_FORMS": "1",
            "messages-0-body": "Bonjour, je cherche un dermatologue pour vous.",
            "internal_notes-TOTAL_FORMS": "1",
            "internal_notes-0-body": "Préfère les rendez-vous le matin.",
            "interactions-TOTAL_FORMS": "1",
            "interactions-0-occurred_at_0": "01/11/2026",
            "interactions-0-occurred_at_1": "10:00:00",
            "interactions-0-channel": "phone",
            "interactions-0-direction": "out",
            "interactions-0-party": "secretariat",
            "interactions-0-counterpart": "Cabinet du Dr Roux",
            "interactions-0-summary": "Pas de créneau avant décembre.",
            "tasks-TOTAL_FORMS": "1",
            "tasks-0-kind": "transport",
            "tasks-0-title": "Réserver un taxi",
            "tasks-0-status": "todo",
        }
    )

    response = client.post(_change(request_received), data)

    assert response.status_code == 302
    assert request_received.messages.get().author == coordinator
    assert request_received.internal_notes.get().author == coordinator
    assert request_received.interactions.get().counterpart == "Cabinet du Dr Roux"
    assert request_received.tasks.get().title == "Réserver un taxi"


def test_reassigning_from_the_page_goes_through_the_service(
    staff_client, coordinator, adviser, request_received
):
    client = staff_client(coordinator)
    data = _form_data(client.get(_change(request_received)))
    data["assigned_to"] = str(adviser.pk)

    client.post(_change(request_received), data)

    request_received.refresh_from_db()
    assert request_received.assigned_to == adviser
    assert request_received.events.filter(kind="assignment").exists()


def test_the_workload_view_counts_per_concierge(
    staff_client, manager, adviser, patient
):
    CareRequestFactory(patient=patient, assigned_to=adviser, state="emergency")
    CareRequestFactory(patient=patient, assigned_to=adviser)

    response = staff_client(manager).get(reverse("admin:patients_carerequest_workload"))

    assert response.status_code == 200
    line = next(
        row["line"] for row in response.context["lines"] if row["line"].user == adviser
    )
    assert (line.open_requests, line.emergencies) == (2, 1)


def test_tasks_are_listed_and_marked_done(staff_client, coordinator, request_received):
    task = CareTaskFactory(care_request=request_received, owner=coordinator)
    client = staff_client(coordinator)

    listing = client.get(reverse("admin:patients_caretask_changelist"))
    client.post(
        reverse("admin:patients_caretask_changelist"),
        {"action": "mark_done", "_selected_action": [str(task.pk)]},
    )

    assert listing.status_code == 200
    task.refresh_from_db()
    assert (task.status, task.done_by) == (CareTask.Status.DONE, coordinator)


def test_a_care_plan_is_written_in_the_back_office(staff_client, adviser, patient):
    response = staff_client(adviser).post(
        reverse("admin:patients_careplan_add"),
        {
            "patient": str(patient.pk),
            "goals": "Retrouver une marche sans douleur.",
            "shared_with_patient": "on",
            "steps-TOTAL_FORMS": "1",
            "steps-INITIAL_FORMS": "0",
            "steps-0-position": "1",
            "steps-0-title": "Consultation d'orthopédie",
            "steps-0-status": "planned",
        },
    )

    assert response.status_code == 302
    plan = patient.care_plan
    assert plan.shared_with_patient
    assert plan.steps.get().title == "Consultation d'orthopédie"


def test_patients_do_not_reach_the_back_office(client, patient_user):
    client.force_login(patient_user)

    response = client.get(CHANGELIST)

    assert response.status_code == 302


def test_messages_of_the_patient_are_marked_read_when_the_team_opens_the_page(
    staff_client, coordinator, patient_user, request_received
):
    care_team.post_message(
        care_request=request_received, by=patient_user, body="Une question."
    )

    staff_client(coordinator).get(_change(request_received))

    assert request_received.messages.get().read_at is not None


def test_a_step_whose_guard_fails_shows_disabled_with_its_reason(
    staff_client, adviser, patient
):
    emergency = CareRequestFactory(patient=patient, state="emergency", protocol="open")

    content = staff_client(adviser).get(_change(emergency)).content.decode()

    assert 'class="button care-blocked" aria-disabled="true"' in content
    assert 'href="' + _step(emergency, "end_emergency") + '"' not in content

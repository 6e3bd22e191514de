"""Every transition of a care request: allowed for the right role from the right
state, refused otherwise, with its event row and its side effects after commit."""

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from conciergerie.notifications.models import Message
from patients.models import CareRequest, CareRequestEvent
from patients.services import care_requests
from patients.services.care_requests import RoleNotAllowed
from tests.patients.factories import CareRequestFactory

State = CareRequest.State


@dataclass(frozen=True)
class Case:
    name: str
    source: str
    target: str
    allowed: str  # fixture name of a persona who may do it
    refused: str  # fixture name of a persona who may not
    wrong_state: str
    data: dict = field(default_factory=dict)
    factory: dict = field(default_factory=dict)
    # The email the transition sends after commit: "patient", "on_duty" or "".
    email: str = ""


CASES = [
    Case(
        "qualify",
        State.RECEIVED,
        State.QUALIFIED,
        "adviser",
        "coordinator",
        State.MATCHING,
        {"specialty": "dermatology", "urgency": "soon"},
    ),
    Case(
        "escalate",
        State.QUALIFIED,
        State.EMERGENCY,
        "coordinator",
        "patient_user",
        State.CLOSED,
        {"comment": "La patiente décrit une douleur thoracique au téléphone."},
        email="on_duty",
    ),
    Case(
        "stand_down",
        State.EMERGENCY,
        State.QUALIFIED,
        "adviser",
        "coordinator",
        State.RECEIVED,
        {"urgency": "urgent", "comment": "Rappelée : douleur musculaire connue."},
        {"protocol": "done"},
    ),
    Case(
        "end_emergency",
        State.EMERGENCY,
        State.FOLLOW_UP,
        "adviser",
        "coordinator",
        State.QUALIFIED,
        {"comment": "Prise en charge par le SAMU."},
        {"protocol": "done"},
    ),
    Case(
        "start_search",
        State.QUALIFIED,
        State.MATCHING,
        "coordinator",
        "adviser",
        State.RECEIVED,
    ),
    Case(
        "propose",
        State.MATCHING,
        State.PROPOSED,
        "coordinator",
        "adviser",
        State.QUALIFIED,
        {"comment": "Dr Roux proposé par téléphone."},
        email="patient",
    ),
    Case(
        "reopen_search",
        State.PROPOSED,
        State.MATCHING,
        "coordinator",
        "adviser",
        State.RECEIVED,
    ),
    Case(
        "schedule",
        State.PROPOSED,
        State.SCHEDULED,
        "coordinator",
        "adviser",
        State.RECEIVED,
        {"appointment_reference": "Dr Roux, 12 mars 10 h"},
    ),
    Case(
        "unschedule",
        State.SCHEDULED,
        State.MATCHING,
        "coordinator",
        "adviser",
        State.PROPOSED,
        {"comment": "Le cabinet a annulé."},
        {"appointment_reference": "Dr Roux, 12 mars 10 h"},
    ),
    Case(
        "start_care",
        State.SCHEDULED,
        State.IN_CARE,
        "adviser",
        "patient_user",
        State.MATCHING,
    ),
    Case(
        "start_follow_up",
        State.IN_CARE,
        State.FOLLOW_UP,
        "coordinator",
        "patient_user",
        State.SCHEDULED,
    ),
    Case(
        "close",
        State.FOLLOW_UP,
        State.CLOSED,
        "coordinator",
        "patient_user",
        State.IN_CARE,
        email="patient",
    ),
    Case(
        "cancel",
        State.RECEIVED,
        State.CANCELLED,
        "patient_user",
        "other_patient_user",
        State.CLOSED,
        {"reason": "Je n'en ai plus besoin."},
        email="patient",
    ),
]
IDS = [case.name for case in CASES]


@pytest.fixture
def persona(request):
    return lambda name: request.getfixturevalue(name)


@pytest.fixture(autouse=True)
def _on_duty(settings):
    settings.ON_DUTY_EMAIL = "garde@conciergerie.local"


def _request(case: Case, patient, state: str) -> CareRequest:
    return CareRequestFactory(patient=patient, state=state, **case.factory)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_each_transition_moves_the_request_writes_its_event_and_acts_after_commit(
    case, patient, persona, django_capture_on_commit_callbacks, mailoutbox
):
    care_request = _request(case, patient, case.source)
    actor = persona(case.allowed)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        care_requests.perform_transition(
            care_request=care_request, name=case.name, by=actor, data=case.data
        )

    care_request.refresh_from_db()
    assert care_request.state == case.target
    event = care_request.events.get(kind=CareRequestEvent.Kind.TRANSITION)
    assert (event.transition, event.from_state, event.to_state) == (
        case.name,
        case.source,
        case.target,
    )
    assert event.actor == actor
    assert event.public is True
    # Nothing has left before the commit.
    assert event.announced_at is None
    assert mailoutbox == []
    assert not Message.objects.exists()
    assert callbacks

    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:
            callback()

    event.refresh_from_db()
    assert event.announced_at is not None
    recipients = [message.to for message in mailoutbox]
    if case.email == "patient":
        assert recipients == [[patient.email]]
        assert care_request.reference in mailoutbox[0].subject
    elif case.email == "on_duty":
        assert recipients == [["garde@conciergerie.local"]]
    else:
        assert recipients == []


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_each_transition_is_refused_to_the_wrong_role(case, patient, persona):
    care_request = _request(case, patient, case.source)

    with pytest.raises(RoleNotAllowed) as refused:
        care_requests.perform_transition(
            care_request=care_request,
            name=case.name,
            by=persona(case.refused),
            data=case.data,
        )

    assert refused.value.code == "role_not_allowed"
    care_request.refresh_from_db()
    assert care_request.state == case.source
    assert not care_request.events.exists()


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_each_transition_is_refused_from_the_wrong_state(case, patient, persona):
    care_request = _request(case, patient, case.wrong_state)

    with pytest.raises(ValidationError) as refused:
        care_requests.perform_transition(
            care_request=care_request,
            name=case.name,
            by=persona(case.allowed),
            data=case.data,
        )

    assert refused.value.code == "transition_not_allowed"
    care_request.refresh_from_db()
    assert care_request.state == case.wrong_state
    assert not care_request.events.exists()


def test_the_state_cannot_be_set_by_hand(patient):
    care_request = CareRequestFactory(patient=patient)

    with pytest.raises(AttributeError):
        care_request.state = State.CLOSED


def test_a_manager_may_take_every_step(patient, manager):
    care_request = CareRequestFactory(patient=patient)

    for name, data in [
        ("qualify", {"specialty": "dermatology", "urgency": "soon"}),
        ("start_search", {}),
        ("propose", {"comment": "Deux dermatologues proposés."}),
        ("schedule", {"appointment_reference": "RDV-1"}),
        ("start_care", {}),
        ("start_follow_up", {}),
        ("close", {}),
    ]:
        care_request = care_requests.perform_transition(
            care_request=care_request, name=name, by=manager, data=data
        )

    assert care_request.state == State.CLOSED
    assert list(
        care_request.events.filter(kind="transition").values_list(
            "transition", flat=True
        )
    ) == [
        "qualify",
        "start_search",
        "propose",
        "schedule",
        "start_care",
        "start_follow_up",
        "close",
    ]


def test_a_patient_may_not_cancel_once_care_has_started(patient, patient_user):
    care_request = CareRequestFactory(patient=patient, state=State.IN_CARE)

    with pytest.raises(RoleNotAllowed):
        care_requests.cancel_care_request(
            care_request=care_request, by=patient_user, reason="Plus besoin."
        )


def test_a_guardian_cancels_the_request_of_their_child(patient_user):
    from tests.patients.factories import GuardianshipFactory

    child = GuardianshipFactory(guardian=patient_user).patient
    care_request = CareRequestFactory(patient=child, requested_by=patient_user)

    care_requests.cancel_care_request(
        care_request=care_request, by=patient_user, reason="Rendez-vous trouvé."
    )

    care_request.refresh_from_db()
    assert care_request.state == State.CANCELLED
    assert care_request.cancellation_reason == "Rendez-vous trouvé."


@pytest.mark.parametrize(
    ("name", "state", "data", "code"),
    [
        ("cancel", State.RECEIVED, {"reason": " "}, "reason_required"),
        ("escalate", State.RECEIVED, {"comment": ""}, "reason_required"),
        ("schedule", State.PROPOSED, {}, "reason_required"),
        ("unschedule", State.SCHEDULED, {}, "reason_required"),
        ("propose", State.MATCHING, {}, "proposal_required"),
        (
            "stand_down",
            State.EMERGENCY,
            {"urgency": "soon", "comment": "ok"},
            "emergency_protocol_incomplete",
        ),
        ("end_emergency", State.EMERGENCY, {}, "emergency_protocol_incomplete"),
        ("qualify", State.RECEIVED, {"urgency": "emergency"}, "use_escalate"),
    ],
)
def test_guards_refuse_with_their_own_code(name, state, data, code, patient, manager):
    care_request = CareRequestFactory(patient=patient, state=state, protocol="open")

    with pytest.raises(ValidationError) as refused:
        care_requests.perform_transition(
            care_request=care_request, name=name, by=manager, data=data
        )

    codes = (
        {e.code for errors in refused.value.error_dict.values() for e in errors}
        if hasattr(refused.value, "error_dict")
        else {refused.value.code}
    )
    assert codes == {code}


def test_qualifying_needs_a_specialty_for_a_consultation(patient, adviser):
    care_request = CareRequestFactory(patient=patient, specialty="")

    with pytest.raises(ValidationError) as refused:
        care_requests.qualify_care_request(
            care_request=care_request, by=adviser, urgency="soon"
        )

    assert refused.value.error_dict["specialty"][0].code == "specialty_required"


def test_qualifying_without_consent_is_refused(patient, adviser):
    from patients import services

    care_request = CareRequestFactory(patient=patient)
    services.withdraw_health_data_consent(patient=patient, by=patient.user)

    with pytest.raises(ValidationError) as refused:
        care_requests.qualify_care_request(care_request=care_request, by=adviser)

    assert refused.value.code == "consent_required"


def test_paperwork_starts_without_an_appointment_but_a_consultation_does_not(
    patient, coordinator
):
    paperwork = CareRequestFactory(
        patient=patient, state=State.QUALIFIED, kind="administrative", specialty=""
    )
    consultation = CareRequestFactory(patient=patient, state=State.QUALIFIED)

    care_requests.start_care(care_request=paperwork, by=coordinator)
    with pytest.raises(ValidationError) as refused:
        care_requests.start_care(care_request=consultation, by=coordinator)

    paperwork.refresh_from_db()
    assert paperwork.state == State.IN_CARE
    assert refused.value.code == "appointment_required"


def test_searching_is_refused_for_requests_needing_no_practitioner(
    patient, coordinator
):
    care_request = CareRequestFactory(
        patient=patient, state=State.QUALIFIED, kind="logistics", specialty=""
    )

    with pytest.raises(ValidationError) as refused:
        care_requests.start_search(care_request=care_request, by=coordinator)

    assert refused.value.code == "no_practitioner_needed"


def test_escalation_opens_the_protocol_and_plans_a_follow_up_call(patient, coordinator):
    care_request = CareRequestFactory(patient=patient, state=State.MATCHING)

    care_requests.escalate_care_request(
        care_request=care_request, by=coordinator, comment="Malaise au téléphone."
    )

    care_request.refresh_from_db()
    assert care_request.urgency == "emergency"
    assert care_request.emergency_at is not None
    assert list(care_request.emergency_checklist.values_list("code", flat=True)) == [
        "call_patient",
        "emergency_services",
        "inform_adviser",
        "inform_relative",
        "record_outcome",
    ]
    task = care_request.tasks.get()
    assert task.kind == "follow_up_call"
    assert task.due_at > care_request.emergency_at


def test_the_event_side_effects_run_once_even_if_announced_twice(patient, coordinator):
    care_request = CareRequestFactory(patient=patient, state=State.MATCHING)
    care_requests.escalate_care_request(
        care_request=care_request, by=coordinator, comment="Malaise."
    )
    event = care_request.events.get(kind="transition")

    first = care_requests.announce_event(event_id=event.pk)
    second = care_requests.announce_event(event_id=event.pk)

    assert (first, second) == (True, False)
    alerts = Message.objects.filter(template="patients/email/care_request_emergency")
    assert alerts.count() == 1


def test_the_sweep_announces_events_whose_task_was_lost(
    patient, coordinator, django_capture_on_commit_callbacks, mailoutbox, settings
):
    settings.ON_DUTY_EMAIL = "garde@conciergerie.local"
    care_request = CareRequestFactory(patient=patient, state=State.MATCHING)
    with django_capture_on_commit_callbacks(execute=False):
        care_requests.escalate_care_request(
            care_request=care_request, by=coordinator, comment="Malaise."
        )  # the broker lost the task: the callbacks never run

    with django_capture_on_commit_callbacks(execute=True):
        announced = care_requests.announce_pending_events(older_than=timedelta(0))

    assert announced == 1
    assert [m.to for m in mailoutbox] == [["garde@conciergerie.local"]]


def test_sent_mail_carries_no_medical_words(
    patient, coordinator, mailoutbox, django_capture_on_commit_callbacks
):
    care_request = CareRequestFactory(
        patient=patient, state=State.FOLLOW_UP, need="Eczéma sévère des mains."
    )

    with django_capture_on_commit_callbacks(execute=True):
        care_requests.close_care_request(care_request=care_request, by=coordinator)

    assert len(mailoutbox) == 1
    assert all("Eczéma" not in m.body for m in mailoutbox)

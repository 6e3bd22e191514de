"""Team work: assignment, messages, notes, calls, tasks, care plans, workload and
missed deadlines."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from conciergerie.notifications.models import Message
from patients.models import (
    CarePlan,
    CareRequest,
    CareRequestMessage,
    CareTask,
    Interaction,
    SlaBreach,
)
from patients.services import care_requests, care_team
from patients.services.care_requests import RoleNotAllowed
from tests.patients.factories import CareRequestFactory, CareTaskFactory

State = CareRequest.State


@pytest.fixture(autouse=True)
def _on_duty(settings):
    settings.ON_DUTY_EMAIL = "garde@conciergerie.local"


@pytest.fixture
def care_request(patient):
    return CareRequestFactory(patient=patient)


def _age(care_request: CareRequest, *, minutes: int) -> CareRequest:
    """Pretend the request arrived `minutes` ago (its clocks run from then)."""
    arrived = timezone.now() - timedelta(minutes=minutes)
    CareRequest.objects.filter(pk=care_request.pk).update(created_at=arrived)
    care_request.refresh_from_db()
    care_requests._set_due_dates(care_request, start=arrived)
    care_request.save(update_fields=care_requests.DUE_FIELDS)
    return care_request


# --- Assignment -----------------------------------------------------------------------


def test_a_coordinator_assigns_a_request_and_the_concierge_is_told(
    care_request, coordinator, adviser, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=True):
        care_team.assign(care_request=care_request, to=adviser, by=coordinator)

    care_request.refresh_from_db()
    assert care_request.assigned_to == adviser
    assert care_request.assigned_at is not None
    # An adviser in charge reads the file without breaking the glass.
    assert care_request.patient.is_assigned_to(adviser)
    event = care_request.events.get(kind="assignment")
    assert (event.actor, event.public) == (coordinator, True)
    assert [m.to for m in mailoutbox] == [[adviser.email]]
    assert care_request.reference in mailoutbox[0].subject


def test_taking_a_request_for_oneself_sends_no_email(
    care_request, coordinator, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=True):
        care_team.assign(care_request=care_request, to=coordinator, by=coordinator)

    assert mailoutbox == []


def test_patients_do_not_assign_and_only_staff_are_assigned(
    care_request, patient_user, coordinator
):
    with pytest.raises(RoleNotAllowed):
        care_team.assign(care_request=care_request, to=coordinator, by=patient_user)
    with pytest.raises(ValidationError) as refused:
        care_team.assign(care_request=care_request, to=patient_user, by=coordinator)

    assert refused.value.error_dict["assigned_to"][0].code == "not_staff"


# --- Messages -------------------------------------------------------------------------


def test_a_concierge_message_tells_the_patient_without_its_text(
    care_request, patient, coordinator, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=True):
        posted = care_team.post_message(
            care_request=care_request,
            by=coordinator,
            body="Votre dermatologue vous recevra mardi pour votre eczéma.",
        )

    assert posted.message.side == CareRequestMessage.Side.CONCIERGE
    assert [m.to for m in mailoutbox] == [[patient.email]]
    assert "eczéma" not in mailoutbox[0].body
    assert "dermatologue" not in mailoutbox[0].body
    care_request.refresh_from_db()
    assert care_request.first_response_at is not None


def test_a_patient_message_tells_the_concierge_in_charge(
    care_request,
    patient_user,
    adviser,
    django_capture_on_commit_callbacks,
    mailoutbox,
):
    care_team.assign(care_request=care_request, to=adviser, by=adviser)
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        posted = care_team.post_message(
            care_request=care_request, by=patient_user, body="Merci, mardi me va."
        )

    assert posted.message.side == CareRequestMessage.Side.PATIENT
    assert posted.red_flags == []
    assert [m.to for m in mailoutbox] == [[adviser.email]]
    assert "mardi" not in mailoutbox[0].body


def test_someone_else_cannot_write_in_the_thread(care_request, other_patient_user):
    with pytest.raises(RoleNotAllowed):
        care_team.post_message(
            care_request=care_request, by=other_patient_user, body="Bonjour"
        )


def test_red_flags_in_a_patient_message_raise_the_emergency(
    care_request, patient_user, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=True):
        posted = care_team.post_message(
            care_request=care_request,
            by=patient_user,
            body="Depuis ce matin j'ai du mal à respirer et les lèvres bleues.",
        )

    care_request.refresh_from_db()
    assert [match.flag.code for match in posted.red_flags] == ["breathing"]
    assert care_request.state == State.EMERGENCY
    assert "breathing" in care_request.red_flag_codes
    assert "garde@conciergerie.local" in [m.to[0] for m in mailoutbox]


def test_reading_marks_the_other_sides_messages_read(
    care_request, patient_user, coordinator
):
    care_team.post_message(care_request=care_request, by=coordinator, body="Bonjour")
    care_team.post_message(care_request=care_request, by=patient_user, body="Merci")

    care_team.mark_messages_read(care_request=care_request, by=patient_user)

    concierge, patient_side = care_request.messages.order_by("created_at")
    assert concierge.read_at is not None
    assert patient_side.read_at is None


def test_a_patient_cannot_write_on_a_finished_request(patient, patient_user):
    closed = CareRequestFactory(patient=patient, state=State.CLOSED)

    with pytest.raises(ValidationError) as refused:
        care_team.post_message(care_request=closed, by=patient_user, body="Re")

    assert refused.value.code == "request_finished"


# --- Notes, interactions, tasks -------------------------------------------------------


def test_internal_notes_are_for_the_team(care_request, coordinator, patient_user):
    note = care_team.add_internal_note(
        care_request=care_request, by=coordinator, body="Patiente anxieuse."
    )

    with pytest.raises(RoleNotAllowed):
        care_team.add_internal_note(
            care_request=care_request, by=patient_user, body="Je lis ?"
        )
    assert note.author == coordinator


def test_a_call_with_the_patient_stops_the_first_response_clock(
    care_request, coordinator
):
    interaction = care_team.log_interaction(
        care_request=care_request,
        by=coordinator,
        channel=Interaction.Channel.PHONE,
        direction=Interaction.Direction.OUTGOING,
        party=Interaction.Party.PATIENT,
        summary="Rappel de la patiente, précisions sur les disponibilités.",
        duration_minutes=6,
    )
    care_request.refresh_from_db()

    assert interaction.recorded_by == coordinator
    assert care_request.first_response_at == interaction.occurred_at


def test_a_call_to_a_secretariat_is_logged_but_is_no_answer_to_the_patient(
    care_request, coordinator
):
    care_team.log_interaction(
        care_request=care_request,
        by=coordinator,
        channel="phone",
        direction="out",
        party="secretariat",
        counterpart="Secrétariat du Dr Roux",
        summary="Créneau mardi 10 h réservé sous réserve.",
    )

    care_request.refresh_from_db()
    assert care_request.first_response_at is None
    assert care_request.interactions.get().counterpart == "Secrétariat du Dr Roux"


def test_an_interaction_cannot_be_in_the_future(care_request, coordinator):
    with pytest.raises(ValidationError) as refused:
        care_team.log_interaction(
            care_request=care_request,
            by=coordinator,
            channel="phone",
            direction="out",
            party="patient",
            summary="…",
            occurred_at=timezone.now() + timedelta(hours=1),
        )

    assert refused.value.error_dict["occurred_at"][0].code == "in_the_future"


def test_care_tasks_have_an_owner_a_due_date_and_a_status(
    care_request, coordinator, adviser
):
    due = timezone.now() + timedelta(days=2)
    task = care_team.add_care_task(
        care_request=care_request,
        by=coordinator,
        kind=CareTask.Kind.ACCOMPANIMENT,
        title="Accompagner Mme Petit à sa consultation",
        owner=adviser,
        due_at=due,
        shared_with_patient=True,
    )

    care_team.update_care_task(task=task, by=adviser, status=CareTask.Status.DONE)

    task.refresh_from_db()
    assert (task.owner, task.due_at, task.status) == (adviser, due, "done")
    assert (task.done_by, task.done_at is not None) == (adviser, True)
    with pytest.raises(ValidationError) as refused:
        care_team.update_care_task(task=task, by=adviser, status="todo")
    assert refused.value.error_dict["status"][0].code == "task_finished"


def test_only_staff_own_tasks_and_patients_see_only_shared_ones(
    care_request, coordinator, patient_user
):
    with pytest.raises(ValidationError):
        care_team.add_care_task(
            care_request=care_request,
            by=coordinator,
            kind="transport",
            title="Taxi",
            owner=patient_user,
        )
    shared = CareTaskFactory(care_request=care_request, shared_with_patient=True)
    CareTaskFactory(care_request=care_request, title="Relancer le secrétariat")

    assert list(CareTask.objects.visible_to(patient_user)) == [shared]


# --- Care plans -----------------------------------------------------------------------


def test_a_care_plan_is_seen_by_the_patient_once_shared(
    patient, patient_user, adviser, django_capture_on_commit_callbacks, mailoutbox
):
    plan = care_team.save_care_plan(
        patient=patient, by=adviser, goals="Équilibrer la tension."
    )
    care_team.add_care_plan_step(plan=plan, by=adviser, title="Bilan cardiologique")
    assert not CarePlan.objects.visible_to(patient_user).exists()

    with django_capture_on_commit_callbacks(execute=True):
        care_team.save_care_plan(
            patient=patient, by=adviser, goals=plan.goals, shared_with_patient=True
        )

    assert list(CarePlan.objects.visible_to(patient_user)) == [plan]
    assert [m.to for m in mailoutbox] == [[patient.email]]
    assert "tension" not in mailoutbox[0].body


def test_a_care_plan_step_belongs_to_the_patients_own_requests(
    patient, other_patient, adviser
):
    plan = care_team.save_care_plan(patient=patient, by=adviser, goals="")
    elsewhere = CareRequestFactory(patient=other_patient)

    with pytest.raises(ValidationError) as refused:
        care_team.add_care_plan_step(
            plan=plan, by=adviser, title="Consultation", care_request=elsewhere
        )

    assert refused.value.error_dict["care_request"][0].code == "other_patient"


# --- Workload -------------------------------------------------------------------------


def test_the_workload_counts_requests_emergencies_overdue_and_tasks(
    patient, coordinator, adviser
):
    CareRequestFactory(patient=patient, assigned_to=adviser, state=State.MATCHING)
    CareRequestFactory(patient=patient, assigned_to=adviser, state=State.EMERGENCY)
    late = _age(CareRequestFactory(patient=patient, assigned_to=adviser), minutes=3000)
    CareRequestFactory(patient=patient, assigned_to=adviser, state=State.CLOSED)
    CareRequestFactory(patient=patient)
    CareTaskFactory(
        care_request=late, owner=adviser, due_at=timezone.now() - timedelta(hours=1)
    )

    lines = {line.user: line for line in care_team.workload()}

    mine = lines[adviser]
    assert (mine.open_requests, mine.emergencies, mine.overdue) == (3, 1, 1)
    assert (mine.open_tasks, mine.late_tasks) == (1, 1)
    assert mine.states == {"matching": 1, "emergency": 1, "received": 1}
    assert lines[None].open_requests == 1
    assert lines[coordinator].open_requests == 0


# --- Deadlines ------------------------------------------------------------------------


def test_due_times_follow_the_urgency_settings(patient):
    care_request = _age(CareRequestFactory(patient=patient, urgency="soon"), minutes=0)

    targets = settings.CARE_REQUEST_SLA_MINUTES
    assert care_request.first_response_due_at - care_request.created_at == timedelta(
        minutes=targets["first_response"]["soon"]
    )
    assert care_request.qualification_due_at - care_request.created_at == timedelta(
        minutes=targets["qualification"]["soon"]
    )


def test_overdue_flags_are_computed_when_read(patient, coordinator):
    late = _age(CareRequestFactory(patient=patient), minutes=3000)
    fresh = _age(CareRequestFactory(patient=patient), minutes=5)

    flags = {
        row.pk: (row.first_response_overdue, row.qualification_overdue, row.is_overdue)
        for row in CareRequest.objects.with_sla()
    }
    care_team.post_message(care_request=late, by=coordinator, body="Bonjour")

    assert flags[late.pk] == (True, True, True)
    assert flags[fresh.pk] == (False, False, False)
    row = CareRequest.objects.with_sla().get(pk=late.pk)
    assert (row.first_response_overdue, row.qualification_overdue) == (False, True)
    assert set(CareRequest.objects.overdue()) == {late}


def test_the_appointment_clock_runs_while_waiting_for_a_booking(patient):
    waiting = _age(
        CareRequestFactory(patient=patient, state=State.PROPOSED, urgency="urgent"),
        minutes=3000,
    )
    booked = _age(
        CareRequestFactory(patient=patient, state=State.SCHEDULED, urgency="urgent"),
        minutes=3000,
    )

    rows = {row.pk: row.appointment_overdue for row in CareRequest.objects.with_sla()}

    assert rows == {waiting.pk: True, booked.pk: False}


def test_a_missed_deadline_is_alerted_once(
    patient, adviser, django_capture_on_commit_callbacks, mailoutbox
):
    late = _age(CareRequestFactory(patient=patient, assigned_to=adviser), minutes=1500)

    with django_capture_on_commit_callbacks(execute=True):
        first = care_team.detect_sla_breaches()
    with django_capture_on_commit_callbacks(execute=True):
        second = care_team.detect_sla_breaches()

    assert (first, second) == (1, 0)
    breach = SlaBreach.objects.get()
    assert (breach.care_request, breach.clock) == (late, "first_response")
    assert breach.alerted_to == adviser.email
    assert [m.to for m in mailoutbox] == [[adviser.email]]
    assert late.reference in mailoutbox[0].subject


def test_nobody_in_charge_means_the_on_duty_concierge_is_alerted(
    patient, django_capture_on_commit_callbacks, mailoutbox
):
    _age(CareRequestFactory(patient=patient, urgency="urgent"), minutes=300)

    with django_capture_on_commit_callbacks(execute=True):
        alerted = care_team.detect_sla_breaches()

    assert alerted == 2  # first response (2 h) and qualification (4 h)
    assert {m.to[0] for m in mailoutbox} == {"garde@conciergerie.local"}


def test_a_new_due_time_is_a_new_deadline(patient, adviser):
    care_request = _age(CareRequestFactory(patient=patient), minutes=1500)
    care_team.detect_sla_breaches()

    care_requests.update_triage(care_request=care_request, by=adviser, urgency="urgent")
    care_team.detect_sla_breaches()

    assert SlaBreach.objects.filter(clock="first_response").count() == 2
    assert (
        Message.objects.filter(template="patients/email/care_request_deadline").count()
        == 3
    )


def test_the_deadline_sweep_and_the_event_sweep_are_in_the_beat_schedule():
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert "patients.tasks.alert_sla_breaches" in tasks
    assert "patients.tasks.announce_pending_care_request_events" in tasks


def test_the_beat_task_runs_the_sweep(patient):
    from patients import tasks

    _age(CareRequestFactory(patient=patient), minutes=1500)

    assert tasks.alert_sla_breaches.delay().get() == 1


def test_only_advisers_change_the_triage(care_request, coordinator):
    with pytest.raises(RoleNotAllowed):
        care_requests.update_triage(
            care_request=care_request, by=coordinator, urgency="urgent"
        )


# --- The patient file's life: merge, export, purge --------------------------------


def test_merging_two_files_moves_the_requests_and_the_care_plan(patient, adviser):
    from patients import services
    from tests.patients.factories import PatientFactory

    duplicate = PatientFactory(consented=True)
    moved = CareRequestFactory(patient=duplicate)
    care_team.save_care_plan(patient=patient, by=adviser, goals="Marcher.")
    other_plan = care_team.save_care_plan(
        patient=duplicate, by=adviser, goals="Dormir."
    )
    care_team.add_care_plan_step(plan=other_plan, by=adviser, title="Bilan du sommeil")

    services.merge_patients(keep=patient, duplicate=duplicate, by=adviser)

    moved.refresh_from_db()
    assert moved.patient == patient
    plan = CarePlan.objects.get(patient=patient)
    assert "Dormir." in plan.goals
    assert [step.title for step in plan.steps.all()] == ["Bilan du sommeil"]


def test_the_export_gives_the_patient_their_requests_without_internal_notes(
    patient, coordinator
):
    from patients import services

    care_request = CareRequestFactory(patient=patient, need="Plaques qui grattent.")
    care_team.add_internal_note(
        care_request=care_request, by=coordinator, body="NOTE-INTERNE"
    )
    care_team.post_message(care_request=care_request, by=coordinator, body="Bonjour")

    data = services.export_data(patient)

    exported = data["care_requests"][0]
    assert exported["reference"] == care_request.reference
    assert exported["need"] == "Plaques qui grattent."
    assert exported["messages"][0]["text"] == "Bonjour"
    assert "NOTE-INTERNE" not in str(data)


def test_purging_a_file_removes_its_care_requests(patient, adviser):
    from patients import services

    CareRequestFactory(patient=patient)
    care_team.save_care_plan(patient=patient, by=adviser, goals="x")

    services.purge_patient(patient=patient)

    assert not CareRequest.objects.filter(patient=patient).exists()
    assert not CarePlan.objects.filter(patient=patient).exists()

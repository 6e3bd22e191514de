"""Care requests and the specialist directory: criteria, shortlists, proposals."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from patients.models import CareRequest
from patients.services import care_requests
from specialists import services as directory
from specialists.matching import Mode
from specialists.models import Shortlist
from tests.patients.factories import CareRequestFactory
from tests.specialists.factories import PractitionerFactory

State = CareRequest.State


@pytest.fixture
def searching(patient):
    return CareRequestFactory(
        patient=patient,
        state=State.MATCHING,
        specialty="cardiology",
        place_postal_code="69003",
        place_commune="Lyon",
        radius_km=10,
        languages=["en"],
        practitioner_gender="female",
        max_budget=Decimal("60.00"),
        wheelchair_access=True,
        available_until=date(2026, 12, 20),
        mode=CareRequest.Mode.EITHER,
    )


def _shortlist(care_request, by):
    practitioner = PractitionerFactory(specialties=["cardiology"], verified=True)
    shortlist = directory.create_shortlist(
        request_reference=care_request.reference, by=by, message="Deux cardiologues."
    )
    directory.add_to_shortlist(shortlist=shortlist, practitioner=practitioner, by=by)
    return shortlist


def test_the_patients_preferences_become_the_matching_criteria(searching):
    criteria = care_requests.matching_criteria(searching)

    assert criteria.specialty == "cardiology"
    assert (criteria.postal_code, criteria.commune, criteria.radius_km) == (
        "69003",
        "Lyon",
        10.0,
    )
    assert criteria.mode == Mode.EITHER
    assert criteria.languages == ("en",)
    assert criteria.gender == "female"
    assert criteria.budget == Decimal("60.00")
    assert criteria.wheelchair_required is True
    assert criteria.available_before == date(2026, 12, 20)


def test_a_teleconsultation_request_searches_remote_practitioners(patient):
    care_request = CareRequestFactory(patient=patient, kind="teleconsultation")

    assert care_requests.matching_criteria(care_request).mode == Mode.TELECONSULTATION


def test_the_directory_form_is_filled_from_the_request(searching):
    query = care_requests.match_query(searching)

    assert query["request_reference"] == searching.reference
    assert query["specialty"] == "cardiology"
    assert query["wheelchair_required"] == "on"
    assert query["available_before"] == "2026-12-20"


def test_proposing_a_shortlist_moves_the_request_to_proposed(
    searching, coordinator, django_capture_on_commit_callbacks, mailoutbox
):
    shortlist = _shortlist(searching, coordinator)

    with django_capture_on_commit_callbacks(execute=True):
        directory.publish_shortlist(shortlist=shortlist, by=coordinator)

    searching.refresh_from_db()
    assert searching.state == State.PROPOSED
    event = searching.events.get(transition="propose")
    assert event.public_note == "Deux cardiologues."
    assert [m.to for m in mailoutbox] == [[searching.patient.email]]


def test_a_shortlist_for_a_request_not_searching_is_not_proposed(patient, coordinator):
    received = CareRequestFactory(patient=patient, state=State.RECEIVED)
    shortlist = _shortlist(received, coordinator)

    with pytest.raises(ValidationError) as refused:
        directory.publish_shortlist(shortlist=shortlist, by=coordinator)

    shortlist.refresh_from_db()
    assert refused.value.code == "transition_not_allowed"
    assert shortlist.state == Shortlist.State.DRAFT


def test_a_shortlist_for_an_unknown_request_is_not_proposed(coordinator):
    practitioner = PractitionerFactory(specialties=["cardiology"], verified=True)
    shortlist = directory.create_shortlist(request_reference="D-ZZZZZZ", by=coordinator)
    directory.add_to_shortlist(
        shortlist=shortlist, practitioner=practitioner, by=coordinator
    )

    with pytest.raises(ValidationError) as refused:
        directory.publish_shortlist(shortlist=shortlist, by=coordinator)

    assert refused.value.code == "unknown_care_request"


def test_searching_again_withdraws_the_proposal_and_excludes_its_practitioners(
    searching, coordinator
):
    shortlist = _shortlist(searching, coordinator)
    directory.publish_shortlist(shortlist=shortlist, by=coordinator)

    care_requests.reopen_search(
        care_request=searching, by=coordinator, comment="La patiente préfère Lyon 7e."
    )

    shortlist.refresh_from_db()
    searching.refresh_from_db()
    assert searching.state == State.MATCHING
    assert shortlist.state == Shortlist.State.WITHDRAWN
    excluded = care_requests.matching_criteria(searching).exclude
    assert excluded == {shortlist.entries.get().practitioner_id}


def test_cancelling_withdraws_the_proposal(searching, coordinator, patient_user):
    shortlist = _shortlist(searching, coordinator)
    directory.publish_shortlist(shortlist=shortlist, by=coordinator)

    care_requests.cancel_care_request(
        care_request=searching, by=patient_user, reason="Trouvé par moi-même."
    )

    shortlist.refresh_from_db()
    assert shortlist.state == Shortlist.State.WITHDRAWN


def test_a_proposal_made_by_phone_needs_a_word_on_what_was_proposed(
    searching, coordinator
):
    with pytest.raises(ValidationError) as refused:
        care_requests.propose_care_request(care_request=searching, by=coordinator)

    assert refused.value.error_dict["comment"][0].code == "proposal_required"


def test_the_appointments_hooks_move_the_request_without_a_role_check(
    patient, patient_user
):
    proposed = CareRequestFactory(patient=patient, state=State.PROPOSED)

    care_requests.mark_scheduled(
        care_request=proposed, by=patient_user, appointment_reference="A-7K3Q"
    )
    proposed.refresh_from_db()
    assert (proposed.state, proposed.appointment_reference) == (
        State.SCHEDULED,
        "A-7K3Q",
    )

    # Another appointment's cancellation changes nothing.
    care_requests.mark_unscheduled(
        care_request=proposed, appointment_reference="A-OTHER", comment="annulé"
    )
    proposed.refresh_from_db()
    assert proposed.state == State.SCHEDULED

    care_requests.mark_unscheduled(
        care_request=proposed, appointment_reference="A-7K3Q", comment="annulé"
    )
    proposed.refresh_from_db()
    assert (proposed.state, proposed.appointment_reference) == (State.MATCHING, "")

    care_requests.mark_scheduled(care_request=proposed, appointment_reference="A-8")
    care_requests.mark_care_started(care_request=proposed)
    care_requests.mark_follow_up(care_request=proposed)
    proposed.refresh_from_db()
    assert proposed.state == State.FOLLOW_UP
    events = list(proposed.events.values_list("transition", "actor_label"))
    assert events[0] == ("schedule", patient_user.get_full_name())
    assert events[-1][1] == ""  # the service itself


def test_a_hook_from_the_wrong_state_is_refused(patient):
    received = CareRequestFactory(patient=patient, state=State.RECEIVED)

    with pytest.raises(ValidationError) as refused:
        care_requests.mark_scheduled(care_request=received, appointment_reference="A")

    assert refused.value.code == "transition_not_allowed"


def test_the_referring_partner_hears_of_each_state_change(
    patient, adviser, settings, django_capture_on_commit_callbacks
):
    from conciergerie.partners import services as partners
    from conciergerie.partners.models import Organisation, WebhookEvent

    settings.WEBHOOK_REQUIRE_HTTPS = False
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    clinic = partners.create_organisation(
        name="Clinique du Parc", kind=Organisation.Kind.CLINIC
    )
    other = partners.create_organisation(
        name="Laboratoire Sud", kind=Organisation.Kind.LABORATORY
    )
    for organisation in (clinic, other):
        partners.subscribe(
            organisation=organisation,
            url="http://127.0.0.1:9/hooks",
            event_types=["care_request.state_changed"],
        )
    referral = CareRequestFactory(patient=patient, requested_by=clinic.service_user)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        care_requests.qualify_care_request(care_request=referral, by=adviser)
    assert not WebhookEvent.objects.exists()  # nothing before the commit
    # After the commit (deliveries themselves stay queued: nothing calls out).
    with django_capture_on_commit_callbacks(execute=False):
        for callback in callbacks:
            callback()

    event = WebhookEvent.objects.get()
    assert event.payload["reference"] == referral.reference
    assert (event.payload["state"], event.payload["previous_state"]) == (
        "qualified",
        "received",
    )
    assert "need" not in event.payload
    assert [d.subscription.organisation for d in event.deliveries.all()] == [clinic]

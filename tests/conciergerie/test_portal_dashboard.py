"""The dashboard answers "what's next for me?" at a constant cost in queries."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment, SatisfactionSurvey
from patients.models import CareRequest, CareRequestMessage
from tests.appointments.factories import AppointmentFactory
from tests.billing.factories import CustomerFactory, issued_invoice
from tests.conciergerie.portal_history import build_history
from tests.patients.factories import CareRequestFactory, DocumentFactory
from tests.reimbursements.factories import sent_claim

SMALL = 2
LARGE = 5 * SMALL


@pytest.fixture
def signed_in(client, patient):
    client.force_login(patient.user)
    return client


def test_an_empty_file_gets_clear_empty_states(signed_in, patient):
    response = signed_in.get(reverse("dashboard"), headers={"accept-language": "en"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "No appointment planned" in page
    assert "No request in progress" in page
    assert "Nothing to pay." in page
    assert "No reimbursement expected at the moment." in page
    assert "No new message from the team." in page


def test_an_account_without_a_file_is_asked_to_complete_it(client, patient_user):
    client.force_login(patient_user)

    response = client.get(reverse("dashboard"))

    assert response.status_code == 200
    assert reverse("patients:register").encode() in response.content


def test_the_dashboard_shows_what_comes_next(signed_in, patient, coordinator):
    appointment = AppointmentFactory(patient=patient)
    request = CareRequestFactory(patient=patient, state=CareRequest.State.MATCHING)
    CareRequestMessage.objects.create(
        care_request=request,
        side=CareRequestMessage.Side.CONCIERGE,
        author=coordinator,
        body="Nous avons trouvé deux praticiens.",
    )
    DocumentFactory(patient=patient)
    invoice = issued_invoice(
        customer=CustomerFactory(user=patient.user), patient=patient
    )
    claim = sent_claim(by=coordinator, patient=patient)

    response = signed_in.get(reverse("dashboard"), headers={"accept-language": "en"})

    page = response.content.decode()
    assert appointment.get_absolute_url() in page
    assert request.get_absolute_url() in page
    assert "We are looking for the practitioners who best fit your request." in page
    assert "matching" not in page
    assert "New message about request" in page
    assert invoice.get_absolute_url() in page
    assert claim.get_absolute_url() in page
    assert f"Total to pay: {invoice.amount_due:.2f}" in page


def test_the_status_sentences_are_french_by_default(signed_in, patient):
    CareRequestFactory(patient=patient, state=CareRequest.State.PROPOSED)

    response = signed_in.get(reverse("dashboard"))

    assert "choisissez le praticien que vous préférez" in response.content.decode()


@pytest.mark.parametrize(
    ("offset", "joinable"),
    [(timedelta(minutes=10), True), (timedelta(hours=3), False)],
)
def test_a_video_consultation_can_be_joined_only_when_its_window_is_open(
    signed_in, patient, offset, joinable
):
    starts_at = timezone.now() + offset
    appointment = AppointmentFactory(
        patient=patient,
        mode=Appointment.Mode.VIDEO,
        place=None,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=20),
    )

    response = signed_in.get(reverse("dashboard"), headers={"accept-language": "en"})

    assert response.context["next_appointment"] == appointment
    assert response.context["can_join"] is joinable
    entry = reverse(
        "teleconsult:appointment-entry", kwargs={"public_id": appointment.public_id}
    )
    assert ("Join the video consultation" in response.content.decode()) is joinable
    assert (entry in response.content.decode()) is joinable


def test_surveys_waiting_for_an_answer_are_listed(signed_in, patient):
    visit = AppointmentFactory(
        patient=patient,
        state=Appointment.State.DONE,
        starts_at=timezone.now() - timedelta(days=2),
        ends_at=timezone.now() - timedelta(days=2) + timedelta(minutes=30),
    )
    survey = SatisfactionSurvey.objects.create(
        appointment=visit, due_at=timezone.now() - timedelta(days=1)
    )
    answered_visit = AppointmentFactory(
        patient=patient,
        practitioner=visit.practitioner,
        place=visit.place,
        state=Appointment.State.DONE,
        starts_at=timezone.now() - timedelta(days=5),
        ends_at=timezone.now() - timedelta(days=5) + timedelta(minutes=30),
    )
    SatisfactionSurvey.objects.create(
        appointment=answered_visit,
        due_at=timezone.now() - timedelta(days=4),
        answered_at=timezone.now() - timedelta(days=3),
        satisfaction=5,
        recommend=10,
    )

    response = signed_in.get(reverse("dashboard"))

    assert response.context["surveys"] == [survey]
    survey_url = reverse("appointments:survey", kwargs={"public_id": visit.public_id})
    assert survey_url in response.content.decode()


def test_another_family_s_history_never_shows(signed_in, other_patient, coordinator):
    appointment = AppointmentFactory(patient=other_patient)
    request = CareRequestFactory(patient=other_patient)

    response = signed_in.get(reverse("dashboard"))

    page = response.content.decode()
    assert appointment.get_absolute_url() not in page
    assert request.get_absolute_url() not in page


def _count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


PAGES = [
    pytest.param("dashboard", {}, id="dashboard"),
    pytest.param("appointments:index", {}, id="appointments"),
    pytest.param("patients:care-requests", {}, id="requests"),
    pytest.param("billing:index", {}, id="invoices"),
    pytest.param("reimbursements:index", {}, id="claims"),
    pytest.param("patients:documents", {"reference": True}, id="documents"),
]


@pytest.mark.parametrize(("name", "kwargs"), PAGES)
def test_portal_pages_cost_the_same_queries_as_the_history_grows(
    client, patient, coordinator, django_assert_max_num_queries, name, kwargs
):
    url = reverse(name, kwargs={"reference": patient.reference} if kwargs else None)
    client.force_login(patient.user)
    client.get(url)
    build_history(patient, size=SMALL, by=coordinator)
    small = _count(client, url)

    build_history(patient, size=LARGE - SMALL, by=coordinator)

    with django_assert_max_num_queries(small):
        response = client.get(url)
    assert response.status_code == 200


def test_the_team_is_sent_to_the_back_office(staff_client, adviser):
    client = staff_client(adviser)

    response = client.get(reverse("dashboard"))

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")


def test_a_practitioner_without_a_file_is_sent_to_their_agenda(
    client, practitioner_user
):
    client.force_login(practitioner_user)

    response = client.get(reverse("dashboard"))

    assert response.status_code == 302
    assert response["Location"] == reverse("appointments:practitioner")

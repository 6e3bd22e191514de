"""A parent switches between their own file and a child's, never another family's."""

import pytest
from django.urls import reverse

from appointments.models import Appointment
from patients.models import CareRequest
from tests.appointments.factories import AppointmentFactory
from tests.patients.factories import (
    CareRequestFactory,
    GuardianshipFactory,
    PatientFactory,
)


@pytest.fixture
def child(patient):
    return GuardianshipFactory(
        guardian=patient.user,
        patient=PatientFactory(minor=True, first_names="Léo", last_name="Petit"),
    ).patient


@pytest.fixture
def other_child(other_patient):
    return GuardianshipFactory(
        guardian=other_patient.user,
        patient=PatientFactory(minor=True, first_names="Inès", last_name="Moreau"),
    ).patient


@pytest.fixture
def parent(client, patient, child):
    client.force_login(patient.user)
    return client


def _switch(client, reference, next_page=""):
    return client.post(
        reverse("portal:switch-file"), {"reference": reference, "next": next_page}
    )


def test_every_page_says_whose_file_is_shown(parent, patient):
    response = parent.get(reverse("dashboard"), headers={"accept-language": "en"})

    page = response.content.decode()
    assert "You are viewing:" in page
    assert response.context["viewing_patient"] == patient
    assert 'id="switch-file"' in page


def test_a_single_file_gets_the_indicator_but_no_switcher(client, patient):
    client.force_login(patient.user)

    response = client.get(reverse("dashboard"))

    assert response.context["viewing_patient"] == patient
    assert 'id="switch-file"' not in response.content.decode()


def test_the_choice_is_kept_for_the_next_pages(parent, child):
    child_request = CareRequestFactory(patient=child, state=CareRequest.State.MATCHING)

    response = _switch(parent, child.reference)

    assert response.status_code == 302
    dashboard = parent.get(reverse("dashboard"))
    assert dashboard.context["viewing_patient"] == child
    assert child_request.get_absolute_url() in dashboard.content.decode()


def test_list_pages_show_only_the_viewed_file(parent, patient, child):
    mine = AppointmentFactory(patient=patient)
    theirs = AppointmentFactory(
        patient=child,
        practitioner=mine.practitioner,
        place=mine.place,
        starts_at=mine.ends_at,
        ends_at=mine.ends_at + (mine.ends_at - mine.starts_at),
    )

    own_page = parent.get(reverse("appointments:index")).content.decode()
    _switch(parent, child.reference)
    child_page = parent.get(reverse("appointments:index")).content.decode()

    assert mine.get_absolute_url() in own_page
    assert theirs.get_absolute_url() not in own_page
    assert theirs.get_absolute_url() in child_page
    assert mine.get_absolute_url() not in child_page
    assert theirs.state == Appointment.State.BOOKED


def test_a_page_of_one_file_reopens_for_the_file_chosen(parent, patient, child):
    page = reverse("patients:documents", kwargs={"reference": patient.reference})

    response = _switch(parent, child.reference, page)

    assert response["Location"] == reverse(
        "patients:documents", kwargs={"reference": child.reference}
    )


def test_a_page_about_one_item_leads_to_its_list(parent, patient, child):
    appointment = AppointmentFactory(patient=patient)

    response = _switch(parent, child.reference, appointment.get_absolute_url())

    assert response["Location"] == reverse("appointments:index")


def test_an_outside_address_is_never_followed(parent, child):
    response = _switch(parent, child.reference, "https://evil.example/")

    assert response["Location"] == reverse("dashboard")


def test_opening_a_child_s_file_makes_it_the_viewed_one(parent, child):
    parent.get(reverse("patients:detail", kwargs={"reference": child.reference}))

    response = parent.get(reverse("dashboard"))

    assert response.context["viewing_patient"] == child


def test_a_guardian_never_reaches_another_family_s_child(parent, other_child):
    switched = _switch(parent, other_child.reference)
    opened = parent.get(
        reverse("patients:detail", kwargs={"reference": other_child.reference})
    )

    assert switched.status_code == 404
    assert opened.status_code == 404
    assert parent.get(reverse("dashboard")).context["viewing_patient"] != other_child


def test_an_ended_guardianship_takes_the_child_out_of_the_switcher(
    parent, patient, child
):
    from django.utils import timezone

    child.guardianships.update(ended_at=timezone.now())

    assert _switch(parent, child.reference).status_code == 404
    response = parent.get(reverse("dashboard"))
    assert response.context["viewing_files"] == [patient]


def test_a_missing_page_says_what_to_do(parent):
    response = parent.get("/patients/P-ZZZZZZ/", headers={"accept-language": "en"})

    assert response.status_code == 404
    assert "What you can do:" in response.content.decode()


def test_a_server_error_page_renders_without_the_database(rf):
    from django.views.defaults import server_error

    response = server_error(rf.get("/"))

    assert response.status_code == 500
    assert b"portal.css" in response.content


def test_a_new_request_is_for_the_viewed_file_unless_changed(parent, child):
    _switch(parent, child.reference)

    response = parent.get(reverse("patients:care-request-new"))

    assert response.context["form"]["patient"].value() == child.reference


def test_an_item_of_the_child_s_file_makes_it_the_viewed_one(parent, patient, child):
    appointment = AppointmentFactory(patient=child)

    response = parent.get(appointment.get_absolute_url())

    assert response.status_code == 200
    assert response.context["viewing_patient"] == child
    assert parent.get(reverse("dashboard")).context["viewing_patient"] == child

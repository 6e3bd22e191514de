"""The back-office pages: who may open them, what they show, what they cost."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.html import escape

from appointments.models import Appointment
from patients.models import CareRequest, CareRequestMessage, CareTask
from tests.appointments.factories import AppointmentFactory, open_practitioner
from tests.patients.factories import CareRequestFactory, CareTaskFactory

DASHBOARD = "/admin/dashboard/"
MY_DAY = "/admin/my-day/"
NEED = "Des plaques rouges qui grattent sur les bras depuis un mois."


def _count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


# --- Dashboard ---------------------------------------------------------------------
def test_a_manager_reads_the_dashboard_with_charts_and_definitions(
    staff_client, manager, march_requests
):
    response = staff_client(manager).get(
        DASHBOARD, {"start": "2026-03-01", "end": "2026-03-31"}
    )

    assert response.status_code == 200
    panels = {panel.key: panel for panel in response.context["panels"]}
    assert dict(panels["requests_by_state"].lines)["Total"] == "5"
    body = response.content.decode()
    assert body.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart') == len(
        panels
    )
    assert 'role="img"' in body
    assert 'value="2026-03-01"' in body  # the date picker reads ISO dates
    assert "<script" not in body.split('id="content-main"')[1]
    assert escape(panels["sla_breaches"].definition) in body


def test_a_coordinator_is_refused_the_dashboard(staff_client, coordinator):
    assert staff_client(coordinator).get(DASHBOARD).status_code == 403


def test_an_adviser_is_refused_the_dashboard(staff_client, adviser):
    assert staff_client(adviser).get(DASHBOARD).status_code == 403


def test_the_dashboard_needs_the_second_factor(client, manager):
    client.force_login(manager)

    response = client.get(DASHBOARD)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_the_dashboard_filters_by_specialty_and_concierge(
    staff_client, manager, march_requests, alice
):
    client = staff_client(manager)
    march = {"start": "2026-03-01", "end": "2026-03-31"}

    dermatology = client.get(DASHBOARD, {**march, "specialty": "dermatology"})
    alices = client.get(DASHBOARD, {**march, "concierge": alice.pk})

    def total(response) -> str:
        return dict(response.context["panels"][0].lines)["Total"]

    assert total(dermatology) == "3"  # R1, R2, R5
    assert total(alices) == "2"  # R1, R2


def test_a_reversed_period_is_explained_and_the_default_period_shown(
    staff_client, manager
):
    response = staff_client(manager).get(
        DASHBOARD, {"start": "2026-03-31", "end": "2026-03-01"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["__all__"]
    assert "La fin de la période" in response.content.decode()
    assert response.context["filters"] == response.context["form"].defaults


def test_the_dashboard_costs_the_same_queries_with_more_rows(
    staff_client, manager, alice, bruno
):
    client = staff_client(manager)
    url = f"{DASHBOARD}?start=2026-01-01&end=2026-12-31"
    CareRequestFactory(assigned_to=alice)
    client.get(url)  # warm the caches of the first visit
    few = _count_queries(client, url)

    for user in (alice, bruno, None):
        for _n in range(3):
            CareRequestFactory(assigned_to=user, channel="phone")
    many = _count_queries(client, url)

    assert many == few


# --- My day ------------------------------------------------------------------------
@pytest.fixture
def alices_day(alice):
    """Alice's urgent request past its first-response deadline, with an unanswered
    patient message, a task due today, and a video appointment this afternoon."""
    now = timezone.now()
    urgent = CareRequestFactory(assigned_to=alice, urgency="urgent")
    CareRequest.objects.filter(pk=urgent.pk).update(
        first_response_due_at=now - timedelta(hours=1)
    )
    routine = CareRequestFactory(assigned_to=alice, state="qualified")
    CareRequestMessage.objects.create(
        care_request=urgent, side="patient", body="Bonjour, des nouvelles ?"
    )
    CareTaskFactory(care_request=routine, owner=alice, due_at=now - timedelta(hours=2))
    CareTaskFactory(
        care_request=routine, owner=alice, due_at=now + timedelta(days=3)
    )  # not today
    AppointmentFactory(
        practitioner=open_practitioner(),
        patient=routine.patient,
        care_request=routine,
        mode=Appointment.Mode.VIDEO,
        place=None,
        starts_at=timezone.localtime(now).replace(hour=23, minute=0),
    )
    CareRequestFactory(urgency="urgent")  # nobody's, not overdue: not on the page
    return {"urgent": urgent, "routine": routine}


def test_my_day_lists_what_is_due_most_pressing_first(staff_client, alice, alices_day):
    response = staff_client(alice).get(MY_DAY)

    assert response.status_code == 200
    context = response.context
    urgent, routine = alices_day["urgent"], alices_day["routine"]
    assert [r.pk for r in context["requests"]] == [urgent.pk, routine.pk]
    assert [r.pk for r in context["overdue"]] == [urgent.pk]
    assert [thread["care_request_id"] for thread in context["unanswered"]] == [
        urgent.pk
    ]
    assert [task.care_request_id for task in context["tasks"]] == [routine.pk]
    assert [a.care_request_id for a in context["appointments"]] == [routine.pk]
    assert "Téléconsultation" in response.content.decode()


def test_an_answer_clears_the_unanswered_message(staff_client, alice, alices_day):
    CareRequestMessage.objects.create(
        care_request=alices_day["urgent"], side="concierge", author=alice, body="Oui"
    )

    response = staff_client(alice).get(MY_DAY)

    assert response.context["unanswered"] == []


def test_my_day_never_shows_medical_content(staff_client, coordinator):
    CareRequestFactory(assigned_to=coordinator, red_flags=["chest_pain"])

    body = staff_client(coordinator).get(MY_DAY).content.decode()

    assert NEED not in body
    assert "chest_pain" not in body


def test_my_day_links_the_dashboard_for_managers_only(
    staff_client, manager, coordinator
):
    assert staff_client(manager).get(MY_DAY).context["dashboard_url"] == DASHBOARD
    assert staff_client(coordinator).get(MY_DAY).context["dashboard_url"] == ""


def test_the_admin_index_links_my_day_and_the_dashboard(staff_client, manager):
    body = staff_client(manager).get("/admin/").content.decode()

    assert f'href="{MY_DAY}"' in body
    assert f'href="{DASHBOARD}"' in body


def test_my_day_costs_the_same_queries_with_more_rows(staff_client, alice, alices_day):
    client = staff_client(alice)
    client.get(MY_DAY)
    few = _count_queries(client, MY_DAY)

    now = timezone.now()
    for _n in range(4):
        extra = CareRequestFactory(assigned_to=alice, urgency="soon")
        CareRequest.objects.filter(pk=extra.pk).update(
            first_response_due_at=now - timedelta(minutes=5)
        )
        CareRequestMessage.objects.create(care_request=extra, side="patient", body="?")
        CareTaskFactory(care_request=extra, owner=alice, due_at=now)
    many = _count_queries(client, MY_DAY)

    assert CareTask.objects.filter(owner=alice).count() == 6
    assert many == few

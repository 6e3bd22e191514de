"""The device check page and the technical help request it can raise."""

import json

import pytest
from django.core import mail

from conciergerie.accounts.roles import Role
from teleconsult import services
from teleconsult.models import SupportTicket
from tests.factories import UserFactory

RESULTS = {
    "camera": {"status": "fail", "detail": "NotAllowedError"},
    "microphone": {"status": "pass", "detail": "peak=40"},
    "speaker": {"status": "pass", "detail": "heard"},
    "connection": {"status": "pass", "detail": "rtt=80ms"},
    "keylogger": {"status": "pass", "detail": "unknown checks are dropped"},
}


def test_the_device_check_page_asks_to_log_in(client, db):
    response = client.get("/teleconsultations/device-check/")

    assert response.status_code == 302


def test_the_device_check_page_is_in_french(client, patient_user):
    client.force_login(patient_user)

    response = client.get("/teleconsultations/device-check/")

    assert response.status_code == 200
    assert "Vérifier ma caméra et mon micro" in response.content.decode()


def test_asking_for_help_records_the_results_and_alerts_the_concierge_after_commit(
    patient_user, django_capture_on_commit_callbacks, settings
):
    settings.ON_DUTY_EMAIL = "garde@conciergerie.local"

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        ticket = services.open_support_ticket(
            user=patient_user, check_results=RESULTS, message="Pas d'image"
        )
        assert mail.outbox == []  # nothing leaves before the commit

    assert len(callbacks) == 1
    assert ticket.failed_checks == ["camera"]
    assert set(ticket.check_results) == {
        "camera",
        "microphone",
        "speaker",
        "connection",
    }
    assert [m.to for m in mail.outbox] == [["garde@conciergerie.local"]]
    assert "camera" in mail.outbox[0].body


def test_the_help_form_opens_a_ticket(client, patient_user):
    client.force_login(patient_user)

    response = client.post(
        "/teleconsultations/help/",
        {"check_results": json.dumps(RESULTS), "message": "Écran noir"},
    )

    assert response.status_code == 302
    ticket = SupportTicket.objects.get()
    assert ticket.opened_by == patient_user
    assert ticket.message == "Écran noir"


def test_unreadable_results_redisplay_the_form_and_store_nothing(client, patient_user):
    client.force_login(patient_user)

    response = client.post("/teleconsultations/help/", {"check_results": "{not json"})

    assert response.status_code == 400
    assert not SupportTicket.objects.exists()


def test_tickets_are_visible_to_their_author_and_staff_only(
    patient_user, other_patient_user
):
    ticket = services.open_support_ticket(user=patient_user, check_results={})
    adviser = UserFactory(role=Role.MEDICAL_ADVISER)

    assert list(SupportTicket.objects.visible_to(other_patient_user)) == []
    assert list(SupportTicket.objects.visible_to(patient_user)) == [ticket]
    assert list(SupportTicket.objects.visible_to(adviser)) == [ticket]


def test_resolving_twice_keeps_the_first_resolution(patient_user, adviser, manager):
    ticket = services.open_support_ticket(user=patient_user, check_results={})

    services.resolve_support_ticket(ticket=ticket, by=adviser, resolution="Called back")
    services.resolve_support_ticket(ticket=ticket, by=manager, resolution="Again")

    ticket.refresh_from_db()
    assert ticket.handled_by == adviser
    assert ticket.resolution == "Called back"


@pytest.mark.parametrize("bad", [[], "text", 3])
def test_results_that_are_not_an_object_are_refused(bad):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        services.clean_check_results(bad)
    assert error.value.code == "invalid"

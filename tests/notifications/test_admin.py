"""The outbox monitor in the back-office: wiring, permissions, actions."""

import pytest

from conciergerie.accounts.roles import Role
from conciergerie.notifications.backends import LocmemSmsBackend
from conciergerie.notifications.models import Message
from tests.factories import UserFactory
from tests.notifications.factories import MessageFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/notifications/message/"


def test_the_monitor_lists_messages_with_the_delivery_summary(
    staff_client, coordinator
):
    MessageFactory(state=Message.State.SENT, to="+33611111111")
    MessageFactory(state=Message.State.FAILED, error_code="sms_refused")

    response = staff_client(coordinator).get(CHANGELIST)

    assert response.status_code == 200
    [sms] = response.context["summary"]
    assert (sms["channel"], sms["total"], sms["rate"]) == ("sms", 2, 50.0)
    assert b"delivery-summary" in response.content
    assert b"+33611111111" in response.content


def test_the_monitor_filters_by_state_and_searches_by_recipient_or_key(
    staff_client, coordinator
):
    failed = MessageFactory(state=Message.State.FAILED, to="+33622222222")
    MessageFactory(state=Message.State.SENT, to="+33633333333")
    client = staff_client(coordinator)

    by_state = client.get(CHANGELIST, {"state": "failed"})
    by_recipient = client.get(CHANGELIST, {"q": "+33622222222"})
    by_key = client.get(CHANGELIST, {"q": failed.key})

    for response in (by_state, by_recipient, by_key):
        assert [m.pk for m in response.context["cl"].result_list] == [failed.pk]


def test_retry_now_sends_a_failed_message_again(
    staff_client, coordinator, django_capture_on_commit_callbacks
):
    failed = MessageFactory(state=Message.State.FAILED, attempts=5)

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client(coordinator).post(
            CHANGELIST, {"action": "retry_now", "_selected_action": [failed.pk]}
        )

    failed.refresh_from_db()
    assert response.status_code == 302
    assert failed.state == Message.State.SENT
    assert failed.attempts == 1
    assert [sms.idempotency_key for sms in LocmemSmsBackend.outbox] == [failed.key]


def test_cancel_stops_a_waiting_message_and_reports_refusals(staff_client, coordinator):
    waiting = MessageFactory()
    sent = MessageFactory(state=Message.State.SENT)

    response = staff_client(coordinator).post(
        CHANGELIST,
        {"action": "cancel", "_selected_action": [waiting.pk, sent.pk]},
        follow=True,
    )

    waiting.refresh_from_db()
    sent.refresh_from_db()
    assert waiting.state == Message.State.CANCELLED
    assert sent.state == Message.State.SENT
    texts = [str(m) for m in response.context["messages"]]
    assert any(sent.key in text for text in texts)


def test_a_message_is_shown_read_only_with_its_rendered_text(staff_client, manager):
    message = MessageFactory(context={"link": "https://example.fr/m/9"})
    client = staff_client(manager)

    page = client.get(f"{CHANGELIST}{message.pk}/change/")
    post = client.post(f"{CHANGELIST}{message.pk}/change/", {"to": "+33700000000"})

    message.refresh_from_db()
    assert page.status_code == 200
    assert b"https://example.fr/m/9" in page.content  # the preview
    assert b'name="_save"' not in page.content
    assert post.status_code == 403
    assert message.to == "+33612345678"


def test_a_medical_adviser_sees_the_outbox_but_cannot_act(staff_client, adviser):
    message = MessageFactory()
    client = staff_client(adviser)

    listing = client.get(CHANGELIST)
    client.post(CHANGELIST, {"action": "cancel", "_selected_action": [message.pk]})

    message.refresh_from_db()
    assert listing.status_code == 200
    assert "cancel" not in dict(
        listing.context["cl"].model_admin.get_actions(listing.wsgi_request)
    )
    assert message.state == Message.State.PENDING


def test_patients_and_practitioners_never_see_the_outbox(staff_client):
    patient = UserFactory(role=Role.PATIENT)

    response = staff_client(patient).get(CHANGELIST)

    assert response.status_code == 302

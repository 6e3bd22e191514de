"""Webhooks end to end: publish, sign, deliver to a local endpoint, retry, disable."""

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from conciergerie.notifications import services as outbox
from conciergerie.notifications.channels import get_channel
from conciergerie.notifications.models import Message
from conciergerie.notifications.timing import retry_delay
from conciergerie.partners import services
from conciergerie.partners.models import (
    EventType,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
)
from conciergerie.partners.signing import SIGNATURE_HEADER, verify
from tests.patients.factories import PatientFactory


@pytest.fixture
def subscription(clinic, receiver):
    subscription, secret = services.subscribe(
        organisation=clinic,
        url=receiver.url,
        event_types=[EventType.DOCUMENT_ADDED, EventType.INVOICE_ISSUED],
    )
    subscription.plain_secret = secret
    return subscription


@pytest.fixture
def referred_patient(clinic):
    return PatientFactory(referred_by=clinic.service_user, consented=True)


def publish(capture, **kwargs):
    with capture(execute=True):
        return services.publish_event(**kwargs)


def retry_now(delivery: WebhookDelivery) -> Message | None:
    """Skip the backoff wait: the next attempt is due now."""
    Message.objects.filter(pk=delivery.message_id).update(
        next_attempt_at=timezone.now()
    )
    return outbox.send_message(message_id=delivery.message_id)


def test_a_delivery_is_the_signed_event_envelope(
    subscription, referred_patient, receiver, django_capture_on_commit_callbacks
):
    event = publish(
        django_capture_on_commit_callbacks,
        event_type=EventType.DOCUMENT_ADDED,
        about=referred_patient,
        payload={"patient": referred_patient.reference, "document": "d-1"},
    )

    [request] = receiver.requests
    body = json.loads(request.body)
    assert body == {
        "id": str(event.id),
        "type": "document.added",
        "created_at": body["created_at"],
        "data": {"patient": referred_patient.reference, "document": "d-1"},
    }
    assert body["created_at"].endswith("Z")
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Conciergerie-Event-Id"] == str(event.id)
    verify(
        body=request.body,
        header=request.headers[SIGNATURE_HEADER],
        secret=subscription.plain_secret,
    )
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == WebhookDelivery.State.SUCCEEDED
    assert delivery.message.state == Message.State.SENT
    assert delivery.message.channel == "webhook"


def test_only_organisations_that_may_see_the_object_hear_of_it(
    subscription, laboratory, receiver, referred_patient
):
    services.subscribe(
        organisation=laboratory,
        url=receiver.url + "/lab",
        event_types=[EventType.DOCUMENT_ADDED],
    )

    event = services.publish_event(
        event_type=EventType.DOCUMENT_ADDED,
        about=referred_patient,
        payload={"patient": referred_patient.reference},
    )

    assert [d.subscription for d in event.deliveries.all()] == [subscription]


def test_named_organisations_receive_without_a_visibility_check(
    subscription, laboratory
):
    event = services.publish_event(
        event_type=EventType.INVOICE_ISSUED,
        organisations=[subscription.organisation, laboratory],
        payload={"id": "inv-1"},
    )

    assert event.deliveries.count() == 1


def test_nobody_listening_leaves_no_trace(clinic, referred_patient):
    event = services.publish_event(
        event_type=EventType.CLAIM_UPDATED,
        about=referred_patient,
        payload={"id": "c-1"},
    )

    assert event is None
    assert not WebhookEvent.objects.exists()
    assert not Message.objects.exists()


def test_an_unknown_event_type_is_refused(clinic):
    with pytest.raises(ValidationError) as error:
        services.publish_event(
            event_type="patient.deleted", organisations=[clinic], payload={}
        )

    assert error.value.code == "unknown_event"


def test_a_500_is_retried_later_with_the_same_body_and_a_fresh_signature(
    subscription, referred_patient, receiver, django_capture_on_commit_callbacks
):
    receiver.answer(500)

    publish(
        django_capture_on_commit_callbacks,
        event_type=EventType.DOCUMENT_ADDED,
        about=referred_patient,
        payload={"patient": referred_patient.reference},
    )
    delivery = WebhookDelivery.objects.get()
    message = Message.objects.get(pk=delivery.message_id)
    assert message.state == Message.State.PENDING
    assert message.error_code == "http_500"
    assert message.next_attempt_at > timezone.now() + timedelta(seconds=50)
    delivery.refresh_from_db()
    assert delivery.state == WebhookDelivery.State.PENDING

    retry_now(delivery)

    delivery.refresh_from_db()
    assert delivery.state == WebhookDelivery.State.SUCCEEDED
    first, second = receiver.requests
    assert first.body == second.body
    assert second.headers["X-Conciergerie-Attempt"] == "2"
    verify(
        body=second.body,
        header=second.headers[SIGNATURE_HEADER],
        secret=subscription.plain_secret,
    )
    assert list(
        WebhookAttempt.objects.filter(delivery=delivery).values_list(
            "status_code", "succeeded"
        )
    ) == [(500, False), (200, True)]
    subscription.refresh_from_db()
    assert subscription.failing_since is None
    assert subscription.last_success_at is not None


def test_a_permanently_failing_endpoint_is_disabled_and_its_contact_emailed(
    subscription,
    referred_patient,
    receiver,
    settings,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    settings.WEBHOOK_DISABLE_AFTER_FAILED_DELIVERIES = 1
    receiver.default_status = 503
    publish(
        django_capture_on_commit_callbacks,
        event_type=EventType.DOCUMENT_ADDED,
        about=referred_patient,
        payload={"patient": referred_patient.reference},
    )
    delivery = WebhookDelivery.objects.get()
    waiting = services.publish_event(
        event_type=EventType.INVOICE_ISSUED,
        organisations=[subscription.organisation],
        payload={"id": "inv-1"},
    ).deliveries.get()

    with django_capture_on_commit_callbacks(execute=True):
        retry_now(delivery)
        retry_now(delivery)

    assert len(receiver.requests) == 3
    delivery.refresh_from_db()
    assert delivery.state == WebhookDelivery.State.FAILED
    assert delivery.message.state == Message.State.FAILED
    subscription.refresh_from_db()
    assert subscription.is_active is False
    assert "http_503" in subscription.disabled_cause
    waiting.refresh_from_db()
    assert waiting.state == WebhookDelivery.State.CANCELLED
    assert waiting.message.state == Message.State.CANCELLED
    [email] = mailoutbox
    assert email.to == ["integration@clinique-parc.fr"]
    assert receiver.url in email.body


def test_three_days_without_success_disable_even_before_n_failed_deliveries(
    subscription, settings, django_capture_on_commit_callbacks, receiver, clinic
):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    receiver.default_status = 500
    subscription.failing_since = timezone.now() - timedelta(hours=73)
    subscription.save(update_fields=["failing_since"])

    publish(
        django_capture_on_commit_callbacks,
        event_type=EventType.INVOICE_ISSUED,
        organisations=[clinic],
        payload={"id": "inv-1"},
    )

    subscription.refresh_from_db()
    assert subscription.is_active is False
    assert subscription.consecutive_failed_deliveries == 1


def test_a_disabled_subscription_hears_nothing_until_enabled(
    subscription, clinic, receiver, django_capture_on_commit_callbacks
):
    services.disable_subscription(subscription=subscription, cause="test", notify=False)

    assert (
        services.publish_event(
            event_type=EventType.INVOICE_ISSUED, organisations=[clinic], payload={}
        )
        is None
    )
    services.enable_subscription(subscription=subscription)
    publish(
        django_capture_on_commit_callbacks,
        event_type=EventType.INVOICE_ISSUED,
        organisations=[clinic],
        payload={},
    )
    assert len(receiver.requests) == 1


def test_redelivery_sends_the_same_event_id_again(
    subscription, clinic, receiver, django_capture_on_commit_callbacks
):
    event = publish(
        django_capture_on_commit_callbacks,
        event_type=EventType.INVOICE_ISSUED,
        organisations=[clinic],
        payload={"id": "inv-1"},
    )
    first = event.deliveries.get()

    with django_capture_on_commit_callbacks(execute=True):
        again = services.redeliver(delivery=first)

    assert again.redelivery_of == first
    again.refresh_from_db()
    assert again.state == WebhookDelivery.State.SUCCEEDED
    assert [json.loads(r.body)["id"] for r in receiver.requests] == [str(event.id)] * 2


def test_a_delivery_still_being_attempted_cannot_be_redelivered(subscription, clinic):
    event = services.publish_event(
        event_type=EventType.INVOICE_ISSUED, organisations=[clinic], payload={}
    )

    with pytest.raises(ValidationError) as error:
        services.redeliver(delivery=event.deliveries.get())

    assert error.value.code == "still_pending"


def test_after_a_secret_rotation_both_secrets_sign_for_a_while(
    subscription, clinic, receiver, django_capture_on_commit_callbacks
):
    new_secret = services.rotate_subscription_secret(subscription=subscription)

    publish(
        django_capture_on_commit_callbacks,
        event_type=EventType.INVOICE_ISSUED,
        organisations=[clinic],
        payload={},
    )

    [request] = receiver.requests
    header = request.headers[SIGNATURE_HEADER]
    for secret in (new_secret, subscription.plain_secret):
        verify(body=request.body, header=header, secret=secret)


def test_a_private_address_is_refused_in_production(
    subscription, clinic, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False

    publish(
        django_capture_on_commit_callbacks,
        event_type=EventType.INVOICE_ISSUED,
        organisations=[clinic],
        payload={},
    )

    delivery = WebhookDelivery.objects.get()
    assert delivery.state == WebhookDelivery.State.FAILED
    assert delivery.message.error_code == "forbidden_address"


def test_plain_http_urls_are_refused_when_https_is_required(clinic, settings):
    settings.WEBHOOK_REQUIRE_HTTPS = True

    with pytest.raises(ValidationError) as error:
        services.subscribe(
            organisation=clinic,
            url="http://example.org/hooks",
            event_types=[EventType.INVOICE_ISSUED],
        )

    assert error.value.error_dict["url"][0].code == "https_required"


def test_the_default_retry_schedule_spans_about_three_days():
    policy = get_channel("webhook").retry_policy()

    spans = [
        sum(
            (
                retry_delay(
                    attempt=attempt,
                    key=key,
                    base_seconds=policy.base_seconds,
                    max_seconds=policy.max_seconds,
                )
                for attempt in range(1, policy.max_attempts)
            ),
            timedelta(),
        )
        for key in ("a", "b", "c", "d")
    ]

    assert all(timedelta(days=2.7) <= span <= timedelta(days=3.6) for span in spans)
    assert policy.base_seconds == 60


def test_a_test_event_reaches_one_subscription_only(
    subscription, clinic, receiver, django_capture_on_commit_callbacks
):
    other, _ = services.subscribe(
        organisation=clinic,
        url=receiver.url + "/other",
        event_types=[EventType.INVOICE_ISSUED],
    )

    with django_capture_on_commit_callbacks(execute=True):
        services.send_test_event(subscription=other)

    [request] = receiver.requests
    assert request.path == "/hooks/other"
    assert json.loads(request.body)["type"] == "ping"


def test_a_delivery_whose_subscription_was_deleted_fails_at_once(subscription, clinic):
    event = services.publish_event(
        event_type=EventType.INVOICE_ISSUED, organisations=[clinic], payload={}
    )
    message_id = event.deliveries.get().message_id
    subscription.delete()

    message = outbox.send_message(message_id=message_id)

    assert message.state == Message.State.FAILED
    assert message.error_code == "delivery_gone"

"""The "webhook" channel of the outbox: signed JSON POSTs to partners' endpoints.

The outbox gives webhooks what it gives emails and SMS: one row per delivery,
claimed by one worker at a time, retried with backoff, recovered after a crash.
This channel adds what partners need:

- the body is the event's JSON envelope (`id`, `type`, `created_at`, `data`),
  the same bytes at every attempt, so the event id de-duplicates repeats;
- each attempt is signed afresh (`X-Conciergerie-Signature: t=…,v1=…`, see
  `signing.py`), so that a retry three days later still falls in the receiver's
  five-minute replay window;
- any answer other than 2xx, a time-out or a refused connection is retried, with
  a backoff spanning about three days (WEBHOOK_MAX_ATTEMPTS attempts, every
  WEBHOOK_RETRY_BASE_SECONDS doubling up to WEBHOOK_RETRY_MAX_SECONDS); then the
  delivery fails, which may disable the subscription (services.record_attempt_*);
- addresses inside private networks are refused unless
  WEBHOOK_ALLOW_PRIVATE_NETWORKS is on (a partner URL must not reach our own
  services).
"""

import ipaddress
import json
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext_lazy as _

from conciergerie.notifications.channels import (
    BaseChannel,
    DeliveryError,
    Rendered,
    RetryPolicy,
)

from . import services, signing
from .models import WebhookDelivery

USER_AGENT = "Conciergerie-Webhooks/1.0"
EXCERPT_BYTES = 1024


def event_body(delivery: WebhookDelivery) -> str:
    """The exact JSON text sent for a delivery's event."""
    return json.dumps(
        delivery.event.envelope(), ensure_ascii=False, separators=(",", ":")
    )


def _check_destination(url: str) -> None:
    parts = urlsplit(url)
    if settings.WEBHOOK_REQUIRE_HTTPS and parts.scheme != "https":
        raise DeliveryError(
            "Webhook URLs must use https.", code="https_required", transient=False
        )
    if settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS:
        return
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, port)}
    except OSError as error:
        raise DeliveryError(
            f"Cannot resolve {host}: {error}", code="dns_error", transient=True
        ) from error
    for address in addresses:
        if not ipaddress.ip_address(address.split("%")[0]).is_global:
            raise DeliveryError(
                f"{host} resolves to a non-public address ({address}).",
                code="forbidden_address",
                transient=False,
            )


class WebhookChannel(BaseChannel):
    required_suffixes = ()

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=settings.WEBHOOK_MAX_ATTEMPTS,
            base_seconds=settings.WEBHOOK_RETRY_BASE_SECONDS,
            max_seconds=settings.WEBHOOK_RETRY_MAX_SECONDS,
        )

    def validate_recipient(self, to: str) -> None:
        try:
            URLValidator(schemes=["http", "https"])(to)
        except ValidationError as error:
            raise ValidationError(
                _("Enter a valid URL."), code="invalid_recipient"
            ) from error

    def render(self, *, template: str, context: dict[str, Any]) -> Rendered:
        delivery = (
            WebhookDelivery.objects.select_related("event")
            .filter(public_id=context["delivery"])
            .first()
        )
        if delivery is None:
            raise _gone()
        return Rendered(text=event_body(delivery))

    def deliver(self, *, to: str, rendered: Rendered, idempotency_key: str) -> str:
        delivery = (
            WebhookDelivery.objects.select_related(
                "subscription__organisation", "event", "message"
            )
            .filter(message__key=idempotency_key)
            .first()
        )
        if delivery is None:
            raise _gone()
        subscription = delivery.subscription
        if not (subscription.is_active and subscription.organisation.is_active):
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                state=WebhookDelivery.State.CANCELLED
            )
            raise DeliveryError(
                "The subscription is disabled.",
                code="subscription_disabled",
                transient=False,
            )
        attempt = delivery.message.attempts if delivery.message else 1
        started = time.monotonic()
        status_code = None
        excerpt = ""
        try:
            _check_destination(to)
            body = rendered.text.encode("utf-8")
            headers = {
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "X-Conciergerie-Event": delivery.event.event_type,
                "X-Conciergerie-Event-Id": str(delivery.event_id),
                "X-Conciergerie-Delivery": str(delivery.public_id),
                "X-Conciergerie-Attempt": str(attempt),
                signing.SIGNATURE_HEADER: signing.sign(
                    body=body, secrets=subscription.signing_secrets()
                ),
            }
            try:
                with requests.post(
                    to,
                    data=body,
                    headers=headers,
                    timeout=(
                        settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS,
                        settings.WEBHOOK_TIMEOUT_SECONDS,
                    ),
                    allow_redirects=False,
                    stream=True,
                ) as response:
                    status_code = response.status_code
                    excerpt = _excerpt(response)
            except requests.RequestException as error:
                raise DeliveryError(
                    f"{type(error).__name__}: {error}",
                    code="timeout"
                    if isinstance(error, requests.Timeout)
                    else "connection_error",
                    transient=True,
                ) from error
            if not 200 <= status_code < 300:
                raise DeliveryError(
                    f"The endpoint answered {status_code}.",
                    code=f"http_{status_code}",
                    transient=True,
                )
        except DeliveryError as error:
            final = not error.transient or attempt >= self.retry_policy().max_attempts
            services.record_attempt_failure(
                delivery=delivery,
                status_code=status_code,
                error_code=error.code,
                error=str(error),
                duration_ms=_elapsed_ms(started),
                excerpt=excerpt,
                final=final,
            )
            raise
        services.record_attempt_success(
            delivery=delivery,
            status_code=status_code,
            duration_ms=_elapsed_ms(started),
            excerpt=excerpt,
        )
        return str(delivery.public_id)


def _gone() -> DeliveryError:
    # The subscription was deleted while its delivery waited: nothing to retry.
    return DeliveryError(
        "The subscription no longer exists.", code="delivery_gone", transient=False
    )


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _excerpt(response: requests.Response) -> str:
    try:
        raw = response.raw.read(EXCERPT_BYTES, decode_content=True) or b""
    except Exception:  # a broken body says nothing more about the outcome
        return ""
    return raw.decode("utf-8", "replace")

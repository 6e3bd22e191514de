"""Partner organisations, their API keys and their webhooks.

What other apps call:

- `publish_event(event_type=..., about=obj, payload={...})` in the transaction of
  the change (a document added, an invoice issued): every active subscription of
  an organisation that may see `obj` (its model's `visible_to`) gets a signed
  delivery through the outbox, after commit. `organisations=[...]` names the
  recipients instead when the caller knows them (an insurer's claim).
- `partner_users(organisation)` / `organisation_of(user)` to reason about a
  partner as an organisation rather than one account.

Everything else (keys, scopes, subscriptions, redelivery) is called by the admin
and the partner API.
"""

import json
import logging
import secrets
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import AccessToken, Application, RefreshToken

from conciergerie.accounts.models import User
from conciergerie.accounts.roles import Role
from conciergerie.notifications import services as outbox

from .models import (
    Contact,
    EventType,
    Organisation,
    PartnerApplication,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
    validate_scopes,
)

logger = logging.getLogger(__name__)

WEBHOOK_CHANNEL = "webhook"
WEBHOOK_TEMPLATE = "partners/webhook"
DISABLED_TEMPLATE = "partners/emails/webhook_disabled"


# --- Organisations -----------------------------------------------------------------


def partner_users(organisation: Organisation) -> models.QuerySet[User]:
    """The accounts that act for an organisation: its service account and the
    owners of its applications (the same account for applications made here).

    Other apps write `Q(referred_by__in=partner_users(org))` when they need "made
    by this organisation" rather than "made by this account".
    """
    return User.objects.filter(
        Q(partner_organisation=organisation)
        | Q(oauth2_provider_application__partner_profile__organisation=organisation)
    ).distinct()


def organisation_of(user) -> Organisation | None:
    """The partner organisation an account acts for, if any."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return (
        Organisation.objects.filter(
            Q(service_user=user) | Q(applications__application__user=user)
        )
        .distinct()
        .first()
    )


def _service_email(organisation: Organisation) -> str:
    # A reserved top-level domain: the service account never receives mail.
    return f"api-{organisation.public_id.hex[:16]}@partners.invalid"


@transaction.atomic
def create_organisation(
    *,
    name: str,
    kind: str,
    technical_email: str = "",
    technical_name: str = "",
    siret: str = "",
    throttle_rate: str = "",
    notes: str = "",
) -> Organisation:
    """A partner and its service account (partner role), with its technical contact.

    Every application of the organisation will act as the service account, which
    is how `visible_to(user)` in every app isolates one partner from another.
    """
    organisation = Organisation(
        name=name, kind=kind, siret=siret, throttle_rate=throttle_rate, notes=notes
    )
    user = User(email=_service_email(organisation), first_name=name[:150])
    user.set_unusable_password()
    user.save()
    user.groups.add(Group.objects.get_or_create(name=Role.PARTNER)[0])
    organisation.service_user = user
    organisation.full_clean()
    organisation.save()
    if technical_email:
        contact = Contact(
            organisation=organisation,
            role=Contact.Role.TECHNICAL,
            name=technical_name,
            email=technical_email,
        )
        contact.full_clean()
        contact.save()
    return organisation


@transaction.atomic
def set_organisation_active(*, organisation: Organisation, active: bool) -> None:
    """Suspend (or restore) a partner: its tokens die, its account and hooks stop."""
    organisation = Organisation.objects.select_for_update().get(pk=organisation.pk)
    organisation.is_active = active
    organisation.save(update_fields=["is_active", "updated_at"])
    User.objects.filter(pk=organisation.service_user_id).update(is_active=active)
    if not active:
        applications = Application.objects.filter(
            partner_profile__organisation=organisation
        )
        _revoke_tokens(applications)


# --- Applications and keys --------------------------------------------------------


def _revoke_tokens(applications: models.QuerySet) -> int:
    """Delete the access tokens and revoke the refresh tokens of applications."""
    now = timezone.now()
    RefreshToken.objects.filter(
        application__in=applications, revoked__isnull=True
    ).update(revoked=now)
    deleted, _detail = AccessToken.objects.filter(application__in=applications).delete()
    return deleted


@transaction.atomic
def create_application(
    *, organisation: Organisation, name: str, scopes: Iterable[str]
) -> tuple[PartnerApplication, str]:
    """A client-credentials application of the organisation; returns its secret.

    The secret is stored hashed: this is the only time it can be shown.
    """
    scopes = sorted(set(scopes))
    validate_scopes(scopes)
    secret = generate_client_secret()
    application = Application.objects.create(
        name=name,
        user=organisation.service_user,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=secret,
        hash_client_secret=True,
    )
    profile = PartnerApplication.objects.create(
        application=application, organisation=organisation, allowed_scopes=scopes
    )
    return profile, secret


@transaction.atomic
def rotate_application_secret(*, profile: PartnerApplication) -> str:
    """Replace the client secret; the old one stops working at once.

    Tokens already issued stay valid until they expire (one hour at most), so
    that a partner switching over loses no request; revoke to cut them too.
    """
    profile = PartnerApplication.objects.select_for_update().get(pk=profile.pk)
    if profile.is_revoked:
        raise ValidationError(
            _("A revoked application cannot get a new secret."), code="revoked"
        )
    secret = generate_client_secret()
    application = profile.application
    application.client_secret = secret
    application.hash_client_secret = True
    application.save()
    profile.secret_rotated_at = timezone.now()
    profile.save(update_fields=["secret_rotated_at", "updated_at"])
    return secret


@transaction.atomic
def revoke_application(*, profile: PartnerApplication, by=None) -> PartnerApplication:
    """Cut an application off for good: its tokens die, it can get no new ones."""
    profile = PartnerApplication.objects.select_for_update().get(pk=profile.pk)
    if profile.is_revoked:
        return profile
    profile.revoked_at = timezone.now()
    profile.revoked_by = by if by is not None and by.is_authenticated else None
    profile.save(update_fields=["revoked_at", "revoked_by", "updated_at"])
    _revoke_tokens(Application.objects.filter(pk=profile.application_id))
    return profile


@transaction.atomic
def set_allowed_scopes(
    *, profile: PartnerApplication, scopes: Iterable[str]
) -> PartnerApplication:
    """Change what an application may ask for; tokens beyond it are revoked."""
    scopes = sorted(set(scopes))
    validate_scopes(scopes)
    profile = PartnerApplication.objects.select_for_update().get(pk=profile.pk)
    profile.allowed_scopes = scopes
    profile.save(update_fields=["allowed_scopes", "updated_at"])
    allowed = set(scopes)
    beyond = [
        token.pk
        for token in AccessToken.objects.filter(application_id=profile.application_id)
        if not set(token.scope.split()) <= allowed
    ]
    AccessToken.objects.filter(pk__in=beyond).delete()
    return profile


# --- Webhook subscriptions ----------------------------------------------------------


def new_signing_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _clean_event_types(event_types: Iterable[str]) -> list[str]:
    chosen = sorted(set(event_types))
    unknown = [value for value in chosen if value not in EventType.subscribable()]
    if not chosen or unknown:
        raise ValidationError(
            {
                "event_types": ValidationError(
                    _("Choose events among: %(events)s."),
                    code="unknown_event",
                    params={"events": ", ".join(EventType.subscribable())},
                )
            }
        )
    return chosen


def validate_webhook_url(url: str) -> None:
    """HTTPS only (unless WEBHOOK_REQUIRE_HTTPS is off, for development)."""
    if settings.WEBHOOK_REQUIRE_HTTPS and not url.lower().startswith("https://"):
        raise ValidationError(
            {"url": ValidationError(_("Use an https:// URL."), code="https_required")}
        )


@transaction.atomic
def subscribe(
    *,
    organisation: Organisation,
    url: str,
    event_types: Iterable[str],
    description: str = "",
) -> tuple[WebhookSubscription, str]:
    """Subscribe a URL to events; returns the subscription and its secret."""
    validate_webhook_url(url)
    secret = new_signing_secret()
    subscription = WebhookSubscription(
        organisation=organisation,
        url=url,
        event_types=_clean_event_types(event_types),
        description=description,
        secret=secret,
    )
    subscription.full_clean(exclude=["secret", "previous_secret"])
    subscription.save()
    return subscription, secret


@transaction.atomic
def update_subscription(
    *,
    subscription: WebhookSubscription,
    url: str | None = None,
    event_types: Iterable[str] | None = None,
    description: str | None = None,
) -> WebhookSubscription:
    """Change the URL, the events or the description of a subscription."""
    subscription = WebhookSubscription.objects.select_for_update().get(
        pk=subscription.pk
    )
    fields = ["updated_at"]
    if url is not None:
        validate_webhook_url(url)
        subscription.url = url
        fields.append("url")
    if event_types is not None:
        subscription.event_types = _clean_event_types(event_types)
        fields.append("event_types")
    if description is not None:
        subscription.description = description
        fields.append("description")
    subscription.full_clean(exclude=["secret", "previous_secret"])
    subscription.save(update_fields=fields)
    return subscription


@transaction.atomic
def rotate_subscription_secret(
    *, subscription: WebhookSubscription, overlap_hours: int | None = None
) -> str:
    """A new signing secret; the old one also signs for `overlap_hours` (24 h)."""
    subscription = WebhookSubscription.objects.select_for_update().get(
        pk=subscription.pk
    )
    hours = (
        settings.WEBHOOK_SECRET_OVERLAP_HOURS
        if overlap_hours is None
        else overlap_hours
    )
    secret = new_signing_secret()
    subscription.previous_secret = subscription.secret if hours > 0 else ""
    subscription.previous_secret_expires_at = (
        timezone.now() + timedelta(hours=hours) if hours > 0 else None
    )
    subscription.secret = secret
    subscription.save(
        update_fields=[
            "secret",
            "previous_secret",
            "previous_secret_expires_at",
            "updated_at",
        ]
    )
    return secret


@transaction.atomic
def disable_subscription(
    *, subscription: WebhookSubscription, cause: str, notify: bool = True
) -> WebhookSubscription:
    """Stop sending to a subscription; waiting deliveries are cancelled.

    With `notify`, the organisation's technical contacts are emailed (through the
    outbox) so that they can fix their endpoint and ask for it to be enabled.
    """
    subscription = WebhookSubscription.objects.select_for_update().get(
        pk=subscription.pk
    )
    if not subscription.is_active:
        return subscription
    now = timezone.now()
    subscription.is_active = False
    subscription.disabled_at = now
    subscription.disabled_cause = cause[:200]
    subscription.save(
        update_fields=["is_active", "disabled_at", "disabled_cause", "updated_at"]
    )
    subject = outbox.subject_for(subscription)
    outbox.cancel_messages(subject=subject, templates=[WEBHOOK_TEMPLATE])
    subscription.deliveries.filter(state=WebhookDelivery.State.PENDING).filter(
        Q(message__isnull=True) | ~Q(message__state="sending")
    ).update(state=WebhookDelivery.State.CANCELLED, updated_at=now)
    if notify:
        _notify_disabled(subscription, now=now)
    return subscription


def _notify_disabled(subscription: WebhookSubscription, *, now) -> None:
    organisation = subscription.organisation
    recipients = organisation.technical_emails() or [settings.ON_DUTY_EMAIL]
    subject = outbox.subject_for(subscription)
    for index, email in enumerate(recipients):
        outbox.schedule_message(
            key=outbox.message_key(
                subject=subject,
                kind=f"disabled@{now:%Y%m%dT%H%M%S}-{index}",
                channel="email",
            ),
            subject=subject,
            channel="email",
            to=email,
            template=DISABLED_TEMPLATE,
            context={
                "organisation": organisation.name,
                "url": subscription.url,
                "cause": subscription.disabled_cause,
                "failing_since": subscription.failing_since or now,
                "disabled_at": now,
            },
            due_at=now,
            language="fr",
        )


@transaction.atomic
def enable_subscription(*, subscription: WebhookSubscription) -> WebhookSubscription:
    """Send again to a subscription (after its owner fixed the endpoint)."""
    subscription = WebhookSubscription.objects.select_for_update().get(
        pk=subscription.pk
    )
    subscription.is_active = True
    subscription.disabled_at = None
    subscription.disabled_cause = ""
    subscription.failing_since = None
    subscription.consecutive_failed_deliveries = 0
    subscription.save(
        update_fields=[
            "is_active",
            "disabled_at",
            "disabled_cause",
            "failing_since",
            "consecutive_failed_deliveries",
            "updated_at",
        ]
    )
    return subscription


@transaction.atomic
def delete_subscription(*, subscription: WebhookSubscription) -> None:
    """Forget a subscription; its waiting deliveries are cancelled first."""
    outbox.cancel_messages(
        subject=outbox.subject_for(subscription), templates=[WEBHOOK_TEMPLATE]
    )
    subscription.delete()


# --- Events and deliveries -----------------------------------------------------------


def _may_see(user: User, obj: models.Model) -> bool:
    manager = getattr(type(obj), "objects", None)
    if manager is None or not hasattr(manager, "visible_to"):
        raise TypeError(f"{type(obj).__name__} has no visible_to(user) queryset")
    return manager.visible_to(user).filter(pk=obj.pk).exists()


def _json_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(dict(payload), cls=DjangoJSONEncoder))


def publish_event(
    *,
    event_type: str,
    payload: Mapping[str, Any],
    about: models.Model | None = None,
    organisations: Iterable[Organisation] | None = None,
) -> WebhookEvent | None:
    """Tell the subscribed partners that something happened; None if nobody listens.

    Call it inside the transaction of the change: the event and its deliveries
    commit with it, and the outbox sends them after commit (at least once, each
    signed, retried for about three days). Recipients are the active
    subscriptions to `event_type` of the `organisations` given, or else of every
    organisation whose account may see `about` (through its model's
    `visible_to`). Keep `payload` small and free of medical details: ids, a
    reference, a state; partners read the rest through the API.
    """
    if event_type not in EventType.values:
        raise ValidationError(
            _("Unknown event %(event)s."),
            code="unknown_event",
            params={"event": event_type},
        )
    if about is None and organisations is None:
        raise ValueError("publish_event needs `about` or `organisations`")
    candidates = WebhookSubscription.objects.for_event(event_type).select_related(
        "organisation__service_user"
    )
    if organisations is not None:
        candidates = candidates.filter(
            organisation__in=[organisation.pk for organisation in organisations]
        )
    subscriptions = list(candidates)
    if about is not None:
        allowed: dict[int, bool] = {}
        for subscription in subscriptions:
            organisation = subscription.organisation
            if organisation.pk not in allowed:
                allowed[organisation.pk] = _may_see(organisation.service_user, about)
        subscriptions = [s for s in subscriptions if allowed[s.organisation_id]]
    if not subscriptions:
        return None
    with transaction.atomic():
        event = WebhookEvent.objects.create(
            event_type=event_type, payload=_json_payload(payload)
        )
        for subscription in subscriptions:
            _schedule_delivery(event=event, subscription=subscription)
    return event


def _schedule_delivery(
    *,
    event: WebhookEvent,
    subscription: WebhookSubscription,
    redelivery_of: WebhookDelivery | None = None,
) -> WebhookDelivery:
    delivery = WebhookDelivery.objects.create(
        event=event, subscription=subscription, redelivery_of=redelivery_of
    )
    subject = outbox.subject_for(subscription)
    delivery.message = outbox.schedule_message(
        key=outbox.message_key(
            subject=subject, kind=f"delivery-{delivery.public_id}", channel="webhook"
        ),
        subject=subject,
        channel=WEBHOOK_CHANNEL,
        to=subscription.url,
        template=WEBHOOK_TEMPLATE,
        context={"delivery": str(delivery.public_id)},
        due_at=timezone.now(),
        language="en",
    )
    delivery.save(update_fields=["message", "updated_at"])
    return delivery


@transaction.atomic
def send_test_event(*, subscription: WebhookSubscription) -> WebhookDelivery:
    """A `ping` event to one subscription, to check an endpoint and its signature."""
    if not subscription.is_active:
        raise ValidationError(
            _("This subscription is disabled: enable it first."), code="disabled"
        )
    event = WebhookEvent.objects.create(
        event_type=EventType.PING,
        payload={"subscription": str(subscription.public_id)},
    )
    return _schedule_delivery(event=event, subscription=subscription)


@transaction.atomic
def redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send an event again to the same subscription, under the same event id."""
    delivery = WebhookDelivery.objects.select_related("subscription").get(
        pk=delivery.pk
    )
    if delivery.state == WebhookDelivery.State.PENDING:
        raise ValidationError(
            _("This delivery is still being attempted."), code="still_pending"
        )
    if not delivery.subscription.is_active:
        raise ValidationError(
            _("This subscription is disabled: enable it first."), code="disabled"
        )
    return _schedule_delivery(
        event=delivery.event,
        subscription=delivery.subscription,
        redelivery_of=delivery,
    )


# --- Attempts (called by the webhook channel) ---------------------------------------


def record_attempt_success(
    *, delivery: WebhookDelivery, status_code: int, duration_ms: int, excerpt: str
) -> None:
    now = timezone.now()
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery,
            attempted_at=now,
            status_code=status_code,
            succeeded=True,
            duration_ms=duration_ms,
            response_excerpt=excerpt,
        )
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            state=WebhookDelivery.State.SUCCEEDED,
            attempts=models.F("attempts") + 1,
            last_status_code=status_code,
            last_error="",
            last_attempt_at=now,
            succeeded_at=now,
            updated_at=now,
        )
        WebhookSubscription.objects.filter(pk=delivery.subscription_id).update(
            failing_since=None,
            consecutive_failed_deliveries=0,
            last_success_at=now,
            updated_at=now,
        )


def record_attempt_failure(
    *,
    delivery: WebhookDelivery,
    status_code: int | None,
    error_code: str,
    error: str,
    duration_ms: int,
    excerpt: str,
    final: bool,
) -> None:
    """Log a failed attempt; a final one may disable the subscription.

    A subscription is disabled when a delivery has failed every attempt and
    either no delivery succeeded for WEBHOOK_DISABLE_AFTER_HOURS (72) or
    WEBHOOK_DISABLE_AFTER_FAILED_DELIVERIES deliveries in a row failed for good.
    """
    now = timezone.now()
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery,
            attempted_at=now,
            status_code=status_code,
            error_code=error_code[:64],
            error=error[:2000],
            duration_ms=duration_ms,
            response_excerpt=excerpt,
        )
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            state=(
                WebhookDelivery.State.FAILED if final else WebhookDelivery.State.PENDING
            ),
            attempts=models.F("attempts") + 1,
            last_status_code=status_code,
            last_error=error[:2000],
            last_attempt_at=now,
            failed_at=now if final else None,
            updated_at=now,
        )
        subscription = WebhookSubscription.objects.select_for_update().get(
            pk=delivery.subscription_id
        )
        fields = ["updated_at"]
        if subscription.failing_since is None:
            subscription.failing_since = now
            fields.append("failing_since")
        if final:
            subscription.consecutive_failed_deliveries += 1
            fields.append("consecutive_failed_deliveries")
        subscription.save(update_fields=fields)
        if (
            final
            and subscription.is_active
            and _persistently_failing(subscription, now)
        ):
            disable_subscription(
                subscription=subscription,
                cause=(
                    gettext(
                        "Deliveries failed for %(hours)s hours (last error: %(error)s)."
                    )
                    % {
                        "hours": int(
                            (now - subscription.failing_since).total_seconds() // 3600
                        ),
                        "error": error_code,
                    }
                ),
            )


def _persistently_failing(subscription: WebhookSubscription, now) -> bool:
    failing_for = now - (subscription.failing_since or now)
    return (
        failing_for >= timedelta(hours=settings.WEBHOOK_DISABLE_AFTER_HOURS)
        or subscription.consecutive_failed_deliveries
        >= settings.WEBHOOK_DISABLE_AFTER_FAILED_DELIVERIES
    )

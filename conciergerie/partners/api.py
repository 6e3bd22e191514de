"""Partner API of webhooks: subscribe, inspect deliveries, test, rotate the secret.

A partner manages its organisation's subscriptions only (scope `webhooks`); any
other id answers 404. Secrets are returned once, when made.
"""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from conciergerie.api import CreatedCursorPagination, ErrorSerializer

from . import services
from .models import EventType, Organisation, WebhookDelivery, WebhookSubscription

SCOPES = {"read": ["webhooks"], "write": ["webhooks"]}

SUBSCRIPTION_EXAMPLE = {
    "id": "6f4b1c9e-3a52-4c1e-9d8e-1b2f3a4c5d6e",
    "url": "https://integration.clinique-exemple.fr/conciergerie/webhooks",
    "event_types": ["document.added", "invoice.issued"],
    "description": "Production endpoint",
    "is_active": True,
    "disabled_at": None,
    "disabled_cause": "",
    "failing_since": None,
    "last_success_at": "2026-03-02T08:15:04Z",
    "created_at": "2026-02-20T10:00:00Z",
}
SECRET_EXAMPLE = "whsec_Jx8cYtq0nq3W7aZ2mKc5bVx1sR9uP4eD6fH8gJ0kL2M"  # noqa: S105


def organisation_or_403(request: Request) -> Organisation:
    organisation = services.organisation_of(request.user)
    if organisation is None or not organisation.is_active:
        raise exceptions.PermissionDenied(
            _("Only partner organisations have webhooks."), code="not_a_partner"
        )
    return organisation


def subscription_or_404(request: Request, id) -> WebhookSubscription:
    organisation = organisation_or_403(request)
    return get_object_or_404(
        WebhookSubscription.objects.filter(organisation=organisation), public_id=id
    )


class SubscriptionOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    url = serializers.URLField()
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.subscribable())
    )
    description = serializers.CharField()
    is_active = serializers.BooleanField(
        help_text="False once disabled after persistent failures (or by you)."
    )
    disabled_at = serializers.DateTimeField(allow_null=True)
    disabled_cause = serializers.CharField()
    failing_since = serializers.DateTimeField(allow_null=True)
    last_success_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class SubscriptionWithSecretSerializer(SubscriptionOutputSerializer):
    secret = serializers.CharField(
        help_text="Signs every delivery (X-Conciergerie-Signature); shown only now."
    )


class SecretSerializer(serializers.Serializer):
    secret = serializers.CharField()
    previous_secret_valid_until = serializers.DateTimeField(allow_null=True)


class SubscriptionInputSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=300, help_text="An https:// URL.")
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.subscribable()),
        min_length=1,
        max_length=len(EventType.subscribable()),
    )
    description = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )


class SubscriptionUpdateSerializer(SubscriptionInputSerializer):
    url = serializers.URLField(max_length=300, required=False)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.subscribable()),
        min_length=1,
        max_length=len(EventType.subscribable()),
        required=False,
    )
    description = serializers.CharField(
        max_length=200, required=False, allow_blank=True
    )


class DeliverySerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    event_id = serializers.UUIDField()
    event_type = serializers.CharField(source="event.event_type")
    state = serializers.ChoiceField(choices=WebhookDelivery.State.choices)
    attempts = serializers.IntegerField()
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    succeeded_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class DeliveryPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = DeliverySerializer(many=True)


DELIVERY_EXAMPLE = {
    "id": "0b8a7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
    "event_id": "2c9d8e7f-6a5b-4c3d-8e2f-1a0b9c8d7e6f",
    "event_type": "invoice.issued",
    "state": "succeeded",
    "attempts": 2,
    "last_status_code": 200,
    "last_error": "",
    "last_attempt_at": "2026-03-02T08:16:10Z",
    "succeeded_at": "2026-03-02T08:16:10Z",
    "created_at": "2026-03-02T08:15:04Z",
}


class TestEventSerializer(serializers.Serializer):
    delivery_id = serializers.UUIDField()
    event_id = serializers.UUIDField()


class WebhookCollectionApi(APIView):
    """Your organisation's webhook subscriptions."""

    required_scopes = SCOPES

    @extend_schema(
        operation_id="webhooks_list",
        summary="List webhook subscriptions",
        description="Every subscription of your organisation. Scope webhooks.",
        responses={200: SubscriptionOutputSerializer(many=True), 403: ErrorSerializer},
        examples=[
            OpenApiExample(
                "One subscription", value=[SUBSCRIPTION_EXAMPLE], response_only=True
            )
        ],
    )
    def get(self, request: Request) -> Response:
        organisation = organisation_or_403(request)
        subscriptions = WebhookSubscription.objects.filter(organisation=organisation)
        return Response(SubscriptionOutputSerializer(subscriptions, many=True).data)

    @extend_schema(
        operation_id="webhooks_create",
        summary="Subscribe a URL to events",
        description=(
            "Deliveries are POSTs of `{id, type, created_at, data}` signed with the "
            "returned secret in `X-Conciergerie-Signature: t=<unix time>,v1=<hex "
            "HMAC-SHA256 of '<t>.<body>'>`; refuse timestamps older than 5 minutes "
            "and de-duplicate on `id` (at-least-once delivery). Non-2xx answers are "
            "retried with exponential backoff for about 3 days; then the "
            "subscription is disabled and your technical contact emailed. The "
            "secret is shown only in this response. Scope webhooks."
        ),
        request=SubscriptionInputSerializer,
        responses={
            201: SubscriptionWithSecretSerializer,
            400: ErrorSerializer,
            403: ErrorSerializer,
        },
        examples=[
            OpenApiExample(
                "Documents and invoices",
                value={
                    "url": SUBSCRIPTION_EXAMPLE["url"],
                    "event_types": ["document.added", "invoice.issued"],
                    "description": "Production endpoint",
                },
                request_only=True,
            ),
            OpenApiExample(
                "Created",
                value={**SUBSCRIPTION_EXAMPLE, "secret": SECRET_EXAMPLE},
                response_only=True,
                status_codes=["201"],
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        organisation = organisation_or_403(request)
        serializer = SubscriptionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subscription, secret = services.subscribe(
            organisation=organisation, **serializer.validated_data
        )
        data = SubscriptionOutputSerializer(subscription).data
        return Response(
            {**data, "secret": secret},
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/api/v1/webhooks/{subscription.public_id}/"},
        )


class WebhookDetailApi(APIView):
    """One subscription: read, change, delete."""

    required_scopes = SCOPES

    @extend_schema(
        operation_id="webhooks_retrieve",
        summary="Read a webhook subscription",
        description="Its events, state and failure record. Scope webhooks.",
        responses={200: SubscriptionOutputSerializer, 404: ErrorSerializer},
        examples=[
            OpenApiExample("Active", value=SUBSCRIPTION_EXAMPLE, response_only=True)
        ],
    )
    def get(self, request: Request, id) -> Response:
        subscription = subscription_or_404(request, id)
        return Response(SubscriptionOutputSerializer(subscription).data)

    @extend_schema(
        operation_id="webhooks_update",
        summary="Change a webhook subscription",
        description="Change its URL, events or description. Scope webhooks.",
        request=SubscriptionUpdateSerializer,
        responses={
            200: SubscriptionOutputSerializer,
            400: ErrorSerializer,
            404: ErrorSerializer,
        },
        examples=[
            OpenApiExample(
                "More events",
                value={
                    "event_types": [
                        "document.added",
                        "invoice.issued",
                        "claim.updated",
                    ]
                },
                request_only=True,
            ),
            OpenApiExample("Changed", value=SUBSCRIPTION_EXAMPLE, response_only=True),
        ],
    )
    def patch(self, request: Request, id) -> Response:
        subscription = subscription_or_404(request, id)
        serializer = SubscriptionUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        subscription = services.update_subscription(
            subscription=subscription, **serializer.validated_data
        )
        return Response(SubscriptionOutputSerializer(subscription).data)

    @extend_schema(
        operation_id="webhooks_delete",
        summary="Delete a webhook subscription",
        description="Deliveries still waiting are cancelled. Scope webhooks.",
        responses={204: None, 404: ErrorSerializer},
    )
    def delete(self, request: Request, id) -> Response:
        subscription = subscription_or_404(request, id)
        services.delete_subscription(subscription=subscription)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookRotateSecretApi(APIView):
    """A new signing secret; the previous one keeps signing for 24 hours."""

    required_scopes = SCOPES

    @extend_schema(
        operation_id="webhooks_rotate_secret",
        summary="Rotate the signing secret",
        description=(
            "Deliveries carry two `v1` signatures (new and previous secret) for 24 "
            "hours, time to deploy the new secret. Shown only now. Scope webhooks."
        ),
        request=None,
        responses={200: SecretSerializer, 404: ErrorSerializer},
        examples=[
            OpenApiExample(
                "New secret",
                value={
                    "secret": SECRET_EXAMPLE,
                    "previous_secret_valid_until": "2026-03-03T08:00:00Z",
                },
                response_only=True,
            )
        ],
    )
    def post(self, request: Request, id) -> Response:
        subscription = subscription_or_404(request, id)
        secret = services.rotate_subscription_secret(subscription=subscription)
        subscription.refresh_from_db()
        return Response(
            SecretSerializer(
                {
                    "secret": secret,
                    "previous_secret_valid_until": (
                        subscription.previous_secret_expires_at
                    ),
                }
            ).data
        )


class WebhookTestApi(APIView):
    """Send a `ping` event now, to check the endpoint and its signature check."""

    required_scopes = SCOPES

    @extend_schema(
        operation_id="webhooks_test",
        summary="Send a test event",
        description=(
            "Queues a `ping` event (`data: {subscription}`) to this subscription; "
            "follow it in the deliveries. Scope webhooks."
        ),
        request=None,
        responses={
            202: TestEventSerializer,
            400: ErrorSerializer,
            404: ErrorSerializer,
        },
        examples=[
            OpenApiExample(
                "Queued",
                value={
                    "delivery_id": DELIVERY_EXAMPLE["id"],
                    "event_id": DELIVERY_EXAMPLE["event_id"],
                },
                response_only=True,
                status_codes=["202"],
            )
        ],
    )
    def post(self, request: Request, id) -> Response:
        subscription = subscription_or_404(request, id)
        delivery = services.send_test_event(subscription=subscription)
        return Response(
            {
                "delivery_id": str(delivery.public_id),
                "event_id": str(delivery.event_id),
            },
            status=status.HTTP_202_ACCEPTED,
        )


class WebhookEnableApi(APIView):
    """Start delivering again to a subscription disabled after failures."""

    required_scopes = SCOPES

    @extend_schema(
        operation_id="webhooks_enable",
        summary="Enable a disabled subscription",
        description=(
            "Once your endpoint answers 2xx again. Events missed meanwhile can be "
            "redelivered from their delivery. Scope webhooks."
        ),
        request=None,
        responses={200: SubscriptionOutputSerializer, 404: ErrorSerializer},
        examples=[
            OpenApiExample("Enabled", value=SUBSCRIPTION_EXAMPLE, response_only=True)
        ],
    )
    def post(self, request: Request, id) -> Response:
        subscription = subscription_or_404(request, id)
        subscription = services.enable_subscription(subscription=subscription)
        return Response(SubscriptionOutputSerializer(subscription).data)


class WebhookDeliveryListApi(APIView):
    """The deliveries of one subscription, newest first."""

    required_scopes = SCOPES

    @extend_schema(
        operation_id="webhooks_deliveries",
        summary="List deliveries",
        description=(
            "Each event sent to this subscription, its attempts and outcome, by "
            "cursor pages. Scope webhooks."
        ),
        responses={200: DeliveryPageSerializer, 404: ErrorSerializer},
        examples=[
            OpenApiExample(
                "A page",
                value={"next": None, "previous": None, "results": [DELIVERY_EXAMPLE]},
                response_only=True,
            )
        ],
    )
    def get(self, request: Request, id) -> Response:
        subscription = subscription_or_404(request, id)
        deliveries = subscription.deliveries.select_related("event").order_by(
            "-created_at"
        )
        paginator = CreatedCursorPagination()
        page = paginator.paginate_queryset(deliveries, request, view=self)
        return paginator.get_paginated_response(
            DeliverySerializer(page, many=True).data
        )


class WebhookRedeliverApi(APIView):
    """Send a finished delivery's event again (same event id)."""

    required_scopes = SCOPES

    @extend_schema(
        operation_id="webhooks_redeliver",
        summary="Redeliver an event",
        description=(
            "Sends the event again under the same event id, as a new delivery. "
            "Scope webhooks."
        ),
        request=None,
        responses={202: DeliverySerializer, 400: ErrorSerializer, 404: ErrorSerializer},
        examples=[
            OpenApiExample(
                "Queued",
                value={
                    **DELIVERY_EXAMPLE,
                    "state": "pending",
                    "attempts": 0,
                    "last_status_code": None,
                    "last_attempt_at": None,
                    "succeeded_at": None,
                },
                response_only=True,
                status_codes=["202"],
            )
        ],
    )
    def post(self, request: Request, id) -> Response:
        organisation = organisation_or_403(request)
        delivery = get_object_or_404(
            WebhookDelivery.objects.filter(subscription__organisation=organisation),
            public_id=id,
        )
        delivery = services.redeliver(delivery=delivery)
        return Response(
            DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED
        )

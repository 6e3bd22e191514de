"""Delivery reports from the SMS provider: POST /api/v1/notifications/sms-status/."""

import hashlib
import hmac

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from conciergerie.api import ErrorSerializer

from . import services
from .models import Channel, Message

SIGNATURE_HEADER = "X-Signature"

DELIVERED = {"delivered"}
UNDELIVERED = {"failed", "undelivered", "rejected", "expired"}
INTERIM = {"accepted", "queued", "sent", "buffered"}


def sign(body: bytes, secret: str) -> str:
    """The header value a provider sends: `sha256=` and the body's HMAC-SHA256."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class SmsStatusApi(APIView):
    """The provider tells whether an SMS reached the phone.

    Authenticated by an HMAC-SHA256 of the raw body with `SMS_CALLBACK_SECRET`,
    not by OAuth: providers sign their callbacks. Reports are idempotent; interim
    statuses (`accepted`, `sent`…) are acknowledged and change nothing.
    """

    authentication_classes: list = []
    permission_classes: list = []
    # Providers report in bursts after a campaign; the signature is the gate.
    throttle_classes: list = []
    parser_classes = [JSONParser]

    class InputSerializer(serializers.Serializer):
        id = serializers.CharField(max_length=200)
        status = serializers.ChoiceField(
            choices=sorted(DELIVERED | UNDELIVERED | INTERIM)
        )
        error = serializers.CharField(required=False, allow_blank=True, max_length=2000)

    class OutputSerializer(serializers.Serializer):
        id = serializers.CharField(source="provider_id")
        state = serializers.CharField()

    @extend_schema(
        operation_id="notifications_sms_status",
        summary="Report the delivery of an SMS (for the SMS provider)",
        auth=[],
        parameters=[
            OpenApiParameter(
                SIGNATURE_HEADER,
                location=OpenApiParameter.HEADER,
                required=True,
                description="`sha256=` followed by the hex HMAC-SHA256 of the raw "
                "body, keyed with the shared callback secret.",
            )
        ],
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            400: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
        },
        examples=[
            OpenApiExample(
                "Delivered",
                value={"id": "msg_8f2c", "status": "delivered"},
                request_only=True,
            )
        ],
    )
    def post(self, request):
        self._check_signature(request)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            message = Message.objects.filter(
                channel=Channel.SMS, provider_id=data["id"]
            ).latest("pk")
            if data["status"] not in INTERIM:
                message = services.record_delivery_status(
                    channel=Channel.SMS,
                    provider_id=data["id"],
                    delivered=data["status"] in DELIVERED,
                    error=data.get("error", "") or data["status"],
                )
        except Message.DoesNotExist:
            raise exceptions.NotFound(code="unknown_message") from None
        return Response(self.OutputSerializer(message).data)

    @staticmethod
    def _check_signature(request) -> None:
        secret = settings.SMS_CALLBACK_SECRET
        given = request.headers.get(SIGNATURE_HEADER, "")
        # Read before DRF parses the body: the signature covers the exact bytes.
        expected = sign(request.body, secret) if secret else ""
        if not secret or not hmac.compare_digest(given.encode(), expected.encode()):
            raise exceptions.PermissionDenied(code="bad_signature")

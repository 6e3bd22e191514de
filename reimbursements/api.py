"""Insurers' API: the claims addressed to the calling insurer, and its answers.

An insurer (a mutuelle, a fund) holds a partner account; each claim to it names
that account (`payer_partner`). With `claims:read` it lists and reads those
claims and downloads their documents; with `claims:write` it acknowledges them,
records payments and refusals. Another insurer's claim answers 404, as if it did
not exist. Ids are UUIDs; every read of a claim is in the patient's access log.
"""

from decimal import Decimal

from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
)
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from conciergerie.api import ErrorSerializer
from conciergerie.audit.models import AccessLog
from patients.access import AuditObject, audit
from patients.services import document_filename

from . import services
from .models import Claim, ClaimDocument, ClaimEvent

READ = {"read": ["claims:read"]}
WRITE = {"write": ["claims:write"]}

#: What the patients app accepts as documents: what a download may return.
DOCUMENT_TYPES = [
    "application/pdf",
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/heic",
    "image/tiff",
    "application/dicom",
]

CLAIM_EXAMPLE = {
    "id": "5b0f8d2e-7c1a-4f55-9a57-2d6f0f3c9e41",
    "reference": "R-7KQ2MXHV",
    "state": "sent",
    "payer": {
        "kind": "amc",
        "name": "Harmonie Mutuelle",
        "contract_number": "HM-2026-0042",
        "member_number": "00731",
        "file_number": "",
    },
    "beneficiary": {
        "reference": "P-4KX9TZ",
        "last_name": "Petit",
        "first_names": "Camille",
        "birth_date": "1988-05-14",
    },
    "care_date": "2026-03-10",
    "label": "Consultation de spécialiste (CS)",
    "amount_charged": "60.00",
    "amount_expected": "37.95",
    "amount_received": "0.00",
    "amount_outstanding": "37.95",
    "discrepancy_flagged": False,
    "sent_via": "email",
    "sent_at": "2026-03-12T09:30:00+01:00",
    "acknowledged_at": None,
    "paid_at": None,
    "rejected_at": None,
    "rejection_reason": "",
    "documents": [
        {
            "id": "0d7f6a53-33c4-4d1e-8f36-6f0f9ad4d3b2",
            "kind": "care_sheet",
            "download_url": "https://conciergerie.example/api/v1/claims/"
            "5b0f8d2e-7c1a-4f55-9a57-2d6f0f3c9e41/documents/"
            "0d7f6a53-33c4-4d1e-8f36-6f0f9ad4d3b2/",
        }
    ],
    "history": [
        {
            "at": "2026-03-12T09:30:00+01:00",
            "event": "sent",
            "from_state": "draft",
            "to_state": "sent",
            "amount": None,
        }
    ],
    "created_at": "2026-03-11T17:02:00+01:00",
    "updated_at": "2026-03-12T09:30:00+01:00",
}


class BinaryRenderer(BaseRenderer):
    """Lets clients accept the document's type; errors still come as JSON."""

    media_type = "application/octet-stream"
    format = "binary"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes):
            return data
        return JSONRenderer().render(data)


class PayerSerializer(serializers.Serializer):
    kind = serializers.CharField(
        source="payer", help_text="amo (Assurance Maladie) or amc (mutuelle)."
    )
    name = serializers.CharField(source="payer_name")
    contract_number = serializers.CharField(source="payer_contract_number")
    member_number = serializers.CharField(source="payer_member_number")
    file_number = serializers.CharField(
        source="payer_reference", help_text="Your own reference, once given."
    )


class BeneficiarySerializer(serializers.Serializer):
    reference = serializers.CharField()
    last_name = serializers.CharField()
    first_names = serializers.CharField()
    birth_date = serializers.DateField()


class ClaimDocumentSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="document_id")
    kind = serializers.CharField(
        help_text="One of: " + ", ".join(ClaimDocument.Kind.values) + "."
    )
    download_url = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.URI)
    def get_download_url(self, attachment: ClaimDocument) -> str:
        return self.context["request"].build_absolute_uri(
            f"/api/v1/claims/{attachment.claim.public_id}/documents/"
            f"{attachment.document_id}/"
        )


class ClaimHistorySerializer(serializers.Serializer):
    at = serializers.DateTimeField(source="created_at")
    event = serializers.ChoiceField(source="kind", choices=ClaimEvent.Kind.values)
    from_state = serializers.CharField()
    to_state = serializers.CharField()
    amount = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)


class ClaimOutputSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    state = serializers.ChoiceField(choices=Claim.State.values)
    payer = PayerSerializer(source="*")
    beneficiary = BeneficiarySerializer(source="patient")
    amount_outstanding = serializers.DecimalField(max_digits=10, decimal_places=2)
    sent_via = serializers.CharField()
    documents = serializers.SerializerMethodField()
    history = serializers.SerializerMethodField()

    class Meta:
        model = Claim
        fields = [
            "id",
            "reference",
            "state",
            "payer",
            "beneficiary",
            "care_date",
            "label",
            "amount_charged",
            "amount_expected",
            "amount_received",
            "amount_outstanding",
            "discrepancy_flagged",
            "sent_via",
            "sent_at",
            "acknowledged_at",
            "paid_at",
            "rejected_at",
            "rejection_reason",
            "documents",
            "history",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(ClaimDocumentSerializer(many=True))
    def get_documents(self, claim: Claim) -> list:
        attachments = [
            attachment
            for attachment in claim.attachments.all()
            if attachment.document_id is not None
        ]
        return list(
            ClaimDocumentSerializer(attachments, many=True, context=self.context).data
        )

    @extend_schema_field(ClaimHistorySerializer(many=True))
    def get_history(self, claim: Claim) -> list:
        # What happened, not the team's comments: those stay internal.
        events = [event for event in claim.events.all() if event.public]
        return list(ClaimHistorySerializer(events, many=True).data)


def claims_for(request: Request) -> QuerySet:
    return (
        Claim.objects.visible_to(request.user)
        .exclude(state=Claim.State.DRAFT)
        .select_related("patient")
        .prefetch_related("attachments__claim", "events")
    )


def _audit_read(request: Request, claims) -> None:
    """A partner reading a claim reads the beneficiary's care: it is logged."""
    if services.is_claims_staff(request.user):
        return
    for claim in claims:
        if claim.patient.user_id == request.user.pk:
            continue
        audit(
            by=request.user,
            action=AccessLog.Action.READ,
            patient=claim.patient,
            what=AuditObject.INSURANCE,
            object_id=claim.reference,
            request=request,
        )


def _claim_or_404(request: Request, id) -> Claim:
    return get_object_or_404(claims_for(request), public_id=id)


def _output(request: Request, claim: Claim) -> Response:
    claim = _claim_or_404(request, claim.public_id)  # fresh, with its prefetches
    return Response(ClaimOutputSerializer(claim, context={"request": request}).data)


class ClaimListApi(generics.ListAPIView):
    """The claims addressed to the caller, newest first."""

    required_scopes = READ
    serializer_class = ClaimOutputSerializer

    @extend_schema(
        operation_id="claims_list",
        summary="List the claims addressed to me",
        description=(
            "Reimbursement claims sent to the calling insurer (never drafts, never "
            "another insurer's), newest first, 25 a page (`page_size` up to 100). "
            "Scope `claims:read`."
        ),
        parameters=[
            OpenApiParameter(
                "state",
                str,
                enum=[state for state in Claim.State.values if state != "draft"],
                description="Only claims in this state.",
            ),
            OpenApiParameter(
                "updated_since",
                OpenApiTypes.DATETIME,
                description="Only claims changed at or after this instant.",
            ),
        ],
        responses={
            200: ClaimOutputSerializer(many=True),
            401: ErrorSerializer,
            403: ErrorSerializer,
        },
        examples=[
            OpenApiExample(
                "A page of claims",
                value={"next": None, "previous": None, "results": [CLAIM_EXAMPLE]},
                response_only=True,
            )
        ],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        queryset = claims_for(self.request)
        params = self.request.query_params
        if params.get("state"):
            field = serializers.ChoiceField(choices=Claim.State.values)
            try:
                state = field.to_internal_value(params["state"])
            except serializers.ValidationError as error:
                raise serializers.ValidationError({"state": error.detail}) from error
            queryset = queryset.filter(state=state)
        if params.get("updated_since"):
            try:
                since = serializers.DateTimeField().to_internal_value(
                    params["updated_since"]
                )
            except serializers.ValidationError as error:
                raise serializers.ValidationError(
                    {"updated_since": error.detail}
                ) from error
            queryset = queryset.filter(updated_at__gte=since)
        return queryset

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        page = getattr(self.paginator, "page", None) or []
        _audit_read(request, page)
        return response


class ClaimDetailApi(APIView):
    """One claim addressed to the caller."""

    required_scopes = READ

    @extend_schema(
        operation_id="claims_retrieve",
        summary="Read a claim",
        description=(
            "The claim, its beneficiary (as your member file knows them), the "
            "amounts expected and received, its documents and its history. "
            "Scope `claims:read`."
        ),
        responses={
            200: ClaimOutputSerializer,
            401: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
        },
        examples=[OpenApiExample("A claim", value=CLAIM_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, id) -> Response:
        claim = _claim_or_404(request, id)
        _audit_read(request, [claim])
        return Response(ClaimOutputSerializer(claim, context={"request": request}).data)


class ClaimDocumentApi(APIView):
    """A document attached to a claim addressed to the caller."""

    required_scopes = READ
    renderer_classes = [JSONRenderer, BinaryRenderer]

    @extend_schema(
        operation_id="claims_document",
        summary="Download a document of a claim",
        description=(
            "The care sheet, invoice, prescription or proof attached to the claim, "
            "in its own type (PDF or image). Each download is in the patient's "
            "access log. Scope `claims:read`."
        ),
        responses={
            **{(200, media): OpenApiTypes.BINARY for media in DOCUMENT_TYPES},
            401: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
        },
    )
    def get(self, request: Request, id, document_id) -> HttpResponse:
        claim = _claim_or_404(request, id)
        attachment = get_object_or_404(
            claim.attachments.select_related("document__patient"),
            document_id=document_id,
        )
        document = attachment.document
        if document is None:
            raise NotFound
        content = services.open_claim_document(
            claim=claim, attachment=attachment, by=request.user, request=request
        )
        response = HttpResponse(content, content_type=document.content_type)
        response["Content-Disposition"] = (
            f'attachment; filename="{document_filename(document)}"'
        )
        response["Cache-Control"] = "private, no-store"
        return response


class ClaimAcknowledgeApi(APIView):
    """The insurer confirms it received the claim."""

    required_scopes = WRITE

    class InputSerializer(serializers.Serializer):
        file_number = serializers.CharField(
            required=False,
            allow_blank=True,
            max_length=64,
            help_text="Your own reference for this claim, quoted in later answers.",
        )
        comment = serializers.CharField(
            required=False, allow_blank=True, max_length=500
        )

    @extend_schema(
        operation_id="claims_acknowledge",
        summary="Acknowledge a claim",
        description=(
            "Moves a claim from `sent` (or `appealed`) to `acknowledged`; the "
            "concierge stops chasing until the next delay runs out. Scope "
            "`claims:write`. A claim in another state answers 400 "
            "`not_acknowledgeable`."
        ),
        request=InputSerializer,
        responses={
            200: ClaimOutputSerializer,
            400: ErrorSerializer,
            401: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
        },
        examples=[
            OpenApiExample(
                "With your file number",
                value={"file_number": "HM-2026-117733"},
                request_only=True,
            ),
            OpenApiExample(
                "Already answered",
                value={
                    "code": "not_acknowledgeable",
                    "detail": "Only a claim sent or appealed can be acknowledged.",
                    "fields": {
                        "non_field_errors": [
                            {
                                "code": "not_acknowledgeable",
                                "message": "Only a claim sent or appealed can be "
                                "acknowledged.",
                            }
                        ]
                    },
                },
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )
    def post(self, request: Request, id) -> Response:
        claim = _claim_or_404(request, id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        claim = services.acknowledge_claim(
            claim=claim,
            by=request.user,
            payer_reference=data.get("file_number", ""),
            comment=data.get("comment", ""),
        )
        return _output(request, claim)


class ClaimPayApi(APIView):
    """The insurer reports a payment to its member."""

    required_scopes = WRITE

    class InputSerializer(serializers.Serializer):
        amount = serializers.DecimalField(
            max_digits=10,
            decimal_places=2,
            min_value=Decimal("0.01"),
            help_text='Euros paid now, e.g. "37.95"; payments add up.',
        )
        final = serializers.BooleanField(
            required=False,
            default=False,
            help_text=(
                "True when nothing more will be paid for this claim, even if the "
                "total is below what was expected."
            ),
        )
        file_number = serializers.CharField(
            required=False, allow_blank=True, max_length=64
        )
        comment = serializers.CharField(
            required=False, allow_blank=True, max_length=500
        )

    @extend_schema(
        operation_id="claims_pay",
        summary="Record a payment",
        description=(
            "Adds `amount` to what the claim received. Reaching the amount expected "
            "(or `final`) moves it to `paid`, otherwise to `partially_paid`; less "
            "than expected is flagged as a discrepancy for the concierge. The "
            "member is told by email. Refused with 400 `not_payable` when the "
            "claim does not wait for money, `amount_over_charged` when the total "
            "would exceed what the member paid. Scope `claims:write`."
        ),
        request=InputSerializer,
        responses={
            200: ClaimOutputSerializer,
            400: ErrorSerializer,
            401: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
        },
        examples=[
            OpenApiExample(
                "Paid in full", value={"amount": "37.95"}, request_only=True
            ),
            OpenApiExample(
                "Final, below the expected amount",
                value={"amount": "30.00", "final": True, "comment": "Plafond atteint"},
                request_only=True,
            ),
            OpenApiExample(
                "Missing amount",
                value={
                    "code": "invalid",
                    "detail": "Invalid input.",
                    "fields": {
                        "amount": [
                            {"code": "required", "message": "This field is required."}
                        ]
                    },
                },
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )
    def post(self, request: Request, id) -> Response:
        claim = _claim_or_404(request, id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        claim = services.record_claim_payment(
            claim=claim,
            by=request.user,
            amount=data["amount"],
            final=data.get("final", False),
            payer_reference=data.get("file_number", ""),
            comment=data.get("comment", ""),
        )
        return _output(request, claim)


class ClaimRejectApi(APIView):
    """The insurer refuses to pay, saying why."""

    required_scopes = WRITE

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(
            max_length=1000,
            help_text="Shown to the member and the concierge, e.g. contract ended.",
        )

    @extend_schema(
        operation_id="claims_reject",
        summary="Reject a claim",
        description=(
            "Moves a claim awaiting an answer to `rejected`; the reason is shown "
            "to the member, and the concierge may appeal. Scope `claims:write`."
        ),
        request=InputSerializer,
        responses={
            200: ClaimOutputSerializer,
            400: ErrorSerializer,
            401: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
        },
        examples=[
            OpenApiExample(
                "Contract ended",
                value={"reason": "Contrat résilié au 31/12/2025"},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request, id) -> Response:
        claim = _claim_or_404(request, id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        claim = services.reject_claim(
            claim=claim, by=request.user, reason=serializer.validated_data["reason"]
        )
        return _output(request, claim)

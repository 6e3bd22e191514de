"""Partner API of care requests: refer a patient's need, follow its status.

A partner (clinic, laboratory, insurer) creates a referral for a patient it may
see, reads the requests it referred (state, plain-words status, public timeline)
and may cancel them before an appointment is booked. Another partner's request
answers 404. The need itself is never sent back: it stays with the medical team.
"""

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from conciergerie.accounts.roles import Role
from conciergerie.api import CreatedCursorPagination, ErrorSerializer
from conciergerie.audit.models import AccessLog

from .access import AuditObject, audit
from .models import (
    CareRequest,
    Patient,
    Urgency,
    normalise_care_request_reference,
    normalise_reference,
)
from .services import care_requests
from .services.care_requests import RoleNotAllowed

REFERRAL_EXAMPLE = {
    "patient": "P-7K3Q9X",
    "kind": "specialist",
    "need": "Bilan cardiologique demandé après un souffle entendu à l'auscultation.",
    "specialty": "cardiology",
    "partner_reference": "CLIN-2026-0042",
    "preferences": {
        "postal_code": "69003",
        "radius_km": 20,
        "mode": "in_person",
        "languages": ["en"],
        "needed_by": "2026-12-15",
    },
}
EMERGENCY_NUMBERS = [
    "15 (SAMU)",
    "112 (European emergency number)",
    "114 (by SMS, deaf or hard-of-hearing people)",
    "3114 (suicide prevention)",
]


class PreferencesSerializer(serializers.Serializer):
    postal_code = serializers.CharField(
        source="place_postal_code", max_length=5, required=False, allow_blank=True
    )
    commune = serializers.CharField(
        source="place_commune", max_length=120, required=False, allow_blank=True
    )
    radius_km = serializers.IntegerField(min_value=1, max_value=200, required=False)
    available_from = serializers.DateField(required=False, allow_null=True)
    needed_by = serializers.DateField(
        source="available_until", required=False, allow_null=True
    )
    availability_notes = serializers.CharField(
        max_length=300, required=False, allow_blank=True
    )
    languages = serializers.ListField(
        child=serializers.CharField(max_length=8), required=False
    )
    practitioner_gender = serializers.ChoiceField(
        choices=CareRequest.GenderPreference.choices, required=False, allow_blank=True
    )
    max_budget = serializers.DecimalField(
        max_digits=8, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    sector = serializers.ChoiceField(
        choices=CareRequest.SectorPreference.choices, required=False, allow_blank=True
    )
    mode = serializers.ChoiceField(choices=CareRequest.Mode.choices, required=False)
    wheelchair_access = serializers.BooleanField(required=False)


class TimelineSerializer(serializers.Serializer):
    at = serializers.DateTimeField(source="created_at")
    state = serializers.CharField(source="to_state", allow_blank=True)
    text = serializers.CharField(source="public_text")
    note = serializers.CharField(source="public_note", allow_blank=True)


class CareRequestOutputSerializer(serializers.Serializer):
    reference = serializers.CharField(help_text="Public reference, e.g. D-4M7QXR.")
    patient = serializers.CharField(source="patient.reference")
    kind = serializers.ChoiceField(choices=CareRequest.Kind.choices)
    channel = serializers.ChoiceField(choices=CareRequest.IntakeChannel.choices)
    state = serializers.ChoiceField(choices=CareRequest.State.choices)
    status = serializers.CharField(
        source="public_status", help_text="The status in plain words (French)."
    )
    urgency = serializers.ChoiceField(choices=Urgency.choices)
    emergency = serializers.SerializerMethodField(
        help_text="True when red flags put the request on the emergency path."
    )
    emergency_numbers = serializers.SerializerMethodField(
        help_text="Numbers the patient must call now, when `emergency` is true."
    )
    specialty = serializers.CharField(
        allow_blank=True, help_text="Confirmed specialty code, once qualified."
    )
    partner_reference = serializers.CharField(allow_blank=True)
    preferences = PreferencesSerializer(source="*")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    timeline = serializers.SerializerMethodField()

    def get_emergency(self, care_request: CareRequest) -> bool:
        return care_request.state == CareRequest.State.EMERGENCY

    def get_emergency_numbers(self, care_request: CareRequest) -> list[str]:
        if care_request.state != CareRequest.State.EMERGENCY:
            return []
        if care_request.suicidal_risk:
            return [EMERGENCY_NUMBERS[3], *EMERGENCY_NUMBERS[:3]]
        return EMERGENCY_NUMBERS

    @extend_schema_field(TimelineSerializer(many=True))
    def get_timeline(self, care_request: CareRequest) -> list[dict]:
        events = care_request.events.public().order_by("created_at", "pk")
        return list(TimelineSerializer(events, many=True).data)


class CareRequestPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = CareRequestOutputSerializer(many=True)


CARE_REQUEST_EXAMPLE = {
    "reference": "D-4M7QXR",
    "patient": "P-7K3Q9X",
    "kind": "specialist",
    "channel": "api",
    "state": "matching",
    "status": "Nous cherchons le spécialiste qui vous convient.",
    "urgency": "soon",
    "emergency": False,
    "emergency_numbers": [],
    "specialty": "dermatology",
    "partner_reference": "DPI-2026-00042",
    "preferences": {
        "postal_code": "69003",
        "commune": "Lyon",
        "radius_km": 20,
        "available_from": None,
        "needed_by": "2026-03-20",
        "availability_notes": "Plutôt le matin.",
        "languages": ["fr"],
        "practitioner_gender": "",
        "max_budget": None,
        "sector": "",
        "mode": "in_person",
        "wheelchair_access": False,
    },
    "created_at": "2026-03-02T09:12:44Z",
    "updated_at": "2026-03-02T10:05:10Z",
    "timeline": [
        {
            "at": "2026-03-02T09:12:44Z",
            "state": "received",
            "text": "Demande reçue",
            "note": "",
        }
    ],
}


def _raise_as_api(error: RoleNotAllowed) -> None:
    raise exceptions.PermissionDenied(detail=error.message, code=error.code)


def _visible(request, reference: str) -> CareRequest:
    return get_object_or_404(
        CareRequest.objects.visible_to(request.user).select_related("patient"),
        reference=normalise_care_request_reference(reference),
    )


class CareRequestCollectionApi(APIView):
    """List the care requests the caller may see; refer a patient's need."""

    required_scopes = {
        "read": ["care-requests:read"],
        "write": ["care-requests:write"],
    }

    class InputSerializer(serializers.Serializer):
        patient = serializers.CharField(
            max_length=16, help_text="The patient's reference (P-…), from /patients/."
        )
        kind = serializers.ChoiceField(
            choices=CareRequest.Kind.choices, default=CareRequest.Kind.SPECIALIST
        )
        need = serializers.CharField(
            max_length=4000, help_text="The need, in the referrer's or patient's words."
        )
        specialty = serializers.CharField(
            max_length=64,
            required=False,
            allow_blank=True,
            help_text="A specialty code of GET /specialties/, if known.",
        )
        answers = serializers.DictField(
            required=False,
            help_text="Answers to the specialty's intake questions, by question code.",
        )
        preferences = PreferencesSerializer(required=False)
        partner_reference = serializers.CharField(
            max_length=64, required=False, allow_blank=True
        )

    @extend_schema(
        operation_id="care_requests_list",
        summary="List care requests",
        description=(
            "The requests you referred, newest first, by cursor pages; `state` "
            "filters. Scope care-requests:read."
        ),
        parameters=[
            OpenApiParameter(
                "state", str, enum=CareRequest.State.values, required=False
            )
        ],
        responses={200: CareRequestPageSerializer, 403: ErrorSerializer},
        examples=[
            OpenApiExample(
                "One request",
                value={
                    "next": None,
                    "previous": None,
                    "results": [CARE_REQUEST_EXAMPLE],
                },
                response_only=True,
            )
        ],
    )
    def get(self, request):
        requests = (
            CareRequest.objects.visible_to(request.user)
            .select_related("patient")
            .prefetch_related("events")
            .order_by("-created_at")
        )
        state = request.query_params.get("state")
        if state:
            if state not in CareRequest.State.values:
                raise exceptions.ValidationError(
                    {"state": [exceptions.ErrorDetail(_("Unknown state."), "invalid")]}
                )
            requests = requests.filter(state=state)
        paginator = CreatedCursorPagination()
        page = paginator.paginate_queryset(requests, request, view=self)
        return paginator.get_paginated_response(
            CareRequestOutputSerializer(page, many=True).data
        )

    @extend_schema(
        operation_id="care_requests_refer",
        summary="Refer a care request",
        description=(
            "Open a care request for a patient you referred (or who shared their "
            "file with you). The patient must have consented to the processing of "
            "their health data (`consent_required` otherwise). Red flags in the "
            "need put the request on the emergency path at once: the answer then "
            "says `emergency: true` with the numbers the patient must call. Scope "
            "care-requests:write."
        ),
        request=InputSerializer,
        responses={
            201: CareRequestOutputSerializer,
            400: OpenApiResponse(ErrorSerializer, description="consent_required…"),
            403: ErrorSerializer,
        },
        examples=[
            OpenApiExample("Referral", value=REFERRAL_EXAMPLE, request_only=True)
        ],
    )
    def post(self, request):
        user = request.user
        if not (user.has_role(Role.PARTNER) or user.is_back_office):
            raise PermissionDenied
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        patient = (
            Patient.objects.visible_to(user)
            .filter(reference=normalise_reference(data["patient"]))
            .first()
        )
        if patient is None:
            raise exceptions.ValidationError(
                {
                    "patient": [
                        exceptions.ErrorDetail(
                            _("No patient you may see has this reference."),
                            "unknown_patient",
                        )
                    ]
                }
            )
        try:
            care_request = care_requests.submit_care_request(
                patient=patient,
                by=user,
                channel=CareRequest.IntakeChannel.API,
                kind=data["kind"],
                need=data["need"],
                specialty=data.get("specialty", ""),
                answers=data.get("answers") or {},
                preferences=dict(data.get("preferences") or {}),
                partner_reference=data.get("partner_reference", ""),
                request=request,
            )
        except RoleNotAllowed as error:
            _raise_as_api(error)
        return Response(
            CareRequestOutputSerializer(care_request).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/api/v1/care-requests/{care_request.reference}/"},
        )


class CareRequestDetailApi(APIView):
    """One care request the caller may see: state, status and public timeline."""

    required_scopes = {"read": ["care-requests:read"]}

    @extend_schema(
        operation_id="care_requests_retrieve",
        summary="Read a care request",
        description=(
            "A request you referred, its state in plain words and its public "
            "timeline; any other reference answers 404. The read is in the "
            "patient's access log. Scope care-requests:read."
        ),
        responses={200: CareRequestOutputSerializer, 404: ErrorSerializer},
        examples=[
            OpenApiExample("Matching", value=CARE_REQUEST_EXAMPLE, response_only=True)
        ],
    )
    def get(self, request, reference: str):
        care_request = _visible(request, reference)
        audit(
            by=request.user,
            action=AccessLog.Action.READ,
            patient=care_request.patient,
            what=AuditObject.CARE_REQUEST,
            object_id=care_request.reference,
            request=request,
        )
        return Response(CareRequestOutputSerializer(care_request).data)


class CareRequestTransitionApi(APIView):
    """Take a step of the request: a partner may cancel its referral."""

    required_scopes = {"write": ["care-requests:write"]}

    class InputSerializer(serializers.Serializer):
        transition = serializers.ChoiceField(
            choices=sorted(care_requests.TRANSITIONS),
            help_text="Partners: `cancel` (with a `reason`) before a booking.",
        )
        reason = serializers.CharField(
            max_length=1000, required=False, allow_blank=True
        )
        comment = serializers.CharField(
            max_length=2000, required=False, allow_blank=True
        )

    @extend_schema(
        operation_id="care_requests_transition",
        summary="Take a step (cancel)",
        description=(
            "A step the request's state and your role allow; otherwise 400 "
            "`transition_not_allowed` (wrong state) or 403 `role_not_allowed`. "
            "Scope care-requests:write."
        ),
        request=InputSerializer,
        responses={
            200: CareRequestOutputSerializer,
            400: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
        },
        examples=[
            OpenApiExample(
                "Cancel",
                value={"transition": "cancel", "reason": "Pris en charge ailleurs."},
                request_only=True,
            )
        ],
    )
    def post(self, request, reference: str):
        care_request = _visible(request, reference)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            care_request = care_requests.perform_transition(
                care_request=care_request,
                name=data["transition"],
                by=request.user,
                data=data,
            )
        except RoleNotAllowed as error:
            _raise_as_api(error)
        return Response(CareRequestOutputSerializer(care_request).data)

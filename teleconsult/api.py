"""Partner API of teleconsultations: read sessions and the practitioner's link,
and check the reimbursement conditions before booking.

A partner sees the sessions of the appointments it may see (its referred
patients' and those it booked); any other id answers 404. The practitioner's
link is their console address when they have an account (it asks for their
second factor), or a single-use link that asks for a one-time code sent to the
practitioner: handing it to the clinic gives nobody else a way in.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from appointments.api import PractitionerRefSerializer
from conciergerie.api import CreatedCursorPagination, ErrorSerializer
from patients.models import Patient, normalise_reference
from specialists.models import Practitioner, Specialty

from . import eligibility, links
from .models import TeleconsultationSession
from .services import sessions

SCOPES = {"read": ["appointments:read"]}

SESSION_EXAMPLE = {
    "id": "0c7e9a51-3f3b-4a7e-9d1c-2b8f6e4d5a10",
    "appointment": "6f0b0e43-2b8e-4c55-9d0e-8b2b3c4d5e6f",
    "patient": "P-7K3Q9X",
    "practitioner": {
        "id": "3f1c7a52-7d1e-4a4b-9a59-0c6f1f2a8b11",
        "display_name": "Dr Élodie Lefèvre",
    },
    "state": "waiting",
    "practitioner_status": "not_arrived",
    "patient_admitted": False,
    "starts_at": "2027-03-02T08:30:00Z",
    "ends_at": "2027-03-02T08:50:00Z",
    "join_opens_at": "2027-03-02T08:15:00Z",
    "join_closes_at": "2027-03-02T09:20:00Z",
    "practitioner_url": "https://conciergerie.example.fr/teleconsultations/p/0c7e….…/",
    "reimbursable": False,
    "eligibility": [
        {
            "code": "not_seen_in_person",
            "message": "This practitioner has not seen you in person in the last "
            "12 months: the teleconsultation is not reimbursed.",
        }
    ],
    "admitted_at": None,
    "ended_at": None,
    "no_show_at": None,
    "created_at": "2027-02-20T10:12:31Z",
}

ELIGIBILITY_EXAMPLE = {
    "reimbursable": False,
    "exemption": "",
    "reasons": [
        {
            "code": "outside_pathway",
            "message": "You have not declared a médecin traitant: a teleconsultation "
            "outside the coordinated care pathway is not reimbursed.",
        }
    ],
}


class EligibilityReasonSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class SessionOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    appointment = serializers.UUIDField(source="appointment.public_id")
    patient = serializers.CharField(
        source="appointment.patient.reference", help_text="The patient's reference."
    )
    practitioner = PractitionerRefSerializer(source="appointment.practitioner")
    state = serializers.ChoiceField(choices=TeleconsultationSession.State.choices)
    practitioner_status = serializers.ChoiceField(
        choices=TeleconsultationSession.PractitionerStatus.choices
    )
    patient_admitted = serializers.BooleanField()
    starts_at = serializers.DateTimeField(source="appointment.starts_at")
    ends_at = serializers.DateTimeField(source="appointment.ends_at")
    join_opens_at = serializers.SerializerMethodField()
    join_closes_at = serializers.SerializerMethodField()
    practitioner_url = serializers.SerializerMethodField(
        help_text=(
            "Where the practitioner enters: their console (account with a second "
            "factor) or a single-use link asking for a one-time code sent to them. "
            "Null once the single-use link is spent."
        )
    )
    reimbursable = serializers.BooleanField(
        help_text="False when the French teleconsultation conditions are not met."
    )
    eligibility = serializers.SerializerMethodField()
    admitted_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    no_show_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()

    def get_join_opens_at(self, session: TeleconsultationSession) -> str:
        return serializers.DateTimeField().to_representation(
            sessions.window_of(session.appointment)[0]
        )

    def get_join_closes_at(self, session: TeleconsultationSession) -> str:
        return serializers.DateTimeField().to_representation(
            sessions.window_of(session.appointment)[1]
        )

    def get_practitioner_url(self, session: TeleconsultationSession) -> str | None:
        if session.appointment.practitioner.user_id is not None:
            from django.urls import reverse

            return links.absolute(
                reverse("teleconsult:console", kwargs={"public_id": session.public_id})
            )
        current = sessions.current_pass(session)
        return links.practitioner_url(current) if current is not None else None

    @extend_schema_field(EligibilityReasonSerializer(many=True))
    def get_eligibility(self, session: TeleconsultationSession) -> list[dict]:
        return [
            {"code": code, "message": eligibility.message_for(code)}
            for code in session.eligibility_reasons
        ]


class SessionPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = SessionOutputSerializer(many=True)


class EligibilityOutputSerializer(serializers.Serializer):
    reimbursable = serializers.BooleanField()
    exemption = serializers.CharField(
        help_text="Why the conditions do not apply (direct_access, under_16), or ''."
    )
    reasons = EligibilityReasonSerializer(many=True)


def _queryset(request):
    return TeleconsultationSession.objects.visible_to(request.user).select_related(
        "appointment__patient", "appointment__practitioner"
    )


class TeleconsultationCollectionApi(APIView):
    """The teleconsultation sessions the caller may see."""

    required_scopes = SCOPES

    class FilterSerializer(serializers.Serializer):
        practitioner = serializers.UUIDField(required=False)
        patient = serializers.CharField(required=False, max_length=12)
        state = serializers.ChoiceField(
            choices=TeleconsultationSession.State.choices, required=False
        )
        starts_after = serializers.DateTimeField(required=False)
        starts_before = serializers.DateTimeField(required=False)

    @extend_schema(
        operation_id="teleconsultations_list",
        summary="List teleconsultations",
        description=(
            "Video sessions of the appointments you may see, newest first, by cursor "
            "pages, with the practitioner's link. Filters: `practitioner` (id), "
            "`patient` (reference), `state`, `starts_after`, `starts_before`. "
            "Scope appointments:read."
        ),
        parameters=[FilterSerializer],
        responses={
            200: SessionPageSerializer,
            400: ErrorSerializer,
            401: ErrorSerializer,
            403: ErrorSerializer,
        },
        examples=[
            OpenApiExample(
                "One session",
                value={"next": None, "previous": None, "results": [SESSION_EXAMPLE]},
                response_only=True,
            )
        ],
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        rows = _queryset(request)
        if "practitioner" in data:
            rows = rows.filter(
                appointment__practitioner__public_id=data["practitioner"]
            )
        if "patient" in data:
            rows = rows.filter(
                appointment__patient__reference=normalise_reference(data["patient"])
            )
        if "state" in data:
            rows = rows.filter(state=data["state"])
        if "starts_after" in data:
            rows = rows.filter(appointment__starts_at__gte=data["starts_after"])
        if "starts_before" in data:
            rows = rows.filter(appointment__starts_at__lt=data["starts_before"])
        paginator = CreatedCursorPagination()
        page: list[TeleconsultationSession] | None = paginator.paginate_queryset(
            rows, request, view=self
        )
        return paginator.get_paginated_response(
            SessionOutputSerializer(page, many=True).data
        )


class TeleconsultationDetailApi(APIView):
    """One teleconsultation session the caller may see."""

    required_scopes = SCOPES

    @extend_schema(
        operation_id="teleconsultations_retrieve",
        summary="Read a teleconsultation",
        description=(
            "A session of an appointment you may see, with its live state and the "
            "practitioner's link; any other id answers 404. Scope appointments:read."
        ),
        parameters=[OpenApiParameter("public_id", str, OpenApiParameter.PATH)],
        responses={200: SessionOutputSerializer, 404: ErrorSerializer},
        examples=[OpenApiExample("Waiting", value=SESSION_EXAMPLE, response_only=True)],
    )
    def get(self, request, public_id):
        session = get_object_or_404(_queryset(request), public_id=public_id)
        return Response(SessionOutputSerializer(session).data)


class TeleconsultationEligibilityApi(APIView):
    """Whether a teleconsultation would be reimbursed, before booking it."""

    required_scopes = SCOPES

    class QuerySerializer(serializers.Serializer):
        patient = serializers.CharField(
            max_length=12, help_text="Reference of a patient you may see (P-…)."
        )
        practitioner = serializers.UUIDField(help_text="The practitioner's id.")
        specialty = serializers.SlugField(
            required=False,
            allow_blank=True,
            help_text="Specialty code of the visit, if the practitioner has several.",
        )

    @extend_schema(
        operation_id="teleconsultations_eligibility",
        summary="Check the reimbursement conditions",
        description=(
            "A teleconsultation is reimbursed only in the coordinated care pathway "
            "and if this practitioner saw the patient in person within 12 months "
            "(direct-access specialties and patients under 16 are exempt). Tell the "
            "patient before booking when `reimbursable` is false. A patient you may "
            "not see answers 404. Scope appointments:read."
        ),
        parameters=[QuerySerializer],
        responses={
            200: EligibilityOutputSerializer,
            400: ErrorSerializer,
            404: ErrorSerializer,
        },
        examples=[
            OpenApiExample(
                "Outside the pathway", value=ELIGIBILITY_EXAMPLE, response_only=True
            )
        ],
    )
    def get(self, request):
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        patient = get_object_or_404(
            Patient.objects.visible_to(request.user),
            reference=normalise_reference(data["patient"]),
        )
        practitioner = get_object_or_404(
            Practitioner.objects.visible_to(request.user),
            public_id=data["practitioner"],
        )
        specialty = None
        if data.get("specialty"):
            specialty = get_object_or_404(Specialty, code=data["specialty"])
        result = eligibility.check_eligibility(
            patient=patient, practitioner=practitioner, specialty=specialty
        )
        return Response(
            EligibilityOutputSerializer(
                {
                    "reimbursable": result.reimbursable,
                    "exemption": result.exemption,
                    "reasons": [
                        {"code": code, "message": eligibility.message_for(code)}
                        for code in result.reasons
                    ],
                }
            ).data
        )

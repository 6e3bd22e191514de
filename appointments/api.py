"""Partner API of appointments: book from a slot, read, cancel, move.

A partner sees the appointments of the patients it may see (referred to us, or
who shared their file with it) and those it booked; any other id answers 404.
Booking takes a free slot of the directory (`GET /specialists/{id}/slots/`): two
partners racing for the same slot get one 201 and one 409 `slot_taken` carrying
the next free slots.
"""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from conciergerie.api import CreatedCursorPagination, ErrorSerializer
from patients.models import (
    CareRequest,
    Patient,
    normalise_care_request_reference,
    normalise_reference,
)
from specialists.models import ConsultationType, PracticePlace, Practitioner, Specialty

from . import links, services
from .models import Appointment, Face

APPOINTMENT_EXAMPLE = {
    "id": "6f0b0e43-2b8e-4c55-9d0e-8b2b3c4d5e6f",
    "state": "booked",
    "patient": "P-7K3Q9X",
    "care_request": "D-4M7Q2K",
    "practitioner": {
        "id": "3f1c7a52-7d1e-4a4b-9a59-0c6f1f2a8b11",
        "display_name": "Dr Élodie Lefèvre",
    },
    "mode": "in_person",
    "kind": "first_visit",
    "place": {
        "id": "9b2d7f4e-2c1a-4f0e-8f11-5f7c9a0d3e21",
        "name": "Cabinet de cardiologie",
        "address": "12 rue de la Roquette",
        "postal_code": "75011",
        "commune": "Paris",
    },
    "starts_at": "2027-03-02T08:30:00Z",
    "ends_at": "2027-03-02T09:00:00Z",
    "hold_expires_at": None,
    "booked_via": "api",
    "late": False,
    "cancellation_reason": "",
    "rescheduled_from": None,
    "rescheduled_to": None,
    "follows": None,
    "calendar_url": "https://conciergerie.example.fr/appointments/ics/b0s…/",
    "created_at": "2027-02-20T10:12:31Z",
}

BOOK_EXAMPLE = {
    "patient": "P-7K3Q9X",
    "practitioner": "3f1c7a52-7d1e-4a4b-9a59-0c6f1f2a8b11",
    "kind": "first_visit",
    "starts_at": "2027-03-02T08:30:00Z",
}

SLOT_TAKEN_EXAMPLE = {
    "code": "slot_taken",
    "detail": "This slot was just taken. Here are the next free ones.",
    "alternatives": [
        {
            "starts_at": "2027-03-02T09:00:00Z",
            "ends_at": "2027-03-02T09:30:00Z",
            "kind": "first_visit",
            "place": "9b2d7f4e-2c1a-4f0e-8f11-5f7c9a0d3e21",
        }
    ],
}


class PractitionerRefSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    display_name = serializers.CharField()


class PlaceRefSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()
    address = serializers.CharField()
    postal_code = serializers.CharField()
    commune = serializers.CharField()


class AppointmentOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    state = serializers.ChoiceField(choices=Appointment.State.choices)
    patient = serializers.CharField(
        source="patient.reference", help_text="The patient's reference."
    )
    care_request = serializers.CharField(
        source="care_request.reference",
        allow_null=True,
        default=None,
        help_text="The care request this appointment serves (D-…), if any.",
    )
    practitioner = PractitionerRefSerializer()
    mode = serializers.ChoiceField(choices=Appointment.Mode.choices)
    kind = serializers.ChoiceField(
        source="consultation_kind", choices=ConsultationType.Kind.choices
    )
    place = PlaceRefSerializer(allow_null=True)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    hold_expires_at = serializers.DateTimeField(allow_null=True)
    booked_via = serializers.CharField()
    late = serializers.BooleanField(
        help_text="Cancelled or moved inside the notice period."
    )
    cancellation_reason = serializers.CharField()
    rescheduled_from = serializers.UUIDField(
        source="rescheduled_from.public_id", allow_null=True, default=None
    )
    rescheduled_to = serializers.SerializerMethodField()
    follows = serializers.UUIDField(
        source="follows.public_id", allow_null=True, default=None
    )
    calendar_url = serializers.SerializerMethodField(
        help_text="The appointment as an iCalendar file (a signed link)."
    )
    created_at = serializers.DateTimeField()

    def get_rescheduled_to(self, appointment: Appointment) -> str | None:
        moved = getattr(appointment, "rescheduled_to", None)
        return str(moved.public_id) if moved is not None else None

    def get_calendar_url(self, appointment: Appointment) -> str:
        return links.url("appointments:ics", links.Purpose.ICS, appointment.public_id)


class AppointmentPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = AppointmentOutputSerializer(many=True)


class AlternativeSlotSerializer(serializers.Serializer):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    kind = serializers.CharField()
    place = serializers.UUIDField(allow_null=True)


class SlotTakenSerializer(ErrorSerializer):
    alternatives = AlternativeSlotSerializer(many=True)


def _queryset(request):
    return Appointment.objects.visible_to(request.user).select_related(
        "practitioner",
        "patient",
        "care_request",
        "place",
        "rescheduled_from",
        "rescheduled_to",
        "follows",
    )


def _slot_taken_response(error: services.SlotTaken) -> Response:
    places = dict(
        PracticePlace.objects.filter(
            pk__in=[slot.place_id for slot in error.alternatives if slot.place_id]
        ).values_list("pk", "public_id")
    )
    alternatives = [
        {
            "starts_at": slot.starts_at,
            "ends_at": slot.ends_at,
            "kind": slot.kind,
            "place": places.get(slot.place_id) if slot.place_id else None,
        }
        for slot in error.alternatives
    ]
    return Response(
        {
            "code": "slot_taken",
            "detail": error.messages[0],
            "alternatives": AlternativeSlotSerializer(alternatives, many=True).data,
        },
        status=status.HTTP_409_CONFLICT,
    )


def _output(appointment: Appointment) -> dict:
    return AppointmentOutputSerializer(appointment).data


class AppointmentCollectionApi(APIView):
    """List the appointments the caller may see; book a free slot."""

    required_scopes = {"read": ["appointments:read"], "write": ["appointments:write"]}

    class InputSerializer(serializers.Serializer):
        patient = serializers.CharField(
            max_length=12, help_text="Reference of a patient you may see (P-…)."
        )
        practitioner = serializers.UUIDField(help_text="The practitioner's id.")
        kind = serializers.ChoiceField(
            choices=ConsultationType.Kind.choices,
            help_text="Consultation type of the slot.",
        )
        starts_at = serializers.DateTimeField(
            help_text="Start of a free slot, with its offset (as the slots API gives)."
        )
        place = serializers.UUIDField(
            required=False,
            allow_null=True,
            help_text="The place of the slot (in person); omit for a video slot.",
        )
        follows = serializers.UUIDField(
            required=False,
            allow_null=True,
            help_text="An earlier appointment this one follows up.",
        )
        care_request = serializers.CharField(
            required=False,
            allow_blank=True,
            max_length=12,
            help_text="A care request you referred (D-…) that this booking serves.",
        )
        specialty = serializers.SlugField(
            required=False,
            allow_blank=True,
            help_text="Specialty code of the visit, if the practitioner has several.",
        )

    class FilterSerializer(serializers.Serializer):
        patient = serializers.CharField(required=False, max_length=12)
        state = serializers.ChoiceField(
            choices=Appointment.State.choices, required=False
        )
        starts_after = serializers.DateTimeField(required=False)
        starts_before = serializers.DateTimeField(required=False)

    @extend_schema(
        operation_id="appointments_list",
        summary="List appointments",
        description=(
            "Appointments of the patients you may see and those you booked, newest "
            "first, by cursor pages. Filters: `patient` (reference), `state`, "
            "`starts_after`, `starts_before`. Scope appointments:read."
        ),
        parameters=[FilterSerializer],
        responses={
            200: AppointmentPageSerializer,
            400: ErrorSerializer,
            401: ErrorSerializer,
            403: ErrorSerializer,
        },
        examples=[
            OpenApiExample(
                "One appointment",
                value={
                    "next": None,
                    "previous": None,
                    "results": [APPOINTMENT_EXAMPLE],
                },
                response_only=True,
            )
        ],
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        rows = _queryset(request)
        data = filters.validated_data
        if "patient" in data:
            rows = rows.filter(patient__reference=normalise_reference(data["patient"]))
        if "state" in data:
            rows = rows.filter(state=data["state"])
        if "starts_after" in data:
            rows = rows.filter(starts_at__gte=data["starts_after"])
        if "starts_before" in data:
            rows = rows.filter(starts_at__lt=data["starts_before"])
        paginator = CreatedCursorPagination()
        page: list[Appointment] | None = paginator.paginate_queryset(
            rows, request, view=self
        )
        return paginator.get_paginated_response(
            AppointmentOutputSerializer(page, many=True).data
        )

    @extend_schema(
        operation_id="appointments_book",
        summary="Book a free slot",
        description=(
            "Book a free slot of the directory for a patient you may see. The slot "
            "must be one `GET /specialists/{id}/slots/` offers (opening hours, "
            "minimum notice, horizon). The patient receives the confirmation and "
            "reminders. If another caller booked the slot first the answer is 409 "
            "`slot_taken` with the next free slots in `alternatives`; a time that "
            "is not a slot answers 400 `not_a_slot`. Send an `Idempotency-Key` "
            "header to retry safely. Scope appointments:write."
        ),
        request=InputSerializer,
        responses={
            201: AppointmentOutputSerializer,
            400: ErrorSerializer,
            401: ErrorSerializer,
            403: ErrorSerializer,
            409: OpenApiResponse(
                SlotTakenSerializer, description="The slot was just taken."
            ),
        },
        examples=[
            OpenApiExample("Book", value=BOOK_EXAMPLE, request_only=True),
            OpenApiExample(
                "Booked",
                value=APPOINTMENT_EXAMPLE,
                response_only=True,
                status_codes=["201"],
            ),
            OpenApiExample(
                "Slot taken",
                value=SLOT_TAKEN_EXAMPLE,
                response_only=True,
                status_codes=["409"],
            ),
        ],
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        patient = (
            Patient.objects.visible_to(request.user)
            .filter(reference=normalise_reference(data["patient"]))
            .first()
        )
        errors = {}
        if patient is None:
            errors["patient"] = [_("No patient you may see has this reference.")]
        practitioner = (
            Practitioner.objects.visible_to(request.user)
            .filter(public_id=data["practitioner"])
            .first()
        )
        if practitioner is None:
            errors["practitioner"] = [_("Unknown practitioner.")]
        place = None
        if data.get("place") and practitioner is not None:
            place = PracticePlace.objects.filter(
                practitioner=practitioner, public_id=data["place"]
            ).first()
            if place is None:
                errors["place"] = [_("This place is not one of the practitioner's.")]
        follows = None
        if data.get("follows"):
            follows = _queryset(request).filter(public_id=data["follows"]).first()
            if follows is None:
                errors["follows"] = [_("Unknown appointment.")]
        care_request = None
        if data.get("care_request") and patient is not None:
            care_request = (
                CareRequest.objects.visible_to(request.user)
                .filter(
                    reference=normalise_care_request_reference(data["care_request"]),
                    patient=patient,
                )
                .first()
            )
            if care_request is None:
                errors["care_request"] = [_("Unknown care request.")]
        specialty = None
        if data.get("specialty"):
            specialty = Specialty.objects.filter(code=data["specialty"]).first()
            if specialty is None:
                errors["specialty"] = [_("Unknown specialty.")]
        if errors or patient is None or practitioner is None:
            raise serializers.ValidationError(errors, code="does_not_exist")
        try:
            appointment = services.book_appointment(
                patient=patient,
                practitioner=practitioner,
                kind=data["kind"],
                starts_at=data["starts_at"],
                place=place,
                follows=follows,
                specialty=specialty,
                care_request=care_request,
                by=request.user,
                via=Face.API,
            )
        except services.SlotTaken as error:
            return _slot_taken_response(error)
        return Response(
            _output(appointment),
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/api/v1/appointments/{appointment.public_id}/"},
        )


class AppointmentDetailApi(APIView):
    """One appointment the caller may see."""

    required_scopes = {"read": ["appointments:read"]}

    @extend_schema(
        operation_id="appointments_retrieve",
        summary="Read an appointment",
        description=(
            "An appointment of a patient you may see; any other id answers 404. "
            "A moved appointment points to its replacement (`rescheduled_to`). "
            "Scope appointments:read."
        ),
        parameters=[OpenApiParameter("public_id", str, OpenApiParameter.PATH)],
        responses={200: AppointmentOutputSerializer, 404: ErrorSerializer},
        examples=[
            OpenApiExample("Booked", value=APPOINTMENT_EXAMPLE, response_only=True)
        ],
    )
    def get(self, request, public_id):
        appointment = get_object_or_404(_queryset(request), public_id=public_id)
        return Response(_output(appointment))


class AppointmentCancelApi(APIView):
    """Cancel an appointment, with a reason."""

    required_scopes = {"write": ["appointments:write"]}

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(
            max_length=500,
            allow_blank=True,
            help_text="Why (required; no medical details needed).",
        )

    @extend_schema(
        operation_id="appointments_cancel",
        summary="Cancel an appointment",
        description=(
            "Cancel a booked or confirmed appointment before it starts. Inside the "
            "notice period (24 h, 48 h for a first visit, 4 h for a video "
            "consultation, by default) it is recorded as `late_cancelled`. The "
            "patient and the practitioner are told; the slot is offered to the "
            "waitlist. Errors: `reason_required`, `not_cancellable`, "
            "`already_started`. Scope appointments:write."
        ),
        request=InputSerializer,
        responses={
            200: AppointmentOutputSerializer,
            400: ErrorSerializer,
            404: ErrorSerializer,
        },
        examples=[
            OpenApiExample(
                "Cancel",
                value={"reason": "The patient is travelling."},
                request_only=True,
            )
        ],
    )
    def post(self, request, public_id):
        appointment = get_object_or_404(_queryset(request), public_id=public_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        appointment = services.cancel_appointment(
            appointment=appointment,
            by=request.user,
            via=Face.API,
            reason=serializer.validated_data["reason"],
        )
        return Response(_output(appointment))


class AppointmentRescheduleApi(APIView):
    """Move an appointment to another free slot of the same practitioner."""

    required_scopes = {"write": ["appointments:write"]}

    class InputSerializer(serializers.Serializer):
        starts_at = serializers.DateTimeField(help_text="Start of the new free slot.")
        place = serializers.UUIDField(required=False, allow_null=True)
        reason = serializers.CharField(max_length=500, allow_blank=True)

    @extend_schema(
        operation_id="appointments_reschedule",
        summary="Move an appointment",
        description=(
            "Move a booked or confirmed appointment to another free slot of the "
            "same practitioner and type. The answer is the new appointment (201); "
            "the old one ends `rescheduled`. Inside the notice period partners can "
            "no longer move an appointment (400 `reschedule_notice`): cancel it. A "
            "slot taken meanwhile answers 409 `slot_taken` with alternatives and "
            "changes nothing. Scope appointments:write."
        ),
        request=InputSerializer,
        responses={
            201: AppointmentOutputSerializer,
            400: ErrorSerializer,
            404: ErrorSerializer,
            409: SlotTakenSerializer,
        },
        examples=[
            OpenApiExample(
                "Move",
                value={
                    "starts_at": "2027-03-04T14:00:00Z",
                    "reason": "The patient works that morning.",
                },
                request_only=True,
            )
        ],
    )
    def post(self, request, public_id):
        appointment = get_object_or_404(_queryset(request), public_id=public_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        place = None
        if data.get("place"):
            place = PracticePlace.objects.filter(
                practitioner_id=appointment.practitioner_id, public_id=data["place"]
            ).first()
            if place is None:
                raise serializers.ValidationError(
                    {"place": [_("This place is not one of the practitioner's.")]}
                )
        try:
            new = services.reschedule_appointment(
                appointment=appointment,
                starts_at=data["starts_at"],
                place=place,
                reason=data["reason"],
                by=request.user,
                via=Face.API,
            )
        except services.SlotTaken as error:
            return _slot_taken_response(error)
        new = _queryset(request).get(pk=new.pk)
        return Response(
            _output(new),
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/api/v1/appointments/{new.public_id}/"},
        )

"""Partner API of the patient file: referrals, patient reads, document upload.

A partner (clinic, laboratory, insurer) sees the patients it referred and those who
shared their file with it; anything else answers 404. Every read and write is in
the patient's access log, with the partner application's name.
"""

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from conciergerie.accounts.roles import Role
from conciergerie.api import CreatedCursorPagination, ErrorSerializer
from conciergerie.audit.models import AccessLog

from . import services
from .access import AuditObject, audit, may_add_document
from .models import Channel, Document, Patient, normalise_reference

REFERRAL_EXAMPLE = {
    "last_name": "Girard",
    "first_names": "Inès Marie",
    "birth_date": "1995-10-04",
    "sex": "female",
    "nir": "295109912611193",
    "email": "ines.girard@example.fr",
    "mobile_phone": "+33612345678",
    "address_line": "12 rue des Lilas",
    "postal_code": "69003",
    "city": "Lyon",
    "health_data_consent_collected": True,
}


PATIENT_EXAMPLE = {
    "reference": "P-7K3Q9X",
    "last_name": "Girard",
    "birth_last_name": "",
    "first_names": "Inès Marie",
    "birth_date": "1995-10-04",
    "sex": "female",
    "email": "ines.girard@example.fr",
    "mobile_phone": "+33612345678",
    "address": {
        "line": "12 rue des Lilas",
        "complement": "",
        "postal_code": "69003",
        "city": "Lyon",
        "country": "FR",
    },
    "preferred_language": "fr",
    "reminder_channel": "both",
    "quiet_hours": {"start": None, "end": None},
    "has_health_data_consent": True,
    "referred_by_you": True,
    "created_at": "2026-03-02T09:12:44Z",
}


class AddressSerializer(serializers.Serializer):
    line = serializers.CharField(source="address_line")
    complement = serializers.CharField(source="address_complement")
    postal_code = serializers.CharField()
    city = serializers.CharField()
    country = serializers.CharField()


class QuietHoursSerializer(serializers.Serializer):
    start = serializers.TimeField(source="quiet_hours_start", allow_null=True)
    end = serializers.TimeField(source="quiet_hours_end", allow_null=True)


class PatientOutputSerializer(serializers.Serializer):
    reference = serializers.CharField(help_text="Public reference, e.g. P-7K3Q9X.")
    last_name = serializers.CharField()
    birth_last_name = serializers.CharField()
    first_names = serializers.CharField()
    birth_date = serializers.DateField()
    sex = serializers.ChoiceField(choices=Patient.Sex.choices)
    email = serializers.CharField(help_text="Email address; empty when unknown.")
    mobile_phone = serializers.SerializerMethodField(
        help_text="E.164, e.g. +33612345678."
    )
    address = AddressSerializer(source="*")
    preferred_language = serializers.CharField()
    reminder_channel = serializers.ChoiceField(choices=Patient.ReminderChannel.choices)
    quiet_hours = QuietHoursSerializer(source="*")
    has_health_data_consent = serializers.SerializerMethodField()
    referred_by_you = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_mobile_phone(self, patient: Patient) -> str:
        return str(patient.mobile_phone or "")

    def get_has_health_data_consent(self, patient: Patient) -> bool:
        return services.has_health_data_consent(patient)

    def get_referred_by_you(self, patient: Patient) -> bool:
        request = self.context.get("request")
        return bool(request and patient.referred_by_id == request.user.pk)


class PatientPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = PatientOutputSerializer(many=True)


class DuplicateErrorSerializer(ErrorSerializer):
    duplicates = serializers.ListField(
        child=serializers.CharField(),
        help_text="References of the files you may see that may be this person.",
    )


def _patient_or_404(request, reference: str) -> Patient:
    return get_object_or_404(
        Patient.objects.visible_to(request.user),
        reference=normalise_reference(reference),
    )


class PatientCollectionApi(APIView):
    """List the patients the caller may see; refer a new patient."""

    required_scopes = {"read": ["patients:read"], "write": ["patients:write"]}

    class InputSerializer(serializers.Serializer):
        last_name = serializers.CharField(max_length=150)
        birth_last_name = serializers.CharField(
            max_length=150, required=False, allow_blank=True
        )
        first_names = serializers.CharField(max_length=150)
        birth_date = serializers.DateField()
        sex = serializers.ChoiceField(choices=Patient.Sex.choices)
        birth_place_code = serializers.CharField(
            max_length=5, required=False, allow_blank=True
        )
        nir = serializers.CharField(
            max_length=30,
            required=False,
            allow_blank=True,
            help_text="Social security number, 15 characters (2A/2B for Corsica).",
        )
        email = serializers.EmailField(required=False, allow_blank=True)
        mobile_phone = serializers.CharField(
            max_length=32,
            required=False,
            allow_blank=True,
            help_text="E.164 or French.",
        )
        address_line = serializers.CharField(
            max_length=255, required=False, allow_blank=True
        )
        address_complement = serializers.CharField(
            max_length=255, required=False, allow_blank=True
        )
        postal_code = serializers.CharField(
            max_length=10, required=False, allow_blank=True
        )
        city = serializers.CharField(max_length=100, required=False, allow_blank=True)
        country = serializers.CharField(max_length=2, required=False, default="FR")
        preferred_language = serializers.ChoiceField(
            choices=["fr", "en"], required=False, default="fr"
        )
        reminder_channel = serializers.ChoiceField(
            choices=Patient.ReminderChannel.choices,
            required=False,
            default=Patient.ReminderChannel.BOTH,
        )
        quiet_hours_start = serializers.TimeField(required=False, allow_null=True)
        quiet_hours_end = serializers.TimeField(required=False, allow_null=True)
        health_data_consent_collected = serializers.BooleanField(
            required=False,
            default=False,
            help_text=(
                "True when you collected the patient's explicit consent to the "
                "processing of their health data under our privacy notice."
            ),
        )
        confirm_new = serializers.BooleanField(
            required=False,
            default=False,
            help_text=(
                "After a 409, true to create a new file anyway: it is another person."
            ),
        )

    @extend_schema(
        operation_id="patients_list",
        summary="List patients",
        description=(
            "The patients you referred or who shared their file with you, newest "
            "first, by cursor pages. Scope patients:read."
        ),
        responses={200: PatientPageSerializer, 403: ErrorSerializer},
        examples=[
            OpenApiExample(
                "One patient",
                value={"next": None, "previous": None, "results": [PATIENT_EXAMPLE]},
                response_only=True,
            )
        ],
    )
    def get(self, request):
        patients = (
            Patient.objects.visible_to(request.user)
            .prefetch_related("health_data_consents")
            .order_by("-created_at")
        )
        paginator = CreatedCursorPagination()
        page = paginator.paginate_queryset(patients, request, view=self)
        data = PatientOutputSerializer(
            page, many=True, context={"request": request}
        ).data
        return paginator.get_paginated_response(data)

    @extend_schema(
        operation_id="patients_refer",
        summary="Refer a patient",
        description=(
            "Open the file of a patient you refer. If a file you may see could be the "
            "same person, answers 409 with its reference: use it, or send again with "
            "confirm_new. Scope patients:write."
        ),
        request=InputSerializer,
        responses={
            201: PatientOutputSerializer,
            400: ErrorSerializer,
            403: ErrorSerializer,
            409: DuplicateErrorSerializer,
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
        data = dict(serializer.validated_data)
        consent = data.pop("health_data_consent_collected")
        confirm = data.pop("confirm_new")
        data = {key: value for key, value in data.items() if value is not None}
        try:
            patient = services.register_patient(
                patient=Patient(**data),
                by=user,
                channel=Channel.API,
                referred_by=user if user.has_role(Role.PARTNER) else None,
                confirm_duplicate=confirm,
                health_data_consent=consent,
                request=request,
            )
        except services.PossibleDuplicate as duplicate:
            return Response(
                {
                    "code": "possible_duplicate",
                    "detail": duplicate.messages[0],
                    "duplicates": [c.reference for c in duplicate.candidates],
                },
                status=status.HTTP_409_CONFLICT,
            )
        output = PatientOutputSerializer(patient, context={"request": request}).data
        return Response(
            output,
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/api/v1/patients/{patient.reference}/"},
        )


class PatientDetailApi(APIView):
    """One patient the caller may see."""

    required_scopes = {"read": ["patients:read"]}

    @extend_schema(
        operation_id="patients_retrieve",
        summary="Read a patient",
        description=(
            "Identity and contact details of a patient you referred or who shared "
            "their file with you; any other reference answers 404. The read is in the "
            "patient's access log. Scope patients:read."
        ),
        responses={200: PatientOutputSerializer, 404: ErrorSerializer},
        examples=[
            OpenApiExample("A patient", value=PATIENT_EXAMPLE, response_only=True)
        ],
    )
    def get(self, request, reference: str):
        patient = _patient_or_404(request, reference)
        audit(
            by=request.user,
            action=AccessLog.Action.READ,
            patient=patient,
            what=AuditObject.IDENTITY,
            object_id=patient.reference,
            request=request,
        )
        return Response(
            PatientOutputSerializer(patient, context={"request": request}).data
        )


class PatientDocumentUploadApi(APIView):
    """Send a document (results, report…) to the file of a patient you may see."""

    required_scopes = {"write": ["documents:write"]}
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(
            help_text="PDF, JPEG, PNG, WebP, HEIC, TIFF, DICOM."
        )
        kind = serializers.ChoiceField(choices=Document.Kind.choices)
        title = serializers.CharField(max_length=200, required=False, allow_blank=True)
        document_date = serializers.DateField(required=False, allow_null=True)
        source = serializers.CharField(max_length=200, required=False, allow_blank=True)

    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField()
        kind = serializers.ChoiceField(choices=Document.Kind.choices)
        title = serializers.CharField()
        document_date = serializers.DateField(allow_null=True)
        content_type = serializers.CharField()
        size = serializers.IntegerField()
        sha256 = serializers.CharField()
        created_at = serializers.DateTimeField()

    @extend_schema(
        operation_id="patients_documents_create",
        summary="Send a document",
        description=(
            "Multipart upload; the type is read from the content. The patient must "
            "have consented to the processing of health data. Scope documents:write."
        ),
        request={"multipart/form-data": InputSerializer},
        responses={
            201: OutputSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Refused file or input"),
            404: ErrorSerializer,
        },
        examples=[
            OpenApiExample(
                "Laboratory results",
                value={
                    "id": "5d0f3c2a-8b1e-4f6a-9c7d-2e4b6a8c0d1f",
                    "kind": "results",
                    "title": "NFS du 3 mars",
                    "document_date": "2026-03-03",
                    "content_type": "application/pdf",
                    "size": 48213,
                    "sha256": "9f86d081884c7d659a2feaa0c55ad015"
                    "a3bf4f1b2b0b822cd15d6c15b0f00a08",
                    "created_at": "2026-03-03T16:40:12Z",
                },
                response_only=True,
                status_codes=["201"],
            )
        ],
    )
    def post(self, request, reference: str):
        patient = _patient_or_404(request, reference)
        if not may_add_document(request.user, patient):
            raise PermissionDenied(_("You may not add documents to this file."))
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        document = services.upload_document(
            patient=patient,
            by=request.user,
            upload=data["file"],
            kind=data["kind"],
            title=data.get("title", ""),
            document_date=data.get("document_date"),
            source=data.get("source", ""),
            channel=Channel.API,
            request=request,
        )
        return Response(
            self.OutputSerializer(document).data, status=status.HTTP_201_CREATED
        )

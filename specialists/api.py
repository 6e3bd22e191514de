"""Partner API of the directory: search, practitioner, free slots, specialties.

A list request costs one query for the page (specialties and places folded in)
plus one to locate the place asked for, whatever the page size.
"""

from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from conciergerie.api import ErrorSerializer

from . import answer_cache
from .availability import PARIS, Slot, compute_slots, load_schedules
from .geocoding import GeoPoint, geocode, parse_place
from .models import (
    LANGUAGE_CHOICES,
    ConsultationType,
    IntakeQuestion,
    Practitioner,
    Specialty,
    SpecialtyProcedure,
)
from .search import (
    DEFAULT_RADIUS_KM,
    MAX_RADIUS_KM,
    Ordering,
    SearchFilters,
    place_items,
    specialty_items,
)

MAX_SLOT_RANGE_DAYS = 31
DEFAULT_SLOT_RANGE_DAYS = 14


def _is_back_office(user) -> bool:
    return bool(getattr(user, "is_back_office", False) or user.is_superuser)


# --- Serializers ---------------------------------------------------------------------


class SearchParamsSerializer(serializers.Serializer):
    """Query parameters of the search, shared with the portal's form."""

    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text="Words of a name or a specialty; accents and case are ignored.",
    )
    specialty = serializers.SlugField(
        required=False,
        help_text="Specialty code, e.g. `cardiology` (see /specialties/).",
    )
    place = serializers.CharField(
        required=False,
        max_length=100,
        help_text='Postal code and/or commune: "75011", "Lyon", "69003 Lyon".',
    )
    radius_km = serializers.FloatField(
        required=False,
        min_value=0.5,
        max_value=MAX_RADIUS_KM,
        default=DEFAULT_RADIUS_KM,
        help_text="Radius around `place`, in km.",
    )
    language = serializers.ChoiceField(
        choices=LANGUAGE_CHOICES, required=False, help_text="ISO 639-1 code spoken."
    )
    gender = serializers.ChoiceField(
        choices=[
            Practitioner.Gender.FEMALE,
            Practitioner.Gender.MALE,
        ],
        required=False,
    )
    sector = serializers.MultipleChoiceField(
        choices=Practitioner.Sector.values,
        required=False,
        help_text="Convention sector, repeatable: 1, 2-optam, 2, nc.",
    )
    max_fee = serializers.DecimalField(
        max_digits=7,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text="Maximum fee for the concierge's patients, in euros.",
    )
    teleconsultation = serializers.BooleanField(
        required=False, allow_null=True, default=None
    )
    wheelchair_accessible = serializers.BooleanField(
        required=False, allow_null=True, default=None
    )
    available_before = serializers.DateField(
        required=False, help_text="A free slot on or before this day (Paris time)."
    )
    verified_only = serializers.BooleanField(
        required=False,
        default=True,
        help_text="Back-office only: false also lists unverified practitioners.",
    )
    ordering = serializers.ChoiceField(
        choices=[choice for choice, _label in Ordering.CHOICES],
        required=False,
        default=Ordering.RELEVANCE,
    )

    def validate_place(self, value: str) -> GeoPoint | None:
        if not value.strip():
            return None
        postal_code, commune = parse_place(value)
        point = geocode(postal_code=postal_code, commune=commune)
        if point is None:
            raise serializers.ValidationError(
                _("This place could not be found: try a postal code."),
                code="unknown_place",
            )
        return point

    def to_filters(self, *, back_office: bool) -> SearchFilters:
        data = self.validated_data
        return SearchFilters(
            query=data.get("q", ""),
            specialty=data.get("specialty", ""),
            near=data.get("place"),
            radius_km=data.get("radius_km", DEFAULT_RADIUS_KM),
            language=data.get("language", ""),
            gender=data.get("gender", ""),
            sectors=tuple(sorted(data.get("sector", ()))),
            max_fee=data.get("max_fee"),
            teleconsultation=data.get("teleconsultation"),
            wheelchair_accessible=data.get("wheelchair_accessible"),
            available_before=data.get("available_before"),
            verified_only=data.get("verified_only", True) or not back_office,
            ordering=data.get("ordering", Ordering.RELEVANCE),
        )


class PageParamsSerializer(serializers.Serializer):
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=100, default=20
    )
    offset = serializers.IntegerField(
        required=False, min_value=0, max_value=10_000, default=0
    )


class SpecialtyItemSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class PlaceItemSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()
    address = serializers.CharField()
    postal_code = serializers.CharField()
    commune = serializers.CharField()
    latitude = serializers.FloatField(allow_null=True)
    longitude = serializers.FloatField(allow_null=True)
    phone = serializers.CharField()
    access_notes = serializers.CharField()


class RatingSerializer(serializers.Serializer):
    average = serializers.DecimalField(max_digits=3, decimal_places=2, allow_null=True)
    count = serializers.IntegerField()


class PractitionerSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    civility = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    display_name = serializers.CharField()
    profession = serializers.CharField()
    specialties = serializers.SerializerMethodField()
    languages = serializers.ListField(child=serializers.CharField())
    gender = serializers.CharField()
    sector = serializers.CharField()
    fee = serializers.DecimalField(
        source="effective_fee",
        max_digits=7,
        decimal_places=2,
        allow_null=True,
        help_text="What the concierge's patients pay for a usual consultation.",
    )
    usual_overrun = serializers.DecimalField(
        max_digits=7, decimal_places=2, allow_null=True
    )
    teleconsultation = serializers.BooleanField()
    wheelchair_accessible = serializers.BooleanField()
    rating = serializers.SerializerMethodField()
    next_available_at = serializers.DateTimeField(allow_null=True)
    distance_km = serializers.SerializerMethodField()
    verified = serializers.SerializerMethodField()
    places = serializers.SerializerMethodField()

    @extend_schema_field(SpecialtyItemSerializer(many=True))
    def get_specialties(self, practitioner: Practitioner) -> Any:
        return [item.__dict__ for item in specialty_items(practitioner)]

    @extend_schema_field(RatingSerializer)
    def get_rating(self, practitioner: Practitioner) -> dict[str, Any]:
        return RatingSerializer(
            {"average": practitioner.rating_average, "count": practitioner.rating_count}
        ).data

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_distance_km(self, practitioner: Practitioner) -> float | None:
        distance = getattr(practitioner, "distance_km", None)
        return round(distance, 2) if distance is not None else None

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_verified(self, practitioner: Practitioner) -> bool:
        return practitioner.is_verified()

    @extend_schema_field(PlaceItemSerializer(many=True))
    def get_places(self, practitioner: Practitioner) -> Any:
        return PlaceItemSerializer(place_items(practitioner), many=True).data


class ConsultationTypeSerializer(serializers.Serializer):
    kind = serializers.CharField()
    duration_minutes = serializers.IntegerField()
    fee = serializers.DecimalField(max_digits=7, decimal_places=2, allow_null=True)


class PractitionerDetailSerializer(PractitionerSerializer):
    bio = serializers.CharField()
    consultation_types = serializers.SerializerMethodField()

    @extend_schema_field(ConsultationTypeSerializer(many=True))
    def get_consultation_types(self, practitioner: Practitioner) -> Any:
        declared = {item.kind: item for item in practitioner.consultation_types.all()}
        rows = []
        for kind in ConsultationType.Kind.values:
            item = declared.get(kind)
            if item is not None and not item.is_active:
                continue
            if kind == ConsultationType.Kind.TELECONSULTATION and not (
                practitioner.teleconsultation
            ):
                continue
            rows.append(
                {
                    "kind": kind,
                    "duration_minutes": item.duration_minutes
                    if item
                    else ConsultationType.DEFAULT_MINUTES[kind],
                    "fee": (item.fee if item and item.fee is not None else None)
                    or practitioner.effective_fee,
                }
            )
        return ConsultationTypeSerializer(rows, many=True).data


class PractitionerPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = PractitionerSerializer(many=True)


_DATETIME = serializers.DateTimeField()


def _money(value) -> str | None:
    return None if value is None else f"{value:.2f}"


#: The columns `practitioner_payload` reads: a search row skips the rest (the
#: search vector, the biography, the concierge's notes…), which cost transfer
#: and decoding on every row of every page.
LISTING_FIELDS = (
    "public_id",
    "civility",
    "first_name",
    "last_name",
    "profession",
    "languages",
    "gender",
    "sector",
    "negotiated_rate",
    "consultation_fee",
    "usual_overrun",
    "teleconsultation",
    "wheelchair_accessible",
    "rating_average",
    "rating_count",
    "next_available_at",
    "verified_until",
)


def practitioner_payload(practitioner: Practitioner) -> dict[str, Any]:
    """What `PractitionerSerializer` gives, built directly.

    A page of results is the hot path of partner searches; the serializer
    classes document the shape, this function produces it several times faster
    (a test keeps both identical).
    """
    distance = getattr(practitioner, "distance_km", None)
    next_available = practitioner.next_available_at
    return {
        "id": str(practitioner.public_id),
        "civility": practitioner.civility,
        "first_name": practitioner.first_name,
        "last_name": practitioner.last_name,
        "display_name": practitioner.display_name,
        "profession": practitioner.profession,
        "specialties": [
            {"code": item.code, "name": item.name}
            for item in specialty_items(practitioner)
        ],
        "languages": list(practitioner.languages or ()),
        "gender": practitioner.gender,
        "sector": practitioner.sector,
        "fee": _money(practitioner.effective_fee),
        "usual_overrun": _money(practitioner.usual_overrun),
        "teleconsultation": practitioner.teleconsultation,
        "wheelchair_accessible": practitioner.wheelchair_accessible,
        "rating": {
            "average": _money(practitioner.rating_average),
            "count": practitioner.rating_count,
        },
        "next_available_at": (
            _DATETIME.to_representation(next_available) if next_available else None
        ),
        "distance_km": round(distance, 2) if distance is not None else None,
        "verified": practitioner.is_verified(),
        "places": [
            {
                "id": item.public_id,
                "name": item.name,
                "address": item.address,
                "postal_code": item.postal_code,
                "commune": item.commune,
                "latitude": item.latitude,
                "longitude": item.longitude,
                "phone": item.phone,
                "access_notes": item.access_notes,
            }
            for item in place_items(practitioner)
        ],
    }


# --- Views ---------------------------------------------------------------------------

PRACTITIONER_EXAMPLE = {
    "id": "3f1c7a52-7d1e-4a4b-9a59-0c6f1f2a8b11",
    "civility": "dr",
    "first_name": "Élodie",
    "last_name": "Lefèvre",
    "display_name": "Dr Élodie Lefèvre",
    "profession": "physician",
    "specialties": [{"code": "cardiology", "name": "Cardiologie"}],
    "languages": ["fr", "en"],
    "gender": "female",
    "sector": "1",
    "fee": "50.00",
    "usual_overrun": None,
    "teleconsultation": True,
    "wheelchair_accessible": True,
    "rating": {"average": "4.70", "count": 23},
    "next_available_at": "2026-03-03T08:30:00Z",
    "distance_km": 1.12,
    "verified": True,
    "places": [
        {
            "id": "9b2d7f4e-2c1a-4f0e-8f11-5f7c9a0d3e21",
            "name": "Cabinet de cardiologie",
            "address": "12 rue de la Roquette",
            "postal_code": "75011",
            "commune": "Paris",
            "latitude": 48.8547,
            "longitude": 2.3738,
            "phone": "01 43 00 00 00",
            "access_notes": "Rez-de-chaussée, ascenseur",
        }
    ],
}


class PractitionerListApi(APIView):
    """Search the directory of verified practitioners."""

    required_scopes = {"read": ["specialists:read"]}

    @extend_schema(
        operation_id="specialists_search",
        summary="Search practitioners",
        description=(
            "Verified practitioners matching every filter given. Text search is "
            "accent-insensitive French full-text on names and specialties, with "
            "typo-tolerant name matching. `place` is a postal code and/or commune "
            "located with La Poste's base; results then carry `distance_km`. "
            "Pagination by `limit`/`offset` without a total count: follow `next`."
        ),
        parameters=[SearchParamsSerializer, PageParamsSerializer],
        responses={
            200: PractitionerPageSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Invalid parameters."),
            401: ErrorSerializer,
            403: ErrorSerializer,
        },
        examples=[
            OpenApiExample(
                "Cardiologists near Paris 11e",
                value={
                    "next": "https://example.fr/api/v1/specialists/?specialty="
                    "cardiology&place=75011&limit=20&offset=20",
                    "previous": None,
                    "results": [PRACTITIONER_EXAMPLE],
                },
                response_only=True,
            ),
            OpenApiExample(
                "Unknown place",
                value={
                    "code": "invalid",
                    "detail": "Données invalides.",
                    "fields": {
                        "place": [
                            {
                                "code": "unknown_place",
                                "message": "Ce lieu est introuvable : essayez un "
                                "code postal.",
                            }
                        ]
                    },
                },
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )
    def get(self, request: Request) -> Response:
        # Only answers are cached, never errors: a hit was valid when computed.
        # Who asks decides what they may see, the language names the specialties
        # and the address asked builds the page links.
        asked = f"{request.user.pk}|{get_language()}|{request.build_absolute_uri()}"
        return Response(
            answer_cache.searches.cached(
                answer_cache.DIRECTORY, asked, lambda: self.search(request)
            )
        )

    def search(self, request: Request) -> dict[str, Any]:
        params = SearchParamsSerializer(data=request.query_params)
        page = PageParamsSerializer(data=request.query_params)
        params_valid, page_valid = params.is_valid(), page.is_valid()
        if not (params_valid and page_valid):
            errors = {**params.errors, **page.errors}
            specialty = request.query_params.get("specialty", "")
            if "specialty" not in errors and not _specialty_exists(specialty):
                errors["specialty"] = [_unknown_specialty()]
            raise serializers.ValidationError(errors)
        filters = params.to_filters(back_office=_is_back_office(request.user))
        limit, offset = page.validated_data["limit"], page.validated_data["offset"]
        rows = list(
            Practitioner.objects.visible_to(request.user)
            .search(filters)
            .with_listing()
            .only(*LISTING_FIELDS)[offset : offset + limit + 1]
        )
        # An unknown specialty finds nobody; only then is it worth a query to tell
        # the caller apart from a specialty that has no one nearby.
        if not rows and not _specialty_exists(filters.specialty):
            raise serializers.ValidationError({"specialty": [_unknown_specialty()]})
        has_next = len(rows) > limit
        return {
            "next": _page_link(request, offset + limit) if has_next else None,
            "previous": (
                _page_link(request, max(0, offset - limit)) if offset else None
            ),
            "results": [practitioner_payload(row) for row in rows[:limit]],
        }


def _specialty_exists(code: str) -> bool:
    return not code or Specialty.objects.filter(code=code, is_active=True).exists()


def _unknown_specialty() -> serializers.ErrorDetail:
    return serializers.ErrorDetail(_("Unknown specialty."), code="unknown_specialty")


def _page_link(request: Request, offset: int) -> str:
    query = request.query_params.copy()
    query["offset"] = str(offset)
    return request.build_absolute_uri(request.path) + "?" + urlencode(query, doseq=True)


class PractitionerDetailApi(APIView):
    """One practitioner, with biography and bookable consultation types."""

    required_scopes = {"read": ["specialists:read"]}

    @extend_schema(
        operation_id="specialists_retrieve",
        summary="Read a practitioner",
        responses={
            200: PractitionerDetailSerializer,
            401: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
        },
        examples=[
            OpenApiExample(
                "A cardiologist",
                value={
                    **PRACTITIONER_EXAMPLE,
                    "distance_km": None,
                    "bio": "Cardiologue, échographie et épreuve d'effort.",
                    "consultation_types": [
                        {"kind": "first_visit", "duration_minutes": 30, "fee": "50.00"},
                        {"kind": "follow_up", "duration_minutes": 20, "fee": "50.00"},
                        {
                            "kind": "teleconsultation",
                            "duration_minutes": 20,
                            "fee": "50.00",
                        },
                    ],
                },
                response_only=True,
            )
        ],
    )
    def get(self, request: Request, public_id) -> Response:
        practitioner = (
            Practitioner.objects.visible_to(request.user)
            .with_listing()
            .prefetch_related(
                Prefetch(
                    "consultation_types",
                    queryset=ConsultationType.objects.order_by("kind"),
                )
            )
            .filter(public_id=public_id)
            .first()
        )
        if practitioner is None:
            raise Http404
        return Response(PractitionerDetailSerializer(practitioner).data)


class SlotParamsSerializer(serializers.Serializer):
    """`from` is a Python keyword: the field is declared as `start_` and renamed."""

    start_ = serializers.DateTimeField(
        required=False,
        help_text="Start (ISO 8601 date or date-time, Paris time if no offset); "
        "default now.",
    )
    to = serializers.DateTimeField(
        required=False, help_text="End, exclusive; default 14 days after `from`."
    )
    kind = serializers.ChoiceField(
        choices=ConsultationType.Kind.values,
        required=False,
        help_text="Consultation kind; all bookable kinds when absent.",
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = fields.pop("start_")
        return fields

    def to_internal_value(self, data):
        data = {key: _date_as_midnight(data.get(key)) for key in data}
        return super().to_internal_value(data)

    def validate(self, attrs: dict) -> dict:
        start = attrs.get("from") or timezone.now()
        end = attrs.get("to") or start + timedelta(days=DEFAULT_SLOT_RANGE_DAYS)
        if end <= start:
            raise serializers.ValidationError(
                {"to": _("The end must come after the start.")}, code="end_before_start"
            )
        if end - start > timedelta(days=MAX_SLOT_RANGE_DAYS):
            raise serializers.ValidationError(
                {
                    "to": _("At most %(days)s days at a time.")
                    % {"days": MAX_SLOT_RANGE_DAYS}
                },
                code="range_too_long",
            )
        attrs["start"], attrs["end"] = start, end
        return attrs


def _date_as_midnight(value: Any) -> Any:
    """A bare date means midnight, Paris time, that day."""
    if isinstance(value, str) and len(value) == 10:
        try:
            day = datetime.strptime(value, "%Y-%m-%d").date()  # noqa: DTZ007
        except ValueError:
            return value
        return datetime.combine(day, time.min, tzinfo=PARIS).isoformat()
    return value


class SlotSerializer(serializers.Serializer):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    kind = serializers.CharField()
    place = serializers.UUIDField(allow_null=True)
    teleconsultation = serializers.BooleanField()


class SlotsPageSerializer(serializers.Serializer):
    practitioner = serializers.UUIDField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    slots = SlotSerializer(many=True)


class PractitionerSlotsApi(APIView):
    """Free slots of a practitioner, for booking through the appointments API."""

    required_scopes = {"read": ["specialists:read"]}

    @extend_schema(
        operation_id="specialists_slots",
        summary="List free slots",
        description=(
            "Free slots between `from` and `to` (at most 31 days): opening hours "
            "and extra openings, minus holidays, absences, appointments and holds, "
            "buffers, the minimum notice and the booking horizon. Times are UTC; "
            "a bare date means midnight in Europe/Paris."
        ),
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATETIME, required=False),
            OpenApiParameter("to", OpenApiTypes.DATETIME, required=False),
            OpenApiParameter(
                "kind",
                OpenApiTypes.STR,
                enum=ConsultationType.Kind.values,
                required=False,
            ),
        ],
        responses={
            200: SlotsPageSerializer,
            400: ErrorSerializer,
            401: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
        },
        examples=[
            OpenApiExample(
                "Two slots",
                value={
                    "practitioner": "3f1c7a52-7d1e-4a4b-9a59-0c6f1f2a8b11",
                    "start": "2026-03-01T23:00:00Z",
                    "end": "2026-03-02T23:00:00Z",
                    "slots": [
                        {
                            "starts_at": "2026-03-02T08:00:00Z",
                            "ends_at": "2026-03-02T08:30:00Z",
                            "kind": "first_visit",
                            "place": "9b2d7f4e-2c1a-4f0e-8f11-5f7c9a0d3e21",
                            "teleconsultation": False,
                        },
                        {
                            "starts_at": "2026-03-02T17:00:00Z",
                            "ends_at": "2026-03-02T17:20:00Z",
                            "kind": "teleconsultation",
                            "place": None,
                            "teleconsultation": True,
                        },
                    ],
                },
                response_only=True,
            ),
            OpenApiExample(
                "Range too long",
                value={
                    "code": "invalid",
                    "detail": "Données invalides.",
                    "fields": {
                        "to": [
                            {
                                "code": "range_too_long",
                                "message": "31 jours au plus à la fois.",
                            }
                        ]
                    },
                },
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )
    def get(self, request: Request, public_id) -> Response:
        params = SlotParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        start, end = params.validated_data["start"], params.validated_data["end"]
        practitioner_id = (
            Practitioner.objects.visible_to(request.user)
            .filter(public_id=public_id)
            .values_list("pk", flat=True)
            .first()
        )
        if practitioner_id is None:
            raise Http404
        kind = params.validated_data.get("kind")

        def payload() -> dict[str, Any]:
            schedule = load_schedules([practitioner_id], start, end)[practitioner_id]
            slots = compute_slots(schedule, start=start, end=end, kind=kind)
            return {
                "practitioner": str(schedule.public_id),
                # In UTC like the slots: a far past date in Paris time has a
                # local mean time offset with seconds, which RFC 3339 refuses.
                "start": _utc(start),
                "end": _utc(end),
                "slots": [_slot_data(slot, schedule) for slot in slots],
            }

        # Keyed by the parameters as asked: without `from`, "now" is the moment
        # the cached answer was computed, at most a cache lifetime ago.
        asked = request.query_params
        params_key = "|".join(asked.get(name, "") for name in ("from", "to", "kind"))
        renderer = request.accepted_renderer
        if not isinstance(renderer, JSONRenderer):  # the browsable API
            answer = answer_cache.slots.cached(practitioner_id, params_key, payload)
            return Response(answer)
        # Two weeks of slots is a large document: JSON clients get the bytes
        # rendered once, not a structure to unpickle and encode again.
        body = answer_cache.slots.cached(
            practitioner_id,
            f"{params_key}|json",
            lambda: renderer.render(payload(), renderer_context={"request": request}),
        )
        return HttpResponse(body, content_type=renderer.media_type)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _slot_data(slot: Slot, schedule) -> dict[str, Any]:
    place = schedule.places.get(slot.place_id) if slot.place_id else None
    return {
        "starts_at": slot.starts_at.isoformat().replace("+00:00", "Z"),
        "ends_at": slot.ends_at.isoformat().replace("+00:00", "Z"),
        "kind": slot.kind,
        "place": str(place.public_id) if place else None,
        "teleconsultation": slot.is_remote,
    }


class ProcedureSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField(source="label")
    kind = serializers.CharField()


class IntakeQuestionSerializer(serializers.Serializer):
    code = serializers.CharField()
    text = serializers.CharField(source="label")
    answer_type = serializers.CharField()
    choices = serializers.ListField(child=serializers.CharField())
    required = serializers.BooleanField()
    help_text = serializers.CharField()


class SpecialtySerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField(source="label")
    practitioner_title = serializers.CharField()
    direct_access = serializers.BooleanField()
    procedures = ProcedureSerializer(many=True)
    intake_questions = IntakeQuestionSerializer(many=True)


class SpecialtyListApi(APIView):
    """The specialty catalogue: codes to search with, usual exams, intake questions."""

    required_scopes = {"read": ["specialists:read"]}
    pagination_class = None

    @extend_schema(
        operation_id="specialties_list",
        summary="List specialties",
        description=(
            "Every active specialty with its stable `code`, usual exams and "
            "procedures, and the questions a referral for it should answer."
        ),
        responses={200: SpecialtySerializer(many=True), 401: ErrorSerializer},
        examples=[
            OpenApiExample(
                "Cardiology",
                value=[
                    {
                        "code": "cardiology",
                        "name": "Cardiologie",
                        "practitioner_title": "cardiologue",
                        "direct_access": False,
                        "procedures": [
                            {
                                "code": "ecg",
                                "name": "Électrocardiogramme (ECG)",
                                "kind": "exam",
                            }
                        ],
                        "intake_questions": [
                            {
                                "code": "chest-pain",
                                "text": "Avez-vous des douleurs dans la poitrine ?",
                                "answer_type": "yes_no",
                                "choices": [],
                                "required": True,
                                "help_text": "Une douleur thoracique intense ou au "
                                "repos est une urgence : appelez le 15.",
                            }
                        ],
                    }
                ],
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response:
        specialties = Specialty.objects.filter(is_active=True).prefetch_related(
            Prefetch("procedures", queryset=SpecialtyProcedure.objects.all()),
            Prefetch("intake_questions", queryset=IntakeQuestion.objects.all()),
        )
        return Response(SpecialtySerializer(specialties, many=True).data)

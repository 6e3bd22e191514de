"""Directory search: the same filters for the portal, the API and the back-office.

Full-text search runs on a stored tsvector (names, specialties and their keywords
in the accent-blind French configuration); names also match by trigram word
similarity, which forgives typos ("Dupond" finds "Dupont"). Distance is the
haversine formula in SQL, after a bounding-box prefilter on indexed coordinates.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.postgres.search import (
    SearchQuery,
    SearchRank,
    TrigramWordSimilarity,
)
from django.db.models import (
    Exists,
    F,
    FloatField,
    JSONField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from .availability import PARIS
from .geocoding import GeoPoint, distance_expression, haversine_km, in_box
from .models import SEARCH_CONFIG, PracticePlace, Practitioner, Specialty
from .text import fold

MAX_RADIUS_KM = 200
DEFAULT_RADIUS_KM = 20
_TERM = re.compile(r"[a-z0-9]+")


class Ordering:
    RELEVANCE = "relevance"
    AVAILABILITY = "availability"
    DISTANCE = "distance"
    RATING = "rating"
    NAME = "name"

    CHOICES = [
        (RELEVANCE, _("Relevance")),
        (AVAILABILITY, _("Earliest availability")),
        (DISTANCE, _("Distance")),
        (RATING, _("Rating")),
        (NAME, _("Name")),
    ]


@dataclass(frozen=True)
class SearchFilters:
    """What a patient, a partner or a concierge asks the directory."""

    query: str = ""
    specialty: str = ""
    near: GeoPoint | None = None
    radius_km: float = DEFAULT_RADIUS_KM
    language: str = ""
    gender: str = ""
    sectors: tuple[str, ...] = ()
    max_fee: Decimal | None = None
    teleconsultation: bool | None = None
    wheelchair_accessible: bool | None = None
    available_before: date | None = None
    verified_only: bool = True
    ordering: str = Ordering.RELEVANCE


def text_query(text: str) -> SearchQuery | None:
    """Every word must match, each as a prefix: "cardio lyon" finds cardiologists."""
    terms = _TERM.findall(fold(text))
    if not terms:
        return None
    raw = " & ".join(f"{term}:*" for term in terms[:8])
    return SearchQuery(raw, config=SEARCH_CONFIG, search_type="raw")


def end_of_day(day: date) -> datetime:
    """The first instant after `day` in Paris, as an aware datetime."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=PARIS)


def apply_filters(queryset: QuerySet, filters: SearchFilters) -> QuerySet:
    """Filter, annotate (`distance_km`, `rank`) and order practitioners."""
    if filters.verified_only:
        queryset = queryset.proposable()
    else:
        queryset = queryset.filter(is_active=True)
    if filters.specialty:
        through = Practitioner.specialties.through
        # The specialty's id as an uncorrelated subquery: PostgreSQL looks it up
        # once, and each candidate is then one probe of the (practitioner,
        # specialty) unique index instead of a join to the catalogue.
        specialty_id = Subquery(
            Specialty.objects.filter(code=filters.specialty).values("pk")[:1]
        )
        queryset = queryset.filter(
            Exists(
                through.objects.filter(
                    practitioner_id=OuterRef("pk"), specialty_id=specialty_id
                )
            )
        )
    if filters.language:
        queryset = queryset.filter(languages__contains=[filters.language])
    if filters.gender:
        queryset = queryset.filter(gender=filters.gender)
    if filters.sectors:
        queryset = queryset.filter(sector__in=filters.sectors)
    if filters.max_fee is not None:
        queryset = queryset.annotate(
            fee_for_patient=Coalesce("negotiated_rate", "consultation_fee")
        ).filter(fee_for_patient__lte=filters.max_fee)
    if filters.teleconsultation is not None:
        queryset = queryset.filter(teleconsultation=filters.teleconsultation)
    if filters.wheelchair_accessible:
        queryset = queryset.filter(wheelchair_accessible=True)
    if filters.available_before is not None:
        queryset = queryset.filter(
            next_available_at__lt=end_of_day(filters.available_before)
        )
    if filters.near is not None:
        queryset = within_radius(queryset, filters.near, filters.radius_km)
    search = text_query(filters.query) if filters.query else None
    if search is not None:
        folded = fold(filters.query)
        queryset = queryset.filter(
            Q(search_vector=search) | Q(search_name__trigram_word_similar=folded)
        ).annotate(
            rank=SearchRank(F("search_vector"), search)
            + TrigramWordSimilarity(folded, "search_name")
        )
    return queryset.order_by(*_ordering(filters, has_rank=search is not None))


def within_radius(queryset: QuerySet, point: GeoPoint, radius_km: float) -> QuerySet:
    """Practitioners with an active place within `radius_km`, with `distance_km`.

    The bounding box narrows places down through the (latitude, longitude)
    index before the exact distance is computed.
    """
    radius_km = min(max(radius_km, 0.1), MAX_RADIUS_KM)
    nearby = PracticePlace.objects.filter(
        in_box(point, radius_km), practitioner=OuterRef("pk"), is_active=True
    ).annotate(distance=distance_expression(point))
    return queryset.filter(Exists(nearby.filter(distance__lte=radius_km))).annotate(
        distance_km=Subquery(
            nearby.order_by("distance").values("distance")[:1],
            output_field=FloatField(),
        )
    )


def _ordering(filters: SearchFilters, *, has_rank: bool) -> list[Any]:
    by_availability = [F("next_available_at").asc(nulls_last=True), "id"]
    choice = filters.ordering
    if choice == Ordering.RELEVANCE:
        if has_rank:
            return [F("rank").desc(), *by_availability]
        choice = (
            Ordering.DISTANCE if filters.near is not None else Ordering.AVAILABILITY
        )
    if choice == Ordering.DISTANCE and filters.near is not None:
        return ["distance_km", *by_availability]
    if choice == Ordering.RATING:
        return [F("rating_average").desc(nulls_last=True), "-rating_count", "id"]
    if choice == Ordering.NAME:
        return ["last_name", "first_name", "id"]
    return by_availability


# --- Listing data: one query for a page of results ----------------------------------


@dataclass(frozen=True)
class SpecialtyItem:
    code: str
    name: str


@dataclass(frozen=True)
class PlaceItem:
    public_id: str
    name: str
    address: str
    postal_code: str
    commune: str
    latitude: float | None
    longitude: float | None
    phone: str = ""
    access_notes: str = ""

    def distance_from(self, point: GeoPoint | None) -> float | None:
        if point is None or self.latitude is None or self.longitude is None:
            return None
        return haversine_km(
            point.latitude, point.longitude, self.latitude, self.longitude
        )


def _listing_sql() -> tuple[str, str]:
    """The two JSON arrays of a listing row, as fixed SQL over the outer row.

    Written once rather than built from expressions: compiling nested JSON
    subqueries on every request cost more than running them.
    """
    practitioner = Practitioner._meta.db_table
    through = Practitioner.specialties.through._meta.db_table
    specialty = Practitioner.specialties.field.related_model._meta.db_table
    place = PracticePlace._meta.db_table
    # Only table names of the models go into these strings, never input.
    specialties = (
        "SELECT COALESCE(jsonb_agg(jsonb_build_object("  # noqa: S608  # nosec B608
        "'code', s.code, 'name', s.name, 'name_en', s.name_en) "
        "ORDER BY s.sort_order, s.name), '[]'::jsonb) "
        f"FROM {through} AS t JOIN {specialty} AS s ON s.id = t.specialty_id "
        f'WHERE t.practitioner_id = "{practitioner}"."id"'
    )
    places = (
        "SELECT COALESCE(jsonb_agg(jsonb_build_object("  # noqa: S608  # nosec B608
        "'public_id', pl.public_id, 'name', pl.name, 'address', pl.address, "
        "'postal_code', pl.postal_code, 'commune', pl.commune, "
        "'latitude', pl.latitude, 'longitude', pl.longitude, 'phone', pl.phone, "
        "'access_notes', pl.access_notes) "
        "ORDER BY pl.is_primary DESC, pl.id), '[]'::jsonb) "
        f"FROM {place} AS pl "
        f'WHERE pl.practitioner_id = "{practitioner}"."id" AND pl.is_active'
    )
    return specialties, places


def with_listing(queryset: QuerySet) -> QuerySet:
    """Fold specialties and active places into each row as JSON arrays."""
    specialties, places = _listing_sql()
    return queryset.annotate(
        specialty_items=RawSQL(  # noqa: S611 - fixed SQL, no parameters  # nosec B611
            f"({specialties})", (), output_field=JSONField()
        ),
        place_items=RawSQL(  # noqa: S611 - fixed SQL, no parameters  # nosec B611
            f"({places})", (), output_field=JSONField()
        ),
    )


def specialty_items(practitioner: Practitioner) -> list[SpecialtyItem]:
    english = (get_language() or "fr").startswith("en")
    rows = getattr(practitioner, "specialty_items", None)
    if rows is None:
        return [
            SpecialtyItem(specialty.code, specialty.label)
            for specialty in practitioner.specialties.all()
        ]
    return [
        SpecialtyItem(
            row["code"], row["name_en"] if english and row["name_en"] else row["name"]
        )
        for row in rows
    ]


def place_items(practitioner: Practitioner) -> list[PlaceItem]:
    rows = getattr(practitioner, "place_items", None)
    if rows is None:
        return [
            PlaceItem(
                str(place.public_id),
                place.name,
                place.address,
                place.postal_code,
                place.commune,
                place.latitude,
                place.longitude,
                place.phone,
                place.access_notes,
            )
            for place in practitioner.places.all()
            if place.is_active
        ]
    return [PlaceItem(**row) for row in rows]

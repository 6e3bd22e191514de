"""The directory as FHIR R4: Practitioner, Schedule (one per practitioner), Slot.

Ids are the practitioners' public UUIDs (Practitioner/<uuid>, Schedule/<uuid>);
a Slot's id encodes its practitioner, start and kind
(`<uuid>.<unix start>.<kind>`), so that a slot read back is recomputed, and
answers 404 once it is no longer free. Free slots come from the specialists
app's availability code (opening hours minus closures and bookings), exactly as
the partner API's /specialists/<id>/slots/ shows them.
"""

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from django.db.models import Prefetch, Q, QuerySet
from django.http import QueryDict
from django.utils import timezone

from specialists.availability import (
    Schedule as AvailabilitySchedule,
)
from specialists.availability import (
    Slot,
    compute_slots,
    load_schedules,
)
from specialists.models import (
    ConsultationType,
    PracticePlace,
    Practitioner,
    Specialty,
)
from specialists.text import fold

from .resources import (
    InvalidSearch,
    ResourceType,
    SearchParam,
    SearchResult,
    code_system,
    fhir_instant,
    paging,
    parse_date_param,
    reference_id,
    search_page,
    token_value,
)

#: The national identifier of health professionals (idNatPs: "8" + RPPS number).
RPPS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"
RPPS_SYSTEMS = {RPPS_SYSTEM, "http://rpps.fr", "https://rpps.fr"}
BCP47 = "urn:ietf:bcp:47"
V2_0276 = "http://terminology.hl7.org/CodeSystem/v2-0276"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"

GENDERS = {"female": "female", "male": "male"}
LANGUAGE_TAGS = {"lsf": "fsl"}  # French Sign Language's BCP 47 tag
APPOINTMENT_TYPES: dict[str, tuple[str, str]] = {
    ConsultationType.Kind.FIRST_VISIT: ("ROUTINE", "Routine appointment"),
    ConsultationType.Kind.FOLLOW_UP: ("FOLLOWUP", "A follow up visit"),
    ConsultationType.Kind.TELECONSULTATION: ("ROUTINE", "Routine appointment"),
}
MAX_SLOT_RANGE = timedelta(days=31)
DEFAULT_SLOT_RANGE = timedelta(days=14)


def _uuid(value: str) -> UUID | None:
    try:
        return UUID(value)
    except ValueError:
        return None


def _practitioners(request) -> QuerySet[Practitioner]:
    """Listed, verified practitioners the caller may see, with what FHIR shows."""
    return (
        Practitioner.objects.visible_to(request.user)
        .proposable()
        .prefetch_related(
            Prefetch("specialties", queryset=Specialty.objects.filter(is_active=True)),
            Prefetch("places", queryset=PracticePlace.objects.filter(is_active=True)),
        )
        .order_by("last_name", "first_name", "pk")
    )


def _specialty_concept(specialty: Specialty) -> dict[str, Any]:
    return {
        "coding": [
            {
                "system": code_system("specialty"),
                "code": specialty.code,
                "display": specialty.name,
            }
        ],
        "text": specialty.name,
    }


def _kind_concept(kind: str) -> dict[str, Any]:
    return {
        "coding": [
            {
                "system": code_system("consultation-kind"),
                "code": kind,
                "display": str(ConsultationType.Kind(kind).label),
            }
        ]
    }


def practitioner_resource(practitioner: Practitioner) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Practitioner",
        "id": str(practitioner.public_id),
        "meta": {"lastUpdated": fhir_instant(practitioner.updated_at)},
        "active": True,
        "name": [
            {
                "use": "official",
                "text": practitioner.display_name,
                "family": practitioner.last_name,
                "given": [practitioner.first_name],
                **(
                    {"prefix": [practitioner.get_civility_display()]}
                    if practitioner.civility
                    else {}
                ),
            }
        ],
        "gender": GENDERS.get(practitioner.gender, "unknown"),
    }
    if practitioner.rpps:
        resource["identifier"] = [
            {
                "use": "official",
                "type": {
                    "coding": [
                        {
                            "system": V2_0203,
                            "code": "PRN",
                            "display": "Provider number",
                        }
                    ],
                    "text": "RPPS",
                },
                "system": RPPS_SYSTEM,
                "value": f"8{practitioner.rpps}",
            }
        ]
    places = list(practitioner.places.all())
    telecom = [
        {"system": "phone", "value": place.phone, "use": "work"}
        for place in places
        if place.phone
    ]
    if telecom:
        resource["telecom"] = telecom
    if places:
        resource["address"] = [
            {
                "use": "work",
                "type": "physical",
                "text": f"{place.name}, {place.address}, {place.postal_code} "
                f"{place.commune}",
                "line": [line for line in (place.address,) if line],
                "city": place.commune,
                "postalCode": place.postal_code,
                "country": "FR",
            }
            for place in places
        ]
    specialties = list(practitioner.specialties.all())
    if specialties:
        resource["qualification"] = [
            {"code": _specialty_concept(specialty)} for specialty in specialties
        ]
    if practitioner.languages:
        resource["communication"] = [
            {
                "coding": [
                    {"system": BCP47, "code": LANGUAGE_TAGS.get(language, language)}
                ]
            }
            for language in practitioner.languages
        ]
    return resource


def _filter_practitioners(queryset, params: QueryDict) -> QuerySet[Practitioner]:
    for raw in params.getlist("_id"):
        ids = [_uuid(value) for value in raw.split(",")]
        queryset = queryset.filter(public_id__in=[value for value in ids if value])
    for name in ("name", "family", "given"):
        for raw in params.getlist(name):
            for term in fold(raw).split():
                if name == "family":
                    queryset = queryset.filter(last_name__unaccent__icontains=term)
                elif name == "given":
                    queryset = queryset.filter(first_name__unaccent__icontains=term)
                else:
                    queryset = queryset.filter(search_name__icontains=term)
    for raw in params.getlist("specialty"):
        codes = [token_value(value)[1] for value in raw.split(",")]
        queryset = queryset.filter(specialties__code__in=codes)
    for raw in params.getlist("identifier"):
        condition = Q()
        for value in raw.split(","):
            system, number = token_value(value)
            if system is not None and system not in RPPS_SYSTEMS:
                continue
            if len(number) == 12 and number.startswith("8"):
                number = number[1:]
            condition |= Q(rpps=number)
        queryset = queryset.filter(condition) if condition else queryset.none()
    return queryset.distinct()


class PractitionerResource(ResourceType):
    name = "Practitioner"
    scope = "specialists:read"
    profile = "http://hl7.org/fhir/StructureDefinition/Practitioner"
    search_params = (
        SearchParam("_id", "token", "Practitioner id (a UUID); comma for several."),
        SearchParam("name", "string", "Words of the name, accents ignored."),
        SearchParam("family", "string", "Part of the family name."),
        SearchParam("given", "string", "Part of the given name."),
        SearchParam(
            "specialty",
            "token",
            "Specialty code of the service's catalogue, e.g. `cardiology` "
            f"(system {code_system('specialty')}).",
        ),
        SearchParam(
            "identifier",
            "token",
            f"RPPS number: `{RPPS_SYSTEM}|8<RPPS>` or the 11 digits alone.",
        ),
    )

    def search(self, request, params: QueryDict) -> SearchResult:
        queryset = _filter_practitioners(_practitioners(request), params)
        return search_page(queryset, params, practitioner_resource)

    def read(self, request, resource_id: str) -> dict[str, Any] | None:
        public_id = _uuid(resource_id)
        if public_id is None:
            return None
        practitioner = _practitioners(request).filter(public_id=public_id).first()
        return practitioner_resource(practitioner) if practitioner else None


def schedule_resource(
    practitioner: Practitioner, schedule: AvailabilitySchedule | None = None
) -> dict[str, Any]:
    now = timezone.now()
    horizon = timedelta(days=practitioner.booking_horizon_days)
    kinds = (
        schedule.bookable_kinds
        if schedule is not None
        else [
            kind
            for kind in ConsultationType.Kind.values
            if kind != ConsultationType.Kind.TELECONSULTATION
            or practitioner.teleconsultation
        ]
    )
    resource: dict[str, Any] = {
        "resourceType": "Schedule",
        "id": str(practitioner.public_id),
        "active": True,
        "serviceType": [_kind_concept(kind) for kind in kinds],
        "actor": [
            {
                "reference": f"Practitioner/{practitioner.public_id}",
                "display": practitioner.display_name,
            }
        ],
        "planningHorizon": {
            "start": fhir_instant(now.astimezone(UTC).replace(microsecond=0)),
            "end": fhir_instant((now + horizon).astimezone(UTC).replace(microsecond=0)),
        },
        "comment": f"Free slots: GET Slot?schedule=Schedule/{practitioner.public_id}",
    }
    specialties = list(practitioner.specialties.all())
    if specialties:
        resource["specialty"] = [_specialty_concept(s) for s in specialties]
    return resource


class ScheduleResource(ResourceType):
    name = "Schedule"
    scope = "specialists:read"
    profile = "http://hl7.org/fhir/StructureDefinition/Schedule"
    search_params = (
        SearchParam("_id", "token", "Schedule id (the practitioner's UUID)."),
        SearchParam("actor", "reference", "Practitioner/<id>: that one's schedule."),
        SearchParam("specialty", "token", "Specialty code, e.g. `cardiology`."),
    )

    def search(self, request, params: QueryDict) -> SearchResult:
        rewritten = params.copy()
        for raw in params.getlist("actor"):
            rewritten.appendlist(
                "_id",
                ",".join(reference_id(v, "Practitioner") for v in raw.split(",")),
            )
        queryset = _filter_practitioners(_practitioners(request), rewritten)
        return search_page(queryset, rewritten, schedule_resource)

    def read(self, request, resource_id: str) -> dict[str, Any] | None:
        public_id = _uuid(resource_id)
        if public_id is None:
            return None
        practitioner = _practitioners(request).filter(public_id=public_id).first()
        return schedule_resource(practitioner) if practitioner else None


def slot_id(schedule: AvailabilitySchedule, slot: Slot) -> str:
    start = int(slot.starts_at.timestamp())
    return f"{schedule.public_id}.{start}.{slot.kind.replace('_', '-')}"


def slot_resource(schedule: AvailabilitySchedule, slot: Slot) -> dict[str, Any]:
    code, display = APPOINTMENT_TYPES[slot.kind]
    place = schedule.places.get(slot.place_id) if slot.place_id else None
    return {
        "resourceType": "Slot",
        "id": slot_id(schedule, slot),
        "serviceType": [_kind_concept(slot.kind)],
        "appointmentType": {
            "coding": [{"system": V2_0276, "code": code, "display": display}]
        },
        "schedule": {"reference": f"Schedule/{schedule.public_id}"},
        "status": "free",
        "start": fhir_instant(slot.starts_at.astimezone(UTC)),
        "end": fhir_instant(slot.ends_at.astimezone(UTC)),
        "comment": (
            "Teleconsultation"
            if slot.is_remote
            else f"{place.name}, {place.commune}"
            if place
            else ""
        ),
    }


def _slot_window(params: QueryDict) -> tuple[datetime, datetime]:
    start = end = None
    for raw in params.getlist("start"):
        for bound in parse_date_param(raw):
            if bound.prefix in {"ge", "gt"}:
                start = max(start, bound.moment) if start else bound.moment
            else:
                moment = bound.moment + (
                    timedelta(microseconds=1) if bound.prefix == "le" else timedelta()
                )
                end = min(end, moment) if end else moment
    start = start or timezone.now()
    end = end or start + DEFAULT_SLOT_RANGE
    if end <= start:
        raise InvalidSearch("The start range is empty.")
    if end - start > MAX_SLOT_RANGE:
        raise InvalidSearch("Search slots over 31 days at most at a time.")
    return start, end


class SlotResource(ResourceType):
    name = "Slot"
    scope = "specialists:read"
    profile = "http://hl7.org/fhir/StructureDefinition/Slot"
    search_params = (
        SearchParam("schedule", "reference", "Schedule/<id> (required, or actor)."),
        SearchParam(
            "schedule.actor",
            "reference",
            "Practitioner/<id>: the slots of that practitioner's schedule.",
        ),
        SearchParam(
            "start",
            "date",
            "Slot start, with prefixes: `start=ge2026-03-02&start=lt2026-03-05`. "
            "Default: the next 14 days; 31 days at most.",
        ),
        SearchParam(
            "service-type", "token", "first_visit, follow_up, teleconsultation"
        ),
        SearchParam("status", "token", "Only `free` slots are published."),
    )

    def search(self, request, params: QueryDict) -> SearchResult:
        count, offset = paging(params, default=100)
        ids = [
            reference_id(value, "Schedule")
            for raw in params.getlist("schedule")
            for value in raw.split(",")
        ] + [
            reference_id(value, "Practitioner")
            for name in ("schedule.actor", "practitioner")
            for raw in params.getlist(name)
            for value in raw.split(",")
        ]
        if not ids:
            raise InvalidSearch(
                "Name a schedule (schedule=Schedule/<id>) or a practitioner "
                "(schedule.actor=Practitioner/<id>)."
            )
        public_ids = [value for value in map(_uuid, ids) if value]
        kinds = [
            token_value(value)[1]
            for raw in params.getlist("service-type")
            for value in raw.split(",")
        ]
        if any(kind not in ConsultationType.Kind.values for kind in kinds):
            raise InvalidSearch("Unknown service-type.")
        statuses = {
            value for raw in params.getlist("status") for value in raw.split(",")
        }
        start, end = _slot_window(params)
        visible = _practitioners(request).filter(public_id__in=public_ids)
        if statuses and "free" not in statuses:
            return SearchResult(resources=[], total=0)
        schedules = load_schedules(Q(pk__in=visible.values("pk")), start, end)
        resources = []
        for schedule in sorted(schedules.values(), key=lambda s: str(s.public_id)):
            for slot in compute_slots(schedule, start=start, end=end):
                if not kinds or slot.kind in kinds:
                    resources.append(slot_resource(schedule, slot))
        resources.sort(key=lambda resource: (resource["start"], resource["id"]))
        page = resources[offset : offset + count]
        return SearchResult(
            resources=page,
            total=len(resources),
            next_offset=offset + count if offset + count < len(resources) else None,
        )

    def read(self, request, resource_id: str) -> dict[str, Any] | None:
        parts = resource_id.split(".")
        if len(parts) != 3 or not parts[1].isdigit():
            return None
        public_id, starts, kind = _uuid(parts[0]), int(parts[1]), parts[2]
        kind = kind.replace("-", "_")
        if public_id is None or kind not in ConsultationType.Kind.values:
            return None
        try:
            starts_at = datetime.fromtimestamp(starts, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
        visible = _practitioners(request).filter(public_id=public_id)
        schedules = load_schedules(
            Q(pk__in=visible.values("pk")), starts_at, starts_at + timedelta(minutes=1)
        )
        for schedule in schedules.values():
            for slot in compute_slots(
                schedule,
                start=starts_at,
                end=starts_at + timedelta(minutes=1),
                kind=kind,
            ):
                if slot.starts_at == starts_at:
                    return slot_resource(schedule, slot)
        return None

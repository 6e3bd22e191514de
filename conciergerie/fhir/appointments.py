"""Appointments as FHIR R4 `Appointment`, read-only, for entitled partners.

A partner reads the appointments the REST API lets it read: those of the
patients it referred or who consented to it, and those it booked
(`Appointment.objects.visible_to`). Anything else answers 404, exactly as
`/api/v1/appointments/<id>/` does. Ids are the appointments' public UUIDs; the
patient is named by the service's public reference (`P-…`), an identifier
rather than a Patient resource, which the facade does not serve.
"""

from typing import Any
from uuid import UUID

from django.db.models import QuerySet
from django.http import QueryDict

from appointments.models import Appointment
from specialists.models import ConsultationType

from .directory import APPOINTMENT_TYPES, V2_0276, _kind_concept, _specialty_concept
from .resources import (
    ResourceType,
    SearchParam,
    SearchResult,
    code_system,
    fhir_instant,
    parse_date_param,
    reference_id,
    search_page,
    token_value,
)

#: Appointment.status (required binding appointmentstatus) by our state.
STATUSES = {
    Appointment.State.HELD: "pending",
    Appointment.State.BOOKED: "booked",
    Appointment.State.CONFIRMED: "booked",
    Appointment.State.DONE: "fulfilled",
    Appointment.State.CANCELLED: "cancelled",
    Appointment.State.LATE_CANCELLED: "cancelled",
    Appointment.State.RESCHEDULED: "cancelled",
    Appointment.State.EXPIRED: "cancelled",
    Appointment.State.NO_SHOW: "noshow",
}
#: Our states behind each FHIR status, for `status=` searches.
STATES_OF_STATUS: dict[str, list[str]] = {}
for _state, _status in STATUSES.items():
    STATES_OF_STATUS.setdefault(_status, []).append(_state)

PATIENT_SYSTEM = code_system("patient-reference")
STATE_SYSTEM = code_system("appointment-state")


def _uuid(value: str) -> UUID | None:
    try:
        return UUID(value)
    except ValueError:
        return None


def _appointments(request) -> QuerySet[Appointment]:
    return (
        Appointment.objects.visible_to(request.user)
        .select_related("practitioner", "patient", "specialty", "place")
        .order_by("starts_at", "pk")
    )


def appointment_resource(appointment: Appointment) -> dict[str, Any]:
    state = appointment.state
    status = STATUSES.get(state, "entered-in-error")
    practitioner = appointment.practitioner
    participant_status = "needs-action" if status == "pending" else "accepted"
    if status in {"cancelled", "noshow"}:
        participant_status = "declined"
    resource: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": str(appointment.public_id),
        "meta": {"lastUpdated": fhir_instant(appointment.updated_at)},
        "status": status,
        "start": fhir_instant(appointment.starts_at),
        "end": fhir_instant(appointment.ends_at),
        "minutesDuration": max(
            1, int((appointment.ends_at - appointment.starts_at).total_seconds() // 60)
        ),
        "created": fhir_instant(appointment.created_at),
        "participant": [
            {
                "type": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/"
                                "v3-ParticipationType",
                                "code": "PPRF",
                                "display": "primary performer",
                            }
                        ]
                    }
                ],
                "actor": {
                    "reference": f"Practitioner/{practitioner.public_id}",
                    "display": practitioner.display_name,
                },
                "required": "required",
                "status": participant_status,
            },
            {
                "actor": {
                    "identifier": {
                        "system": PATIENT_SYSTEM,
                        "value": appointment.patient.reference,
                    },
                },
                "required": "required",
                "status": participant_status,
            },
        ],
        # The service's own state, finer than FHIR's status (confirmed by the
        # patient, moved to another time).
        "extension": [
            {
                "url": f"{STATE_SYSTEM}/state",
                "valueCode": state,
            }
        ],
    }
    kind = appointment.consultation_kind
    if kind in ConsultationType.Kind.values:
        resource["serviceType"] = [_kind_concept(kind)]
        code, display = APPOINTMENT_TYPES[kind]
        resource["appointmentType"] = {
            "coding": [{"system": V2_0276, "code": code, "display": display}]
        }
    if appointment.specialty is not None:
        resource["specialty"] = [_specialty_concept(appointment.specialty)]
    care_request = appointment.care_request
    if care_request is not None:
        resource["basedOn"] = [
            {
                "identifier": {
                    "system": code_system("care-request"),
                    "value": care_request.reference,
                }
            }
        ]
    return resource


def _filter(queryset: QuerySet[Appointment], params: QueryDict):
    for raw in params.getlist("_id"):
        ids = [_uuid(value) for value in raw.split(",")]
        queryset = queryset.filter(public_id__in=[value for value in ids if value])
    for raw in params.getlist("practitioner"):
        ids = [_uuid(reference_id(value, "Practitioner")) for value in raw.split(",")]
        queryset = queryset.filter(
            practitioner__public_id__in=[value for value in ids if value]
        )
    for raw in params.getlist("patient"):
        references = []
        for value in raw.split(","):
            system, code = token_value(value)
            if system is not None and system != PATIENT_SYSTEM:
                continue
            references.append(reference_id(code, "Patient").upper())
        queryset = queryset.filter(patient__reference__in=references)
    for raw in params.getlist("specialty"):
        codes = [token_value(value)[1] for value in raw.split(",")]
        queryset = queryset.filter(specialty__code__in=codes)
    for raw in params.getlist("status"):
        states = [
            state
            for value in raw.split(",")
            for state in STATES_OF_STATUS.get(token_value(value)[1], [])
        ]
        queryset = queryset.filter(state__in=states)
    for raw in params.getlist("date"):
        for bound in parse_date_param(raw):
            lookup = {"ge": "gte", "gt": "gt", "le": "lte", "lt": "lt"}[bound.prefix]
            queryset = queryset.filter(**{f"starts_at__{lookup}": bound.moment})
    return queryset


class AppointmentResource(ResourceType):
    name = "Appointment"
    scope = "appointments:read"
    profile = "http://hl7.org/fhir/StructureDefinition/Appointment"
    search_params = (
        SearchParam("_id", "token", "Appointment id (a UUID); comma for several."),
        SearchParam(
            "patient",
            "reference",
            "The patient's public reference, `P-…` (or "
            f"`{PATIENT_SYSTEM}|P-…`); comma for several.",
        ),
        SearchParam(
            "practitioner", "reference", "`Practitioner/<id>` or the id alone."
        ),
        SearchParam(
            "date",
            "date",
            "Start of the appointment: a day (Paris time) or a date-time with its "
            "offset, prefixed by eq, ge, gt, le or lt; repeat for a range.",
        ),
        SearchParam(
            "specialty",
            "token",
            f"Specialty code of the service's catalogue (system "
            f"{code_system('specialty')}).",
        ),
        SearchParam(
            "status",
            "token",
            "pending, booked, fulfilled, cancelled or noshow; comma for several.",
        ),
    )

    def search(self, request, params: QueryDict) -> SearchResult:
        queryset = _filter(_appointments(request), params).select_related(
            "care_request"
        )
        return search_page(queryset, params, appointment_resource)

    def read(self, request, resource_id: str) -> dict[str, Any] | None:
        public_id = _uuid(resource_id)
        if public_id is None:
            return None
        appointment = (
            _appointments(request)
            .select_related("care_request")
            .filter(public_id=public_id)
            .first()
        )
        return appointment_resource(appointment) if appointment else None

"""FHIR interactions: search-type, read, capabilities; errors as OperationOutcome."""

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.utils import timezone
from rest_framework import exceptions, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from conciergerie.api import exception_handler as api_exception_handler

from .registry import RESOURCE_TYPES, get_resource_type
from .resources import ID_PATTERN, ResourceType, SearchResult

FHIR_VERSION = "4.0.1"
MEDIA_TYPE = "application/fhir+json"

ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    429: "throttled",
}


class FhirJsonRenderer(JSONRenderer):
    media_type = MEDIA_TYPE
    format = "json"
    charset = "utf-8"


class AlwaysFhirJson(BaseContentNegotiation):
    """FHIR JSON whatever the Accept header (`_format=json` is the only format)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def operation_outcome(status_code: int, diagnostics: str) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": ISSUE_CODES.get(status_code, "processing"),
                "diagnostics": diagnostics,
            }
        ],
    }


def fhir_exception_handler(exc: Exception, context: dict) -> Response | None:
    """The API's status codes and headers (Retry-After…), FHIR's error body."""
    response = api_exception_handler(exc, context)
    if response is None:
        return None
    body = response.data or {}
    diagnostics = str(body.get("detail", "")) if isinstance(body, dict) else ""
    fields = body.get("fields") if isinstance(body, dict) else None
    if fields:
        diagnostics = (
            "; ".join(
                str(item.get("message", ""))
                for errors in fields.values()
                for item in (errors if isinstance(errors, list) else [])
                if isinstance(item, dict)
            )
            or diagnostics
        )
    response.data = operation_outcome(response.status_code, diagnostics)
    return response


class FhirView(APIView):
    """Common ground: FHIR JSON out, OperationOutcome errors, no OpenAPI entry."""

    renderer_classes = [FhirJsonRenderer]
    content_negotiation_class = AlwaysFhirJson
    # The FHIR facade documents itself with its CapabilityStatement.
    schema = None
    resource: ResourceType | None = None

    def get_exception_handler(self):
        return fhir_exception_handler

    def initial(self, request, *args, **kwargs):
        name = kwargs.get("resource_type")
        if name is not None:
            self.resource = get_resource_type(name)
            if self.resource is None:
                raise exceptions.NotFound(f"Unknown resource type {name!r}.")
            self.required_scopes = {"read": [self.resource.scope]}
        fmt = request.query_params.get("_format")
        if fmt and fmt not in {"json", MEDIA_TYPE, "application/json"}:
            raise exceptions.NotAcceptable("Only JSON is served.")
        super().initial(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        return response


def _base_url(request: Request) -> str:
    return request.build_absolute_uri("/fhir/r4/").rstrip("/")


def searchset(
    request: Request, resource: ResourceType, result: SearchResult
) -> dict[str, Any]:
    base = _base_url(request)
    params = request.query_params.copy()
    links = [{"relation": "self", "url": request.build_absolute_uri()}]
    if result.next_offset is not None:
        params["_offset"] = str(result.next_offset)
        links.append(
            {
                "relation": "next",
                "url": f"{base}/{resource.name}?{urlencode(params, doseq=True)}",
            }
        )
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": timezone.now().isoformat(),
        "link": links,
        "entry": [
            {
                "fullUrl": f"{base}/{item['resourceType']}/{item['id']}",
                "resource": item,
                "search": {"mode": "match"},
            }
            for item in result.resources
        ],
    }
    if result.total is not None:
        bundle["total"] = result.total
    return bundle


class SearchView(FhirView):
    """GET [base]/[type]?params: a searchset Bundle."""

    def get(self, request: Request, resource_type: str) -> Response:
        assert self.resource is not None
        result = self.resource.search(request, request.query_params)
        return Response(searchset(request, self.resource, result))


class ReadView(FhirView):
    """GET [base]/[type]/[id]: the resource, or 404 with an OperationOutcome."""

    def get(self, request: Request, resource_type: str, resource_id: str) -> Response:
        assert self.resource is not None
        found = (
            self.resource.read(request, resource_id)
            if ID_PATTERN.match(resource_id)
            else None
        )
        if found is None:
            raise exceptions.NotFound(f"{resource_type}/{resource_id} is not known.")
        return Response(found)


class CapabilityStatementView(FhirView):
    """GET [base]/metadata: what this server supports (no token needed)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        return Response(capability_statement(request), status=status.HTTP_200_OK)


def capability_statement(request: Request) -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-03-01",
        "publisher": settings.SERVICE_NAME,
        "kind": "instance",
        "implementation": {
            "description": f"{settings.SERVICE_NAME} directory and appointments "
            "(read-only)",
            "url": _base_url(request),
        },
        "fhirVersion": FHIR_VERSION,
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    "OAuth2 client credentials at /o/token/; send the token as "
                    "`Authorization: Bearer`. Scopes specialists:read (Practitioner, "
                    "Schedule, Slot) and appointments:read (Appointment: the "
                    "patients the partner referred or may see). Pages: "
                    "`_count` (at most 100) and `_offset`, follow the `next` link."
                ),
                "security": {
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/"
                                    "CodeSystem/restful-security-service",
                                    "code": "OAuth",
                                }
                            ]
                        }
                    ]
                },
                "resource": [
                    {
                        "type": resource_type.name,
                        "profile": resource_type.profile,
                        "interaction": [
                            {"code": "read"},
                            {"code": "search-type"},
                        ],
                        "searchParam": [
                            {
                                "name": param.name,
                                "type": param.type,
                                "documentation": param.documentation,
                            }
                            for param in resource_type.search_params
                        ],
                    }
                    for resource_type in RESOURCE_TYPES
                ],
            }
        ],
    }

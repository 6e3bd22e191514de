"""The API's error shape for addresses no API view answers.

A URL under /api/v1/ that matches no route (a malformed id the URL converter
refuses, a typo) would get Django's HTML 404 page; API clients get the API's JSON
error body instead, and FHIR clients an OperationOutcome.
"""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

FHIR_PREFIX = "/fhir/r4/"
API_PREFIX = "/api/v1/"


class ApiErrorShapeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code != 404 or not response.get(
            "Content-Type", ""
        ).startswith("text/html"):
            return response
        detail = _("Not found.")
        if request.path.startswith(API_PREFIX):
            return JsonResponse({"code": "not_found", "detail": detail}, status=404)
        if request.path.startswith(FHIR_PREFIX):
            return JsonResponse(
                {
                    "resourceType": "OperationOutcome",
                    "issue": [
                        {
                            "severity": "error",
                            "code": "not-found",
                            "diagnostics": detail,
                        }
                    ],
                },
                status=404,
                content_type="application/fhir+json",
            )
        return response

"""The page of last resort: a database outage answers 503, anything else 500.

Django calls `server_error` from inside the `except` block of the failed request,
so `sys.exc_info()` still names the error. A lost PostgreSQL connection is
temporary (a restart, a fail-over): 503 with Retry-After tells load balancers and
browsers to come back, and the page says so without touching the database.
"""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils.translation import gettext as _
from django.views.decorators.csrf import requires_csrf_token

DATABASE_OUTAGE = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 30


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    error = sys.exc_info()[1]
    if not isinstance(error, DATABASE_OUTAGE):
        return HttpResponse(loader.render_to_string("500.html"), status=500)
    if request.path.startswith(("/api/", "/fhir/")):
        response: HttpResponse = JsonResponse(
            {
                "code": "service_unavailable",
                "detail": _("The service is briefly unavailable; retry in a moment."),
                "fields": {},
            },
            status=503,
        )
    else:
        # No request context: its processors would query the database again.
        response = HttpResponse(loader.render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response

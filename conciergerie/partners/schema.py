"""OpenAPI post-processing: what the API kernel does for every operation.

Views document their own behaviour; the answers that any operation may give
because of the kernel (authentication, scopes, rate limits, idempotency keys) are
added here once, so that the schema tells the truth for endpoints added later.
"""

from typing import Any

ERROR_REF = {"$ref": "#/components/schemas/Error"}

IDEMPOTENCY_PARAMETER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": (
        "Any unique string (a UUID). Sending the same POST again with the same key "
        "within 24 hours returns the first response instead of acting twice; the "
        "same key with a different body answers 422 `idempotency_key_reused`; "
        "while the first request runs, 409 `idempotency_key_in_use`."
    ),
}

KERNEL_RESPONSES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "401": (
        "Missing, unknown or expired token.",
        "not_authenticated",
        {},
    ),
    "403": (
        "The token lacks the scope this operation needs.",
        "permission_denied",
        {},
    ),
    "429": (
        "Too many requests for this partner: wait `Retry-After` seconds.",
        "throttled",
        {
            "Retry-After": {
                "schema": {"type": "integer"},
                "description": "Seconds to wait before trying again.",
            }
        },
    ),
}

POST_RESPONSES: dict[str, tuple[str, str]] = {
    "409": (
        "A request with this Idempotency-Key is still being processed.",
        "idempotency_key_in_use",
    ),
    "422": (
        "This Idempotency-Key was already used for a different request.",
        "idempotency_key_reused",
    ),
}


def _error_response(description: str, code: str, headers=None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {
            "application/json": {
                "schema": ERROR_REF,
                "examples": {
                    code: {"value": {"code": code, "detail": description}},
                },
            }
        },
    }
    if headers:
        response["headers"] = headers
    return response


def add_kernel_behaviour(result, generator, request, public):
    """drf-spectacular hook: kernel responses, and Idempotency-Key on every POST."""
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            secured = operation.get("security") != [] and any(
                "oauth2" in requirement for requirement in operation.get("security", [])
            )
            parameters = operation.get("parameters", [])
            if parameters or "requestBody" in operation:
                responses.setdefault(
                    "400", _error_response("Invalid input.", "invalid", None)
                )
            if any(parameter.get("in") == "path" for parameter in parameters):
                responses.setdefault(
                    "404",
                    _error_response(
                        "No such object, or not one you may see.", "not_found", None
                    ),
                )
            for status, (description, code, headers) in KERNEL_RESPONSES.items():
                if status == "429" or secured:
                    responses.setdefault(
                        status, _error_response(description, code, headers)
                    )
            # Idempotency keys belong to a caller: anonymous endpoints (provider
            # callbacks) have none.
            if method == "post" and secured and path.startswith("/api/v1/"):
                parameters = operation.setdefault("parameters", [])
                if not any(
                    parameter.get("name") == "Idempotency-Key"
                    for parameter in parameters
                ):
                    parameters.append(dict(IDEMPOTENCY_PARAMETER))
                for status, (description, code) in POST_RESPONSES.items():
                    responses.setdefault(status, _error_response(description, code))
    return result

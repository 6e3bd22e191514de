"""The API kernel: partner authentication, scopes, pagination and one error shape.

Every error the API returns has the same JSON body::

    {"code": "invalid", "detail": "Données invalides.",
     "fields": {"nir": [{"code": "invalid_nir", "message": "…"}]}}

`fields` is present for validation errors only; codes are stable, messages are in
the caller's language (French by default).
"""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from oauth2_provider.models import AccessToken
from rest_framework import exceptions, permissions, serializers
from rest_framework.fields import get_error_detail
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response


class PartnerOAuth2Authentication(OAuth2Authentication):
    """Client-credentials tokens carry no user: act as the application's owner.

    Each partner application belongs to a service user holding the partner role,
    so that `visible_to(request.user)` isolates partners like any other user.
    """

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user, token = result
        if user is None:
            user = token.application.user if token.application_id else None
        if user is None or not user.is_active:
            raise exceptions.AuthenticationFailed(_("This token has no active owner."))
        return user, token


class HasRequiredScopes(permissions.BasePermission):
    """A token must carry the view's scope for the method; sessions are not scoped.

    Views declare `required_scopes = {"read": [...], "write": [...]}`. A view that
    declares nothing is closed to tokens: access is granted, never assumed.
    """

    message = "insufficient_scope"

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if not isinstance(token, AccessToken):
            return True
        declared = getattr(view, "required_scopes", None) or {}
        kind = "read" if request.method in permissions.SAFE_METHODS else "write"
        wanted = declared.get(kind)
        if not wanted:
            self.message = _("This endpoint cannot be used with a partner token.")
            return False
        if not token.allow_scopes(wanted):
            self.message = _("The token lacks the scope %(scopes)s.") % {
                "scopes": " ".join(wanted)
            }
            return False
        return True


class CreatedCursorPagination(CursorPagination):
    """Stable pages over ever-growing tables, newest first, without counting."""

    ordering = "-created_at"
    page_size_query_param = "page_size"
    max_page_size = 100

    def decode_cursor(self, request):
        """A cursor the API did not make is bad input (400), not a missing page."""
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound as error:
            raise exceptions.ValidationError(
                {
                    self.cursor_query_param: [
                        exceptions.ErrorDetail(str(error.detail), code="invalid_cursor")
                    ]
                }
            ) from error


def _field_errors(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {key: _field_errors(value) for key, value in detail.items()}
    if isinstance(detail, list):
        if all(isinstance(item, exceptions.ErrorDetail) for item in detail):
            return [{"code": item.code, "message": str(item)} for item in detail]
        return [_field_errors(item) for item in detail]
    if isinstance(detail, exceptions.ErrorDetail):
        return [{"code": detail.code, "message": str(detail)}]
    return detail


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """Map Django's errors to DRF's, then give every error the same body."""
    # Imported here: DRF's views module reads the API settings, which name this one.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=get_error_detail(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = exc.detail
        if not isinstance(errors, dict):
            errors = {"non_field_errors": errors}
        fields = _field_errors(errors)
        non_field = fields.get("non_field_errors", [])
        code = non_field[0]["code"] if non_field else "invalid"
        message = non_field[0]["message"] if non_field else _("Invalid input.")
        response.data = {"code": code, "detail": message, "fields": fields}
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        response.data = {"code": code, "detail": str(detail)}
    return response


class ErrorSerializer(serializers.Serializer):
    """The one shape of every error response (for the schema)."""

    code = serializers.CharField()
    detail = serializers.CharField()
    # The metaclass moves declared fields aside, so this does not shadow `.fields`.
    fields = serializers.DictField(required=False)  # type: ignore[assignment]

"""`Idempotency-Key` for every POST of the API, whatever the view.

A middleware scoped to `/api/v1/`, so that endpoints added later get it without
doing anything. For a POST carrying the header, per caller (a partner
organisation's service account, or a signed-in user):

- first time: the key is claimed (a row committed at once), the view runs in a
  transaction together with the recording of its response, which is kept
  `IDEMPOTENCY_KEY_HOURS` (24) in PostgreSQL;
- same key, same request (method, path, query, body): the first response is
  replayed, status, body and `Location`, with `Idempotent-Replayed: true`;
- same key, another request: 422 `idempotency_key_reused`;
- same key while the first request is still running: 409
  `idempotency_key_in_use` with `Retry-After: 1` — a concurrent duplicate never
  waits on a worker thread, the client simply retries;
- a response that says nothing final is not kept, so that a retry runs again:
  5xx (the view's writes are rolled back with it), 401, 403 and 429;
- a claim left by a request that died (the process was killed) is taken over
  after `IDEMPOTENCY_LOCK_SECONDS`: its transaction rolled back, nothing of it
  remains, so running it again is safe.

JSON bodies are compared after canonical re-encoding (key order and spacing do
not matter); multipart bodies with their boundary blanked out.
"""

import contextlib
import hashlib
import json
import re
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.request import RawPostDataException
from django.utils import timezone
from django.utils.translation import gettext as _
from oauth2_provider.models import AccessToken

from .models import IDEMPOTENCY_KEY_PATTERN, IdempotentRequest

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEPT_HEADERS = ("Content-Type", "Location", "Content-Disposition")
NOT_KEPT_STATUSES = {401, 403, 429}
_BEARER = re.compile(r"^Bearer\s+(\S+)$", re.IGNORECASE)


def _error(status: int, code: str, detail: str, **headers: str) -> JsonResponse:
    response = JsonResponse({"code": code, "detail": detail}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def caller_id(request: HttpRequest) -> int | None:
    """The account the API will act as, or None (the API will answer 401)."""
    match = _BEARER.match(request.headers.get("Authorization", ""))
    if match:
        checksum = hashlib.sha256(match.group(1).encode()).hexdigest()
        token = (
            AccessToken.objects.select_related("application__user", "user")
            .filter(token_checksum=checksum)
            .first()
        )
        if token is None or token.is_expired():
            return None
        user = token.user or (token.application.user if token.application else None)
        return user.pk if user is not None and user.is_active else None
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user.pk
    return None


def fingerprint(request: HttpRequest) -> str:
    """What makes two requests "the same": method, path, query and body."""
    body = request.body
    content_type = request.content_type or ""
    if content_type == "application/json":
        with contextlib.suppress(ValueError):
            body = json.dumps(
                json.loads(body or b"null"), sort_keys=True, separators=(",", ":")
            ).encode()
    elif content_type.startswith("multipart/"):
        boundary = (request.content_params or {}).get("boundary", "")
        if boundary:
            body = body.replace(boundary.encode("latin-1"), b"BOUNDARY")
    digest = hashlib.sha256()
    for part in (
        request.method or "",
        request.path,
        request.META.get("QUERY_STRING", ""),
        content_type,
    ):
        digest.update(part.encode() + b"\0")
    digest.update(body)
    return digest.hexdigest()


def _claim(*, user_id: int, key: str, digest: str, request: HttpRequest):
    """Claim the key: return (record, None) to run the view, or (None, response)."""
    now = timezone.now()
    values: dict[str, object] = {
        "fingerprint": digest,
        "method": request.method,
        "path": request.path[:500],
        "state": IdempotentRequest.State.PROCESSING,
        "locked_at": now,
        "created_at": now,
        "expires_at": now + IdempotentRequest.lifetime(),
        "status_code": None,
        "response_headers": {},
        "response_body": b"",
    }
    try:
        with transaction.atomic():
            record = IdempotentRequest.objects.create(
                user_id=user_id, key=key, **values
            )
        return record, None
    except IntegrityError:
        pass
    existing = IdempotentRequest.objects.filter(user_id=user_id, key=key).first()
    if existing is None:  # expired and purged in between: try once more
        return _claim(user_id=user_id, key=key, digest=digest, request=request)
    stale = now - timedelta(seconds=settings.IDEMPOTENCY_LOCK_SECONDS)
    reusable = existing.expires_at <= now or (
        existing.state == IdempotentRequest.State.PROCESSING
        and existing.locked_at <= stale
        and existing.fingerprint == digest
    )
    if reusable:
        taken = IdempotentRequest.objects.filter(
            pk=existing.pk, locked_at=existing.locked_at, state=existing.state
        ).update(**values)
        if taken:
            return IdempotentRequest.objects.get(pk=existing.pk), None
        existing.refresh_from_db()
    if existing.fingerprint != digest:
        return None, _error(
            422,
            "idempotency_key_reused",
            _(
                "This Idempotency-Key was used for another request; use a new key "
                "for a new request."
            ),
        )
    if existing.state == IdempotentRequest.State.PROCESSING:
        return None, _error(
            409,
            "idempotency_key_in_use",
            _("A request with this Idempotency-Key is still being processed."),
            Retry_After="1",
        )
    return None, _replay(existing)


def _replay(record: IdempotentRequest) -> HttpResponse:
    response = HttpResponse(bytes(record.response_body), status=record.status_code)
    for name, value in record.response_headers.items():
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    return response


def _keepable(response: HttpResponse) -> bool:
    return (
        not response.streaming
        and response.status_code < 500
        and response.status_code not in NOT_KEPT_STATUSES
    )


class IdempotencyMiddleware:
    """Apply `Idempotency-Key` to the POSTs of the API (see the module docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.prefix = settings.IDEMPOTENCY_PATH_PREFIX

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get(HEADER)
        if (
            key is None
            or request.method != "POST"
            or not request.path.startswith(self.prefix)
        ):
            return self.get_response(request)
        key = key.strip()
        if not IDEMPOTENCY_KEY_PATTERN.match(key):
            return _error(
                400,
                "invalid_idempotency_key",
                _("An Idempotency-Key is 1 to 255 visible ASCII characters."),
            )
        user_id = caller_id(request)
        if user_id is None:
            return self.get_response(request)
        try:
            digest = fingerprint(request)
        except RawPostDataException:
            return self.get_response(request)
        record, answer = _claim(
            user_id=user_id, key=key, digest=digest, request=request
        )
        if answer is not None:
            return answer
        return self._run(request, record)

    def _run(self, request: HttpRequest, record: IdempotentRequest) -> HttpResponse:
        kept = False
        try:
            with transaction.atomic():
                response = self.get_response(request)
                if _keepable(response):
                    updated = IdempotentRequest.objects.filter(
                        pk=record.pk, locked_at=record.locked_at
                    ).update(
                        state=IdempotentRequest.State.COMPLETED,
                        status_code=response.status_code,
                        response_headers={
                            name: response[name]
                            for name in KEPT_HEADERS
                            if response.has_header(name)
                        },
                        response_body=response.content,
                    )
                    kept = bool(updated)
                elif response.status_code >= 500:
                    transaction.set_rollback(True)
        finally:
            if not kept:
                IdempotentRequest.objects.filter(
                    pk=record.pk, locked_at=record.locked_at
                ).delete()
        return response


def purge_expired(*, now=None) -> int:
    """Forget the responses kept longer than their 24 hours."""
    deleted, _detail = IdempotentRequest.objects.filter(
        expires_at__lte=now or timezone.now()
    ).delete()
    return deleted

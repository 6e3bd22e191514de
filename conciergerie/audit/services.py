"""Writing and checking the access log; every face of every app calls record_access."""

import ipaddress
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction

from .models import GENESIS_HASH, AccessLog

#: The advisory lock serialising appends, so that the hash chain stays linear.
#: Any constant works as long as nothing else in the database uses it.
AUDIT_CHAIN_LOCK = 0x4155_4449_5401


@dataclass(frozen=True)
class ChainBreak:
    pk: int
    problem: str  # "link": previous_hash does not match; "content": row altered


@dataclass(frozen=True)
class ChainReport:
    checked: int
    head_hash: str
    first_break: ChainBreak | None

    @property
    def intact(self) -> bool:
        return self.first_break is None


def record_access(
    *,
    actor,
    action: str,
    patient_ref: str = "",
    object_type: str = "",
    object_id: object = "",
    reason: str = "",
    request=None,
    face: str = "",
    actor_role: str = "",
    actor_label: str = "",
) -> AccessLog:
    """Append one row to the access log, chained to the row before it.

    Called inside the caller's transaction when there is one: a read or change
    that rolls back leaves no trace, and a trace that cannot be written rolls the
    operation back.
    """
    if actor is not None and not actor.is_authenticated:
        actor = None
    token = getattr(request, "auth", None) if request is not None else None
    application = getattr(token, "application", None)
    entry = AccessLog(
        actor=actor,
        actor_role=actor_role or _role_of(actor),
        actor_label=(actor_label or _label_of(actor, application))[:255],
        patient_ref=patient_ref,
        object_type=object_type,
        object_id=str(object_id or ""),
        action=action,
        face=face or _face_of(request, application),
        reason=reason.strip(),
        ip_address=_client_ip(request),
        user_agent=(
            request.META.get("HTTP_USER_AGENT", "")[:300] if request is not None else ""
        ),
    )
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_CHAIN_LOCK])
        entry.previous_hash = (
            AccessLog.objects.order_by("-pk").values_list("row_hash", flat=True).first()
            or GENESIS_HASH
        )
        entry.row_hash = entry.compute_hash()
        entry.save(force_insert=True)
    return entry


def verify_chain(*, batch_size: int = 2000) -> ChainReport:
    """Recompute every hash in order; report the first row that does not fit."""
    expected_previous = GENESIS_HASH
    checked = 0
    rows = AccessLog.objects.in_chain_order().iterator(chunk_size=batch_size)
    for row in rows:
        if row.previous_hash != expected_previous:
            return ChainReport(checked, expected_previous, ChainBreak(row.pk, "link"))
        if row.compute_hash() != row.row_hash:
            return ChainReport(
                checked, expected_previous, ChainBreak(row.pk, "content")
            )
        expected_previous = row.row_hash
        checked += 1
    return ChainReport(checked, expected_previous, None)


def _role_of(actor) -> str:
    if actor is None:
        return "system"
    return actor.primary_role or ("superuser" if actor.is_superuser else "")


def _label_of(actor, application) -> str:
    if application is not None:
        return application.name
    if actor is None:
        return "Conciergerie"
    return actor.get_full_name() or actor.email


def _face_of(request, application) -> str:
    if request is None:
        return AccessLog.Face.SYSTEM
    if application is not None or request.path.startswith("/api/"):
        return AccessLog.Face.API
    if request.path.startswith("/" + settings.ADMIN_URL):
        return AccessLog.Face.ADMIN
    return AccessLog.Face.PORTAL


def _client_ip(request) -> str:
    if request is None:
        return ""
    address = request.META.get("REMOTE_ADDR", "")
    # Behind N reverse proxies (PROXY_COUNT), the client is the address the
    # outermost one appended; anything further left may be forged by the client.
    proxies = getattr(settings, "AXES_IPWARE_PROXY_COUNT", 0)
    if proxies:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= proxies:
            address = hops[-proxies]
    try:
        return ipaddress.ip_address(address).compressed
    except ValueError:
        return ""

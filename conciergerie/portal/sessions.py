"""Where an account is signed in, and signing those places out.

Each browser session gets a UserSession row at sign-in; its id travels inside the
session data, which survives the key changes Django makes at sign-in and password
change, so the row can follow the current key (see SessionRecordMiddleware).
"""

import time
from importlib import import_module
from typing import cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from conciergerie.accounts.models import User

from .models import UserSession

RECORD_KEY = "_portal_session"
#: Seconds between two writes of last_seen_at: a page view should not cost a write.
TOUCH_EVERY = 300


def _session_store():
    return import_module(settings.SESSION_ENGINE).SessionStore


def _client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def record_login(*, request: HttpRequest, user) -> UserSession | None:
    """Open the row of this browser's session for the account just signed in."""
    session = getattr(request, "session", None)
    if session is None:
        return None
    if session.session_key is None:
        session.save()
    forget_closed_sessions(user)
    row = UserSession.objects.create(
        user=user,
        session_key=session.session_key,
        user_agent=request.headers.get("user-agent", "")[:300],
        ip_address=_client_ip(request),
    )
    session[RECORD_KEY] = {
        "id": str(row.pk),
        "key": session.session_key,
        "seen": int(time.time()),
    }
    return row


def forget_closed_sessions(user) -> int:
    """Drop the rows of signed-out or expired sessions: an IP address and a
    browser are personal data, kept only while they help the person."""
    closed = UserSession.objects.filter(user=user).exclude(
        pk__in=UserSession.objects.filter(user=user).open().values("pk")
    )
    deleted, _rows = closed.delete()
    return deleted


def on_login(sender, request, user, **kwargs) -> None:
    record_login(request=request, user=user)


def on_logout(sender, request, user, **kwargs) -> None:
    session = getattr(request, "session", None)
    record = session.get(RECORD_KEY) if session is not None else None
    if record:
        UserSession.objects.filter(pk=record["id"], ended_at__isnull=True).update(
            ended_at=timezone.now()
        )


def follow(request: HttpRequest) -> None:
    """Keep this browser's row on the current session key and roughly up to date."""
    session = request.session
    record = session.get(RECORD_KEY)
    if not record:
        record_login(request=request, user=request.user)
        return
    now = int(time.time())
    key_changed = record.get("key") != session.session_key
    if not key_changed and now - record.get("seen", 0) < TOUCH_EVERY:
        return
    UserSession.objects.filter(pk=record["id"], user=cast(User, request.user)).update(
        session_key=session.session_key or "", last_seen_at=timezone.now()
    )
    session[RECORD_KEY] = {**record, "key": session.session_key, "seen": now}


def current_id(request: HttpRequest) -> str | None:
    record = request.session.get(RECORD_KEY)
    return record["id"] if record else None


def open_sessions(user) -> list[UserSession]:
    return list(UserSession.objects.filter(user=user).open())


@transaction.atomic
def end_session(*, user, session_id, current: str | None) -> UserSession:
    """Sign one other browser out; the current one signs out with the usual button."""
    try:
        row = UserSession.objects.select_for_update().get(
            pk=session_id, user=user, ended_at__isnull=True
        )
    except (UserSession.DoesNotExist, ValidationError):
        raise ValidationError(
            _("This session is already signed out."), code="session_gone"
        ) from None
    if str(row.pk) == current:
        raise ValidationError(
            _("To sign out of this browser, use the Sign out button."),
            code="current_session",
        )
    _session_store()(session_key=row.session_key).delete()
    row.ended_at = timezone.now()
    row.save(update_fields=["ended_at"])
    return row


@transaction.atomic
def end_other_sessions(*, user, current: str | None) -> int:
    """Sign every browser out but this one: after a lost phone or a shared computer."""
    others = UserSession.objects.select_for_update().filter(
        user=user, ended_at__isnull=True
    )
    if current is not None:
        others = others.exclude(pk=current)
    rows = list(others)
    store = _session_store()
    for row in rows:
        store(session_key=row.session_key).delete()
    return UserSession.objects.filter(pk__in=[row.pk for row in rows]).update(
        ended_at=timezone.now()
    )


def describe_device(user_agent: str) -> str:
    """A plain name for a browser, good enough to recognise one's own devices."""
    agent = user_agent.lower()
    browser = next(
        (
            name
            for marker, name in (
                ("edg/", "Edge"),
                ("firefox/", "Firefox"),
                ("samsungbrowser", "Samsung Internet"),
                ("chrome/", "Chrome"),
                ("chromium", "Chromium"),
                ("safari/", "Safari"),
            )
            if marker in agent
        ),
        "",
    )
    system = next(
        (
            name
            for marker, name in (
                ("android", "Android"),
                ("iphone", "iPhone"),
                ("ipad", "iPad"),
                ("windows", "Windows"),
                ("mac os", "macOS"),
                ("linux", "Linux"),
            )
            if marker in agent
        ),
        "",
    )
    if browser and system:
        return _("%(browser)s on %(system)s") % {"browser": browser, "system": system}
    return browser or system or _("Unknown browser")

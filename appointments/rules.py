"""The notice rules: how long before a visit one may book, cancel or move it.

Per consultation type, with the service's defaults (`APPOINTMENT_NOTICE_RULES`):
booking needs a short notice; cancelling or moving inside the longer notice is
still possible but recorded as late, as Doctolib records it, and patients can no
longer move the appointment online (they cancel or call the concierge).
"""

from datetime import datetime, time, timedelta

from django.conf import settings

ACTIONS = ("book", "cancel", "reschedule")


def notice(kind: str, action: str) -> timedelta:
    """The notice of `action` for a consultation of this kind."""
    if action not in ACTIONS:
        raise ValueError(f"Unknown action {action!r}")
    rules = settings.APPOINTMENT_NOTICE_RULES
    default = rules["default"]
    minutes = rules.get(kind, {}).get(action, default[action])
    return timedelta(minutes=minutes)


def booking_notice(kind: str) -> timedelta:
    """The notice to book this kind: the directory offers no slot inside it."""
    return notice(kind, "book")


def is_inside_notice(*, kind: str, starts_at: datetime, action: str, now: datetime):
    """True when `now` is later than the notice of `action` before `starts_at`."""
    return starts_at - now < notice(kind, action)


def default_quiet_hours() -> tuple[time, time] | None:
    """The quiet hours of patients who chose none (21:00 to 08:00 by default)."""
    values = settings.APPOINTMENT_DEFAULT_QUIET_HOURS
    if not values or len(values) != 2:
        return None
    return time.fromisoformat(values[0]), time.fromisoformat(values[1])

"""Pure time arithmetic of the outbox: quiet hours and retry backoff."""

import hashlib
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


def _local_wall_time(day, at: time, zone: ZoneInfo) -> datetime:
    """`day` at `at` on the local clock, as an aware datetime that really exists.

    On the night clocks go forward a wall time such as 02:30 does not exist; going
    through UTC moves it to the first instant after the gap (03:30 in Paris).
    """
    naive = datetime.combine(day, at)
    return naive.replace(tzinfo=zone).astimezone(ZoneInfo("UTC")).astimezone(zone)


def shift_out_of_quiet_hours(
    due_at: datetime,
    *,
    start: time | None,
    end: time | None,
    zone: ZoneInfo = PARIS,
) -> datetime:
    """Return `due_at`, or the end of the quiet hours it falls in, on `zone`'s clock.

    Quiet hours run from `start` (included) to `end` (excluded), local time, and may
    span midnight (21:00 to 08:00). Nothing is quiet when either bound is missing or
    both are equal. The answer is always the same instant or later, never earlier:
    a caller that has a deadline (the appointment itself) compares against it.
    """
    if due_at.tzinfo is None:
        raise ValueError("due_at must be timezone-aware")
    if start is None or end is None or start == end:
        return due_at
    local = due_at.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    if start < end:  # a window inside one day, e.g. 12:00 to 14:00
        if start <= clock < end:
            return _local_wall_time(local.date(), end, zone)
        return due_at
    # A window spanning midnight, e.g. 21:00 to 08:00.
    if clock >= start:
        return _local_wall_time(local.date() + timedelta(days=1), end, zone)
    if clock < end:
        return _local_wall_time(local.date(), end, zone)
    return due_at


def retry_delay(
    *, attempt: int, key: str, base_seconds: int, max_seconds: int
) -> timedelta:
    """Exponential backoff after the `attempt`-th failure, with a little jitter.

    `base × 2^(attempt−1)`, capped at `max_seconds`, then stretched by up to 25%
    by a factor derived from the message key: deterministic for one message (tests
    can rely on it) but spread across messages, so that a provider outage does not
    end with every retry landing in the same second.
    """
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    seconds = min(base_seconds * 2 ** (attempt - 1), max_seconds)
    spread = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return timedelta(seconds=seconds * (1 + 0.25 * spread))

"""Free slots served from the cache, for a minute at most.

Computing a practitioner's free slots over two weeks costs a schedule query, a
bookings query and a walk over every opening window; partners and the portal ask
for the same practitioners again and again. The answer is kept per practitioner
under a version that any change to their schedule or bookings moves on, so a
booking, a cancellation or new opening hours show at once; otherwise it lives
`SPECIALISTS_SLOTS_CACHE_SECONDS`, which bounds how long a slot that falls inside
the minimum notice may still be listed.

Serving a slot that was taken a moment ago is safe: booking checks the slot again
and the database refuses overlapping appointments.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

VERSION_KEY = "specialists:slots:version:{}"
ENTRY_KEY = "specialists:slots:{}:{}:{}"


def _version(practitioner_id: int) -> int:
    return cache.get_or_set(VERSION_KEY.format(practitioner_id), 1, None) or 1


def _bump(practitioner_ids: Iterable[int]) -> None:
    for practitioner_id in set(practitioner_ids):
        key = VERSION_KEY.format(practitioner_id)
        try:
            cache.incr(key)
        except ValueError:  # never asked yet, or evicted: start a fresh series
            cache.set(key, 2, None)


def invalidate(*practitioner_ids: int) -> None:
    """The slots of these practitioners changed.

    Moved on now, so this transaction's later reads see fresh slots, and again
    after commit: a request that read the old rows in between must not leave
    its answer under the new version.
    """
    ids = [pk for pk in practitioner_ids if pk is not None]
    if not ids:
        return
    _bump(ids)
    transaction.on_commit(lambda: _bump(ids))


def cached(practitioner_id: int, params: str, build: Callable[[], Any]) -> Any:
    """The value `build` returns for these parameters, from the cache when fresh."""
    seconds = settings.SPECIALISTS_SLOTS_CACHE_SECONDS
    if seconds <= 0:
        return build()
    digest = hashlib.blake2b(params.encode(), digest_size=12).hexdigest()
    key = ENTRY_KEY.format(practitioner_id, _version(practitioner_id), digest)
    value = cache.get(key)
    if value is None:
        value = build()
        cache.set(key, value, seconds)
    return value


def _changed(sender, instance, **kwargs) -> None:
    if kwargs.get("raw"):  # fixtures being loaded
        return
    invalidate(getattr(instance, "practitioner_id", None) or instance.pk)


def connect(*models: type) -> None:
    """Move the version on whenever a row of these models is saved or deleted."""
    from django.db.models.signals import post_delete, post_save

    for model in models:
        uid = f"slot-cache-{model._meta.label_lower}"
        post_save.connect(_changed, sender=model, dispatch_uid=uid)
        post_delete.connect(_changed, sender=model, dispatch_uid=f"{uid}-delete")

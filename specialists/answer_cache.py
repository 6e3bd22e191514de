"""Directory answers served from the cache, for a minute at most.

Partners and the portal ask the same questions again and again: the free slots
of the same practitioners, cardiologists near the same cities. Each kind of
answer is kept under a version that the changes it depends on move on, so those
show at once; otherwise an answer lives its setting's number of seconds (0 turns
the cache off).

- `slots`: free slots, versioned per practitioner. Any change to a practitioner's
  schedule or bookings moves the version on. The lifetime
  (`SPECIALISTS_SLOTS_CACHE_SECONDS`) bounds how long a slot that falls inside
  the minimum notice may still be listed. Serving a slot taken a moment ago is
  safe: booking checks the slot again and the database refuses overlaps.
- `searches`: API search pages, one version for the whole directory. Editing a
  practitioner, a place, a specialty or a practitioner's specialties (which
  verification, reviews and imports do) moves it on. The next available date
  shown in a result is the one the availability refresh computed: a booking
  reaches it through that refresh, so a search may show it up to
  `SPECIALISTS_SEARCH_CACHE_SECONDS` late, never the slots themselves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import models, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save


class VersionedAnswers:
    """Answers cached per scope, under a version that `invalidate` moves on."""

    def __init__(self, name: str, setting: str) -> None:
        self.name = name
        self.setting = setting

    def _version_key(self, scope: Hashable) -> str:
        return f"specialists:{self.name}:version:{scope}"

    def version(self, scope: Hashable) -> int:
        """The current version of a scope: part of the key of anything cached
        elsewhere (a template fragment) that must go when the scope changes."""
        return cache.get_or_set(self._version_key(scope), 1, None) or 1

    def _bump(self, scopes: Iterable[Hashable]) -> None:
        for scope in set(scopes):
            key = self._version_key(scope)
            try:
                cache.incr(key)
            except ValueError:  # never asked yet, or evicted: start a fresh series
                cache.set(key, 2, None)

    def invalidate(self, *scopes: Hashable) -> None:
        """The answers of these scopes changed.

        Moved on now, so this transaction's later reads see fresh answers, and
        again after commit: a request that read the old rows in between must not
        leave its answer under the new version.
        """
        changed = [scope for scope in scopes if scope is not None]
        if not changed:
            return
        self._bump(changed)
        transaction.on_commit(lambda: self._bump(changed))

    def cached(self, scope: Hashable, params: str, build: Callable[[], Any]) -> Any:
        """The value `build` returns for these parameters, from the cache when fresh."""
        seconds = getattr(settings, self.setting)
        if seconds <= 0:
            return build()
        digest = hashlib.blake2b(params.encode(), digest_size=12).hexdigest()
        key = f"specialists:{self.name}:{scope}:{self.version(scope)}:{digest}"
        value = cache.get(key)
        if value is None:
            value = build()
            cache.set(key, value, seconds)
        return value

    def connect(
        self,
        *senders: type[models.Model],
        scope_of: Callable[[models.Model], Hashable],
    ) -> None:
        """Move the version on whenever a row of these models is saved or deleted.

        A many-to-many table (`Model.field.through`) counts when rows are added
        to it, removed from it or cleared.
        """

        def changed(sender, instance, **kwargs) -> None:
            if kwargs.get("raw"):  # fixtures being loaded
                return
            action = kwargs.get("action")  # many-to-many changes only
            if action is not None and not action.startswith("post_"):
                return
            self.invalidate(scope_of(instance))

        # Strong references: the receiver is a closure nothing else keeps alive.
        for sender in senders:
            uid = f"answer-cache-{self.name}-{sender._meta.label_lower}"
            if sender._meta.auto_created:
                m2m_changed.connect(
                    changed, sender=sender, weak=False, dispatch_uid=uid
                )
                continue
            post_save.connect(changed, sender=sender, weak=False, dispatch_uid=uid)
            post_delete.connect(
                changed, sender=sender, weak=False, dispatch_uid=f"{uid}-delete"
            )


def practitioner_of(instance: models.Model) -> int:
    return getattr(instance, "practitioner_id", None) or instance.pk


#: The whole directory is the one scope of search answers.
DIRECTORY = "directory"

slots = VersionedAnswers("slots", "SPECIALISTS_SLOTS_CACHE_SECONDS")
searches = VersionedAnswers("search", "SPECIALISTS_SEARCH_CACHE_SECONDS")

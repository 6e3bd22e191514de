"""A Redis cache that falls back to process memory while Redis is away.

The cache only speeds pages up and counts attempts (login rate limits, API
throttles). django-redis's IGNORE_EXCEPTIONS turns an outage into "no value",
which rate limiters read as "could not take the lock": every sign-in would then
be refused with 429 until Redis returns. Here an outage switches the calls to a
local memory cache instead: limits keep counting, per process, and pages keep
answering. The switch lasts `RETRY_SECONDS`, so that a dead Redis costs one
connection timeout per period, not one per call.
"""

import logging
import time
from typing import Any

from django.core.cache.backends.locmem import LocMemCache
from django_redis.cache import RedisCache
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

OUTAGE = (ConnectionInterrupted, RedisConnectionError, RedisTimeoutError, OSError)


class FailoverRedisCache(RedisCache):
    RETRY_SECONDS = 5.0

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        options = dict(params.get("OPTIONS", {}))
        # Failures must reach this class, which answers from memory instead.
        options["IGNORE_EXCEPTIONS"] = False
        super().__init__(server, {**params, "OPTIONS": options})
        self._ignore_exceptions = False
        self._fallback = LocMemCache(
            f"failover-{id(self)}", {"TIMEOUT": self.default_timeout}
        )
        self._down_until = 0.0

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if time.monotonic() >= self._down_until:
            try:
                return getattr(super(), name)(*args, **kwargs)
            except OUTAGE as error:
                self._down_until = time.monotonic() + self.RETRY_SECONDS
                logger.warning(
                    "Redis cache unavailable, using process memory: %s", error
                )
        return getattr(self._fallback, name)(*args, **kwargs)

    def add(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("add", *args, **kwargs)

    def get(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("get", *args, **kwargs)

    def set(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("set", *args, **kwargs)

    def touch(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("touch", *args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("delete", *args, **kwargs)

    def get_many(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("get_many", *args, **kwargs)

    def set_many(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("set_many", *args, **kwargs)

    def delete_many(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("delete_many", *args, **kwargs)

    def has_key(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("has_key", *args, **kwargs)

    def incr(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("incr", *args, **kwargs)

    def decr(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("decr", *args, **kwargs)

    def clear(self) -> Any:
        self._fallback.clear()
        return self._call("clear")

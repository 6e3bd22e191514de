"""Settings of the in-process benchmarks: the test settings' keys and hosts, with
production's cache (django-redis, falling back to memory) so that cached answers
cost what they cost in production, a round trip to Redis included."""

import os

from conciergerie.settings_test import *  # noqa: F403

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "conciergerie.cache.FailoverRedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
    }
}

"""Settings of the gunicorn workers under load: production's stores, test's keys.

On top of the benchmarks' settings (production's cache on Redis), Celery
publishes to the real Redis instead of running tasks in the request, as in
production. The partner throttle is raised: the load comes from one partner on
purpose.
"""

import os

from bench.settings import *  # noqa: F403

REDIS_URL = os.environ["REDIS_URL"]
CACHES["default"]["LOCATION"] = REDIS_URL  # noqa: F405
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_URL = CELERY_RESULT_BACKEND = REDIS_URL
API_THROTTLE_PARTNER = "1000000/min"
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {"anon": "1000000/min", "user": "1000000/min"},
}

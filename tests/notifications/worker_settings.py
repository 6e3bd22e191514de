"""Settings of a real worker in the reliability proof and the benchmark.

The test settings, except that mail and SMS go to the real SMTP and HTTP backends
named by the environment (`EMAIL_URL`, `SMS_BACKEND`, `SMS_HTTP_URL`…), pointing
at the local fake servers of the test run.
"""

import os

from conciergerie.settings_test import *  # noqa: F403
from conciergerie.settings_test import env

vars().update(env.email("EMAIL_URL"))
EMAIL_TIMEOUT = 10
SMS_BACKEND = os.environ["SMS_BACKEND"]
CELERY_TASK_ALWAYS_EAGER = False

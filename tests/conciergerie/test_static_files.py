"""Static assets are compressed and cached for good outside the test suite."""

import json

from django.conf import settings

from tests.conciergerie.test_settings import PRODUCTION_ENV, _manage

PRINT_STATIC = (
    "import json; from django.conf import settings; print(json.dumps("
    "{'storage': settings.STORAGES['staticfiles']['BACKEND'], "
    "'middleware': settings.MIDDLEWARE[:2], "
    "'max_age': getattr(settings, 'WHITENOISE_MAX_AGE', None)}))"
)


def test_production_serves_compressed_hashed_static_files():
    result = _manage("shell", "-c", PRINT_STATIC, env=PRODUCTION_ENV)

    assert result.returncode == 0, result.stderr
    static = json.loads(result.stdout.strip().splitlines()[-1])
    assert static["storage"] == (
        "whitenoise.storage.CompressedManifestStaticFilesStorage"
    )
    # Right after the security headers, before sessions: assets skip the rest.
    assert static["middleware"] == [
        "django.middleware.security.SecurityMiddleware",
        "whitenoise.middleware.WhiteNoiseMiddleware",
    ]


def test_the_test_suite_alone_uses_the_plain_storage():
    assert settings.STORAGES["staticfiles"]["BACKEND"] == (
        "django.contrib.staticfiles.storage.StaticFilesStorage"
    )

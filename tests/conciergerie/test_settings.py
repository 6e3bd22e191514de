"""Start-up refuses unsafe configurations; production settings pass the deploy check."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "k3y-" + "x7Qp9" * 12,
    "DJANGO_ALLOWED_HOSTS": "conciergerie.example.fr",
    "FIELD_ENCRYPTION_KEYS": "dGVzdC1rZXktMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA=",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "FIELD_", "DATABASE_"))
    }
    clean["DJANGO_SETTINGS_MODULE"] = "conciergerie.settings"
    clean["DJANGO_ENV_FILE"] = "/nonexistent"  # a developer's .env must not leak in
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_start_up_fails_clearly_without_a_secret_key_in_production():
    env = {**PRODUCTION_ENV, "DJANGO_SECRET_KEY": ""}

    result = _manage("check", env=env)

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_start_up_refuses_a_database_other_than_postgresql():
    env = {**PRODUCTION_ENV, "DATABASE_URL": "sqlite:///tmp/db.sqlite3"}

    result = _manage("check", env=env)

    assert result.returncode != 0
    assert "DATABASE_URL must point to PostgreSQL" in result.stderr


def test_deploy_check_passes_with_the_production_environment():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)

    assert result.returncode == 0, result.stderr

"""The operational files: demo seed, compose file, Procfile, environment docs."""

import re
import shutil
import subprocess
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command

from conciergerie.accounts.models import User

ROOT = Path(__file__).resolve().parents[2]


def test_seed_demo_is_idempotent_and_prints_the_logins(db):
    first = StringIO()

    call_command("seed_demo", stdout=first)
    counts = User.objects.count()
    call_command("seed_demo", stdout=StringIO())

    assert User.objects.count() == counts
    assert "adviser@conciergerie.local" in first.getvalue()
    adviser = User.objects.get(email="adviser@conciergerie.local")
    assert adviser.is_staff
    assert adviser.totpdevice_set.filter(confirmed=True).count() == 1


def test_compose_file_runs_the_whole_stack():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())

    assert {"web", "worker", "beat", "db", "redis", "mail"} <= set(compose["services"])
    assert compose["services"]["db"]["image"].startswith("postgres:16")
    # Workers must scale: no fixed name, no published port.
    worker = compose["services"]["worker"]
    assert "container_name" not in worker
    assert "ports" not in worker


@pytest.mark.skipif(not shutil.which("docker-compose"), reason="docker-compose absent")
def test_compose_file_validates_offline():
    result = subprocess.run(
        ["docker-compose", "-f", "docker-compose.yml", "config", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr


def test_every_environment_variable_read_is_documented():
    example = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", example, re.M))
    settings_text = (ROOT / "conciergerie" / "settings.py").read_text()
    read = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]+)"', settings_text))

    assert "DATABASE_URL" in read
    assert read - documented == set()


def test_procfile_runs_web_worker_and_beat():
    processes = dict(
        line.split(":", 1)
        for line in (ROOT / "Procfile").read_text().splitlines()
        if line.strip()
    )

    assert set(processes) == {"web", "worker", "beat"}
    assert "gunicorn conciergerie.wsgi" in processes["web"]

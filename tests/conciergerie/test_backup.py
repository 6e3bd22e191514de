"""The documented backup and restore procedure, run for real on a scratch database."""

import os
import subprocess
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from psycopg import sql

from conciergerie.accounts.roles import Role
from tests.factories import TOTPDeviceFactory, UserFactory

ROOT = Path(__file__).resolve().parents[2]


def _url(name: str) -> str:
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return (
        f"postgresql://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"
    )


@pytest.fixture
def scratch_database():
    name = f"{connection.settings_dict['NAME']}_restore"
    with psycopg.connect(_url("postgres"), autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name))
        )
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield name
    with psycopg.connect(_url("postgres"), autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name))
        )


@pytest.mark.django_db(transaction=True)
def test_backup_then_restore_gives_back_the_same_data(tmp_path, scratch_database):
    device = TOTPDeviceFactory(user=UserFactory(role=Role.MEDICAL_ADVISER))
    media = tmp_path / "media"
    (media / "documents").mkdir(parents=True)
    (media / "documents" / "report.bin").write_bytes(b"encrypted bytes")
    env = {
        **os.environ,
        "DATABASE_URL": _url(connection.settings_dict["NAME"]),
        "MEDIA_ROOT": str(media),
    }

    backup = subprocess.run(
        ["scripts/backup.sh", str(tmp_path / "backups")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    restored_media = tmp_path / "restored-media"
    subprocess.run(
        ["scripts/restore.sh", backup],
        cwd=ROOT,
        env={
            **env,
            "DATABASE_URL": _url(scratch_database),
            "MEDIA_ROOT": str(restored_media),
        },
        capture_output=True,
        text=True,
        check=True,
    )

    with psycopg.connect(_url(scratch_database)) as restored:
        emails = {row[0] for row in restored.execute("SELECT email FROM accounts_user")}
        key = restored.execute(
            "SELECT key FROM otp_totp_totpdevice WHERE id = %s", [device.pk]
        ).fetchone()
        migrations = restored.execute(
            "SELECT count(*) FROM django_migrations"
        ).fetchone()
    assert device.user.email in emails
    assert key == (device.key,)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM django_migrations")
        assert migrations == cursor.fetchone()
    assert (
        restored_media / "documents" / "report.bin"
    ).read_bytes() == b"encrypted bytes"


def test_restore_refuses_a_tampered_backup(tmp_path):
    backup = tmp_path / "conciergerie-x"
    backup.mkdir()
    (backup / "database.dump").write_bytes(b"original")
    subprocess.run(
        ["sha256sum", "./database.dump"],
        cwd=backup,
        check=True,
        stdout=(backup / "SHA256SUMS").open("w"),
    )
    (backup / "database.dump").write_bytes(b"tampered")

    result = subprocess.run(
        ["scripts/restore.sh", str(backup)],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": "postgresql://nowhere/none"},
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode != 0
    assert "FAILED" in result.stdout + result.stderr

"""The application's database role can append to the audit log, never rewrite it.

deploy/postgres/app_role.sql grants the role the web and workers log in with
every right on the application's tables except UPDATE, DELETE and TRUNCATE on
audit_accesslog. This test creates such a role in the test cluster, applies the
script as the owner, then connects as the role and tries.
"""

import re
import uuid
from pathlib import Path

import psycopg
import pytest
from django.db import connection
from psycopg import errors, sql

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "postgres" / "app_role.sql"


def _owner_dsn() -> dict:
    params = dict(connection.get_connection_params())
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    params.pop("server_side_binding", None)
    from django.conf import settings

    # The test database: pytest-django renames it in the settings it creates it from.
    params["dbname"] = settings.DATABASES["default"]["NAME"]
    return params


def _script_for(role: str) -> str:
    """The psql script with its `:"app_role"` variable filled in."""
    quoted = sql.Identifier(role).as_string(None)
    return SCRIPT.read_text().replace(':"app_role"', quoted)


@pytest.fixture
def app_role(django_db_setup, django_db_blocker):
    """A login role with the rights of the script, on the test database."""
    role = f"cz_app_{uuid.uuid4().hex[:10]}"
    password = uuid.uuid4().hex
    with django_db_blocker.unblock():
        owner = _owner_dsn()
    with psycopg.connect(**owner, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(password)
            )
        )
        try:
            admin.execute(_script_for(role))
            yield {**owner, "user": role, "password": password}
        finally:
            admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def _refused(dsn: dict, statement: str) -> bool:
    with psycopg.connect(**dsn, autocommit=True) as conn:
        try:
            conn.execute(statement)
        except errors.InsufficientPrivilege:
            return True
    return False


@pytest.mark.django_db
def test_the_app_role_cannot_update_delete_or_truncate_the_audit_log(app_role):
    assert _refused(app_role, "UPDATE audit_accesslog SET reason = reason")
    assert _refused(app_role, "DELETE FROM audit_accesslog")
    assert _refused(app_role, "TRUNCATE audit_accesslog")
    # Only the owner may switch the append-only trigger off.
    assert _refused(
        app_role,
        "ALTER TABLE audit_accesslog DISABLE TRIGGER audit_accesslog_append_only",
    )


@pytest.mark.django_db
def test_the_app_role_appends_to_and_reads_the_audit_log(app_role):
    with psycopg.connect(**app_role, autocommit=True) as conn:
        rights = conn.execute(
            "SELECT has_table_privilege(current_user, 'audit_accesslog', 'SELECT'),"
            " has_table_privilege(current_user, 'audit_accesslog', 'INSERT')"
        ).fetchone()
        conn.execute("SELECT count(*) FROM audit_accesslog").fetchone()
    assert rights == (True, True)


@pytest.mark.django_db
def test_the_app_role_still_writes_the_other_tables(app_role):
    with psycopg.connect(**app_role) as conn:
        conn.execute("UPDATE patients_patient SET updated_at = updated_at")
        conn.execute("DELETE FROM django_session WHERE expire_date < now()")
        conn.rollback()


def test_the_script_names_the_audit_table_of_the_model():
    from conciergerie.audit.models import AccessLog

    table = AccessLog._meta.db_table
    assert re.search(
        rf"REVOKE UPDATE, DELETE, TRUNCATE.* ON {table} ", SCRIPT.read_text()
    )

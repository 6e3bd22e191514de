"""The access log is append-only and hash-chained."""

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from conciergerie.audit.models import GENESIS_HASH, AccessLog
from conciergerie.audit.services import record_access, verify_chain


def _write_rows(actor, count: int) -> list[AccessLog]:
    return [
        record_access(
            actor=actor,
            action=AccessLog.Action.READ,
            patient_ref="P-ABCDEF",
            object_type="patient",
            object_id=str(n),
        )
        for n in range(count)
    ]


def test_each_row_carries_the_hash_of_the_row_before(adviser):
    first, second, third = _write_rows(adviser, 3)

    assert first.previous_hash == GENESIS_HASH
    assert second.previous_hash == first.row_hash
    assert third.previous_hash == second.row_hash
    assert third.row_hash == third.compute_hash()


def test_a_row_records_who_with_which_role_and_from_where(adviser, rf):
    request = rf.get(
        "/admin/patients/", HTTP_USER_AGENT="Firefox 140", REMOTE_ADDR="203.0.113.9"
    )
    request.user = adviser

    row = record_access(
        actor=adviser,
        action=AccessLog.Action.BREAK_GLASS,
        patient_ref="P-ABCDEF",
        reason="Patient au téléphone, conseiller absent",
        request=request,
    )

    row.refresh_from_db()
    assert row.actor == adviser
    assert row.actor_role == "medical_adviser"
    assert row.face == AccessLog.Face.ADMIN
    assert row.ip_address == "203.0.113.9"
    assert row.user_agent == "Firefox 140"
    assert row.reason == "Patient au téléphone, conseiller absent"


def test_behind_a_proxy_the_client_address_is_read_from_forwarded_for(
    adviser, rf, settings
):
    settings.AXES_IPWARE_PROXY_COUNT = 1
    request = rf.get(
        "/patients/",
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="198.51.100.1, 192.0.2.44",
    )

    row = record_access(actor=adviser, action=AccessLog.Action.READ, request=request)

    assert row.ip_address == "192.0.2.44"
    assert row.face == AccessLog.Face.PORTAL


def test_the_database_refuses_to_update_a_row(adviser):
    (row,) = _write_rows(adviser, 1)

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AccessLog.objects.filter(pk=row.pk).update(reason="effacé")


def test_the_database_refuses_to_delete_a_row(adviser):
    (row,) = _write_rows(adviser, 1)

    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM audit_accesslog WHERE id = %s", [row.pk])

    assert AccessLog.objects.filter(pk=row.pk).exists()


def _tamper(sql: str, params: list) -> None:
    """What someone with the database owner's rights could still do."""
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")  # triggers off
        cursor.execute(sql, params)
        cursor.execute("SET session_replication_role = DEFAULT")


def test_verification_finds_a_row_whose_content_was_changed(adviser):
    rows = _write_rows(adviser, 5)
    _tamper(
        "UPDATE audit_accesslog SET actor_label = %s WHERE id = %s",
        ["Personne", rows[2].pk],
    )

    report = verify_chain()

    assert not report.intact
    assert report.first_break.pk == rows[2].pk
    assert report.first_break.problem == "content"
    assert report.checked == 2


def test_verification_finds_a_removed_row(adviser):
    rows = _write_rows(adviser, 4)
    _tamper("DELETE FROM audit_accesslog WHERE id = %s", [rows[1].pk])

    report = verify_chain()

    assert report.first_break.pk == rows[2].pk
    assert report.first_break.problem == "link"


def test_the_command_reports_the_first_broken_row(adviser):
    rows = _write_rows(adviser, 3)
    _tamper("UPDATE audit_accesslog SET reason = %s WHERE id = %s", ["x", rows[1].pk])

    with pytest.raises(CommandError, match=f"row {rows[1].pk}"):
        call_command("verify_audit_chain")


def test_the_command_confirms_an_intact_chain(adviser, capsys):
    rows = _write_rows(adviser, 3)

    call_command("verify_audit_chain")

    out = capsys.readouterr().out
    assert "3 rows" in out
    assert rows[-1].row_hash in out


def test_the_admin_shows_the_log_read_only(staff_client, adviser):
    (row,) = _write_rows(adviser, 1)
    client = staff_client(adviser)

    listing = client.get("/admin/audit/accesslog/")
    detail = client.get(f"/admin/audit/accesslog/{row.pk}/change/")
    delete = client.post(f"/admin/audit/accesslog/{row.pk}/delete/", {"post": "yes"})
    add = client.get("/admin/audit/accesslog/add/")

    assert listing.status_code == 200
    assert detail.status_code == 200
    assert b'name="_save"' not in detail.content
    assert delete.status_code == 403
    assert add.status_code == 403
    assert AccessLog.objects.filter(pk=row.pk).exists()


def test_a_coordinator_cannot_read_the_log_in_the_admin(staff_client, coordinator):
    client = staff_client(coordinator)

    assert client.get("/admin/audit/accesslog/").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_keep_one_linear_chain(adviser):
    """Appends from several threads hold the advisory lock in turn."""
    import threading

    errors = []

    def append():
        try:
            record_access(
                actor=adviser, action=AccessLog.Action.READ, patient_ref="P-ABCDEF"
            )
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=append) for _i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert verify_chain().intact
    assert AccessLog.objects.count() == 6


def _tamper_near_the_end_of(adviser, size: int) -> None:
    rows = _write_rows(adviser, size)
    assert verify_chain(batch_size=97).intact

    _tamper(
        "UPDATE audit_accesslog SET object_id = %s WHERE id = %s", ["x", rows[-2].pk]
    )

    report = verify_chain(batch_size=97)
    assert report.first_break.pk == rows[-2].pk
    assert report.checked == size - 2


def test_verification_walks_a_long_chain_and_finds_a_tamper_near_the_end(
    adviser, proof_scale
):
    _tamper_near_the_end_of(adviser, proof_scale(300, 20_000))


@pytest.mark.proof
def test_twenty_thousand_rows_are_verified_and_a_late_tamper_found(adviser):
    _tamper_near_the_end_of(adviser, 20_000)

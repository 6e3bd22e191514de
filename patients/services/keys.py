"""Re-encrypting health data under the newest key (after a key change)."""

from dataclasses import dataclass, field

from django.db import connection, transaction

from conciergerie import crypto
from conciergerie.fields import encrypted_fields

from .. import files
from ..models import Document, Patient


@dataclass
class RotationReport:
    rows: dict[str, int] = field(default_factory=dict)
    documents: int = 0
    indexes: int = 0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def rotate_encryption_keys(*, batch_size: int = 500) -> RotationReport:
    """Re-encrypt every encrypted column (history tables included), every stored
    document, and recompute the NIR keyed hashes, with the first key of
    FIELD_ENCRYPTION_KEYS. Rows already under that key are left alone, so the
    command can be interrupted and run again.

    Columns are rewritten in SQL: re-encryption is not a change of the data, so it
    touches neither `updated_at` nor the change history.
    """
    report = RotationReport()
    for model, model_fields in encrypted_fields():
        report.rows[model._meta.label] = _rotate_table(model, model_fields, batch_size)
    report.indexes = _reindex_nir(batch_size)
    report.documents = _rotate_documents()
    return report


def _rotate_table(model, model_fields, batch_size: int) -> int:
    table = connection.ops.quote_name(model._meta.db_table)
    pk = connection.ops.quote_name(model._meta.pk.column)
    columns = [connection.ops.quote_name(f.column) for f in model_fields]
    changed = 0
    last = None
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            where = f"WHERE {pk} > %s " if last is not None else ""
            cursor.execute(
                f"SELECT {pk}, {', '.join(columns)} FROM {table} {where}"  # noqa: S608 - quoted model names, bound values  # nosec B608
                f"ORDER BY {pk} LIMIT %s FOR UPDATE",
                [last, batch_size] if last is not None else [batch_size],
            )
            rows = cursor.fetchall()
            if not rows:
                return changed
            for row in rows:
                last = row[0]
                updates = {}
                for column, value in zip(columns, row[1:], strict=True):
                    if value is None:
                        continue
                    token = value.encode("ascii")
                    if not crypto.is_current(token):
                        updates[column] = crypto.rotate(token).decode("ascii")
                if updates:
                    assignments = ", ".join(f"{c} = %s" for c in updates)
                    cursor.execute(
                        f"UPDATE {table} SET {assignments} WHERE {pk} = %s",  # noqa: S608 - quoted model names, bound values  # nosec B608
                        [*updates.values(), row[0]],
                    )
                    changed += 1


def _reindex_nir(batch_size: int) -> int:
    changed = 0
    patients = Patient.objects.exclude(nir_hash="").only("pk", "nir", "nir_hash")
    for patient in patients.iterator(chunk_size=batch_size):
        wanted = crypto.blind_index(patient.nir, purpose="patient-nir")
        if wanted != patient.nir_hash:
            Patient.objects.filter(pk=patient.pk).update(nir_hash=wanted)
            changed += 1
    return changed


def _rotate_documents() -> int:
    rotated = 0
    for document in Document.objects.only("pk", "storage_name").iterator():
        new_name = files.rotate_stored(storage_name=document.storage_name)
        if new_name is None:
            continue
        with transaction.atomic():
            Document.objects.filter(pk=document.pk).update(storage_name=new_name)
        # The row now points to the new file; a crash before this line leaves an
        # orphan old file behind, never a row without its file.
        files.delete_stored(document.storage_name)
        rotated += 1
    return rotated

"""Re-encrypt every encrypted field and stored document with the newest key."""

from django.core.management.base import BaseCommand

from patients.services import rotate_encryption_keys


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted column (history tables included) and every "
        "stored medical document with the first key of FIELD_ENCRYPTION_KEYS, and "
        "recompute the NIR keyed hashes. Put the new key first, run this, then "
        "remove the old key. Safe to interrupt and run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, **options):
        report = rotate_encryption_keys(batch_size=options["batch_size"])
        for label, count in sorted(report.rows.items()):
            if count:
                self.stdout.write(f"  {label}: {count} rows re-encrypted")
        self.stdout.write(
            self.style.SUCCESS(
                f"{report.total_rows} rows, {report.documents} documents re-encrypted; "
                f"{report.indexes} NIR indexes recomputed."
            )
        )

"""Load La Poste's official postal-code base (laposte_hexasmal.csv)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from specialists.geocoding import import_postal_codes_file


class Command(BaseCommand):
    help = (
        "Import or refresh La Poste's postal-code base (the `;`-separated "
        "laposte_hexasmal.csv of data.gouv.fr). Idempotent: running it again "
        "updates lines and adds nothing twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="Path to laposte_hexasmal.csv")

    def handle(self, *args, file: Path, **options):
        if not file.is_file():
            raise CommandError(f"{file} does not exist.")
        report = import_postal_codes_file(file)
        self.stdout.write(
            f"Read {report.read} lines: {report.created} created, "
            f"{report.updated} updated, {report.skipped} skipped."
        )
        for problem in report.problems:
            self.stdout.write(self.style.WARNING(f"  {problem}"))
        if report.read and report.skipped == report.read:
            raise CommandError("No line could be imported: is this the right file?")
        self.stdout.write(self.style.SUCCESS("Postal codes ready."))

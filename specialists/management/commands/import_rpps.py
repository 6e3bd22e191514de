"""Import or refresh practitioners from the Annuaire Santé public extraction."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from specialists.importers import HeaderError, import_rpps
from specialists.models import Specialty


class Command(BaseCommand):
    help = (
        "Import practitioners from PS_LibreAcces_Personne_activite_*.txt "
        "(`|`-separated, one line per practitioner and place). Streams the file in "
        "constant memory; idempotent (keyed on the RPPS number). Imported "
        "practitioners still need a concierge's verification before being proposed."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--specialty",
            action="append",
            default=[],
            metavar="CODE",
            help="Only this specialty code (repeatable), e.g. cardiology.",
        )
        parser.add_argument(
            "--department",
            action="append",
            default=[],
            metavar="CODE",
            help="Only this department (repeatable), e.g. 75, 2A, 974.",
        )
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args, file: Path, specialty, department, batch_size, **options):
        if not file.is_file():
            raise CommandError(f"{file} does not exist.")
        known = set(Specialty.objects.values_list("code", flat=True))
        unknown = sorted(set(specialty) - known)
        if unknown:
            raise CommandError(
                f"Unknown specialty code(s): {', '.join(unknown)}. "
                f"Known: {', '.join(sorted(known))}."
            )
        with open(file, encoding="utf-8-sig", errors="replace", newline="") as stream:
            try:
                report = import_rpps(
                    stream,
                    specialties=specialty,
                    departments=department,
                    batch_size=batch_size,
                )
            except HeaderError as error:
                raise CommandError(str(error)) from error
        self.stdout.write(
            f"Read {report.read} lines: {report.created} created, "
            f"{report.updated} updated, {report.unchanged} unchanged, "
            f"{report.skipped_total} skipped."
        )
        self.stdout.write(
            f"New practitioners: {report.practitioners_created}; "
            f"new places: {report.places_created}."
        )
        if report.skipped:
            self.stdout.write("Skipped lines by reason:")
            for reason, count in report.skipped.most_common():
                self.stdout.write(f"  {reason}: {count}")
        for problem in report.problems:
            self.stdout.write(self.style.WARNING(f"  {problem}"))
        self.stdout.write(self.style.SUCCESS("Import finished."))

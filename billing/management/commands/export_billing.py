"""Write the accountant's CSV of invoices, credit notes or payments for a period."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from billing.exports import KINDS, export_csv


class Command(BaseCommand):
    help = (
        "Export invoices, credit notes or payments of a period as a CSV file "
        "(semicolon-separated, decimal comma, UTF-8 with BOM)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("kind", choices=KINDS)
        parser.add_argument("--from", dest="start", required=True, help="YYYY-MM-DD")
        parser.add_argument("--to", dest="end", required=True, help="YYYY-MM-DD")
        parser.add_argument("--output", help="file to write (default: standard output)")

    def handle(self, *args, kind: str, start: str, end: str, output=None, **options):
        try:
            first, last = date.fromisoformat(start), date.fromisoformat(end)
        except ValueError as error:
            raise CommandError(f"Dates are YYYY-MM-DD: {error}") from error
        if last < first:
            raise CommandError("--to comes before --from.")
        text = export_csv(kind=kind, start=first, end=last)
        if output:
            with open(output, "w", encoding="utf-8", newline="") as file:
                file.write(text)
            self.stdout.write(f"Wrote {output}")
        else:
            self.stdout.write(text, ending="")

"""Load or update tariffs, rates and thresholds from a JSON or CSV file."""

from django.core.management.base import BaseCommand, CommandError

from reimbursements.tariffs import TariffFileError, load_document, read_file


class Command(BaseCommand):
    help = (
        "Load act tariffs, reimbursement rates, the participation forfaitaire and "
        "regulatory thresholds from FILE (JSON with acts/tariffs/rates/"
        "contributions/parameters, or a CSV of act tariffs with the columns "
        "act,grid,base,valid_from,valid_to,source,note and optionally label,kind,"
        "contribution). Every row records its source. Idempotent: loading the same "
        "file again changes nothing; the whole file is refused if one row is wrong."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="Path of the JSON or CSV file.")
        parser.add_argument(
            "--source",
            default="",
            help="Official URL recorded on the rows that give none.",
        )

    def handle(self, *args, **options) -> None:
        try:
            document = read_file(options["file"])
            report = load_document(document, default_source=options["source"])
        except TariffFileError as error:
            raise CommandError(str(error)) from error
        for message in report.messages:
            self.stdout.write(f"  {message}")
        self.stdout.write(self.style.SUCCESS(f"Tariffs loaded: {report}."))

"""Check that no access log row was changed or removed behind the application."""

from django.core.management.base import BaseCommand, CommandError

from conciergerie.audit.services import verify_chain


class Command(BaseCommand):
    help = (
        "Recompute the hash chain of the access log and report the first row that "
        "was altered or whose predecessor was removed. Exits with an error if the "
        "chain is broken; prints the head hash to anchor elsewhere otherwise."
    )

    def handle(self, *args, **options):
        report = verify_chain()
        if report.first_break is not None:
            broken = report.first_break
            what = (
                "its content was altered"
                if broken.problem == "content"
                else "it does not follow the row before it (a row was removed or "
                "altered)"
            )
            raise CommandError(
                f"Audit chain broken at row {broken.pk}: {what}. "
                f"{report.checked} rows verified before it."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit chain intact: {report.checked} rows, head {report.head_hash}."
            )
        )

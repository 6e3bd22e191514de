"""Fill the database with a living demo service; safe to run again."""

from importlib import import_module

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.module_loading import module_has_submodule


class Command(BaseCommand):
    help = (
        "Create demo staff, patients, practitioners and their activity. Idempotent: "
        "running it again adds nothing twice. Each app contributes its `demo.seed`."
    )

    def handle(self, *args, **options):
        # Apps are seeded in INSTALLED_APPS order, which follows the layering, so
        # each app finds the data of the apps below it.
        for config in apps.get_app_configs():
            if not module_has_submodule(config.module, "demo"):
                continue
            module = import_module(f"{config.name}.demo")
            self.stdout.write(self.style.MIGRATE_HEADING(f"Seeding {config.label}"))
            with transaction.atomic():
                module.seed(stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))

import pytest


@pytest.fixture(autouse=True)
def seeded_procedures(db):
    """The seeds come from a data migration; a transactional test's flush (ours or
    another app's) may have emptied the table of a reused database."""
    from importlib import import_module

    from django.apps import apps

    from conciergerie.procedures.models import Procedure

    if not Procedure.objects.filter(slug="protocole-urgence").exists():
        import_module("conciergerie.procedures.migrations.0002_seed_procedures").seed(
            apps, None
        )

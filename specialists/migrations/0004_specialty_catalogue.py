"""The specialty catalogue (see specialists.catalogue)."""

from django.db import migrations

from specialists.catalogue import CATALOGUE, load_catalogue


def load(apps, schema_editor):
    load_catalogue(apps)


def unload_catalogue(apps, schema_editor):
    Specialty = apps.get_model("specialists", "Specialty")
    Specialty.objects.filter(code__in=[row[0] for row in CATALOGUE]).delete()


class Migration(migrations.Migration):
    dependencies = [("specialists", "0003_directory")]

    operations = [migrations.RunPython(load, unload_catalogue)]

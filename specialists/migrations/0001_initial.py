from django.contrib.postgres.operations import TrigramExtension, UnaccentExtension
from django.db import migrations


class Migration(migrations.Migration):
    """Directory search: French full-text, unaccent and trigram similarity."""

    initial = True

    dependencies: list[tuple[str, str]] = []

    operations = [UnaccentExtension(), TrigramExtension()]

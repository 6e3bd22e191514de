from django.contrib.postgres.operations import TrigramExtension, UnaccentExtension
from django.db import migrations


class Migration(migrations.Migration):
    """Name search on patients is accent-insensitive and typo-tolerant."""

    initial = True

    dependencies: list[tuple[str, str]] = []

    operations = [UnaccentExtension(), TrigramExtension()]

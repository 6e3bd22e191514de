from django.contrib.postgres.operations import BtreeGistExtension
from django.db import migrations


class Migration(migrations.Migration):
    """No double booking: exclusion constraints over time ranges need btree_gist."""

    initial = True

    dependencies: list[tuple[str, str]] = []

    operations = [BtreeGistExtension()]

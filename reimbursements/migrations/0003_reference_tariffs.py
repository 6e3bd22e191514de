from django.db import migrations


def load_reference_tariffs(apps, schema_editor):
    from reimbursements.tariffs import load_reference_data

    load_reference_data(registry=apps)


class Migration(migrations.Migration):
    """The tariffs, rates and thresholds in force in 2026, with their sources."""

    dependencies = [("reimbursements", "0002_tariffs_estimates_and_procedures")]

    operations = [
        migrations.RunPython(load_reference_tariffs, migrations.RunPython.noop)
    ]

"""Link recorded acts and procedures to patient files instead of a typed reference.

Each existing reference (P-…, typed in any case, with or without the prefix) is
looked up among the patient files, following merges to the file that was kept.
A reference that matches no file is kept in `unmatched_reference`, so that
nothing recorded is lost and the team can link it by hand.
"""

import django.db.models.deletion
from django.db import migrations, models

PREFIX = "P-"
BODY_LENGTH = 6


def _normalise(value: str) -> str:
    # A copy of patients.models.normalise_reference as it was written: the body
    # may itself start with P ("PB2752" is P-PB2752), so only a seven-character
    # value loses its leading P.
    value = (value or "").strip().upper().replace(" ", "")
    if not value or value.startswith(PREFIX):
        return value
    if len(value) == BODY_LENGTH + 1 and value.startswith("P"):
        value = value[1:]
    return PREFIX + value


def link_references(apps, schema_editor) -> None:
    Patient = apps.get_model("patients", "Patient")
    kept: dict[str, object] = {}

    def find(reference: str):
        if reference not in kept:
            patient = Patient.objects.filter(reference=reference).first()
            seen = set()
            while patient is not None and patient.merged_into_id is not None:
                if patient.pk in seen:
                    break
                seen.add(patient.pk)
                patient = Patient.objects.filter(pk=patient.merged_into_id).first()
            kept[reference] = patient
        return kept[reference]

    for model_name in ("RecordedAct", "AdministrativeProcedure"):
        model = apps.get_model("reimbursements", model_name)
        rows = model.objects.exclude(unmatched_reference="").filter(patient=None)
        for row in rows.iterator():
            patient = find(_normalise(row.unmatched_reference))
            if patient is None:
                continue
            model.objects.filter(pk=row.pk).update(
                patient=patient, unmatched_reference=""
            )


def restore_references(apps, schema_editor) -> None:
    for model_name in ("RecordedAct", "AdministrativeProcedure"):
        model = apps.get_model("reimbursements", model_name)
        for row in model.objects.exclude(patient=None).select_related("patient"):
            model.objects.filter(pk=row.pk).update(
                unmatched_reference=row.patient.reference
            )


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0003_contrat_responsable_message"),
        ("reimbursements", "0003_reference_tariffs"),
    ]

    operations = [
        migrations.AddField(
            model_name="recordedact",
            name="patient",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="recorded_acts",
                to="patients.patient",
                verbose_name="patient",
            ),
        ),
        migrations.AddField(
            model_name="administrativeprocedure",
            name="patient",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="reimbursement_procedures",
                to="patients.patient",
                verbose_name="patient",
            ),
        ),
        migrations.RemoveIndex(
            model_name="recordedact", name="recordedact_patient_date"
        ),
        migrations.RenameField(
            model_name="recordedact",
            old_name="patient_reference",
            new_name="unmatched_reference",
        ),
        migrations.RenameField(
            model_name="administrativeprocedure",
            old_name="patient_reference",
            new_name="unmatched_reference",
        ),
        migrations.AlterField(
            model_name="recordedact",
            name="unmatched_reference",
            field=models.CharField(
                blank=True,
                help_text=(
                    "A reference recorded before acts were linked to patient "
                    "files, that matched no file."
                ),
                max_length=32,
                verbose_name="unmatched patient reference",
            ),
        ),
        migrations.AlterField(
            model_name="administrativeprocedure",
            name="unmatched_reference",
            field=models.CharField(
                blank=True,
                help_text=(
                    "A reference recorded before procedures were linked to patient "
                    "files, that matched no file."
                ),
                max_length=32,
                verbose_name="unmatched patient reference",
            ),
        ),
        migrations.AddIndex(
            model_name="recordedact",
            index=models.Index(
                fields=["patient", "performed_on"], name="recordedact_patient_day"
            ),
        ),
        migrations.RunPython(link_references, restore_references, elidable=False),
    ]

from django.db import migrations


class Migration(migrations.Migration):
    """A French text-search configuration that ignores accents.

    `unaccent()` is not immutable, so it cannot appear in a generated column; as a
    dictionary of the configuration it can: to_tsvector('french_unaccent', …) is
    immutable and folds "Pédiatrie" and "pediatrie" to the same lexeme.
    """

    dependencies = [("specialists", "0001_initial")]

    operations = [
        migrations.RunSQL(
            sql=[
                "CREATE TEXT SEARCH CONFIGURATION french_unaccent (COPY = pg_catalog.french)",
                "ALTER TEXT SEARCH CONFIGURATION french_unaccent "
                "ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem",
            ],
            reverse_sql=["DROP TEXT SEARCH CONFIGURATION IF EXISTS french_unaccent"],
        )
    ]

"""The Annuaire Santé import: streaming, idempotent, reporting what it skipped."""

import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from specialists.importers import COLUMNS, Skip, import_rpps
from specialists.models import PracticePlace, Practitioner
from tests.specialists.factories import valid_rpps

HEADER_FILE = (
    Path(settings.BASE_DIR).parent / "shared/data/rpps_personne_activite_header.txt"
)
HEADER = "|".join(COLUMNS) + "|\n"


def line(**values: str) -> str:
    """One line of the extraction, in its exact format (trailing `|`)."""
    row = dict.fromkeys(COLUMNS, "")
    row.update(
        {
            "Type d'identifiant PP": "8",
            "Code civilité d'exercice": "DR",
            "Libellé civilité d'exercice": "Docteur",
            "Code civilité": "MME",
            "Libellé civilité": "Madame",
            "Code profession": "10",
            "Libellé profession": "Médecin",
            "Code catégorie professionnelle": "C",
            "Libellé catégorie professionnelle": "Civil",
            "Code type savoir-faire": "S",
            "Libellé type savoir-faire": "Spécialité ordinale",
            "Code mode exercice": "L",
            "Libellé mode exercice": "Libéral",
            "Numéro Voie (coord. structure)": "12",
            "Libellé type de voie (coord. structure)": "Rue",
            "Libellé Voie (coord. structure)": "de la Roquette",
            "Code postal (coord. structure)": "75011",
            "Libellé commune (coord. structure)": "Paris",
            "Code Département (structure)": "75",
            "Téléphone (coord. structure)": "0143000000",
        }
    )
    row.update(values)
    rpps = row.get("Identifiant PP", "")
    if rpps and not row["Identification nationale PP"]:
        row["Identification nationale PP"] = "8" + rpps
    return "|".join(row[column] for column in COLUMNS) + "|\n"


RPPS_A, RPPS_B, RPPS_C = valid_rpps(1), valid_rpps(2), valid_rpps(3)


def sample() -> str:
    return HEADER + "".join(
        [
            line(
                **{
                    "Identifiant PP": RPPS_A,
                    "Nom d'exercice": "LEFÈVRE",
                    "Prénom d'exercice": "Élodie",
                    "Libellé savoir-faire": "Cardiologie et maladies vasculaires",
                    "Identifiant technique de la structure": "R10000001",
                    "Raison sociale site": "CABINET DE CARDIOLOGIE",
                }
            ),
            # The same cardiologist also practises at a clinic in Lyon.
            line(
                **{
                    "Identifiant PP": RPPS_A,
                    "Nom d'exercice": "LEFÈVRE",
                    "Prénom d'exercice": "Élodie",
                    "Libellé savoir-faire": "Cardiologie et maladies vasculaires",
                    "Identifiant technique de la structure": "R10000002",
                    "Code postal (coord. structure)": "69003",
                    "Libellé commune (coord. structure)": "Lyon",
                    "Code Département (structure)": "69",
                }
            ),
            line(
                **{
                    "Identifiant PP": RPPS_B,
                    "Nom d'exercice": "MARTIN",
                    "Prénom d'exercice": "Paul",
                    "Code civilité": "M",
                    "Libellé civilité": "Monsieur",
                    "Libellé savoir-faire": "Dermatologie et vénéréologie",
                }
            ),
            line(
                **{
                    "Identifiant PP": RPPS_C,
                    "Nom d'exercice": "DUBOIS",
                    "Prénom d'exercice": "Anne",
                    "Libellé profession": "Pharmacien",
                    "Code profession": "21",
                }
            ),
            line(
                **{
                    "Identifiant PP": valid_rpps(4),
                    "Nom d'exercice": "ROUX",
                    "Prénom d'exercice": "Marc",
                    "Libellé savoir-faire": "Anesthésie-réanimation",
                }
            ),
            line(
                **{
                    "Type d'identifiant PP": "0",
                    "Identifiant PP": "751234567",
                    "Nom d'exercice": "ADELI",
                    "Prénom d'exercice": "Seul",
                }
            ),
            "8|1234|81234|broken line\n",
            line(
                **{
                    "Identifiant PP": valid_rpps(5),
                    "Nom d'exercice": "BLANC",
                    "Prénom d'exercice": "Lucie",
                    "Libellé savoir-faire": "Pédiatrie",
                    "Code postal (coord. structure)": "",
                }
            ),
        ]
    )


def run(text: str, **options):
    return import_rpps(io.StringIO(text), **options)


def test_the_sample_line_has_the_exact_format_of_the_extraction():
    if HEADER_FILE.is_file():
        assert HEADER_FILE.read_text(encoding="utf-8").strip() == HEADER.strip()
    assert line().count("|") == len(COLUMNS)


def test_practitioners_places_and_specialties_are_created(db):
    report = run(sample())

    assert (report.read, report.created, report.updated) == (8, 3, 0)
    cardiologist = Practitioner.objects.get(rpps=RPPS_A)
    assert (cardiologist.first_name, cardiologist.last_name) == ("Élodie", "LEFÈVRE")
    assert cardiologist.civility == Practitioner.Civility.DOCTOR
    assert cardiologist.gender == Practitioner.Gender.FEMALE
    assert cardiologist.source == Practitioner.Source.RPPS
    assert list(cardiologist.specialties.values_list("code", flat=True)) == [
        "cardiology"
    ]
    places = cardiologist.places.order_by("postal_code")
    assert [(p.postal_code, p.commune) for p in places] == [
        ("69003", "Lyon"),
        ("75011", "Paris"),
    ]
    paris = places.get(postal_code="75011")
    assert paris.address == "12 Rue de la Roquette"
    assert paris.name == "CABINET DE CARDIOLOGIE"
    assert paris.is_primary
    assert paris.latitude is not None  # geocoded from the built-in cities at least
    assert Practitioner.objects.get(rpps=RPPS_B).gender == Practitioner.Gender.MALE


def test_imported_practitioners_are_not_proposed_before_a_verification(db):
    run(sample())

    assert Practitioner.objects.count() == 2
    assert Practitioner.objects.proposable().count() == 0


def test_skipped_lines_are_counted_with_their_reason(db):
    report = run(sample())

    assert report.skipped == {
        Skip.PROFESSION: 1,
        Skip.SPECIALTY_UNKNOWN: 1,
        Skip.NOT_RPPS: 1,
        Skip.MALFORMED: 1,
        Skip.NO_ADDRESS: 1,
    }
    assert report.problems == ["line 8: 3 columns instead of 52"]


def test_running_the_import_again_duplicates_nothing(db):
    run(sample())

    report = run(sample())

    assert (report.created, report.updated, report.unchanged) == (0, 0, 3)
    assert Practitioner.objects.count() == 2
    assert PracticePlace.objects.count() == 3


def test_a_changed_line_updates_the_practitioner_and_the_place(db):
    run(sample())
    changed = (
        sample()
        .replace("de la Roquette", "Oberkampf")
        .replace("MARTIN", "MARTIN-DURAND")
    )

    report = run(changed)

    assert report.updated == 3  # both places of the cardiologist, and Martin
    assert Practitioner.objects.get(rpps=RPPS_B).last_name == "MARTIN-DURAND"
    assert PracticePlace.objects.filter(address="12 Rue Oberkampf").count() == 3
    assert PracticePlace.objects.count() == 3


def test_a_new_specialty_line_adds_the_specialty_to_the_same_practitioner(db):
    run(sample())
    extra = HEADER + line(
        **{
            "Identifiant PP": RPPS_B,
            "Nom d'exercice": "MARTIN",
            "Prénom d'exercice": "Paul",
            "Libellé savoir-faire": "Médecine générale",
        }
    )

    report = run(extra)

    assert report.updated == 1
    martin = Practitioner.objects.get(rpps=RPPS_B)
    assert set(martin.specialties.values_list("code", flat=True)) == {
        "dermatology",
        "general-practice",
    }
    assert "generaliste" in martin.specialty_labels


def test_the_specialty_and_department_filters_skip_other_lines(db):
    report = run(sample(), specialties=["cardiology"], departments=["69"])

    assert report.created == 1
    assert report.skipped[Skip.SPECIALTY_FILTERED] == 2
    assert report.skipped[Skip.DEPARTMENT_FILTERED] == 1
    cardiologist = Practitioner.objects.get()
    assert [p.postal_code for p in cardiologist.places.all()] == ["69003"]


def test_small_batches_give_the_same_directory(db):
    report = run(sample(), batch_size=1)

    # The cardiologist's second line now finds her created by the first batch.
    assert (report.created, report.updated) == (2, 1)
    assert Practitioner.objects.count() == 2
    assert PracticePlace.objects.count() == 3


def test_an_rpps_number_failing_its_key_is_imported_with_a_warning(db):
    good = valid_rpps(99)
    wrong = good[:-1] + str((int(good[-1]) + 1) % 10)
    text = HEADER + line(
        **{
            "Identifiant PP": wrong,
            "Nom d'exercice": "NOIR",
            "Prénom d'exercice": "Jean",
            "Libellé savoir-faire": "Neurologie",
        }
    )

    run(text)

    imported = Practitioner.objects.get(rpps=wrong)
    assert imported.rpps_key_valid is False


def test_the_command_reports_counts_and_reasons(db, tmp_path):
    path = tmp_path / "PS_LibreAcces_Personne_activite.txt"
    path.write_text(sample(), encoding="utf-8")
    out = io.StringIO()

    call_command("import_rpps", str(path), stdout=out)

    text = out.getvalue()
    assert "Read 8 lines: 3 created, 0 updated, 0 unchanged, 5 skipped." in text
    assert "malformed: 1" in text
    assert "line 8: 3 columns instead of 52" in text


def test_the_command_refuses_an_unknown_specialty_or_a_wrong_header(db, tmp_path):
    path = tmp_path / "file.txt"
    path.write_text("a|b|c|\n", encoding="utf-8")

    with pytest.raises(CommandError, match="Unknown specialty"):
        call_command("import_rpps", str(path), specialty=["astrology"])
    with pytest.raises(CommandError, match="header"):
        call_command("import_rpps", str(path))


def import_generated(tmp_path, lines: int) -> int:
    """Write an extraction of `lines` lines, import it; return the memory peak."""
    import tracemalloc

    path = tmp_path / "PS_LibreAcces_Personne_activite.txt"
    with path.open("w", encoding="utf-8") as stream:
        stream.write(HEADER)
        for index in range(lines):
            stream.write(
                line(
                    **{
                        "Identifiant PP": valid_rpps(100_000 + index // 2),
                        "Nom d'exercice": f"NOM{index // 2}",
                        "Prénom d'exercice": "Camille",
                        "Libellé savoir-faire": "Médecine générale",
                        "Identifiant technique de la structure": f"S{index}",
                        "Code postal (coord. structure)": "69003",
                        "Libellé commune (coord. structure)": "Lyon",
                    }
                )
            )
    tracemalloc.start()
    with path.open(encoding="utf-8") as stream:
        report = import_rpps(stream, batch_size=500)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert report.created == lines
    assert Practitioner.objects.count() == lines // 2
    assert PracticePlace.objects.count() == lines
    return peak


def test_a_generated_extraction_is_imported_batch_by_batch(db, tmp_path, proof_scale):
    peak = import_generated(tmp_path, proof_scale(1_500, 200_000))

    assert peak < 40 * 1024 * 1024


@pytest.mark.proof
def test_two_hundred_thousand_lines_import_in_constant_memory(db, tmp_path):
    # Batches of 500 lines: the peak does not grow with the file.
    assert import_generated(tmp_path, 200_000) < 40 * 1024 * 1024

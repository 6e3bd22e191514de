"""Postal codes: La Poste's base, its import, and geocoding with a fallback."""

import io

import pytest
from django.core.management import CommandError, call_command

from specialists.geocoding import (
    SHARED_POSTAL_CODES_FILE,
    bounding_box,
    geocode,
    haversine_km,
    import_postal_codes,
    locate,
    parse_place,
)
from specialists.models import PostalCode, PracticePlace

HEADER = (
    "Code_commune_INSEE;Nom_commune;Code_postal;Ligne_5;"
    "Libellé_d_acheminement;coordonnees_gps\n"
)
SAMPLE = HEADER + (
    "75111;PARIS 11;75011;;PARIS;48.8591,2.3800\n"
    "69383;LYON 03;69003;;LYON;45.7597,4.8676\n"
    "69381;LYON 01;69001;;LYON;45.7699,4.8292\n"
    "93066;ST DENIS;93200;;ST DENIS;48.9296,2.3592\n"
    "11339;ST DENIS;11310;;ST DENIS;43.3563,2.2178\n"
    "01053;BOURG EN BRESSE;01000;;BOURG EN BRESSE;46.2052,5.2255\n"
    "01344;ST DENIS LES BOURG;01000;;ST DENIS LES BOURG;46.2093,5.1905\n"
    "01344;ST DENIS LES BOURG;01000;LA GENEVIEVE;ST DENIS LES BOURG;46.2093,5.1905\n"
    "55138;CULEY;55000;;CULEY;\n"
)


def load(text: str):
    return import_postal_codes(io.StringIO(text))


def test_the_import_loads_every_line_with_its_coordinates(db):
    report = load(SAMPLE)

    assert (report.read, report.created, report.updated, report.skipped) == (9, 9, 0, 0)
    paris = PostalCode.objects.get(postal_code="75011")
    assert (paris.latitude, paris.longitude) == (48.8591, 2.38)
    assert paris.commune_key == "paris 11"
    assert PostalCode.objects.get(postal_code="55000").latitude is None


def test_importing_twice_updates_and_never_duplicates(db):
    load(SAMPLE)

    report = load(SAMPLE.replace("48.8591,2.3800", "48.8600,2.3810"))

    assert (report.created, report.updated) == (0, 9)
    assert PostalCode.objects.count() == 9
    assert PostalCode.objects.get(postal_code="75011").latitude == 48.86


def test_malformed_lines_are_reported_and_the_rest_imported(db):
    broken = SAMPLE + "75112;PARIS 12;750;;PARIS;48.84,2.39\nnot;a;line\n"
    broken += "75113;PARIS 13;75013;;PARIS;north,east\n"

    report = load(broken)

    assert report.created == 9
    assert report.skipped == 3
    assert any("invalid postal code" in problem for problem in report.problems)
    assert any("3 columns" in problem for problem in report.problems)


def test_a_file_with_another_header_imports_nothing(db):
    report = load("a;b;c\n1;2;3\n")

    assert PostalCode.objects.count() == 0
    assert report.problems


def test_the_command_reads_a_file_and_reports(db, tmp_path):
    path = tmp_path / "laposte.csv"
    path.write_text(SAMPLE, encoding="utf-8")
    out = io.StringIO()

    call_command("import_postal_codes", str(path), stdout=out)

    assert "Read 9 lines: 9 created, 0 updated, 0 skipped." in out.getvalue()


def test_the_command_refuses_a_missing_file(db, tmp_path):
    with pytest.raises(CommandError):
        call_command("import_postal_codes", str(tmp_path / "nope.csv"))


def test_a_postal_code_is_located_at_its_commune(db):
    load(SAMPLE)

    point = geocode(postal_code="75011")

    assert (point.latitude, point.longitude) == (48.8591, 2.38)
    assert point.precision == PracticePlace.GeocodePrecision.COMMUNE


def test_a_shared_postal_code_is_narrowed_by_the_commune_name(db):
    load(SAMPLE)

    named = geocode(postal_code="01000", commune="Saint-Denis-lès-Bourg")
    unnamed = geocode(postal_code="01000")

    assert (named.latitude, named.longitude) == (46.2093, 5.1905)
    assert named.precision == PracticePlace.GeocodePrecision.COMMUNE
    assert unnamed.precision == PracticePlace.GeocodePrecision.POSTAL_CODE
    assert unnamed.latitude == pytest.approx((46.2052 + 46.2093) / 2)


def test_a_city_name_finds_the_centre_of_its_districts(db):
    load(SAMPLE)

    lyon = geocode(commune="lyon")

    assert lyon.latitude == pytest.approx((45.7597 + 45.7699) / 2)


def test_a_commune_name_in_two_departments_goes_to_the_bigger_one(db):
    load(SAMPLE + "93066;ST DENIS;93210;LA PLAINE;ST DENIS;48.9296,2.3592\n")

    point = geocode(commune="Saint-Denis")

    assert point.latitude == pytest.approx(48.9296)


def test_an_unknown_place_is_not_located(db):
    load(SAMPLE)

    assert geocode(postal_code="99999") is None
    assert geocode(commune="Atlantis") is None
    assert geocode() is None


def test_without_the_base_major_cities_are_still_located(db):
    assert PostalCode.objects.count() == 0

    by_code = geocode(postal_code="69003")
    by_name = geocode(commune="Bordeaux")

    assert by_code.label == "Lyon"
    assert by_code.precision == PracticePlace.GeocodePrecision.CITY
    assert by_name.latitude == pytest.approx(44.857, abs=0.01)


def test_free_text_places_are_split_into_postal_code_and_commune():
    assert parse_place("75011") == ("75011", "")
    assert parse_place("69003 Lyon") == ("69003", "Lyon")
    assert parse_place("Saint-Étienne") == ("", "Saint-Étienne")


def test_locate_reads_what_a_patient_types(db):
    load(SAMPLE)

    assert locate("Lyon 69001").latitude == pytest.approx(45.7699)


def test_haversine_distance_matches_a_known_distance():
    # Paris Notre-Dame to Lyon Bellecour: about 392 km.
    assert haversine_km(48.853, 2.3499, 45.7578, 4.832) == pytest.approx(392, abs=3)


def test_the_bounding_box_holds_the_circle():
    from specialists.geocoding import GeoPoint

    point = GeoPoint(48.85, 2.35)
    min_lat, max_lat, min_lon, max_lon = bounding_box(point, 10)

    assert haversine_km(48.85, 2.35, max_lat, 2.35) == pytest.approx(10, rel=0.01)
    assert haversine_km(48.85, 2.35, 48.85, max_lon) == pytest.approx(10, rel=0.01)
    assert min_lat < 48.85 < max_lat
    assert min_lon < 2.35 < max_lon


@pytest.mark.skipif(
    not SHARED_POSTAL_CODES_FILE.is_file(), reason="the shared data folder is absent"
)
def test_la_postes_real_base_imports_and_geocodes(db):
    report = import_postal_codes(
        SHARED_POSTAL_CODES_FILE.open(encoding="utf-8-sig", newline="")
    )

    assert report.created > 39_000
    assert report.skipped == 0
    assert geocode(postal_code="75011").label == "Paris 11"
    assert geocode(postal_code="13001", commune="Marseille").latitude == pytest.approx(
        43.30, abs=0.02
    )
    assert geocode(commune="Saint-Étienne").latitude == pytest.approx(45.43, abs=0.05)

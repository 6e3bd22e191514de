"""Geocoding without any outside service: La Poste's postal-code base, or a fallback.

`import_postal_codes` loads the official base (39,000 lines) into `PostalCode`;
when it has not been loaded, a built-in set of major cities keeps distance search
working on a fresh installation.
"""

import csv
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from django.conf import settings
from django.db import transaction
from django.db.models import Expression, F, FloatField, Func, Q

from .models import PostalCode, PracticePlace
from .text import commune_key

EARTH_RADIUS_KM = 6371.0088
POSTAL_CODE_PATTERN = re.compile(r"^\d{5}$")
_POSTAL_CODE_IN_TEXT = re.compile(r"\b(\d{5})\b")

#: Where tests and demo data find La Poste's base, relative to the project root.
SHARED_POSTAL_CODES_FILE = (
    Path(settings.BASE_DIR).parent / "shared" / "data" / "laposte_hexasmal.csv"
)

# Centres of major cities (mean of their communes' centroids in La Poste's base)
# and their postal codes: enough for demo data and a fresh installation.
CITY_FALLBACK: tuple[tuple[str, float, float, str], ...] = (
    (
        "Paris",
        48.8603,
        2.3444,
        "75001 75002 75003 75004 75005 75006 75007 75008 75009 75010 75011 "
        "75012 75013 75014 75015 75016 75017 75018 75019 75020 75116",
    ),
    (
        "Marseille",
        43.3037,
        5.3969,
        "13001 13002 13003 13004 13005 13006 13007 13008 "
        "13009 13010 13011 13012 13013 13014 13015 13016",
    ),
    ("Lyon", 45.7588, 4.8353, "69001 69002 69003 69004 69005 69006 69007 69008 69009"),
    ("Toulouse", 43.5964, 1.4317, "31000 31100 31200 31300 31400 31500"),
    ("Nice", 43.7120, 7.2383, "06000 06100 06200 06300"),
    ("Nantes", 47.2316, -1.5483, "44000 44100 44200 44300"),
    ("Montpellier", 43.6134, 3.8685, "34000 34070 34080 34090"),
    ("Strasbourg", 48.5713, 7.7675, "67000 67100 67200"),
    ("Bordeaux", 44.8572, -0.5737, "33000 33100 33200 33300 33800"),
    ("Lille", 50.6317, 3.0478, "59000 59160 59260 59777 59800"),
    ("Rennes", 48.1120, -1.6819, "35000 35200 35700"),
    ("Reims", 49.2515, 4.0402, "51100"),
    ("Toulon", 43.1362, 5.9324, "83000 83100 83200"),
    ("Saint-Étienne", 45.4301, 4.3791, "42000 42100 42230"),
    ("Le Havre", 49.4985, 0.1402, "76600 76610 76620"),
    ("Grenoble", 45.1821, 5.7213, "38000 38100"),
    ("Dijon", 47.3229, 5.0379, "21000"),
    ("Angers", 47.4768, -0.5561, "49000 49100"),
    ("Nîmes", 43.8449, 4.3481, "30000 30900"),
    ("Villeurbanne", 45.7708, 4.8885, "69100"),
    ("Clermont-Ferrand", 45.7856, 3.1155, "63000 63100"),
    ("Le Mans", 47.9885, 0.2000, "72000 72100"),
    ("Aix-en-Provence", 43.5361, 5.3986, "13080 13090 13100 13290 13540"),
    ("Brest", 48.4005, -4.5028, "29200"),
    ("Tours", 47.3986, 0.6965, "37000 37100 37200"),
    ("Amiens", 49.9010, 2.2901, "80000 80080 80090"),
    ("Limoges", 45.8543, 1.2488, "87000 87100 87280"),
    ("Annecy", 45.8906, 6.1255, "74000 74370 74600 74940 74960"),
    ("Perpignan", 42.6966, 2.8994, "66000 66100"),
    ("Metz", 49.1081, 6.1955, "57000 57050 57070"),
    ("Besançon", 47.2554, 6.0195, "25000"),
    ("Orléans", 47.8829, 1.9161, "45000 45100"),
    ("Rouen", 49.4413, 1.0926, "76000 76100"),
    ("Caen", 49.1848, -0.3698, "14000"),
    ("Nancy", 48.6902, 6.1759, "54000 54100"),
    ("Mulhouse", 47.7492, 7.3257, "68100 68200"),
    ("Poitiers", 46.5839, 0.3599, "86000"),
    ("Pau", 43.3200, -0.3503, "64000"),
    ("La Rochelle", 46.1621, -1.1747, "17000"),
    ("Ajaccio", 41.9348, 8.7013, "20000 20090 20167"),
    ("Bayonne", 43.4922, -1.4661, "64100"),
    ("Avignon", 43.9352, 4.8407, "84000 84140"),
    ("Versailles", 48.8026, 2.1179, "78000"),
    ("Boulogne-Billancourt", 48.8366, 2.2391, "92100"),
    ("Saint-Denis", 48.9296, 2.3592, "93200 93210"),
    ("Montreuil", 48.8633, 2.4482, "93100"),
    ("Neuilly-sur-Seine", 48.8854, 2.2664, "92200"),
)


@dataclass(frozen=True)
class GeoPoint:
    latitude: float
    longitude: float
    label: str = ""
    precision: str = PracticePlace.GeocodePrecision.POSTAL_CODE


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = (
        math.sin(dphi / 2) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def bounding_box(
    point: GeoPoint, radius_km: float
) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lon, max_lon) of a square holding the circle.

    A cheap, indexable prefilter: the exact haversine distance is then computed
    on the few rows inside the box only.
    """
    dlat = math.degrees(radius_km / EARTH_RADIUS_KM)
    cos_lat = max(math.cos(math.radians(point.latitude)), 1e-6)
    dlon = min(180.0, math.degrees(radius_km / (EARTH_RADIUS_KM * cos_lat)))
    return (
        point.latitude - dlat,
        point.latitude + dlat,
        point.longitude - dlon,
        point.longitude + dlon,
    )


def in_box(point: GeoPoint, radius_km: float, *, prefix: str = "") -> Q:
    min_lat, max_lat, min_lon, max_lon = bounding_box(point, radius_km)
    return Q(
        **{
            f"{prefix}latitude__gte": min_lat,
            f"{prefix}latitude__lte": max_lat,
            f"{prefix}longitude__gte": min_lon,
            f"{prefix}longitude__lte": max_lon,
        }
    )


class HaversineKm(Func):
    """Great-circle distance in km from a fixed point to the row's coordinates.

    One SQL expression written out by hand: the same formula built from Django's
    math functions is a tree of some forty nodes, re-resolved for every query.
    """

    output_field = FloatField()

    def __init__(self, latitude: Expression, longitude: Expression, point: GeoPoint):
        super().__init__(latitude, longitude, output_field=FloatField())
        self.point = point

    def as_sql(self, compiler, connection, **extra_context):
        latitude, latitude_params = compiler.compile(self.source_expressions[0])
        longitude, longitude_params = compiler.compile(self.source_expressions[1])
        sql = (
            f"(%s * ASIN(LEAST(1.0, SQRT("
            f"POWER(SIN(RADIANS({latitude} - %s) / 2), 2)"
            f" + %s * COS(RADIANS({latitude}))"
            f" * POWER(SIN(RADIANS({longitude} - %s) / 2), 2)))))"
        )
        params = [
            2 * EARTH_RADIUS_KM,
            *latitude_params,
            self.point.latitude,
            math.cos(math.radians(self.point.latitude)),
            *latitude_params,
            *longitude_params,
            self.point.longitude,
        ]
        return sql, params


def distance_expression(point: GeoPoint, *, prefix: str = "") -> Expression:
    """The haversine distance in km from `point` to the row's coordinates, in SQL."""
    return HaversineKm(F(f"{prefix}latitude"), F(f"{prefix}longitude"), point)


def parse_place(text: str) -> tuple[str, str]:
    """Split "75011", "Lyon" or "69003 Lyon" into (postal code, commune)."""
    text = (text or "").strip()
    match = _POSTAL_CODE_IN_TEXT.search(text)
    if match is None:
        return "", text
    commune = (text[: match.start()] + " " + text[match.end() :]).strip(" ,-")
    return match.group(1), commune


def geocode(*, postal_code: str = "", commune: str = "") -> GeoPoint | None:
    """Coordinates of a postal code and/or commune; None when unknown.

    A postal code shared by several communes is narrowed down by the commune's
    name; a commune name shared by several departments ("Saint-Denis") goes to the
    department where it has the most postal lines (the big city).
    """
    postal_code = (postal_code or "").strip()
    key = commune_key(commune)
    if not postal_code and not key:
        return None
    point = _geocode_from_base(postal_code, key)
    if point is None:
        point = _geocode_from_fallback(postal_code, key)
    return point


def locate(text: str) -> GeoPoint | None:
    postal_code, commune = parse_place(text)
    return geocode(postal_code=postal_code, commune=commune)


def _geocode_from_base(postal_code: str, key: str) -> GeoPoint | None:
    rows = PostalCode.objects.exclude(latitude=None)
    if postal_code:
        rows = rows.filter(postal_code=postal_code)
    else:
        rows = rows.filter(Q(commune_key=key) | Q(routing_key=key))
    found = list(
        rows.values_list(
            "insee_code",
            "commune",
            "routing_label",
            "line_5",
            "latitude",
            "longitude",
            "commune_key",
            "routing_key",
        )
    )
    return _pick(found, key, by_code=bool(postal_code))


def _pick(found: list[tuple], key: str, *, by_code: bool) -> GeoPoint | None:
    """Choose among base lines: (insee, commune, label, line 5, lat, lon, keys…)."""
    if not found:
        return None
    precision = PracticePlace.GeocodePrecision.COMMUNE
    if by_code:
        if key:
            named = [
                row for row in found if key in (row[6], row[7], commune_key(row[3]))
            ]
            if named:
                found = named
            else:
                precision = PracticePlace.GeocodePrecision.POSTAL_CODE
        elif len({row[0] for row in found}) > 1:
            precision = PracticePlace.GeocodePrecision.POSTAL_CODE
    else:
        by_department: dict[str, list] = defaultdict(list)
        for row in found:
            by_department[_department(row[0])].append(row)
        found = max(by_department.values(), key=len)
    centroids = {row[0]: (row[4], row[5]) for row in found}
    latitude = sum(lat for lat, _lon in centroids.values()) / len(centroids)
    longitude = sum(lon for _lat, lon in centroids.values()) / len(centroids)
    label = found[0][2] if len(centroids) > 1 else found[0][1]
    return GeoPoint(latitude, longitude, label.title(), precision)


def geocode_many(pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], GeoPoint]:
    """Geocode many (postal code, commune) pairs with one query (imports, seeds)."""
    wanted = {(code.strip(), commune) for code, commune in pairs if code.strip()}
    if not wanted:
        return {}
    rows_by_code: dict[str, list[tuple]] = defaultdict(list)
    for row in (
        PostalCode.objects.exclude(latitude=None)
        .filter(postal_code__in={code for code, _commune in wanted})
        .values_list(
            "postal_code",
            "insee_code",
            "commune",
            "routing_label",
            "line_5",
            "latitude",
            "longitude",
            "commune_key",
            "routing_key",
        )
    ):
        rows_by_code[row[0]].append(row[1:])
    located: dict[tuple[str, str], GeoPoint] = {}
    for code, commune in wanted:
        point = _pick(rows_by_code.get(code, []), commune_key(commune), by_code=True)
        point = point or _geocode_from_fallback(code, commune_key(commune))
        if point is not None:
            located[(code, commune)] = point
    return located


def _geocode_from_fallback(postal_code: str, key: str) -> GeoPoint | None:
    for name, latitude, longitude, codes in CITY_FALLBACK:
        if (postal_code and postal_code in codes.split()) or (
            not postal_code and key and key == commune_key(name)
        ):
            return GeoPoint(
                latitude, longitude, name, PracticePlace.GeocodePrecision.CITY
            )
    return None


def _department(insee_code: str) -> str:
    return insee_code[:3] if insee_code.startswith("97") else insee_code[:2]


def fallback_city(name: str) -> GeoPoint | None:
    """A built-in city centre by name ("Lyon"), whatever the base holds."""
    return _geocode_from_fallback("", commune_key(name))


# --- Import -----------------------------------------------------------------------

POSTAL_CODE_HEADER = [
    "Code_commune_INSEE",
    "Nom_commune",
    "Code_postal",
    "Ligne_5",
    "Libellé_d_acheminement",
    "coordonnees_gps",
]


@dataclass
class PostalCodeImportReport:
    read: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)

    def skip(self, line_number: int, reason: str) -> None:
        self.skipped += 1
        if len(self.problems) < 100:  # a report, not a copy of a broken file
            self.problems.append(f"line {line_number}: {reason}")


def import_postal_codes(
    stream: IO[str], *, batch_size: int = 2000
) -> PostalCodeImportReport:
    """Load La Poste's base from a text stream; running it twice changes nothing.

    Lines are upserted by (INSEE code, postal code, line 5) in batches, so memory
    stays constant whatever the file's size.
    """
    report = PostalCodeImportReport()
    before = PostalCode.objects.count()
    reader = csv.reader(stream, delimiter=";")
    header = next(reader, None)
    if header is None:
        return report
    if [column.lstrip("\ufeff").strip() for column in header] != POSTAL_CODE_HEADER:
        report.skip(1, "unexpected header, expected " + ";".join(POSTAL_CODE_HEADER))
        return report
    for batch in _batches(_parse_postal_codes(reader, report), batch_size):
        _upsert_postal_codes(batch)
    after = PostalCode.objects.count()
    report.created = after - before
    report.updated = report.read - report.skipped - report.created
    return report


def import_postal_codes_file(path: str | Path) -> PostalCodeImportReport:
    with open(path, encoding="utf-8-sig", newline="") as stream:
        return import_postal_codes(stream)


def ensure_postal_codes(path: Path = SHARED_POSTAL_CODES_FILE) -> bool:
    """Load the shared base once if it is present and the table still empty."""
    if PostalCode.objects.exists():
        return True
    if not path.is_file():
        return False
    import_postal_codes_file(path)
    return True


def _parse_postal_codes(
    reader: Iterable[list[str]], report: PostalCodeImportReport
) -> Iterator[PostalCode]:
    for line_number, row in enumerate(reader, start=2):
        report.read += 1
        if len(row) != len(POSTAL_CODE_HEADER):
            report.skip(line_number, f"{len(row)} columns instead of 6")
            continue
        insee, commune, postal_code, line_5, label, gps = (
            value.strip() for value in row
        )
        if not POSTAL_CODE_PATTERN.match(postal_code):
            report.skip(line_number, f"invalid postal code {postal_code!r}")
            continue
        if not insee or not commune:
            report.skip(line_number, "missing commune")
            continue
        latitude = longitude = None
        if gps:
            try:
                latitude, longitude = (float(part) for part in gps.split(","))
            except ValueError:
                report.skip(line_number, f"invalid coordinates {gps!r}")
                continue
            if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
                report.skip(line_number, f"coordinates out of range {gps!r}")
                continue
        yield PostalCode(
            insee_code=insee[:5],
            commune=commune[:80],
            postal_code=postal_code,
            line_5=line_5[:80],
            routing_label=(label or commune)[:80],
            latitude=latitude,
            longitude=longitude,
            commune_key=commune_key(commune)[:80],
            routing_key=commune_key(label or commune)[:80],
        )


def _batches(items: Iterable, size: int) -> Iterator[list]:
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


@transaction.atomic
def _upsert_postal_codes(batch: list[PostalCode]) -> None:
    # One statement may not touch a row twice: keep the last of duplicate lines.
    unique = {(row.insee_code, row.postal_code, row.line_5): row for row in batch}
    PostalCode.objects.bulk_create(
        unique.values(),
        update_conflicts=True,
        unique_fields=["insee_code", "postal_code", "line_5"],
        update_fields=[
            "commune",
            "routing_label",
            "latitude",
            "longitude",
            "commune_key",
            "routing_key",
        ],
    )

"""Finding the figures in force on a day, and loading new ones."""

import datetime as dt
import json
from decimal import Decimal as D
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from reimbursements.engine import Sector, TariffGrid
from reimbursements.models import (
    Act,
    ActTariff,
    PatientContributionRule,
    ReimbursementRate,
)
from reimbursements.tariffs import REFERENCE_FILE, rules_for

AMELI = "https://www.ameli.fr/assure/remboursements/rembourse/consultations-telemedecine/modifications-tarifs-consultations"


def _counts():
    return (
        Act.objects.count(),
        ActTariff.objects.count(),
        ReimbursementRate.objects.count(),
        PatientContributionRule.objects.count(),
    )


def test_the_data_migration_loaded_the_reference_tariffs_with_sources(
    reference_tariffs,
):
    tariff = ActTariff.objects.in_force_on(dt.date(2026, 6, 1)).get(
        act__code="G", grid=TariffGrid.OPTAM
    )

    assert tariff.base == D("30.00")
    assert tariff.source.startswith("https://www.ameli.fr/")
    assert not ActTariff.objects.filter(source="").exists()


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (dt.date(2024, 12, 22), D("55.00")),
        (dt.date(2025, 12, 31), D("55.00")),
        (dt.date(2026, 1, 1), D("57.00")),
        (dt.date(2026, 11, 25), D("57.00")),
    ],
)
def test_the_psychiatrist_tariff_is_chosen_by_the_date_of_the_act(
    reference_tariffs, day, expected
):
    rules = rules_for(code="CNPSY", sector=Sector.SECTOR_2_OPTAM, on=day)

    assert rules.base == expected
    assert rules.grid == TariffGrid.OPTAM


def test_the_gp_tariff_before_the_2024_convention_was_26_50(reference_tariffs):
    assert rules_for(
        code="G", sector=Sector.SECTOR_1, on=dt.date(2024, 12, 21)
    ).base == D("26.50")
    assert rules_for(
        code="G", sector=Sector.SECTOR_1, on=dt.date(2024, 12, 22)
    ).base == D("30.00")


def test_a_practitioner_without_optam_is_reimbursed_on_the_lower_base(
    reference_tariffs,
):
    rules = rules_for(code="CS", sector=Sector.SECTOR_2, on=dt.date(2026, 3, 1))

    assert (rules.base, rules.grid) == (D("23.00"), TariffGrid.NON_OPTAM)


def test_the_rules_carry_the_rates_the_participation_and_the_thresholds(
    reference_tariffs,
):
    rules = rules_for(code="G", sector=Sector.SECTOR_1, on=dt.date(2026, 3, 1))

    assert (rules.standard_rate, rules.outside_pathway_rate) == (D(70), D(30))
    assert (rules.ald_rate, rules.maternity_rate) == (D(100), D(100))
    assert rules.contribution.amount_per_act == D("2.00")
    assert rules.contribution.yearly_cap == D("50.00")
    assert rules.contribution.adult_from_age == 18
    assert rules.written_information_threshold == D("70.00")
    assert (rules.non_optam_overrun_cap, rules.non_optam_overrun_gap) == (D(100), D(20))


@pytest.mark.parametrize(
    ("code", "sector", "day", "error_code"),
    [
        ("ZZZ", Sector.SECTOR_1, dt.date(2026, 3, 1), "unknown_act"),
        ("APC", Sector.SECTOR_2, dt.date(2026, 3, 1), "no_tariff"),
        ("G", Sector.SECTOR_1, dt.date(2020, 1, 1), "no_tariff"),
        ("G", Sector.SECTOR_1, dt.date(2024, 1, 10), "no_rate"),
    ],
)
def test_a_missing_figure_is_a_validation_error_with_a_code(
    reference_tariffs, code, sector, day, error_code
):
    with pytest.raises(ValidationError) as caught:
        rules_for(code=code, sector=sector, on=day)

    assert caught.value.code == error_code


def test_two_tariffs_of_one_act_cannot_be_in_force_on_the_same_day(
    reference_tariffs,
):
    act = Act.objects.get(code="G")

    with pytest.raises(IntegrityError), transaction.atomic():
        ActTariff.objects.create(
            act=act,
            grid=TariffGrid.OPTAM,
            base=D("31.00"),
            valid_from=dt.date(2026, 6, 1),
            source=AMELI,
        )


def test_full_clean_reports_an_overlap_with_its_code(reference_tariffs):
    tariff = ActTariff(
        act=Act.objects.get(code="G"),
        grid=TariffGrid.OPTAM,
        base=D("31.00"),
        valid_from=dt.date(2026, 6, 1),
        source=AMELI,
    )

    with pytest.raises(ValidationError) as caught:
        tariff.full_clean()

    codes = [error.code for error in caught.value.error_dict["__all__"]]
    assert codes == ["overlapping_validity"]


# --- The load_tariffs command ---------------------------------------------------------


def test_loading_the_reference_file_twice_changes_nothing(reference_tariffs):
    before = _counts()
    updated_at = ActTariff.objects.order_by("pk").values_list("updated_at", flat=True)
    first_stamps = list(updated_at)
    out = StringIO()

    call_command("load_tariffs", str(REFERENCE_FILE), stdout=out)
    call_command("load_tariffs", str(REFERENCE_FILE), stdout=out)

    assert _counts() == before
    assert list(updated_at) == first_stamps
    assert "0 created, 0 updated" in out.getvalue()


def _write(tmp_path, name: str, content) -> str:
    path = tmp_path / name
    path.write_text(
        content if isinstance(content, str) else json.dumps(content), encoding="utf-8"
    )
    return str(path)


def test_a_new_tariff_ends_the_one_it_replaces(reference_tariffs, tmp_path):
    document = {
        "tariffs": [
            {
                "act": "G",
                "grid": "optam",
                "base": "32.00",
                "valid_from": "2027-01-01",
                "source": AMELI,
            }
        ]
    }
    path = _write(tmp_path, "2027.json", document)

    call_command("load_tariffs", path, stdout=StringIO())
    call_command("load_tariffs", path, stdout=StringIO())

    rows = list(
        ActTariff.objects.filter(
            act__code="G", grid="optam", valid_from__year__gte=2024
        )
        .order_by("valid_from")
        .values_list("base", "valid_from", "valid_to")
    )
    assert rows == [
        (D("30.00"), dt.date(2024, 12, 22), dt.date(2026, 12, 31)),
        (D("32.00"), dt.date(2027, 1, 1), None),
    ]
    assert rules_for(
        code="G", sector=Sector.SECTOR_1, on=dt.date(2027, 1, 1)
    ).base == D("32.00")


def test_a_csv_of_tariffs_creates_acts_and_records_the_source(
    reference_tariffs, tmp_path
):
    path = _write(
        tmp_path,
        "exams.csv",
        "act,label,kind,contribution,grid,base,valid_from,valid_to,source,note\n"
        "DEQP005,Holter ECG,technical,participation,optam,77.01,2026-01-01,,"
        "https://example.org/ccam,checked\n"
        "DEQP005,,,,non_optam,77.01,2026-01-01,,,\n",
    )

    call_command(
        "load_tariffs",
        path,
        "--source",
        "https://example.org/default",
        stdout=StringIO(),
    )
    call_command(
        "load_tariffs", path, stdout=StringIO(), source="https://example.org/default"
    )

    act = Act.objects.get(code="DEQP005")
    assert act.label == "Holter ECG"
    assert dict(act.tariffs.values_list("grid", "source")) == {
        "optam": "https://example.org/ccam",
        "non_optam": "https://example.org/default",
    }


def test_a_row_without_a_source_refuses_the_whole_file(reference_tariffs, tmp_path):
    before = _counts()
    document = {
        "acts": [{"code": "NEW", "label": "New act", "kind": "consultation"}],
        "tariffs": [
            {"act": "NEW", "grid": "optam", "base": "10", "valid_from": "2026-01-01"}
        ],
    }

    with pytest.raises(CommandError, match="source"):
        call_command("load_tariffs", _write(tmp_path, "bad.json", document))

    assert _counts() == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not valid JSON"),
        (
            {
                "rates": [
                    {
                        "situation": "standard",
                        "percent": "170",
                        "valid_from": "2026-01-01",
                        "source": AMELI,
                    }
                ]
            },
            "exceed 100",
        ),
        (
            {
                "tariffs": [
                    {
                        "act": "G",
                        "grid": "moon",
                        "base": "1",
                        "valid_from": "2026-01-01",
                        "source": AMELI,
                    }
                ]
            },
            "not one of",
        ),
        (
            {
                "tariffs": [
                    {
                        "act": "G",
                        "grid": "optam",
                        "base": "-1",
                        "valid_from": "2026-01-01",
                        "source": AMELI,
                    }
                ]
            },
            "not a positive amount",
        ),
        (
            {
                "tariffs": [
                    {
                        "act": "G",
                        "grid": "optam",
                        "base": "1",
                        "valid_from": "1 May",
                        "source": AMELI,
                    }
                ]
            },
            "not a date",
        ),
        (
            {
                "tariffs": [
                    {
                        "act": "G",
                        "grid": "optam",
                        "base": "1",
                        "valid_from": "2025-01-01",
                        "valid_to": "2025-02-01",
                        "source": AMELI,
                    }
                ]
            },
            "overlaps",
        ),
    ],
)
def test_a_wrong_file_is_refused_with_a_message(
    reference_tariffs, tmp_path, content, message
):
    with pytest.raises(CommandError, match=message):
        call_command("load_tariffs", _write(tmp_path, "wrong.json", content))


def test_a_missing_file_is_refused(db):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("load_tariffs", "/nonexistent/tariffs.json")

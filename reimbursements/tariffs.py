"""Dated tariff data: find the figures in force on a day, and load new ones.

`rules_for` resolves everything the estimate engine needs for one act on one day;
`load_document` imports a tariff file (the data migration and the `load_tariffs`
command share it, so a fresh database and an updated one hold the same rows).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.apps import apps as global_apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from .engine import (
    GRID_OF_SECTOR,
    ActKind,
    ContributionKind,
    ContributionRule,
    ParameterKey,
    RateSituation,
    Sector,
    TariffGrid,
    TariffRules,
)

#: The reference data loaded by the migrations, also used by the demo and tests.
REFERENCE_FILE = Path(__file__).resolve().parent / "data" / "tariffs_2026.json"


# --- Lookup -------------------------------------------------------------------------


def rules_for(*, code: str, sector: Sector, on: dt.date) -> TariffRules:
    """Every figure in force on `on` for act `code` billed in `sector`."""
    from .models import (
        Act,
        ActTariff,
        PatientContributionRule,
        RegulatoryParameter,
        ReimbursementRate,
    )

    act = Act.objects.filter(code=code).first()
    if act is None:
        raise ValidationError(
            _("Unknown act %(code)s.") % {"code": code}, code="unknown_act"
        )
    grid = GRID_OF_SECTOR[Sector(sector)]
    tariff = ActTariff.objects.in_force_on(on).filter(act=act, grid=grid).first()
    if tariff is None:
        raise ValidationError(
            _("No tariff of %(code)s for %(grid)s on %(date)s.")
            % {
                "code": code,
                "grid": TariffGrid(grid).label,
                "date": on.strftime("%d/%m/%Y"),
            },
            code="no_tariff",
        )
    rates = {
        rate.situation: rate.percent
        for rate in ReimbursementRate.objects.in_force_on(on)
    }
    missing_rates = [s for s in RateSituation.values if s not in rates]
    if missing_rates:
        raise ValidationError(
            _("No reimbursement rate in force on %(date)s for: %(situations)s.")
            % {"date": on.strftime("%d/%m/%Y"), "situations": ", ".join(missing_rates)},
            code="no_rate",
        )
    contribution = None
    if act.contribution:
        rule = (
            PatientContributionRule.objects.in_force_on(on)
            .filter(kind=act.contribution)
            .first()
        )
        if rule is None:
            raise ValidationError(
                _("No participation rule in force on %(date)s.")
                % {"date": on.strftime("%d/%m/%Y")},
                code="no_contribution_rule",
            )
        contribution = ContributionRule(
            kind=ContributionKind(rule.kind),
            amount_per_act=rule.amount_per_act,
            yearly_cap=rule.yearly_cap,
            adult_from_age=rule.adult_from_age,
        )
    parameters = {
        parameter.key: parameter.value
        for parameter in RegulatoryParameter.objects.in_force_on(on)
    }
    missing = [key for key in ParameterKey.values if key not in parameters]
    if missing:
        raise ValidationError(
            _("No regulatory parameter in force on %(date)s for: %(keys)s.")
            % {"date": on.strftime("%d/%m/%Y"), "keys": ", ".join(missing)},
            code="no_parameter",
        )
    return TariffRules(
        act_code=act.code,
        act_label=act.label,
        act_kind=ActKind(act.kind),
        grid=TariffGrid(grid),
        base=tariff.base,
        tariff_valid_from=tariff.valid_from,
        standard_rate=rates[RateSituation.STANDARD],
        outside_pathway_rate=rates[RateSituation.OUTSIDE_PATHWAY],
        ald_rate=rates[RateSituation.ALD],
        maternity_rate=rates[RateSituation.MATERNITY],
        contribution=contribution,
        written_information_threshold=parameters[
            ParameterKey.WRITTEN_INFORMATION_THRESHOLD
        ],
        non_optam_overrun_cap=parameters[ParameterKey.NON_OPTAM_OVERRUN_CAP],
        non_optam_overrun_gap=parameters[ParameterKey.NON_OPTAM_OVERRUN_GAP],
    )


# --- Loading ------------------------------------------------------------------------


class TariffFileError(ValueError):
    """The file cannot be loaded; nothing of it was saved."""


@dataclass
class LoadReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    closed: int = 0
    messages: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"{self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.closed} previous rows closed"
        )


def read_file(path: Path | str) -> dict[str, Any]:
    """Parse a JSON document or a CSV of act tariffs into the document shape."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise TariffFileError(f"Cannot read {path}: {error}") from error
    if path.suffix.lower() == ".csv":
        return _document_from_csv(text)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise TariffFileError(f"{path} is not valid JSON: {error}") from error
    if not isinstance(document, dict):
        raise TariffFileError(f"{path} must hold a JSON object.")
    return document


CSV_COLUMNS = ("act", "grid", "base", "valid_from", "valid_to", "source", "note")


def _document_from_csv(text: str) -> dict[str, Any]:
    """One act tariff per row; `label`, `kind` and `contribution` create new acts."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [
        c
        for c in ("act", "grid", "base", "valid_from")
        if c not in (reader.fieldnames or [])
    ]
    if missing:
        raise TariffFileError(f"CSV columns missing: {', '.join(missing)}.")
    acts: dict[str, dict[str, str]] = {}
    tariffs = []
    for row in reader:
        row = {key: (value or "").strip() for key, value in row.items() if key}
        if row.get("label"):
            acts[row["act"]] = {
                "code": row["act"],
                "label": row["label"],
                "kind": row.get("kind") or ActKind.CONSULTATION,
                "contribution": row.get(
                    "contribution", ContributionKind.PARTICIPATION_FORFAITAIRE
                ),
            }
        tariffs.append({column: row.get(column) or None for column in CSV_COLUMNS})
    return {"acts": list(acts.values()), "tariffs": tariffs}


def _decimal(value: Any, where: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, TypeError) as error:
        raise TariffFileError(f"{where}: {value!r} is not a number.") from error
    if not number.is_finite() or number < 0:
        raise TariffFileError(f"{where}: {value!r} is not a positive amount.")
    return number


def _date(value: Any, where: str, *, required: bool = True) -> dt.date | None:
    if value in (None, ""):
        if required:
            raise TariffFileError(f"{where}: a date is required.")
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as error:
        raise TariffFileError(
            f"{where}: {value!r} is not a date (YYYY-MM-DD)."
        ) from error


def _choice(value: Any, choices: Iterable[str], where: str) -> str:
    allowed = list(choices)
    if value not in allowed:
        raise TariffFileError(f"{where}: {value!r} is not one of {', '.join(allowed)}.")
    return str(value)


RowReader = Callable[[dict[str, Any], str], dict[str, Any]]


def load_document(
    document: dict[str, Any], *, registry=None, default_source: str = ""
) -> LoadReport:
    """Create or update every row of the document; running it twice changes nothing.

    A dated row is identified by its kind and its first day of validity. A new
    open-ended row that starts while an open-ended one of the same kind is in force
    ends that one the day before, as a new tariff replaces the old; any other
    overlap refuses the whole file.
    """
    registry = registry or global_apps
    report = LoadReport()
    with transaction.atomic():
        _load_acts(document.get("acts") or [], registry, report)
        Act = registry.get_model("reimbursements", "Act")
        sections: list[tuple[str, Any, RowReader, RowReader]] = [
            (
                "tariffs",
                registry.get_model("reimbursements", "ActTariff"),
                lambda row, where: {
                    "act": _act(Act, row.get("act"), where),
                    "grid": _choice(row.get("grid"), TariffGrid.values, where),
                },
                lambda row, where: {"base": _decimal(row.get("base"), where)},
            ),
            (
                "rates",
                registry.get_model("reimbursements", "ReimbursementRate"),
                lambda row, where: {
                    "situation": _choice(
                        row.get("situation"), RateSituation.values, where
                    )
                },
                lambda row, where: {"percent": _percent(row.get("percent"), where)},
            ),
            (
                "contributions",
                registry.get_model("reimbursements", "PatientContributionRule"),
                lambda row, where: {
                    "kind": _choice(row.get("kind"), ContributionKind.values, where)
                },
                lambda row, where: {
                    "amount_per_act": _decimal(row.get("amount_per_act"), where),
                    "yearly_cap": _decimal(row.get("yearly_cap"), where),
                    "adult_from_age": int(row.get("adult_from_age", 18)),
                },
            ),
            (
                "parameters",
                registry.get_model("reimbursements", "RegulatoryParameter"),
                lambda row, where: {
                    "key": _choice(row.get("key"), ParameterKey.values, where)
                },
                lambda row, where: {"value": _decimal(row.get("value"), where)},
            ),
        ]
        for name, model, identity, values in sections:
            rows = document.get(name) or []
            if not isinstance(rows, list):
                raise TariffFileError(f"{name} must be a list.")
            ordered = sorted(
                enumerate(rows, start=1),
                key=lambda item: str(item[1].get("valid_from")),
            )
            for index, row in ordered:
                where = f"{name}[{index}]"
                if not isinstance(row, dict):
                    raise TariffFileError(f"{where} must be an object.")
                _load_dated_row(
                    model,
                    identity(row, where),
                    values(row, where),
                    row,
                    where,
                    default_source,
                    report,
                )
    return report


def _percent(value: Any, where: str) -> Decimal:
    percent = _decimal(value, where)
    if percent > 100:
        raise TariffFileError(f"{where}: a rate cannot exceed 100%.")
    return percent


def _act(Act, code: Any, where: str):
    act = Act.objects.filter(code=code).first()
    if act is None:
        raise TariffFileError(f"{where}: unknown act {code!r} (declare it in acts).")
    return act


def _load_acts(rows: list[dict[str, Any]], registry, report: LoadReport) -> None:
    Act = registry.get_model("reimbursements", "Act")
    for index, row in enumerate(rows, start=1):
        where = f"acts[{index}]"
        code = str(row.get("code") or "").strip()
        if not code or len(code) > 16:
            raise TariffFileError(f"{where}: a code of 1 to 16 characters is required.")
        values = {
            "label": str(row.get("label") or "").strip() or code,
            "kind": _choice(
                row.get("kind", ActKind.CONSULTATION), ActKind.values, where
            ),
            "contribution": _choice(
                row.get("contribution") or "",
                ["", *ContributionKind.values],
                where,
            ),
        }
        act = Act.objects.filter(code=code).first()
        if act is None:
            Act.objects.create(code=code, **values)
            report.created += 1
        elif any(getattr(act, key) != value for key, value in values.items()):
            for key, value in values.items():
                setattr(act, key, value)
            act.save(update_fields=[*values, "updated_at"])
            report.updated += 1
        else:
            report.unchanged += 1


def _load_dated_row(
    model,
    identity: dict[str, Any],
    values: dict[str, Any],
    row: dict[str, Any],
    where: str,
    default_source: str,
    report: LoadReport,
) -> None:
    valid_from = _date(row.get("valid_from"), f"{where}.valid_from")
    valid_to = _date(row.get("valid_to"), f"{where}.valid_to", required=False)
    assert valid_from is not None
    if valid_to is not None and valid_to < valid_from:
        raise TariffFileError(f"{where}: valid_to precedes valid_from.")
    source = str(row.get("source") or default_source or "").strip()
    if not source.startswith(("https://", "http://")):
        raise TariffFileError(f"{where}: the source (an official URL) is required.")
    values = {
        **values,
        "valid_to": valid_to,
        "source": source,
        "note": str(row.get("note") or ""),
    }
    try:
        with transaction.atomic():
            existing = model.objects.filter(**identity, valid_from=valid_from).first()
            if existing is None:
                if valid_to is None:
                    _close_previous(model, identity, valid_from, report)
                model.objects.create(**identity, valid_from=valid_from, **values)
                report.created += 1
            elif any(getattr(existing, key) != value for key, value in values.items()):
                for key, value in values.items():
                    setattr(existing, key, value)
                existing.save(update_fields=[*values, "updated_at"])
                report.updated += 1
            else:
                report.unchanged += 1
    except IntegrityError as error:
        raise TariffFileError(
            f"{where}: overlaps another row of the same kind in force on those "
            f"dates ({error.__class__.__name__})."
        ) from error


def _close_previous(
    model, identity: dict[str, Any], valid_from: dt.date, report
) -> None:
    """End the open-ended row that the new one replaces, the day before it starts."""
    previous = (
        model.objects.filter(
            **identity, valid_from__lt=valid_from, valid_to__isnull=True
        )
        .order_by("-valid_from")
        .first()
    )
    if previous is not None:
        previous.valid_to = valid_from - dt.timedelta(days=1)
        previous.save(update_fields=["valid_to", "updated_at"])
        report.closed += 1
        report.messages.append(
            f"{model._meta.model_name} {identity} from {previous.valid_from} "
            f"now ends on {previous.valid_to}."
        )


def load_reference_data(*, registry=None) -> LoadReport:
    """Load the reference file shipped with the app (idempotent)."""
    return load_document(read_file(REFERENCE_FILE), registry=registry)

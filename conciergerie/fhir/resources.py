"""What every FHIR resource type of the facade provides, and FHIR's small pieces.

A resource type is a class with a `name` ("Practitioner"), the scope a token
needs to read it, its search parameters (for the CapabilityStatement) and two
methods, `search` and `read`. `registry.RESOURCE_TYPES` lists them; the views
route `/fhir/r4/<name>` and `/fhir/r4/<name>/<id>` to them.
"""

import abc
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.http import QueryDict
from django.utils.dateparse import parse_datetime
from rest_framework import exceptions

from specialists.availability import PARIS

#: FHIR ids: 1 to 64 of these characters.
ID_PATTERN = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
DEFAULT_COUNT = 20
MAX_COUNT = 100


class InvalidSearch(exceptions.ValidationError):
    """A search parameter FHIR-clients got wrong: 400 with an OperationOutcome."""


def code_system(name: str) -> str:
    """The URI of one of the service's own code systems."""
    return f"{settings.SITE_URL}/fhir/CodeSystem/{name}"


def fhir_instant(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def token_value(raw: str) -> tuple[str | None, str]:
    """`system|code` → (system, code); a bare `code` → (None, code)."""
    if "|" in raw:
        system, _sep, code = raw.partition("|")
        return system or None, code
    return None, raw


def reference_id(raw: str, resource: str) -> str:
    """`Practitioner/abc`, an absolute URL ending so, or `abc` → `abc`."""
    value = raw.rstrip("/").rsplit(f"{resource}/", 1)[-1]
    if "/" in value or not ID_PATTERN.match(value):
        raise InvalidSearch(f"Not a {resource} reference: {raw!r}")
    return value


@dataclass(frozen=True)
class DateBound:
    prefix: str
    moment: datetime


PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")


def parse_date_param(raw: str) -> list[DateBound]:
    """`ge2026-03-01`, `lt2026-03-05T12:00:00+01:00`… as bounds in real time.

    A bare day means that whole day in Paris time: `ge` its start, `le` its end,
    `eq` both.
    """
    prefix = raw[:2] if raw[:2] in PREFIXES else "eq"
    text = raw[2:] if raw[:2] in PREFIXES else raw
    if prefix not in {"eq", "gt", "lt", "ge", "le"}:
        raise InvalidSearch(f"Unsupported date prefix {prefix!r}.")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            day = date.fromisoformat(text)
        except ValueError as error:
            raise InvalidSearch(f"Invalid date {text!r}.") from error
        start = datetime.combine(day, time.min, tzinfo=PARIS)
        end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=PARIS)
        if prefix == "eq":
            return [DateBound("ge", start), DateBound("lt", end)]
        if prefix in {"gt", "le"}:
            return [DateBound("lt" if prefix == "le" else "ge", end)]
        return [DateBound(prefix, start)]
    try:
        moment = parse_datetime(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidSearch(
            f"Invalid date-time {text!r}: a day, or a date-time with its offset."
        )
    if prefix == "eq":
        return [DateBound("ge", moment), DateBound("le", moment)]
    return [DateBound(prefix, moment)]


def paging(params: QueryDict, *, default: int = DEFAULT_COUNT) -> tuple[int, int]:
    """`_count` (1–100) and `_offset` (≥ 0)."""
    try:
        count = int(params.get("_count", default))
        offset = int(params.get("_offset", 0))
    except ValueError as error:
        raise InvalidSearch("_count and _offset are whole numbers.") from error
    if not 0 <= offset <= 100_000:
        raise InvalidSearch("_offset must be between 0 and 100000.")
    return max(1, min(count, MAX_COUNT)), offset


@dataclass
class SearchResult:
    resources: list[dict[str, Any]]
    total: int | None = None
    next_offset: int | None = None
    included: list[dict[str, Any]] = field(default_factory=list)


def search_page(
    queryset: Any, params: QueryDict, build: Callable[[Any], dict[str, Any]]
) -> SearchResult:
    """One page of a searchset from a queryset: `_count` rows and one more to
    know whether a next page exists; the total is counted only when paging."""
    count, offset = paging(params)
    rows = list(queryset[offset : offset + count + 1])
    return SearchResult(
        resources=[build(row) for row in rows[:count]],
        total=queryset.count() if offset or len(rows) > count else len(rows),
        next_offset=offset + count if len(rows) > count else None,
    )


@dataclass(frozen=True)
class SearchParam:
    name: str
    type: str  # FHIR search parameter type: string, token, reference, date
    documentation: str


class ResourceType(abc.ABC):
    """One FHIR resource type served read-only by the facade."""

    name: ClassVar[str]
    #: The OAuth2 scope a partner token needs to read it.
    scope: ClassVar[str]
    search_params: ClassVar[Sequence[SearchParam]] = ()
    profile: ClassVar[str] = ""

    @abc.abstractmethod
    def search(self, request, params: QueryDict) -> SearchResult:
        """Resources matching `params` (raise InvalidSearch for bad input)."""

    @abc.abstractmethod
    def read(self, request, resource_id: str) -> dict[str, Any] | None:
        """One resource the caller may see, or None (404)."""

"""Filters for message templates: `{% load outbox %}`.

Contexts are stored as JSON, so dates arrive as ISO strings; `as_datetime` turns
them back into datetimes that Django's `date` and `time` filters show in Paris
time and in the message's language:
`{{ starts_at|as_datetime|date:"l j F, H:i" }}`.
"""

from datetime import datetime

from django import template
from django.utils.dateparse import parse_datetime

register = template.Library()


@register.filter
def as_datetime(value: str | datetime | None) -> datetime | str | None:
    if isinstance(value, datetime) or not value:
        return value
    return parse_datetime(str(value)) or value

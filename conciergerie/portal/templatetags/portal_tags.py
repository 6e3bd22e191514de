"""Plain-language states for portal templates: {{ item.state|explain:"claim" }}."""

from django import template

from conciergerie.portal import wording

register = template.Library()


@register.filter
def explain(state: str, kind: str) -> str:
    return wording.explain(kind, state)

"""Plain-language states for portal templates: {{ item.state|explain:"claim" }}
for a sentence, {{ item.state|state_label:"invoice" }} for a badge."""

from django import template

from conciergerie.portal import wording

register = template.Library()


@register.filter
def explain(state: str, kind: str) -> str:
    return wording.explain(kind, state)


@register.filter
def state_label(state: str, kind: str) -> str:
    return wording.label(kind, state)

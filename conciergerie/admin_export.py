"""CSV export of any back-office list, as one action offered on every list.

The file holds the columns the list shows to this person (`get_list_display`), so
that an export never reveals more than the screen: a column backed by an
encrypted field is left out unless the admin shows that field to this person's
role. Exporting a model that holds health data writes a row in the access log.
"""

import csv
from collections.abc import Iterable

from django.apps import apps
from django.contrib import admin
from django.contrib.admin.utils import display_for_field, label_for_field, lookup_field
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.http import HttpResponse
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from conciergerie.audit.models import AccessLog
from conciergerie.audit.services import record_access

EMPTY = ""


def export_permission(model) -> str | None:
    """An app that guards its exports with an `export_<app>` permission (billing's
    `export_billing`) keeps that guard on the generic export of its lists."""
    label = model._meta.app_label
    codename = f"export_{label}"
    for candidate in apps.get_app_config(label).get_models():
        if any(name == codename for name, _label in candidate._meta.permissions):
            return f"{label}.{codename}"
    return None


def has_export_permission(modeladmin, request) -> bool:
    required = export_permission(modeladmin.model)
    if required is not None and not request.user.has_perm(required):
        return False
    return modeladmin.has_view_or_change_permission(request)


# Actions declare the permissions they need by name, and the admin looks for a
# `has_<name>_permission` method on each ModelAdmin: every ModelAdmin of the
# site, ours and third-party ones alike, answers for "export" the same way.
admin.ModelAdmin.has_export_permission = has_export_permission  # type: ignore[attr-defined]


def holds_health_data(model) -> bool:
    return any(
        getattr(field, "encrypted", False) for field in model._meta.concrete_fields
    )


def _shown_fields(modeladmin, request) -> set[str]:
    """The model fields the change form shows to this person (role hiding applied)."""
    try:
        fieldsets = modeladmin.get_fieldsets(request)
    except (AttributeError, KeyError, TypeError, ValueError):
        return set()
    return set(admin.utils.flatten_fieldsets(fieldsets))


def export_columns(modeladmin, request) -> list[str]:
    """The list's columns this person may take away."""
    model = modeladmin.model
    shown = None
    columns = []
    for name in modeladmin.get_list_display(request):
        if name == "action_checkbox" or not isinstance(name, str):
            continue
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            field = None
        if field is not None and getattr(field, "encrypted", False):
            if shown is None:
                shown = _shown_fields(modeladmin, request)
            if name not in shown:
                continue
        columns.append(name)
    return columns


def _cell(name: str, obj, modeladmin) -> str:
    try:
        field, attr, value = lookup_field(name, obj, modeladmin)
    except (AttributeError, ObjectDoesNotExist):
        return EMPTY
    if value is None:
        return EMPTY
    if isinstance(value, bool):
        # The list shows an icon; a spreadsheet wants a word it can filter on.
        return str(_("yes") if value else _("no"))
    if field is not None and field.is_relation:
        return strip_tags(str(value)).strip()
    text = display_for_field(value, field, EMPTY) if field is not None else value
    return strip_tags(str(text)).strip()


def _rows(modeladmin, queryset, columns: list[str]) -> Iterable[list[str]]:
    for obj in queryset:
        yield [_cell(name, obj, modeladmin) for name in columns]


@admin.action(description=_("Export the selected rows as CSV"), permissions=["export"])
def export_csv(modeladmin, request, queryset) -> HttpResponse:
    model = modeladmin.model
    columns = export_columns(modeladmin, request)
    queryset = queryset.select_related(*_related(modeladmin, request))
    count = queryset.count()
    if holds_health_data(model):
        # Taking health data out of the system is an access like any other.
        record_access(
            actor=request.user,
            action=AccessLog.Action.EXPORT,
            object_type=model._meta.label_lower,
            object_id=f"{count} rows",
            reason="CSV export from the back-office list",
            request=request,
        )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    filename = f"{slugify(str(model._meta.verbose_name_plural))}-{stamp}.csv"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # A BOM and semicolons: what French spreadsheet software opens without asking.
    response.write("\ufeff")
    writer = csv.writer(response, delimiter=";")
    writer.writerow(
        [strip_tags(str(label_for_field(name, model, modeladmin))) for name in columns]
    )
    writer.writerows(_rows(modeladmin, queryset, columns))
    return response


def _related(modeladmin, request) -> list[str]:
    related = modeladmin.get_list_select_related(request)
    if related is True or related is False:
        return []
    return list(related)

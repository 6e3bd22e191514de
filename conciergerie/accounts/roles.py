"""Roles are Django groups; their permissions are data declared by each app.

An app lists what each role may do in its AppConfig (`role_permissions`), so that
a new model brings its permissions along; `sync_role_permissions` runs after every
migrate and makes the groups match the declarations exactly.
"""

from django.apps import apps
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    PATIENT = "patient", _("Patient")
    PRACTITIONER = "practitioner", _("Practitioner")
    MEDICAL_ADVISER = "medical_adviser", _("Medical adviser")
    CARE_COORDINATOR = "care_coordinator", _("Care coordinator")
    MANAGER = "manager", _("Manager")
    PARTNER = "partner", _("Partner")


#: Roles whose members work in the back-office.
STAFF_ROLES = frozenset({Role.MEDICAL_ADVISER, Role.CARE_COORDINATOR, Role.MANAGER})


def declared_role_permissions() -> dict[str, set[str]]:
    """Collect `app_label.codename` strings per role from every installed app."""
    declared: dict[str, set[str]] = {role: set() for role in Role.values}
    for config in apps.get_app_configs():
        for role, codenames in getattr(config, "role_permissions", {}).items():
            declared[role].update(
                codename if "." in codename else f"{config.label}.{codename}"
                for codename in codenames
            )
    return declared


def sync_role_permissions(sender=None, **kwargs) -> None:
    """Create the role groups and give each exactly its declared permissions.

    `post_migrate` is sent once per app, and each app's permissions are created
    by its own sending: the groups are only complete after the last app's, so
    the earlier sendings are skipped (a migrate used to spend seconds here)."""
    from django.contrib.auth.models import Group, Permission

    if sender is not None and sender is not _last_app_with_models():
        return
    known = {
        f"{app_label}.{codename}": pk
        for pk, app_label, codename in Permission.objects.values_list(
            "pk", "content_type__app_label", "codename"
        )
    }
    for role, wanted in declared_role_permissions().items():
        group, _created = Group.objects.get_or_create(name=role)
        # A model not migrated yet has no permission rows: it is skipped.
        group.permissions.set([known[dotted] for dotted in wanted if dotted in known])


def _last_app_with_models():
    """The app `post_migrate` is sent for last (it skips apps without models)."""
    configs = [config for config in apps.get_app_configs() if config.models_module]
    return configs[-1] if configs else None

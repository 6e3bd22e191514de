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


def sync_role_permissions(**kwargs) -> None:
    """Create the role groups and give each exactly its declared permissions."""
    from django.contrib.auth.models import Group, Permission

    for role, wanted in declared_role_permissions().items():
        group, _created = Group.objects.get_or_create(name=role)
        permissions = []
        for dotted in sorted(wanted):
            app_label, codename = dotted.split(".", 1)
            permission = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if permission is not None:  # the model may not be migrated yet
                permissions.append(permission)
        group.permissions.set(permissions)

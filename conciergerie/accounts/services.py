"""Account services: staff creation and second-factor enrolment."""

from django.contrib.auth.models import Group
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import User
from .roles import STAFF_ROLES, Role


@transaction.atomic
def create_user_with_role(
    *, email: str, role: str, password: str | None = None, **fields
) -> User:
    """Create (or find) a user holding one role; staff roles open the back-office."""
    if role not in Role.values:
        raise ValueError(f"Unknown role {role!r}.")
    user, created = User.objects.get_or_create(
        email=email.lower(), defaults={**fields, "is_staff": role in STAFF_ROLES}
    )
    if created:
        user.set_password(password)
        user.save(update_fields=["password"])
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


@transaction.atomic
def enrol_totp_device(
    *, user: User, name: str = "Authenticator", key: str | None = None
) -> TOTPDevice:
    """Give a staff member a new confirmed TOTP device, replacing previous ones.

    Replacing rather than adding keeps one live secret per person: a lost phone is
    handled by enrolling again, which revokes the old device.
    """
    TOTPDevice.objects.filter(user=user).delete()
    fields = {"key": key} if key else {}
    return TOTPDevice.objects.create(user=user, name=name, confirmed=True, **fields)

"""Demo data for the kernel: one staff member per role, with known logins."""

from django.conf import settings
from django_otp.plugins.otp_totp.models import TOTPDevice

from conciergerie.accounts.models import User
from conciergerie.accounts.roles import Role
from conciergerie.accounts.services import create_user_with_role, enrol_totp_device

DEMO_PASSWORD = "conciergerie-demo"  # noqa: S105 - demo accounts only
# One shared demo secret, so that a developer adds it to an authenticator once.
DEMO_TOTP_KEY = "3132333435363738393031323334353637383930"

DEMO_STAFF = [
    ("adviser@conciergerie.local", Role.MEDICAL_ADVISER, "Claire", "Martin"),
    ("coordinator@conciergerie.local", Role.CARE_COORDINATOR, "Hugo", "Bernard"),
    ("manager@conciergerie.local", Role.MANAGER, "Sophie", "Durand"),
]


def seed(*, stdout) -> None:
    for email, role, first_name, last_name in DEMO_STAFF:
        user = create_user_with_role(
            email=email,
            role=role,
            password=DEMO_PASSWORD,
            first_name=first_name,
            last_name=last_name,
        )
        if not TOTPDevice.objects.filter(user=user).exists():
            enrol_totp_device(user=user, name="Demo", key=DEMO_TOTP_KEY)
    admin, created = User.objects.get_or_create(
        email="admin@conciergerie.local",
        defaults={"is_staff": True, "is_superuser": True, "first_name": "Admin"},
    )
    if created:
        admin.set_password(DEMO_PASSWORD)
        admin.save(update_fields=["password"])
        enrol_totp_device(user=admin, name="Demo", key=DEMO_TOTP_KEY)

    device = TOTPDevice.objects.filter(user=admin).first()
    stdout.write(f"Demo back-office logins (password: {DEMO_PASSWORD}):")
    for email, role, *_names in DEMO_STAFF:
        stdout.write(f"  {role:<18} {email}")
    stdout.write(f"  {'superuser':<18} admin@conciergerie.local")
    if device is not None:
        stdout.write("Their TOTP secret (add it once to an authenticator app):")
        stdout.write(f"  {device.config_url}")
    if settings.DEBUG:
        stdout.write(
            "Current code: python manage.py totp_code admin@conciergerie.local"
        )

"""Enrol a staff member's authenticator app for the back-office (QR code)."""

import io

import qrcode
from django.core.management.base import BaseCommand, CommandError

from conciergerie.accounts.models import User
from conciergerie.accounts.services import enrol_totp_device


class Command(BaseCommand):
    help = (
        "Create a TOTP device for a staff member and print the QR code to scan with "
        "an authenticator app. Any previous device of that person is revoked."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--name", default="Authenticator")

    def handle(self, *args, email: str, name: str, **options):
        try:
            user = User.objects.get(email=email.lower())
        except User.DoesNotExist as error:
            raise CommandError(f"No user with the email {email}.") from error
        if not user.is_staff:
            raise CommandError(f"{email} is not a staff member.")
        device = enrol_totp_device(user=user, name=name)
        qr = qrcode.QRCode(border=1)
        qr.add_data(device.config_url)
        out = io.StringIO()
        qr.print_ascii(out=out, invert=True)
        self.stdout.write(out.getvalue())
        self.stdout.write(f"Or enter this URI in the app: {device.config_url}")
        self.stdout.write(self.style.SUCCESS(f"Device enrolled for {email}."))

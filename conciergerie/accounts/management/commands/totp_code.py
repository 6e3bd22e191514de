"""Print a staff member's current TOTP code: development and demos only."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice


class Command(BaseCommand):
    help = "Print the current TOTP code of a user's device (refused unless DEBUG)."

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, email: str, **options):
        if not settings.DEBUG:
            raise CommandError("totp_code is available in development only.")
        device = TOTPDevice.objects.filter(user__email=email.lower()).first()
        if device is None:
            raise CommandError(f"{email} has no TOTP device.")
        code = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
        remaining = device.step - int(time.time() - device.t0) % device.step
        self.stdout.write(f"{code:0{device.digits}d} (valid {remaining} s more)")

"""Self-service enrolment of a staff member's authenticator app (TOTP).

The back-office asks every member of staff for a code from their authenticator
app. From this page they enrol one (scan the QR code, type a code to prove the
scan worked) or replace it with a new phone. Replacing needs the current
password and a session already verified with the old device: a stolen password
alone must never be enough to move the second factor. A lost phone is handled by
a manager, who removes the device in the back-office; the member of staff then
enrols again here.
"""

import base64
import binascii

import qrcode
import qrcode.image.svg
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django_otp import login as otp_login
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from .services import enrol_totp_device

PENDING_KEY = "_totp_pending_key"


class EnrolForm(forms.Form):
    code = forms.RegexField(
        label=_("Code shown by the app"),
        regex=r"^\s*\d{6}\s*$",
        max_length=8,
        error_messages={"invalid": _("Type the six digits shown by the app.")},
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}
        ),
    )
    password = forms.CharField(
        label=_("Your current password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, user, key: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.key = key

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(
                _("This is not your current password."), code="wrong_password"
            )
        return password

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip()
        totp = TOTP(binascii.unhexlify(self.key.encode()), step=30, digits=6)
        # One step either way: the phone's clock may be a little off.
        if not totp.verify(int(code), tolerance=1):
            raise forms.ValidationError(
                _(
                    "This code does not match: check the time on your phone and "
                    "type the code shown now."
                ),
                code="wrong_code",
            )
        return code


def _qr_svg(url: str) -> str:
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    return image.to_string(encoding="unicode")


@never_cache
@login_required
def two_factor(request: HttpRequest) -> HttpResponse:
    """Enrol or replace the authenticator app of the signed-in member of staff."""
    user = request.user
    if not user.is_staff:
        raise PermissionDenied
    current = TOTPDevice.objects.devices_for_user(user, confirmed=True).first()
    verified = user.is_verified() if hasattr(user, "is_verified") else False
    may_replace = current is None or verified
    key = request.session.get(PENDING_KEY)
    if not key:
        key = random_hex(20)
        request.session[PENDING_KEY] = key
    pending = TOTPDevice(user=user, key=key, name=gettext("Authenticator"))
    form = EnrolForm(request.POST or None, user=user, key=key)
    if request.method == "POST" and may_replace and form.is_valid():
        device = enrol_totp_device(user=user, name=pending.name, key=key)
        del request.session[PENDING_KEY]
        otp_login(request, device)
        messages.success(
            request,
            gettext(
                "Your authenticator app is set up: the back-office asks for its code."
            )
            if current is None
            else gettext("Your new authenticator app replaces the old one."),
        )
        return redirect("staff-two-factor")
    return TemplateResponse(
        request,
        "accounts/two_factor.html",
        {
            **admin.site.each_context(request),
            "title": gettext("Two-factor authentication"),
            "current": current,
            "may_replace": may_replace,
            "form": form,
            "qr_svg": mark_safe(_qr_svg(pending.config_url)),  # noqa: S308 - our own SVG  # nosec B308 B703
            "secret": base64.b32encode(pending.bin_key).decode().rstrip("="),
            "config_url": pending.config_url,
        },
        status=400 if request.method == "POST" and form.errors else 200,
    )

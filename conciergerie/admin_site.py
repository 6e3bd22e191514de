"""The back-office: the Django admin, open only to staff with a verified TOTP device."""

from django.utils.translation import gettext_lazy as _
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite
from django_otp.plugins.otp_totp.models import TOTPDevice


class StaffLoginForm(OTPAdminAuthenticationForm):
    """Email, password and the code of the staff member's authenticator app.

    Staff hold one TOTP device (enrolling again replaces it), so the device is
    chosen for them instead of asking them to pick it from a list.
    """

    def _chosen_device(self, user):
        return super()._chosen_device(user) or (
            TOTPDevice.objects.devices_for_user(user, confirmed=True).first()
        )


class ConciergerieAdminSite(OTPAdminSite):
    site_header = _("Conciergerie back-office")
    site_title = _("Conciergerie")
    index_title = _("Care coordination")
    login_form = StaffLoginForm

"""The back-office: the Django admin, open only to staff with a verified TOTP device."""

from functools import partial

from django.urls import path
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

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        from .admin_export import export_csv

        # Every list can be taken away as CSV (its columns, the role's hiding kept).
        self.add_action(export_csv, "export_csv")

    # The index opens on links to "my day" and, for managers, the dashboard.
    index_template = "reporting/admin/index.html"

    def get_urls(self):
        from conciergerie.reporting import views as reporting

        return [
            path(
                "my-day/",
                self.admin_view(partial(reporting.my_day, admin_site=self)),
                name="reporting_my_day",
            ),
            path(
                "dashboard/",
                self.admin_view(partial(reporting.dashboard, admin_site=self)),
                name="reporting_dashboard",
            ),
            *super().get_urls(),
        ]

    def index(self, request, extra_context=None):
        from conciergerie.reporting.views import is_manager

        extra_context = {
            **(extra_context or {}),
            "is_manager": is_manager(request.user),
        }
        return super().index(request, extra_context)

"""Back-office pages: "my day" for every concierge, the dashboard for managers.

Both are served by the admin site (`ConciergerieAdminSite.get_urls`), behind its
staff login and second factor.
"""

from __future__ import annotations

from typing import cast

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext

from conciergerie.accounts.models import User
from conciergerie.accounts.roles import Role
from patients.models import staff_roles_of

from . import dashboard as dashboard_figures
from .forms import DashboardFilterForm
from .my_day import my_day as my_day_lists


def is_manager(user) -> bool:
    """Managers, and superusers who act as managers, read the dashboard."""
    return Role.MANAGER in staff_roles_of(user)


def my_day(request: HttpRequest, *, admin_site) -> TemplateResponse:
    if not staff_roles_of(request.user):
        raise PermissionDenied
    context = {
        **admin_site.each_context(request),
        "title": gettext("My day"),
        "dashboard_url": reverse("admin:reporting_dashboard")
        if is_manager(request.user)
        else "",
        **my_day_lists(cast(User, request.user)),
    }
    return TemplateResponse(request, "reporting/admin/my_day.html", context)


def dashboard(request: HttpRequest, *, admin_site) -> TemplateResponse:
    if not is_manager(request.user):
        raise PermissionDenied
    form = DashboardFilterForm(request.GET)
    filters = form.filters()
    context = {
        **admin_site.each_context(request),
        "title": gettext("Dashboard"),
        "form": form,
        "filters": filters,
        "panels": dashboard_figures.build(filters),
        "my_day_url": reverse("admin:reporting_my_day"),
    }
    return TemplateResponse(request, "reporting/admin/dashboard.html", context)

"""Portal pages of teleconsultations: the device check and asking for help."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import services
from .forms import SupportTicketForm


@login_required
def device_check(request: HttpRequest) -> HttpResponse:
    return render(
        request, "teleconsult/device_check.html", {"form": SupportTicketForm()}
    )


@login_required
@require_POST
def ask_for_help(request: HttpRequest) -> HttpResponse:
    form = SupportTicketForm(request.POST)
    if not form.is_valid():
        return render(
            request, "teleconsult/device_check.html", {"form": form}, status=400
        )
    try:
        services.open_support_ticket(
            user=request.user,
            check_results=form.cleaned_data["check_results"],
            message=form.cleaned_data["message"],
            user_agent=request.headers.get("User-Agent", ""),
        )
    except ValidationError as error:
        form.add_error(None, error)
        return render(
            request, "teleconsult/device_check.html", {"form": form}, status=400
        )
    messages.success(
        request,
        _("Your request has been sent: a concierge will call you back shortly."),
    )
    return redirect("teleconsult:device-check")

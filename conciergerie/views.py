"""The portal's home page and the patient's dashboard."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and not request.user.is_staff:
        return redirect("dashboard")
    return render(request, "portal/home.html")


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    from patients.models import CareRequest, Patient

    files = Patient.objects.managed_by(request.user)
    return render(
        request,
        "portal/dashboard.html",
        {
            "own_file": files.filter(user=request.user).first(),
            "managed_files": files.exclude(user=request.user),
            "care_requests": CareRequest.objects.filter(patient__in=files)
            .open()
            .select_related("patient")
            .order_by("-created_at")[:5],
        },
    )

"""Patient portal: simulate what a visit will cost before booking it."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from . import services
from .engine import Flag
from .forms import EstimateForm

#: Flags worth a warning box rather than a line of the explanation.
WARNING_FLAGS = [
    Flag.TELECONSULTATION_NOT_REIMBURSABLE,
    Flag.WRITTEN_INFORMATION_REQUIRED,
    Flag.C2S_OVERRUN_NOT_ALLOWED,
    Flag.OUTSIDE_PATHWAY,
]


@login_required
@require_http_methods(["GET", "POST"])
def estimate(request: HttpRequest) -> HttpResponse:
    # A POST, not a GET: the answers (ALD, pregnancy) must not end up in URLs,
    # browser history or access logs. Nothing is saved.
    result = None
    if request.method == "POST":
        form = EstimateForm(request.POST)
        if form.is_valid():
            try:
                result = services.estimate_for(**form.engine_inputs())
            except ValidationError as error:
                form.add_error(None, error)
    else:
        form = EstimateForm()
    warnings = (
        [flag for flag in WARNING_FLAGS if flag in result.flags] if result else []
    )
    return render(
        request,
        "reimbursements/estimate.html",
        {"form": form, "estimate": result, "warnings": warnings},
    )

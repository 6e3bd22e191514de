"""Patient portal: simulate what a visit will cost before booking it."""

import dataclasses

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from patients.models import Patient

from . import services
from .engine import Flag, Pathway
from .forms import EstimateForm

#: Flags worth a warning box rather than a line of the explanation.
WARNING_FLAGS = [
    Flag.TELECONSULTATION_NOT_REIMBURSABLE,
    Flag.WRITTEN_INFORMATION_REQUIRED,
    Flag.C2S_OVERRUN_NOT_ALLOWED,
    Flag.OUTSIDE_PATHWAY,
]


def _own_file(user) -> Patient | None:
    return Patient.objects.active().filter(user=user).first()


def _initial_from_file(patient: Patient) -> dict:
    """What the file already says, offered as answers the patient may change."""
    initial: dict = {"age": patient.age}
    coverage = patient.current_insurance()
    if coverage is not None:
        if coverage.coverage_rate is not None:
            initial["coverage_percent"] = int(coverage.coverage_rate)
        initial["responsible"] = coverage.contrat_responsable
        initial["c2s"] = coverage.c2s
        if not coverage.treating_doctor_declared:
            initial["pathway"] = Pathway.DIRECT
    return initial


@login_required
@require_http_methods(["GET", "POST"])
def estimate(request: HttpRequest) -> HttpResponse:
    # A POST, not a GET: the answers (ALD, pregnancy) must not end up in URLs,
    # browser history or access logs. Nothing is saved.
    result = None
    patient = _own_file(request.user)
    recorded = patient is not None
    participation = None
    if request.method == "POST":
        form = EstimateForm(request.POST, participation_recorded=recorded)
        if form.is_valid():
            inputs = form.engine_inputs()
            if patient is not None:
                year = inputs["act"].performed_on.year
                participation = (
                    year,
                    services.participation_paid(patient=patient, year=year),
                )
                inputs["patient"] = dataclasses.replace(
                    inputs["patient"], participation_paid_this_year=participation[1]
                )
            try:
                result = services.estimate_for(**inputs)
            except ValidationError as error:
                form.add_error(None, error)
    else:
        form = EstimateForm(
            participation_recorded=recorded,
            initial=_initial_from_file(patient) if patient else None,
        )
    warnings = (
        [flag for flag in WARNING_FLAGS if flag in result.flags] if result else []
    )
    return render(
        request,
        "reimbursements/estimate.html",
        {
            "form": form,
            "estimate": result,
            "warnings": warnings,
            "participation_recorded": recorded,
            "participation": participation,
        },
    )

"""The satisfaction survey in the portal and from the signed link in the invitation."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache

from . import links, services, surveys
from .models import Appointment
from .surveys_forms import SurveyForm
from .surveys_models import SatisfactionSurvey
from .views import _apply_errors, refusal


def _answer(
    request: HttpRequest, survey: SatisfactionSurvey, *, via: str
) -> HttpResponse:
    form = SurveyForm(request.POST or None)
    done = False
    if request.method == "POST" and not survey.is_answered and form.is_valid():
        try:
            surveys.answer_survey(survey=survey, via=via, **form.cleaned_data)
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            done = True
    return render(
        request,
        "appointments/survey_form.html",
        {
            "survey": survey,
            "appointment": survey.appointment,
            "form": form,
            "done": done,
            "answered": survey.is_answered or done,
        },
        status=400 if request.method == "POST" and form.errors else 200,
    )


@never_cache
def survey_link(request: HttpRequest, token: str) -> HttpResponse:
    """From the invitation: no sign-in, the token is the key."""
    try:
        public_id = surveys.read_token(token)
    except links.ExpiredLink:
        return refusal(request, services.visit.EXPIRED)
    except links.BadLink:
        return refusal(request, services.visit.INVALID)
    survey = (
        SatisfactionSurvey.objects.select_related(
            "appointment__practitioner", "appointment__place", "appointment__patient"
        )
        .filter(public_id=public_id)
        .first()
    )
    if survey is None:
        return refusal(request, services.visit.INVALID)
    return _answer(request, survey, via=SatisfactionSurvey.Via.LINK)


@never_cache
@login_required
def survey(request: HttpRequest, public_id) -> HttpResponse:
    """From the portal: the patient's (or guardian's) own visits only."""
    appointment = get_object_or_404(
        Appointment.objects.visible_to(request.user).select_related(
            "practitioner", "place", "patient"
        ),
        public_id=public_id,
    )
    found = SatisfactionSurvey.objects.visible_to(request.user).filter(
        appointment=appointment
    )
    row = found.first()
    if row is None:
        raise Http404
    return _answer(request, row, via=SatisfactionSurvey.Via.PORTAL)

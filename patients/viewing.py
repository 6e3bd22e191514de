"""Whose file the portal shows: one's own or a dependant's.

A parent or guardian chooses in the header; the choice lives in the session and
every portal page reads it through `current_patient`. A page about one file (its
reference in the address) shows that file and makes it the current one. Only the
files the account manages can be chosen: any other reference answers 404.
"""

from django.db.models import Q
from django.http import Http404, HttpRequest

from .models import Patient

SESSION_KEY = "portal_viewing"
_FILES_ATTR = "_portal_files"


def managed_files(request: HttpRequest) -> list[Patient]:
    """The account's own file first, then its dependants' (one query per request)."""
    files = getattr(request, _FILES_ATTR, None)
    if files is None:
        user = request.user
        if not user.is_authenticated:
            files = []
        else:
            files = sorted(
                Patient.objects.managed_by(user).filter(
                    merged_into__isnull=True, erased_at__isnull=True
                ),
                key=lambda patient: (
                    patient.user_id != user.pk,
                    patient.first_names.lower(),
                ),
            )
        setattr(request, _FILES_ATTR, files)
    return files


def _reference_in_address(request: HttpRequest) -> str | None:
    match = getattr(request, "resolver_match", None)
    if match is None or match.namespace != "patients":
        return None
    reference = match.kwargs.get("reference", "")
    return reference.upper() if reference.upper().startswith("P-") else None


def current_patient(request: HttpRequest) -> Patient | None:
    """The file being viewed: the page's own, the chosen one, else one's own."""
    files = managed_files(request)
    if not files:
        return None
    by_reference = {patient.reference: patient for patient in files}
    shown = _reference_in_address(request)
    if shown in by_reference:
        if request.session.get(SESSION_KEY) != shown:
            request.session[SESSION_KEY] = shown
        return by_reference[shown]
    return by_reference.get(request.session.get(SESSION_KEY, ""), files[0])


def choose(request: HttpRequest, reference: str) -> Patient:
    """Make a managed file the current one; another family's file is a 404."""
    for patient in managed_files(request):
        if patient.reference == reference.upper():
            request.session[SESSION_KEY] = patient.reference
            return patient
    raise Http404


def show(request: HttpRequest, patient: Patient | None) -> None:
    """A page about one item of a managed file (an appointment, an invoice…)
    makes that file the viewed one, so the header never names another person."""
    if patient is None:
        return
    if any(managed.pk == patient.pk for managed in managed_files(request)):
        request.session[SESSION_KEY] = patient.reference


def is_own(request: HttpRequest, patient: Patient) -> bool:
    return patient.user_id == request.user.pk


def invoice_filter(request: HttpRequest, patient: Patient | None) -> Q:
    """Invoices of the viewed file; those naming no patient belong to one's own."""
    if patient is None:
        return Q(patient__isnull=True)
    if is_own(request, patient):
        return Q(patient=patient) | Q(patient__isnull=True)
    return Q(patient=patient)

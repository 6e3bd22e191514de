from django.http import HttpRequest

from patients import viewing


def viewing_file(request: HttpRequest) -> dict:
    """The header's "you are viewing" line and file switcher, for portal users."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.is_staff:
        return {}
    return {
        "viewing_patient": viewing.current_patient(request),
        "viewing_files": viewing.managed_files(request),
    }

"""Login throttling (django-axes) tuned so that nobody can lock a patient out.

Failures are counted per (account, address) pair: an attacker elsewhere on the
internet cannot block the real patient, and every lock-out expires by itself.
"""

from axes.backends import AxesStandaloneBackend


class LoginThrottleBackend(AxesStandaloneBackend):
    """Axes' check, skipped for programmatic logins that carry no request."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


def login_identifier(request, credentials: dict | None) -> str:
    """The account being tried, whichever form posted it (portal or back-office)."""
    credentials = credentials or {}
    value = (
        credentials.get("email")
        or credentials.get("username")
        or request.POST.get("login")
        or request.POST.get("username")
        or ""
    )
    return str(value).strip().lower()

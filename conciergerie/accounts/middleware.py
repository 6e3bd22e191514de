"""Idle and absolute session limits, stricter for staff than for patients."""

import time

from django.conf import settings
from django.contrib.auth import logout
from django.shortcuts import redirect

SESSION_STARTED_KEY = "_session_started_at"


class SessionTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            started = request.session.setdefault(SESSION_STARTED_KEY, now)
            if user.is_staff:
                idle = settings.STAFF_SESSION_IDLE_SECONDS
                if now - started > settings.STAFF_SESSION_MAX_SECONDS:
                    logout(request)
                    return redirect(request.get_full_path())
            else:
                idle = settings.PATIENT_SESSION_IDLE_SECONDS
            # Re-arming the expiry on every request makes it an idle timeout.
            request.session.set_expiry(idle)
        return self.get_response(request)

"""Keeps the signed-in session rows following their session."""

from . import sessions


class SessionRecordMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            sessions.follow(request)
        return self.get_response(request)

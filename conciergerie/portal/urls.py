"""The account's pages under /me/: file switch, preferences, privacy, security."""

from django.urls import path

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.account, name="account"),
    path("viewing/", views.switch_file, name="switch-file"),
    path("notifications/", views.notifications, name="notifications"),
    path("privacy/", views.privacy, name="privacy"),
    path("security/", views.security, name="security"),
    path(
        "security/sessions/<uuid:session_id>/sign-out/",
        views.sign_out_session,
        name="session-sign-out",
    ),
    path(
        "security/sessions/sign-out-others/",
        views.sign_out_other_sessions,
        name="sessions-sign-out-others",
    ),
]

from django.urls import path

from . import views

app_name = "teleconsult"

urlpatterns = [
    path("device-check/", views.device_check, name="device-check"),
    path("help/", views.ask_for_help, name="ask-for-help"),
    # Signed links from messages: the token is the key.
    path("j/<str:token>/", views.patient_link, name="patient-link"),
    path("p/<str:token>/", views.practitioner_link, name="practitioner-link"),
    path(
        "appointment/<uuid:public_id>/",
        views.appointment_entry,
        name="appointment-entry",
    ),
    # One session.
    path("<uuid:public_id>/", views.waiting_room, name="waiting-room"),
    path("<uuid:public_id>/status/", views.status, name="status"),
    path("<uuid:public_id>/documents/", views.share, name="share"),
    path(
        "<uuid:public_id>/documents/<uuid:document_id>/",
        views.document,
        name="document",
    ),
    path("<uuid:public_id>/phone/", views.phone_fallback, name="phone-fallback"),
    path("<uuid:public_id>/console/", views.console, name="console"),
    path("<uuid:public_id>/console/admit/", views.admit, name="admit"),
    path("<uuid:public_id>/console/end/", views.end, name="end"),
    path("<uuid:public_id>/console/no-show/", views.no_show, name="no-show"),
    path("<uuid:public_id>/console/notes/", views.notes, name="notes"),
]

from django.urls import URLPattern, URLResolver, path

from . import surveys_views, views

app_name = "appointments"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.index, name="index"),
    path("book/<uuid:public_id>/", views.book, name="book"),
    path("proposals/<uuid:public_id>/", views.proposal, name="proposal"),
    path("practitioner/", views.practitioner_agenda, name="practitioner"),
    path("pharmacy/<str:reference>/", views.pharmacy, name="pharmacy"),
    path("calendar/<str:reference>/", views.feed_manage, name="feed-manage"),
    path("waitlist/<uuid:public_id>/leave/", views.leave_waitlist, name="leave"),
    path("shares/<uuid:public_id>/revoke/", views.unshare, name="unshare"),
    # Signed links from messages: no sign-in needed, the token is the key.
    path("a/<str:token>/", views.act, name="act"),
    path("p/<str:token>/", views.proposal_link, name="proposal-link"),
    path("o/<str:token>/", views.offer, name="offer"),
    path("ics/<str:token>/", views.ics_link, name="ics"),
    path("feed/<str:token>", views.feed, name="feed"),
    path("file/<str:token>/", views.pre_consultation, name="pre-consultation"),
    path(
        "file/<str:token>/summary.pdf",
        views.pre_consultation_summary,
        name="pre-consultation-summary",
    ),
    path(
        "file/<str:token>/documents/<uuid:document_id>/",
        views.pre_consultation_document,
        name="pre-consultation-document",
    ),
    path("report/<str:token>/", views.report_upload, name="report-upload"),
    path("rx/<str:token>/", views.prescription, name="prescription"),
    path("s/<str:token>/", surveys_views.survey_link, name="survey-link"),
    # One appointment.
    path("<uuid:public_id>/", views.detail, name="detail"),
    path("<uuid:public_id>/hold/", views.hold, name="hold"),
    path("<uuid:public_id>/confirm/", views.confirm, name="confirm"),
    path("<uuid:public_id>/cancel/", views.cancel, name="cancel"),
    path("<uuid:public_id>/reschedule/", views.reschedule, name="reschedule"),
    path("<uuid:public_id>/waitlist/", views.join_waitlist, name="waitlist"),
    path("<uuid:public_id>/prepare/", views.prepare, name="prepare"),
    path("<uuid:public_id>/survey/", surveys_views.survey, name="survey"),
    path("<uuid:public_id>/share/", views.share, name="share"),
    path("<uuid:public_id>/calendar.ics", views.appointment_ics, name="calendar"),
    path(
        "<uuid:public_id>/prescription/",
        views.send_prescription,
        name="send-prescription",
    ),
]

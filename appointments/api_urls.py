from django.urls import URLPattern, URLResolver, path

from . import api

urlpatterns: list[URLPattern | URLResolver] = [
    path(
        "appointments/",
        api.AppointmentCollectionApi.as_view(),
        name="api-appointments",
    ),
    path(
        "appointments/<uuid:public_id>/",
        api.AppointmentDetailApi.as_view(),
        name="api-appointment",
    ),
    path(
        "appointments/<uuid:public_id>/cancel/",
        api.AppointmentCancelApi.as_view(),
        name="api-appointment-cancel",
    ),
    path(
        "appointments/<uuid:public_id>/reschedule/",
        api.AppointmentRescheduleApi.as_view(),
        name="api-appointment-reschedule",
    ),
]

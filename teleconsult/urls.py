from django.urls import path

from . import views

app_name = "teleconsult"

urlpatterns = [
    path("device-check/", views.device_check, name="device-check"),
    path("help/", views.ask_for_help, name="ask-for-help"),
]

from django.urls import path

from .api import SmsStatusApi

urlpatterns = [
    path(
        "notifications/sms-status/",
        SmsStatusApi.as_view(),
        name="notifications-sms-status",
    ),
]

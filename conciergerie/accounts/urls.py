from django.urls import path

from . import two_factor

urlpatterns = [
    path("two-factor/", two_factor.two_factor, name="staff-two-factor"),
]

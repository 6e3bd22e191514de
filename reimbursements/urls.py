from django.urls import URLPattern, URLResolver, path

from . import views

app_name = "reimbursements"

urlpatterns: list[URLPattern | URLResolver] = [
    path("estimate/", views.estimate, name="estimate"),
]

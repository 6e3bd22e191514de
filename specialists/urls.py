from django.urls import URLPattern, URLResolver, path

from . import views

app_name = "specialists"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.search, name="search"),
    path("<uuid:public_id>/", views.detail, name="detail"),
    path("<uuid:public_id>/photo/", views.photo, name="photo"),
]

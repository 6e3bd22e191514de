"""Routes of the FHIR facade, mounted at /fhir/r4/."""

from django.urls import path

from . import views

urlpatterns = [
    path("metadata", views.CapabilityStatementView.as_view(), name="fhir-metadata"),
    path("<str:resource_type>", views.SearchView.as_view(), name="fhir-search"),
    path("<str:resource_type>/", views.SearchView.as_view()),
    path(
        "<str:resource_type>/<str:resource_id>",
        views.ReadView.as_view(),
        name="fhir-read",
    ),
]

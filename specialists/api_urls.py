from django.urls import URLPattern, URLResolver, path

from . import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("specialists/", api.PractitionerListApi.as_view(), name="api-specialists"),
    path(
        "specialists/<uuid:public_id>/",
        api.PractitionerDetailApi.as_view(),
        name="api-specialist",
    ),
    path(
        "specialists/<uuid:public_id>/slots/",
        api.PractitionerSlotsApi.as_view(),
        name="api-specialist-slots",
    ),
    path("specialties/", api.SpecialtyListApi.as_view(), name="api-specialties"),
]

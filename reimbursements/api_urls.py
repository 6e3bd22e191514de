from django.urls import URLPattern, URLResolver, path

from . import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("claims/", api.ClaimListApi.as_view(), name="api-claims"),
    path("claims/<uuid:id>/", api.ClaimDetailApi.as_view(), name="api-claim"),
    path(
        "claims/<uuid:id>/acknowledge/",
        api.ClaimAcknowledgeApi.as_view(),
        name="api-claim-acknowledge",
    ),
    path("claims/<uuid:id>/pay/", api.ClaimPayApi.as_view(), name="api-claim-pay"),
    path(
        "claims/<uuid:id>/reject/",
        api.ClaimRejectApi.as_view(),
        name="api-claim-reject",
    ),
    path(
        "claims/<uuid:id>/documents/<uuid:document_id>/",
        api.ClaimDocumentApi.as_view(),
        name="api-claim-document",
    ),
]

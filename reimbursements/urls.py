from django.urls import URLPattern, URLResolver, path

from . import views

app_name = "reimbursements"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.index, name="index"),
    path("estimate/", views.estimate, name="estimate"),
    path("claims/<uuid:public_id>/", views.claim_detail, name="claim"),
    path("claims/<uuid:public_id>/proof/", views.claim_proof, name="claim-proof"),
    path("payer/<str:token>/", views.payer_documents, name="payer-documents"),
    path(
        "payer/<str:token>/<uuid:document_id>/",
        views.payer_document,
        name="payer-document",
    ),
]

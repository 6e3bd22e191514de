from django.urls import path

from . import views

app_name = "billing"

urlpatterns = [
    path("", views.index, name="index"),
    path("quotes/<uuid:public_id>/", views.quote_detail, name="quote"),
    path("quotes/<uuid:public_id>/accept/", views.quote_accept, name="quote-accept"),
    path("quotes/<uuid:public_id>/refuse/", views.quote_refuse, name="quote-refuse"),
    path("quotes/<uuid:public_id>/pdf/", views.quote_pdf, name="quote-pdf"),
    path("invoices/<uuid:public_id>/", views.invoice_detail, name="invoice"),
    path("invoices/<uuid:public_id>/pdf/", views.invoice_pdf, name="invoice-pdf"),
    path(
        "credit-notes/<uuid:public_id>/pdf/",
        views.credit_note_pdf,
        name="credit-note-pdf",
    ),
]

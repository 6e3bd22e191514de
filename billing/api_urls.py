from django.urls import path

from . import api

urlpatterns = [
    path("invoices/", api.InvoiceListApi.as_view(), name="api-invoices"),
    path("invoices/<uuid:id>/", api.InvoiceDetailApi.as_view(), name="api-invoice"),
    path(
        "invoices/<uuid:id>/pdf/", api.InvoicePdfApi.as_view(), name="api-invoice-pdf"
    ),
    path(
        "invoices/<uuid:id>/xml/", api.InvoiceXmlApi.as_view(), name="api-invoice-xml"
    ),
]

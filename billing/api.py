"""Partner API: the invoices addressed to the calling partner, and their documents.

An insurer or an employer reads the invoices made out to it (its billing
customer is linked to the partner's account), as JSON, as a Factur-X PDF, or
as the bare CII XML for its e-invoicing software. Ids are UUIDs.
"""

import json

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.views import APIView

from conciergerie.api import ErrorSerializer

from . import einvoice, pdf
from .models import CreditNote, Invoice, InvoiceLine
from .views import pdf_response

SCOPES = {"read": ["invoices:read"]}


class BinaryRenderer(BaseRenderer):
    """Lets clients ask for the file type; errors still come as the JSON body."""

    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes):
            return data
        return json.dumps(data).encode()


class PdfRenderer(BinaryRenderer):
    media_type = "application/pdf"
    format = "pdf"


class XmlRenderer(BinaryRenderer):
    media_type = "application/xml"
    format = "xml"


class InvoiceLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = InvoiceLine
        fields = [
            "description",
            "service_date",
            "quantity",
            "unit",
            "unit_price_excl_vat",
            "vat_category",
            "vat_rate",
            "net_amount",
            "vat_amount",
        ]


class CreditNoteSummarySerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")

    class Meta:
        model = CreditNote
        fields = ["id", "number", "issue_date", "reason", "total"]


class BuyerSerializer(serializers.Serializer):
    kind = serializers.CharField(source="buyer_kind")
    name = serializers.CharField(source="buyer_name")
    address = serializers.CharField(source="buyer_address")
    postal_code = serializers.CharField(source="buyer_postal_code")
    city = serializers.CharField(source="buyer_city")
    country = serializers.CharField(source="buyer_country")
    siren = serializers.CharField(source="buyer_siren")
    vat_number = serializers.CharField(source="buyer_vat_number")


class InvoiceOutputSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    currency = serializers.SerializerMethodField()
    buyer = BuyerSerializer(source="*")
    balance = serializers.DecimalField(max_digits=12, decimal_places=2)
    lines = InvoiceLineSerializer(many=True)
    credit_notes = CreditNoteSummarySerializer(many=True)
    patient_reference = serializers.CharField(
        source="patient.reference", default=None, allow_null=True
    )
    pdf_url = serializers.SerializerMethodField()
    xml_url = serializers.SerializerMethodField()

    class Meta:
        model = Invoice
        fields = [
            "id",
            "number",
            "state",
            "issue_date",
            "service_date",
            "due_date",
            "reference",
            "patient_reference",
            "currency",
            "buyer",
            "lines",
            "total_excl_vat",
            "total_vat",
            "total_disbursements",
            "total",
            "amount_paid",
            "amount_credited",
            "balance",
            "credit_notes",
            "pdf_url",
            "xml_url",
            "created_at",
        ]

    def get_currency(self, invoice: Invoice) -> str:
        return "EUR"

    def get_pdf_url(self, invoice: Invoice) -> str:
        return self.context["request"].build_absolute_uri(
            f"/api/v1/invoices/{invoice.public_id}/pdf/"
        )

    def get_xml_url(self, invoice: Invoice) -> str:
        return self.context["request"].build_absolute_uri(
            f"/api/v1/invoices/{invoice.public_id}/xml/"
        )


INVOICE_EXAMPLE = {
    "id": "1e6a3f0b-9c2d-4b7e-8a5f-3d1c0b9e8f7a",
    "number": "FA-2026-000123",
    "state": "issued",
    "issue_date": "2026-03-02",
    "service_date": "2026-02-27",
    "due_date": "2026-04-01",
    "reference": "Contrat entreprise 2026",
    "patient_reference": "P-7K3Q9X",
    "currency": "EUR",
    "buyer": {
        "kind": "company",
        "name": "Mutuelle Horizon",
        "address": "8 avenue de l'Europe",
        "postal_code": "67000",
        "city": "Strasbourg",
        "country": "FR",
        "siren": "552100554",
        "vat_number": "FR40552100554",
    },
    "lines": [
        {
            "description": "Accompagnement conciergerie médicale",
            "service_date": "2026-02-27",
            "quantity": "1.00",
            "unit": "C62",
            "unit_price_excl_vat": "80.00",
            "vat_category": "standard",
            "vat_rate": "20.00",
            "net_amount": "80.00",
            "vat_amount": "16.00",
        }
    ],
    "total_excl_vat": "80.00",
    "total_vat": "16.00",
    "total_disbursements": "0.00",
    "total": "96.00",
    "amount_paid": "0.00",
    "amount_credited": "0.00",
    "balance": "96.00",
    "credit_notes": [],
    "pdf_url": "https://conciergerie.example.fr/api/v1/invoices/"
    "1e6a3f0b-9c2d-4b7e-8a5f-3d1c0b9e8f7a/pdf/",
    "xml_url": "https://conciergerie.example.fr/api/v1/invoices/"
    "1e6a3f0b-9c2d-4b7e-8a5f-3d1c0b9e8f7a/xml/",
    "created_at": "2026-03-02T08:15:04Z",
}


def partner_invoices(request):
    return (
        Invoice.objects.visible_to(request.user)
        .exclude(state=Invoice.State.DRAFT)
        .select_related("patient")
        .prefetch_related("lines", "credit_notes")
    )


class InvoiceListApi(generics.ListAPIView):
    """The issued invoices addressed to the caller, newest first."""

    required_scopes = SCOPES
    serializer_class = InvoiceOutputSerializer

    @extend_schema(
        operation_id="invoices_list",
        summary="List my invoices",
        description=(
            "The issued invoices addressed to your organisation, newest first, by "
            "cursor pages; filter by state and issue date. Scope invoices:read."
        ),
        examples=[
            OpenApiExample(
                "One invoice",
                value={"next": None, "previous": None, "results": [INVOICE_EXAMPLE]},
                response_only=True,
            )
        ],
        parameters=[
            OpenApiParameter(
                "state", str, enum=[s for s in Invoice.State.values if s != "draft"]
            ),
            OpenApiParameter(
                "issued_from", OpenApiTypes.DATE, description="Issue date ≥"
            ),
            OpenApiParameter(
                "issued_to", OpenApiTypes.DATE, description="Issue date ≤"
            ),
        ],
        responses={
            200: InvoiceOutputSerializer(many=True),
            401: ErrorSerializer,
            403: ErrorSerializer,
        },
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        queryset = partner_invoices(self.request)
        params = self.request.query_params
        if params.get("state"):
            queryset = queryset.filter(state=params["state"])
        date_field = serializers.DateField()
        for name, lookup in (("issued_from", "gte"), ("issued_to", "lte")):
            if params.get(name):
                try:
                    day = date_field.to_internal_value(params[name])
                except serializers.ValidationError as error:
                    raise serializers.ValidationError({name: error.detail}) from error
                queryset = queryset.filter(**{f"issue_date__{lookup}": day})
        return queryset


class InvoiceDetailApi(generics.RetrieveAPIView):
    """One invoice addressed to the caller, with its lines and credit notes."""

    required_scopes = SCOPES
    serializer_class = InvoiceOutputSerializer
    lookup_field = "public_id"
    lookup_url_kwarg = "id"

    def get_queryset(self):
        return partner_invoices(self.request)

    @extend_schema(
        operation_id="invoices_retrieve",
        summary="Read an invoice",
        description=(
            "One invoice addressed to your organisation, with its lines, payments "
            "and credit notes; any other id answers 404. Scope invoices:read."
        ),
        examples=[
            OpenApiExample(
                "An issued invoice", value=INVOICE_EXAMPLE, response_only=True
            )
        ],
        responses={
            200: InvoiceOutputSerializer,
            401: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
        },
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class InvoicePdfApi(APIView):
    """The invoice as a Factur-X PDF (PDF/A-3 with its CII XML attached)."""

    required_scopes = SCOPES
    renderer_classes = [JSONRenderer, PdfRenderer]

    @extend_schema(
        operation_id="invoices_pdf",
        summary="Download an invoice (Factur-X PDF)",
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            401: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
        },
    )
    def get(self, request, id):
        invoice = get_object_or_404(partner_invoices(request), public_id=id)
        return pdf_response(pdf.render_facturx(invoice), pdf.filename(invoice))


class InvoiceXmlApi(APIView):
    """The invoice as UN/CEFACT CII XML (EN 16931), for e-invoicing software."""

    required_scopes = SCOPES
    renderer_classes = [JSONRenderer, XmlRenderer]

    @extend_schema(
        operation_id="invoices_xml",
        summary="Download an invoice's CII XML",
        responses={
            (200, "application/xml"): OpenApiTypes.BINARY,
            401: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
        },
    )
    def get(self, request, id):
        from django.http import HttpResponse

        invoice = get_object_or_404(partner_invoices(request), public_id=id)
        response = HttpResponse(
            einvoice.build_cii_xml(invoice), content_type="application/xml"
        )
        response["Content-Disposition"] = f'attachment; filename="{invoice.number}.xml"'
        return response

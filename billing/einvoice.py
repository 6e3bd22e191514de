"""Factur-X: the invoice as UN/CEFACT CII XML (EN 16931 profile) inside a PDF/A-3.

French e-invoicing accepts Factur-X; the XML carries every figure of the printed
invoice, so that the buyer's software reads it without retyping. Disbursements
(débours) are exempt lines (category E, reason VATEX-EU-79-C: sums advanced in
the customer's name, VAT directive art. 79 c), which may stand beside the 20 %
lines, unlike "not subject to VAT" (O) lines.
"""

from datetime import date
from decimal import Decimal

import facturx
from lxml import etree

from .models import CreditNote, Invoice, Unit, VatCategory

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": (
        "urn:un:unece:uncefact:data:standard:"
        "ReusableAggregateBusinessInformationEntity:100"
    ),
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
PROFILE = "urn:cen.eu:en16931:2017"
LEVEL = "en16931"
TYPE_INVOICE = "380"
TYPE_CREDIT_NOTE = "381"
UNIT_CODES: dict[str, str] = {
    Unit.UNIT: "C62",
    Unit.HOUR: "HUR",
    Unit.MONTH: "MON",
    Unit.YEAR: "ANN",
}
DISBURSEMENT_REASON_CODE = "VATEX-EU-79-C"
DISBURSEMENT_REASON = (
    "Débours : frais avancés au nom et pour le compte du client (CGI art. 267 II 2°)"
)
SIREN_SCHEME = "0002"  # ISO 6523 code of the French SIREN register


def _el(parent, tag: str, text: str | None = None, **attributes) -> etree._Element:
    prefix, name = tag.split(":")
    element = etree.SubElement(parent, f"{{{NS[prefix]}}}{name}", **attributes)
    if text is not None:
        element.text = text
    return element


def _amount(value: Decimal) -> str:
    return f"{value:.2f}"


def _date(parent, tag: str, day: date | None, *, qualified: bool = False) -> None:
    assert day is not None, f"{tag} needs a date"
    holder = _el(parent, tag)
    prefix = "qdt" if qualified else "udt"
    _el(holder, f"{prefix}:DateTimeString", day.strftime("%Y%m%d"), format="102")


def _category(line_or_category) -> str:
    category = getattr(line_or_category, "vat_category", line_or_category)
    return "E" if category == VatCategory.DISBURSEMENT else "S"


def _party(
    parent,
    tag: str,
    *,
    name,
    siren,
    address,
    postal_code,
    city,
    country,
    email,
    vat_number,
    trading_name="",
) -> None:
    party = _el(parent, tag)
    _el(party, "ram:Name", name)
    if siren:
        organisation = _el(party, "ram:SpecifiedLegalOrganization")
        _el(organisation, "ram:ID", siren, schemeID=SIREN_SCHEME)
        if trading_name and trading_name != name:
            _el(organisation, "ram:TradingBusinessName", trading_name)
    postal = _el(party, "ram:PostalTradeAddress")
    _el(postal, "ram:PostcodeCode", postal_code)
    lines = [line.strip() for line in address.splitlines() if line.strip()] or [""]
    for tag_name, line in zip(
        ("ram:LineOne", "ram:LineTwo", "ram:LineThree"), lines, strict=False
    ):
        _el(postal, tag_name, line)
    _el(postal, "ram:CityName", city)
    _el(postal, "ram:CountryID", country)
    if email:
        uri = _el(party, "ram:URIUniversalCommunication")
        _el(uri, "ram:URIID", email, schemeID="EM")
    if vat_number:
        registration = _el(party, "ram:SpecifiedTaxRegistration")
        _el(registration, "ram:ID", vat_number, schemeID="VA")


def build_cii_xml(document: Invoice | CreditNote) -> bytes:
    """The CII XML of an issued invoice or credit note (EN 16931 profile)."""
    is_credit_note = isinstance(document, CreditNote)
    invoice = document if isinstance(document, Invoice) else None
    original = document.invoice if isinstance(document, CreditNote) else None
    seller = document.seller
    lines = list(document.lines.all())
    root = etree.Element(f"{{{NS['rsm']}}}CrossIndustryInvoice", nsmap=NS)

    context = _el(root, "rsm:ExchangedDocumentContext")
    guideline = _el(context, "ram:GuidelineSpecifiedDocumentContextParameter")
    _el(guideline, "ram:ID", PROFILE)

    header = _el(root, "rsm:ExchangedDocument")
    _el(header, "ram:ID", document.number)
    _el(header, "ram:TypeCode", TYPE_CREDIT_NOTE if is_credit_note else TYPE_INVOICE)
    _date(header, "ram:IssueDateTime", document.issue_date)
    notes = [
        ("REG", f"{seller['name']}, {seller['legal_form']}, {seller['rcs']}"),
        ("AAB", "Pas d'escompte pour paiement anticipé."),
    ]
    if invoice is not None:
        notes.append(
            (
                "PMD",
                f"Pénalités de retard au taux annuel de {invoice.late_penalty_rate} %.",
            )
        )
        if invoice.recovery_indemnity:
            notes.append(
                (
                    "PMT",
                    "Indemnité forfaitaire pour frais de recouvrement : "
                    f"{invoice.recovery_indemnity} €.",
                )
            )
    if isinstance(document, CreditNote):
        notes.append(("ACY", document.reason))
    for subject, content in notes:
        note = _el(header, "ram:IncludedNote")
        _el(note, "ram:Content", content)
        _el(note, "ram:SubjectCode", subject)

    transaction = _el(root, "rsm:SupplyChainTradeTransaction")
    for index, line in enumerate(lines, start=1):
        item = _el(transaction, "ram:IncludedSupplyChainTradeLineItem")
        line_doc = _el(item, "ram:AssociatedDocumentLineDocument")
        _el(line_doc, "ram:LineID", str(index))
        product = _el(item, "ram:SpecifiedTradeProduct")
        if line.service is not None:
            _el(product, "ram:SellerAssignedID", line.service.code)
        _el(product, "ram:Name", line.description)
        agreement = _el(item, "ram:SpecifiedLineTradeAgreement")
        price = _el(agreement, "ram:NetPriceProductTradePrice")
        _el(price, "ram:ChargeAmount", _amount(line.unit_price_excl_vat))
        delivery = _el(item, "ram:SpecifiedLineTradeDelivery")
        _el(
            delivery,
            "ram:BilledQuantity",
            f"{line.quantity:.2f}",
            unitCode=UNIT_CODES.get(line.unit, "C62"),
        )
        settlement = _el(item, "ram:SpecifiedLineTradeSettlement")
        tax = _el(settlement, "ram:ApplicableTradeTax")
        _el(tax, "ram:TypeCode", "VAT")
        _el(tax, "ram:CategoryCode", _category(line))
        _el(tax, "ram:RateApplicablePercent", _amount(line.vat_rate))
        if line.service_date:
            period = _el(settlement, "ram:BillingSpecifiedPeriod")
            _date(period, "ram:StartDateTime", line.service_date)
            _date(period, "ram:EndDateTime", line.service_date)
        summation = _el(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation")
        _el(summation, "ram:LineTotalAmount", _amount(line.net_amount))

    agreement = _el(transaction, "ram:ApplicableHeaderTradeAgreement")
    _party(
        agreement,
        "ram:SellerTradeParty",
        name=seller["name"],
        trading_name=seller.get("trade_name", ""),
        siren=seller["siren"],
        address=seller["address"],
        postal_code=seller["postal_code"],
        city=seller["city"],
        country=seller["country"],
        email=seller.get("email", ""),
        vat_number=seller["vat_number"],
    )
    _party(
        agreement,
        "ram:BuyerTradeParty",
        name=document.buyer_name,
        siren=document.buyer_siren,
        address=document.buyer_address,
        postal_code=document.buyer_postal_code,
        city=document.buyer_city,
        country=document.buyer_country,
        email=document.buyer_email,
        vat_number=document.buyer_vat_number,
    )

    delivery = _el(transaction, "ram:ApplicableHeaderTradeDelivery")
    dated = original or invoice
    service_date = dated.service_date if dated is not None else None
    if service_date:
        event = _el(delivery, "ram:ActualDeliverySupplyChainEvent")
        _date(event, "ram:OccurrenceDateTime", service_date)

    settlement = _el(transaction, "ram:ApplicableHeaderTradeSettlement")
    _el(settlement, "ram:PaymentReference", document.number)
    _el(settlement, "ram:InvoiceCurrencyCode", "EUR")
    if seller.get("iban") and invoice is not None:
        means = _el(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
        _el(means, "ram:TypeCode", "58")  # SEPA credit transfer
        account = _el(means, "ram:PayeePartyCreditorFinancialAccount")
        _el(account, "ram:IBANID", seller["iban"])

    for rate, base, tax_amount in document.vat_breakdown():
        tax = _el(settlement, "ram:ApplicableTradeTax")
        _el(tax, "ram:CalculatedAmount", _amount(tax_amount))
        _el(tax, "ram:TypeCode", "VAT")
        _el(tax, "ram:BasisAmount", _amount(base))
        _el(tax, "ram:CategoryCode", "S")
        _el(tax, "ram:RateApplicablePercent", _amount(rate))
    if document.total_disbursements:
        tax = _el(settlement, "ram:ApplicableTradeTax")
        _el(tax, "ram:CalculatedAmount", "0.00")
        _el(tax, "ram:TypeCode", "VAT")
        _el(tax, "ram:ExemptionReason", DISBURSEMENT_REASON)
        _el(tax, "ram:BasisAmount", _amount(document.total_disbursements))
        _el(tax, "ram:CategoryCode", "E")
        _el(tax, "ram:ExemptionReasonCode", DISBURSEMENT_REASON_CODE)
        _el(tax, "ram:RateApplicablePercent", "0.00")

    if invoice is not None and invoice.due_date is not None:
        terms = _el(settlement, "ram:SpecifiedTradePaymentTerms")
        _el(
            terms,
            "ram:Description",
            f"Paiement à réception, au plus tard le {invoice.due_date:%d/%m/%Y}.",
        )
        _date(terms, "ram:DueDateDateTime", invoice.due_date)

    line_total = document.total_excl_vat + document.total_disbursements
    summation = _el(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    _el(summation, "ram:LineTotalAmount", _amount(line_total))
    _el(summation, "ram:TaxBasisTotalAmount", _amount(line_total))
    _el(summation, "ram:TaxTotalAmount", _amount(document.total_vat), currencyID="EUR")
    _el(summation, "ram:GrandTotalAmount", _amount(document.total))
    _el(summation, "ram:DuePayableAmount", _amount(document.total))

    if original is not None:
        referenced = _el(settlement, "ram:InvoiceReferencedDocument")
        _el(referenced, "ram:IssuerAssignedID", original.number)
        _date(
            referenced,
            "ram:FormattedIssueDateTime",
            original.issue_date,
            qualified=True,
        )

    return etree.tostring(
        root, xml_declaration=True, encoding="UTF-8", pretty_print=True
    )


def check_cii_xml(xml: bytes) -> bool:
    """Validate against the official Factur-X EN 16931 schema; raises if invalid."""
    return facturx.xml_check_xsd(xml, flavor="factur-x", level=LEVEL)


def embed_in_pdf(*, pdf: bytes, xml: bytes, document: Invoice | CreditNote) -> bytes:
    """Attach the XML to a PDF/A-3 as `factur-x.xml`, with the Factur-X metadata."""
    kind = "Avoir" if isinstance(document, CreditNote) else "Facture"
    return facturx.generate_from_binary(
        pdf,
        xml,
        flavor="factur-x",
        level=LEVEL,
        check_xsd=True,
        lang="fr-FR",
        pdf_metadata={
            "author": document.seller["name"],
            "keywords": "Factur-X",
            "title": f"{kind} {document.number}",
            "subject": f"{kind} {document.number} — {document.seller['name']}",
        },
    )

"""The printed documents: mandatory mentions (read back with pdftotext) and Factur-X."""

import io
import subprocess
from datetime import date
from decimal import Decimal

import facturx
import pytest
from lxml import etree
from pypdf import PdfReader

from billing import einvoice, pdf, services
from tests.billing.factories import CustomerFactory, issued_invoice, lines

D = Decimal


def pdf_text(content: bytes, tmp_path) -> str:
    path = tmp_path / "document.pdf"
    path.write_bytes(content)
    result = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"],
        check=True,
        capture_output=True,
        text=True,
    )
    return " ".join(result.stdout.replace("\u202f", " ").split())


@pytest.fixture
def company_invoice(db):
    return issued_invoice(
        CustomerFactory(company=True),
        specs=lines(
            ("Organisation d'un parcours de soins", 1, "49.00"),
            ("Accompagnement physique", "1.5", "45.00"),
            ("Honoraires du cardiologue avancés", 1, "60.00", "disbursement"),
        ),
        on=date(2026, 4, 2),
    )


def test_an_invoice_pdf_carries_every_mandatory_mention(company_invoice, tmp_path):
    text = pdf_text(pdf.render_pdf(company_invoice, language="fr"), tmp_path)

    expected = [
        "FACTURE",
        "FA-2026-000001",
        # the seller: name, legal form, address, SIRET, VAT number, RCS
        "Conciergerie Médicale SAS",
        "SAS au capital de 10 000 €",
        "12 rue de la Santé",
        "75013 Paris",
        "SIRET 90123456700013",
        "FR15901234567",
        "RCS Paris 901 234 567",
        # dates: issue, service, due
        "Date d'émission 02/04/2026",
        "Date de la prestation 02/03/2026",
        "Échéance 02/05/2026",
        # the buyer
        "Horizon Industries SA",
        "3 rue des Lilas",
        "69003 Lyon",
        "SIREN 552100554",
        # lines: description, quantity, unit price excl. VAT, rate, amounts
        "Organisation d'un",
        "parcours de soins",
        "1,5 unité",
        "45,00 €",
        "20 %",
        "67,50 €",
        # totals
        "Total HT 116,50 €",
        "Total TVA 23,30 €",
        "Total TTC 139,80 €",
        "Débours (hors TVA) 60,00 €",
        "Net à payer 199,80 €",
        # débours shown outside VAT
        "hors du champ de la TVA",
        # payment terms
        "Pas d'escompte pour paiement anticipé",
        "Pénalités de retard : taux annuel de 12,15 %",
        "indemnité forfaitaire pour frais de recouvrement de 40,00 €",
    ]
    missing = [mention for mention in expected if mention not in text]
    assert not missing, f"missing {missing} in: {text}"


def test_a_consumer_invoice_has_no_recovery_indemnity(db, tmp_path):
    invoice = issued_invoice(CustomerFactory())

    text = pdf_text(pdf.render_pdf(invoice, language="fr"), tmp_path)

    assert "Pénalités de retard" in text
    assert "recouvrement" not in text


def test_a_credit_note_pdf_names_the_invoice_it_corrects(company_invoice, tmp_path):
    credit_note = services.create_credit_note(
        invoice=company_invoice, reason="Prestation annulée", on=date(2026, 4, 9)
    )

    text = pdf_text(pdf.render_pdf(credit_note, language="fr"), tmp_path)

    assert "AVOIR" in text, text
    assert "AV-2026-000001" in text
    assert "FA-2026-000001 du 02/04/2026" in text, text
    assert "Prestation annulée" in text
    assert "Total crédité 199,80 €" in text


def test_a_quote_pdf_shows_the_validity_and_the_out_of_pocket(
    patient_customer, tmp_path
):
    quote = services.create_quote(
        customer=patient_customer,
        lines=lines(("Accompagnement physique", 2, "45.00")),
    )
    quote = services.send_quote(quote=quote)
    services.record_reimbursement_estimate(quote=quote, amount=D("40.00"))
    quote.refresh_from_db()

    text = pdf_text(pdf.render_pdf(quote, language="fr"), tmp_path)

    assert "DEVIS" in text
    assert quote.number in text
    assert f"Valable jusqu'au {quote.valid_until:%d/%m/%Y}" in text
    assert "Remboursement estimé 40,00 €" in text
    assert "Reste à charge estimé 68,00 €" in text


def test_the_cii_xml_passes_the_factur_x_schema_check(company_invoice):
    xml = einvoice.build_cii_xml(company_invoice)

    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931") is True
    assert facturx.get_level(etree.fromstring(xml)) == "en16931"


def test_the_cii_xml_carries_the_figures_of_the_invoice(company_invoice):
    xml = etree.fromstring(einvoice.build_cii_xml(company_invoice))
    ns = einvoice.NS

    def text(path):
        return xml.findtext(path, namespaces=ns)

    summation = (
        "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement/"
        "ram:SpecifiedTradeSettlementHeaderMonetarySummation/"
    )
    assert text("rsm:ExchangedDocument/ram:ID") == "FA-2026-000001"
    assert text("rsm:ExchangedDocument/ram:TypeCode") == "380"
    assert text(summation + "ram:TaxBasisTotalAmount") == "176.50"
    assert text(summation + "ram:TaxTotalAmount") == "23.30"
    assert text(summation + "ram:GrandTotalAmount") == "199.80"
    taxes = xml.findall(
        "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement/"
        "ram:ApplicableTradeTax",
        namespaces=ns,
    )
    assert [
        (
            tax.findtext("ram:CategoryCode", namespaces=ns),
            tax.findtext("ram:BasisAmount", namespaces=ns),
            tax.findtext("ram:CalculatedAmount", namespaces=ns),
        )
        for tax in taxes
    ] == [("S", "116.50", "23.30"), ("E", "60.00", "0.00")]
    # Sum of line nets = header line total (EN 16931 BR-CO-10).
    line_totals = [
        D(node.text) for node in xml.iterfind(".//ram:LineTotalAmount", namespaces=ns)
    ]
    assert sum(line_totals[:-1]) == line_totals[-1]


def test_a_credit_note_xml_references_its_invoice_and_passes_the_check(
    company_invoice,
):
    line = company_invoice.lines.get(description="Accompagnement physique")
    credit_note = services.create_credit_note(
        invoice=company_invoice,
        reason="Une demi-heure de moins",
        lines=[services.CreditSpec(invoice_line=line, quantity=D("0.5"))],
    )

    xml = einvoice.build_cii_xml(credit_note)

    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931") is True
    root = etree.fromstring(xml)
    assert root.findtext(".//ram:TypeCode", namespaces=einvoice.NS) == "381"
    referenced = root.find(".//ram:InvoiceReferencedDocument", namespaces=einvoice.NS)
    assert referenced.findtext("ram:IssuerAssignedID", namespaces=einvoice.NS) == (
        "FA-2026-000001"
    )


def test_a_broken_xml_fails_the_check():
    with pytest.raises(Exception, match="not valid"):
        facturx.xml_check_xsd(
            b'<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:'
            b'standard:CrossIndustryInvoice:100"/>',
            flavor="factur-x",
            level="en16931",
        )


def test_the_factur_x_pdf_embeds_the_xml_and_is_pdf_a_3(company_invoice):
    content = pdf.render_facturx(company_invoice)

    filename, xml = facturx.get_xml_from_pdf(content, check_xsd=True)

    assert filename == "factur-x.xml"
    assert (
        etree.fromstring(xml).findtext(
            "rsm:ExchangedDocument/ram:ID", namespaces=einvoice.NS
        )
        == company_invoice.number
    )
    metadata = PdfReader(io.BytesIO(content)).trailer["/Root"]["/Metadata"].get_data()
    assert b"<pdfaid:part>3</pdfaid:part>" in metadata
    assert b"<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>" in metadata

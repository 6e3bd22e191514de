"""PDF rendering of patient documents (summary, export) with WeasyPrint."""

from django.conf import settings
from django.template.loader import render_to_string


def render_pdf(template_name: str, context: dict) -> bytes:
    # Imported here: WeasyPrint takes about a second to load, and only these
    # views need it.
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    html = render_to_string(template_name, context)
    # Styles are inline: nothing is fetched, least of all from the network,
    # whatever a patient-typed field may contain.
    fetcher = URLFetcher(allowed_protocols={"data"})
    return HTML(
        string=html, base_url=str(settings.BASE_DIR), url_fetcher=fetcher
    ).write_pdf()

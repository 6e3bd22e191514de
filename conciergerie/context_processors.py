from django.conf import settings


def service(request):
    """Expose the service's identity to every template (header, footer, emails)."""
    return {
        "SERVICE_NAME": settings.SERVICE_NAME,
        "SERVICE_PHONE": settings.SERVICE_PHONE,
        "SERVICE_EMAIL": settings.SERVICE_EMAIL,
    }

"""OpenAPI extensions, registered when the project's app is ready."""

from drf_spectacular.contrib.django_oauth_toolkit import DjangoOAuthToolkitScheme


class PartnerOAuth2Scheme(DjangoOAuthToolkitScheme):
    target_class = "conciergerie.api.PartnerOAuth2Authentication"

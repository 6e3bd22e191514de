"""OpenAPI extensions, registered when the project's app is ready."""

from drf_spectacular import openapi
from drf_spectacular.contrib.django_oauth_toolkit import DjangoOAuthToolkitScheme


class PartnerOAuth2Scheme(DjangoOAuthToolkitScheme):
    target_class = "conciergerie.api.PartnerOAuth2Authentication"


class AutoSchema(openapi.AutoSchema):
    """Name nested serializers after their view: `MeApi.OutputSerializer` → `MeOutput`.

    Views keep their serializers inside them (`InputSerializer`, `OutputSerializer`);
    without this every API would publish a component called "Output".
    """

    def get_serializer_name(self, serializer, direction):
        cls = serializer if isinstance(serializer, type) else type(serializer)
        outer, _, inner = cls.__qualname__.rpartition(".")
        if outer and "<locals>" not in outer:
            owner = outer.split(".")[-1].removesuffix("Api").removesuffix("View")
            return owner + inner
        return super().get_serializer_name(serializer, direction)

"""OpenAPI extensions, registered when the project's app is ready."""

from drf_spectacular import openapi
from drf_spectacular.contrib.django_oauth_toolkit import DjangoOAuthToolkitScheme
from rest_framework.permissions import SAFE_METHODS


class PartnerOAuth2Scheme(DjangoOAuthToolkitScheme):
    target_class = "conciergerie.api.PartnerOAuth2Authentication"

    def get_security_requirement(self, auto_schema):
        """The scopes a view declares for the method (`required_scopes`).

        A view declaring none for the method cannot be called with a token, so
        the operation then lists no OAuth2 requirement.
        """
        declared = getattr(auto_schema.view, "required_scopes", None)
        if not isinstance(declared, dict):
            return super().get_security_requirement(auto_schema)
        kind = "read" if auto_schema.method in SAFE_METHODS else "write"
        scopes = declared.get(kind)
        return {self.name: list(scopes)} if scopes else None


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

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from conciergerie.api import ErrorSerializer


class MeApi(APIView):
    """Who is calling: the partner's service account, or the signed-in user."""

    required_scopes = {"read": ["profile"]}

    class OutputSerializer(serializers.Serializer):
        email = serializers.EmailField()
        name = serializers.CharField(source="get_full_name")
        roles = serializers.ListField(child=serializers.CharField())
        scopes = serializers.ListField(child=serializers.CharField())

    @extend_schema(
        operation_id="me",
        summary="Identify the caller",
        description="Returns the account behind the token and the scopes it carries.",
        responses={200: OutputSerializer, 401: ErrorSerializer, 403: ErrorSerializer},
        examples=[
            OpenApiExample(
                "Partner clinic",
                value={
                    "email": "api@clinique-exemple.fr",
                    "name": "Clinique Exemple",
                    "roles": ["partner"],
                    "scopes": ["profile", "specialists:read"],
                },
                response_only=True,
            )
        ],
    )
    def get(self, request):
        token = request.auth
        scopes = sorted(token.scope.split()) if hasattr(token, "scope") else []
        user = request.user
        data = {
            "email": user.email,
            "get_full_name": user.get_full_name(),
            "roles": sorted(user.roles),
            "scopes": scopes,
        }
        return Response(self.OutputSerializer(data).data)

"""The project's routes plus two POST endpoints under /api/v1/ that only tests need:
one that waits for a signal, one that writes a row and then fails."""

import threading

from django.urls import include, path
from rest_framework.response import Response
from rest_framework.views import APIView

from conciergerie.partners.models import Contact, Organisation

release = threading.Event()
entered = threading.Event()


class SlowApi(APIView):
    required_scopes = {"write": ["profile"]}

    def post(self, request):
        entered.set()
        release.wait(timeout=10)
        return Response({"done": True}, status=201)


class CrashingApi(APIView):
    required_scopes = {"write": ["profile"]}

    def post(self, request):
        organisation = Organisation.objects.get(service_user=request.user)
        Contact.objects.create(organisation=organisation, email="crash@example.fr")
        raise RuntimeError("the view failed after writing")


urlpatterns = [
    path("api/v1/test/slow/", SlowApi.as_view()),
    path("api/v1/test/crash/", CrashingApi.as_view()),
    path("", include("conciergerie.urls")),
]

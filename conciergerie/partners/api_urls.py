"""Webhook routes of the partner API, under /api/v1/."""

from django.urls import path

from . import api

urlpatterns = [
    path("webhooks/", api.WebhookCollectionApi.as_view(), name="api-webhooks"),
    path(
        "webhooks/deliveries/<uuid:id>/redeliver/",
        api.WebhookRedeliverApi.as_view(),
        name="api-webhook-redeliver",
    ),
    path("webhooks/<uuid:id>/", api.WebhookDetailApi.as_view(), name="api-webhook"),
    path(
        "webhooks/<uuid:id>/rotate-secret/",
        api.WebhookRotateSecretApi.as_view(),
        name="api-webhook-rotate-secret",
    ),
    path(
        "webhooks/<uuid:id>/test/",
        api.WebhookTestApi.as_view(),
        name="api-webhook-test",
    ),
    path(
        "webhooks/<uuid:id>/enable/",
        api.WebhookEnableApi.as_view(),
        name="api-webhook-enable",
    ),
    path(
        "webhooks/<uuid:id>/deliveries/",
        api.WebhookDeliveryListApi.as_view(),
        name="api-webhook-deliveries",
    ),
]

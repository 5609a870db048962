from django.urls import path

from . import api

urlpatterns = [
    path("", api.WebhookListView.as_view(), name="webhooks"),
    path("<str:webhook_id>/", api.WebhookView.as_view(), name="webhook"),
    path("<str:webhook_id>/secret/", api.WebhookSecretView.as_view(), name="webhook-secret"),
    path("<str:webhook_id>/deliveries/", api.WebhookDeliveriesView.as_view(), name="webhook-deliveries"),
]

from django.urls import path

from . import bot_api

urlpatterns = [
    path("", bot_api.BotsView.as_view(), name="bots"),
    path("<str:bot_id>/keys/", bot_api.BotKeysView.as_view(), name="bot-keys"),
    path("<str:bot_id>/keys/<str:key_id>/", bot_api.BotKeyView.as_view(), name="bot-key"),
]

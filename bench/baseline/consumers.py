"""
The room consumer, as the Channels tutorial and djangobnb write it.

Mirrors the Channels tutorial's asynchronous ``ChatConsumer`` (group
``chat_<room>``, ``group_send`` of a ``chat_message`` event, one
``json.dumps`` + ``send`` per receiving socket) with djangobnb's additions: the
``{"event": "chat_message", "data": {...}}`` frame, and saving the message
with ``sync_to_async`` *after* broadcasting it. There is no membership check.

Adaptation to this project's schema: a message needs a per-conversation
``seq``, which the baseline computes the naive way (count + 1, no lock); when
two senders race and the unique ``(conversation, seq)`` constraint refuses the
insert, the error is printed and the message is not saved, as a tutorial
would. It has already been delivered.
"""

import json

from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.db import IntegrityError

from chat.models import Conversation, ConversationMessage


class ChatConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.room_name = self.scope["url_route"]["kwargs"]["room_name"]
        self.room_group_name = f"chat_{self.room_name}"

        await self.channel_layer.group_add(self.room_group_name, self.channel_name)
        await self.accept()

    async def disconnect(self, close_code):
        await self.channel_layer.group_discard(self.room_group_name, self.channel_name)

    async def receive(self, text_data):
        data = json.loads(text_data)
        conversation_id = data["data"]["conversation_id"]
        sent_to_id = data["data"]["sent_to_id"]
        name = data["data"]["name"]
        body = data["data"]["body"]

        await self.channel_layer.group_send(
            self.room_group_name,
            {
                "type": "chat_message",
                "body": body,
                "name": name,
            },
        )

        await self.save_message(conversation_id, body, sent_to_id)

    async def chat_message(self, event):
        body = event["body"]
        name = event["name"]

        await self.send(text_data=json.dumps({"body": body, "name": name}))

    @sync_to_async
    def save_message(self, conversation_id, body, sent_to_id):
        user = self.scope["user"]
        conversation = Conversation.objects.get(pk=conversation_id)
        seq = conversation.messages.count() + 1
        try:
            ConversationMessage.objects.create(
                conversation=conversation,
                seq=seq,
                body=body,
                sent_to_id=sent_to_id,
                created_by=user,
            )
        except IntegrityError as e:
            print(e)

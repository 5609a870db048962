"""JSON shapes of threads (REST): a member's state of a thread, a page of it, and the list of followed threads."""

from django.conf import settings
from rest_framework import serializers

from chat.messages.serializers import MessageOut, message_data
from chat.threads.selectors import ThreadPage, ThreadState


def thread_state_data(state: ThreadState) -> dict:
    return {
        "conversation_id": str(state.conversation_id),
        "root_id": str(state.root_id),
        "following": state.following,
        "last_read_seq": state.last_read_seq,
        "unread_count": state.unread_count,
    }


def thread_page_data(page: ThreadPage) -> dict:
    return {
        **thread_state_data(page.state),
        "root": message_data(page.root),
        "replies": [message_data(reply) for reply in page.replies],
    }


def thread_list_item(thread) -> dict:
    """One row of chat.threads.selectors.thread_list."""
    return {
        "conversation_id": str(thread.root.conversation_id),
        "root_id": str(thread.root_id),
        "following": thread.following,
        "last_read_seq": thread.last_read_seq,
        "unread_count": thread.unread_count,
        "root": message_data(thread.root),
    }


class ThreadStateOut(serializers.Serializer):
    conversation_id = serializers.UUIDField()
    root_id = serializers.UUIDField(help_text="The thread's root: a message of the main timeline.")
    following = serializers.BooleanField(help_text="Followers are notified of its replies (notification frames, pushes).")
    last_read_seq = serializers.IntegerField(help_text="How far you have read the thread (a seq of the conversation).")
    unread_count = serializers.IntegerField(
        help_text="Its replies after last_read_seq, at most CHAT_UNREAD_COUNT_MAX (at it: that many or more)."
    )


class ThreadItemOut(ThreadStateOut):
    root = MessageOut(help_text="The root, with its `thread` summary.")


class ThreadPageOut(ThreadItemOut):
    replies = MessageOut(many=True, help_text="A page of the thread's replies, in seq order.")


class ThreadListInput(serializers.Serializer):
    unread = serializers.BooleanField(
        required=False, default=False, help_text="Only the threads with replies you have not read."
    )


class ThreadRangeInput(serializers.Serializer):
    before = serializers.IntegerField(required=False, min_value=1)
    after = serializers.IntegerField(required=False, min_value=0)

    def get_fields(self):
        # The cap is a setting, read per request rather than at import.
        fields = super().get_fields()
        fields["limit"] = serializers.IntegerField(
            required=False, min_value=1, max_value=settings.CHAT_THREAD_PAGE_MAX, default=50
        )
        return fields

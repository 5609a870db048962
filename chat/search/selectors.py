"""
Reads: full-text search of the messages a user may see (docs/search.md).
"""


from django.db.models import (
    QuerySet,
)
from django.utils import timezone

from chat.messages.expiry import expired
from chat.models import (
    Conversation,
    ConversationMember,
    ConversationMessage,
)
from chat.search.query import clean_query, search_messages
from useraccount.models import User



def message_search(*, user: User, query: str, conversation: Conversation | None = None) -> QuerySet[ConversationMessage]:
    """
    Messages of the user's conversations (or of ``conversation``, which they
    are in) matching ``query``, best first; never one a moderator hid, nor
    one that has expired (chat.messages.expiry), even before the expiry
    pass has made it a tombstone.
    """
    messages = (
        ConversationMessage.objects.for_display().filter(moderated_at__isnull=True).exclude(expired(timezone.now()))
    )
    if conversation is not None:
        messages = messages.filter(conversation=conversation)
    else:
        # The ids as a list, not a subquery: PostgreSQL then reads the index
        # once for all of them instead of once per conversation (docs/search.md).
        ids = list(ConversationMember.objects.filter(user=user).values_list("conversation_id", flat=True))
        messages = messages.filter(conversation_id__in=ids)
    return search_messages(messages, clean_query(query))

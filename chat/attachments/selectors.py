"""
Reads: an attachment, for a member of its conversation only.
"""


from django.db.models import (
    Q,
)

from chat.conversations.selectors import conversation_get_for_user
from chat.models import (
    Attachment,
)
from core.errors import NotFound
from core.validation import uuid_or_none
from useraccount.models import User



def attachment_for_user(*, conversation_id, attachment_id, user: User) -> Attachment:
    """
    An attachment ``user`` may download: one a message of a conversation
    they are in carries, or their own upload not sent yet. NotFound otherwise,
    the same for a conversation they are not in as for no such attachment.
    """
    conversation = conversation_get_for_user(conversation_id=conversation_id, user=user)
    parsed = uuid_or_none(attachment_id)
    attachment = (
        Attachment.objects.filter(id=parsed, conversation=conversation)
        .filter(Q(message__isnull=False) | Q(uploaded_by=user))
        .first()
        if parsed
        else None
    )
    if attachment is None:
        raise NotFound("No such attachment.")
    return attachment

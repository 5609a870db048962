"""
The admin for support staff: find a conversation by member, title or id, and
read it as its members did; find messages by text, sender or conversation.

Everything here is read-only. Conversations, memberships, messages, reactions
and attachments change only through the chat services, which keep each
conversation's seq gapless, write the system messages that say what changed
and tell every open client; a row edited here would do none of that (docs/admin.md).

Each domain registers its own pages: conversations (a transcript a bounded
page at a time), messages, attachments, the moderation queue and data exports.
"""

from .attachments import admin as attachments_admin  # noqa: F401
from .conversations import admin as conversations_admin  # noqa: F401
from .messages import admin as messages_admin  # noqa: F401
from .messages import scheduled_admin  # noqa: F401
from .moderation import admin as moderation_admin  # noqa: F401
from .exports import admin as exports_admin  # noqa: F401,E402

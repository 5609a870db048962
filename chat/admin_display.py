"""
How the admin shows people, conversations, times and files: shared by the
conversation, message, attachment and moderation pages.
"""


from django.db.models import (
    Count,
    OuterRef,
    Prefetch,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode

from chat.models import (
    Conversation,
    ConversationMember,
)
from useraccount.models import User



# Members named in a list row (the rest are counted); also the prefetch's slice.
MEMBERS_SHOWN = 4


TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def members_shown(path: str = "users") -> Prefetch:
    """The first MEMBERS_SHOWN members by name, as ``members_shown``: one query for a whole page of rows."""
    return Prefetch(path, queryset=User.objects.order_by("name", "email")[:MEMBERS_SHOWN], to_attr="members_shown")


def member_count() -> Subquery:
    # A subquery, not Count() over a join: the search's own join on members would multiply it.
    counted = (
        ConversationMember.objects.filter(conversation=OuterRef("pk"))
        .order_by().values("conversation").annotate(n=Count("pk")).values("n")
    )
    return Coalesce(Subquery(counted), 0)


def person(user) -> str:
    """How the admin names a user: their name, else their email."""
    return user.name or user.email


def conversation_label(conversation: Conversation, member_count: int | None = None) -> str:
    """The title, else the members' names ("Alice & Bob"); needs ``members_shown`` (see members_shown)."""
    if conversation.title:
        return conversation.title
    names = [person(user) for user in conversation.members_shown]
    if not names:
        return "(no members)"
    more = (member_count or len(names)) - len(names)
    return " & ".join(names) if more <= 0 else f"{', '.join(names)} and {more} more"


def conversation_kind(conversation: Conversation) -> str:
    return "direct" if conversation.is_direct else "group"


def local_time(moment) -> str:
    return timezone.localtime(moment).strftime(TIME_FORMAT)


def download_link(attachment_id, name):
    return format_html('<a href="{}">{}</a>', reverse("admin:chat_attachment_download", args=[attachment_id]), name)


def conversation_url(conversation_id, seq: int | None = None) -> str:
    """A conversation's admin page; with ``seq``, at the page and row of that message."""
    url = reverse("admin:chat_conversation_change", args=[conversation_id])
    return f"{url}?{urlencode({'seq': seq})}#seq-{seq}" if seq is not None else url


def titled(list_filter: type, title: str) -> type:
    """``list_filter`` under another title ("By member" rather than the field's "By users")."""

    class Titled(list_filter):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.title = title

    Titled.__name__ = f"{list_filter.__name__}_{title.replace(' ', '_')}"
    return Titled

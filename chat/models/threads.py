"""
The model of threads' per-member state (chat.threads); re-exported by chat.models.
The thread itself lives on ConversationMessage (``thread_root``,
``thread_summary``, ``thread_last_reply_at``).
"""

from django.db import models

from chat.models import ConversationMember


class ThreadMember(models.Model):
    """
    One conversation member's state of one thread: how far they have read it
    (a seq of the conversation, never backwards) and whether they follow it
    (followers, and only they, are notified of its replies). Made when they
    reply, when a reply comes to a thread whose root they wrote, or when they
    follow or read it; it goes with their membership.
    """

    member = models.ForeignKey(ConversationMember, on_delete=models.CASCADE, related_name="threads")
    root = models.ForeignKey("chat.ConversationMessage", on_delete=models.CASCADE, related_name="thread_members")
    last_read_seq = models.PositiveBigIntegerField(default=0)
    following = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["root", "member"], name="one_thread_member_per_member"),
        ]
        indexes = [models.Index(fields=["member", "following"], name="thread_member_following")]

    def __str__(self):
        return f"{self.member_id} in thread {self.root_id}"

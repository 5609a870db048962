"""chat.messages.mentions.parse_mentions: the markup, members only, each once, the bound and @all's rules (no database)."""

import uuid

import pytest

from chat.messages.mentions import Mentions, may_mention, parse_mentions
from core.errors import Forbidden, InvalidInput

# Fixed ids: test ids name them, and xdist workers must collect the same tests.
OWNER, ADMIN, ANN, BEN, OUTSIDER = (str(uuid.UUID(int=n)) for n in range(1, 6))
MEMBERS = {OWNER: "member", ADMIN: "admin", ANN: "member", BEN: "member"}


def parse(body, *, sender=ANN, members=MEMBERS, direct=False, max_mentions=5, all_min=10):
    return parse_mentions(
        body, sender_id=sender, members=members, owner_id=OWNER, direct=direct,
        max_mentions=max_mentions, mention_all_min_members=all_min,
    )


def test_markup_names_members_in_order_each_once():
    assert parse(f"<@{BEN}> and <@{ADMIN}>, again <@{BEN}>") == Mentions((BEN, ADMIN), False)


def test_ids_are_read_with_or_without_dashes_and_in_any_case():
    assert parse(f"<@{uuid.UUID(BEN).hex.upper()}>").user_ids == (BEN,)


def test_non_members_and_the_sender_stay_text():
    assert parse(f"<@{OUTSIDER}> <@{ANN}> <@not-an-id> @{BEN} <{BEN}>") == Mentions()


def test_plain_names_are_not_mentions():
    assert not parse("@Ben Smith, see this")


def test_past_the_bound_is_refused():
    five = " ".join(f"<@{uuid.uuid4()}>" for _ in range(5))
    assert parse(five) == Mentions()  # nobody of them a member, but within the bound
    with pytest.raises(InvalidInput) as refused:
        parse(f"{five} <@{BEN}>")
    assert refused.value.code == "too_many_mentions"


def test_a_repeated_mention_counts_once_towards_the_bound():
    assert parse(" ".join([f"<@{BEN}>"] * 20)).user_ids == (BEN,)


@pytest.mark.parametrize("body", ["@all", "hey @all!", "(@all)", "@all, look"])
def test_at_all_is_a_word(body):
    assert parse(body).all


@pytest.mark.parametrize("body", ["@allison", "mail me at x@all.org", "@@all", "@all-hands"])
def test_at_all_inside_another_word_is_text(body):
    assert not parse(body).all


def test_anyone_may_mention_all_in_a_small_group():
    assert parse("@all", sender=BEN, all_min=4).all


@pytest.mark.parametrize("sender", [OWNER, ADMIN], ids=["owner", "admin"])
def test_owner_and_admins_may_mention_all_in_a_large_group(sender):
    assert parse("@all", sender=sender, all_min=3).all


def test_a_member_may_not_mention_all_in_a_large_group():
    with pytest.raises(Forbidden) as refused:
        parse("@all", sender=BEN, all_min=3)
    assert refused.value.code == "not_admin"
    assert "3 members" in refused.value.detail


def test_at_all_in_a_direct_conversation_is_text():
    assert not parse("@all", members={ANN: "member", BEN: "member"}, direct=True, all_min=0)


def test_may_mention_spots_any_markup_and_nothing_else():
    assert may_mention(f"hi <@{BEN}>") and may_mention("@all")
    assert not may_mention("hi @ben, mail a@b.org") and not may_mention("plain")


def test_markup_reads_as_names_where_no_client_renders_it():
    from chat.messages.mentions import mentions_as_text

    assert mentions_as_text(f"hi <@{BEN}> and <@{OUTSIDER}>", {BEN: "Ben Smith"}) == f"hi @Ben Smith and <@{OUTSIDER}>"

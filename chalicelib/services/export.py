"""Everything the platform holds about one member, gathered for their export (a right of every member).
Reads only: it marks nothing read, creates nothing, and shows reviews about the member only once
published, as their pages do."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from chalicelib import clock
from chalicelib.adapters.dynamodb import (
    community_repository,
    conversation_repository,
    exchange_repository,
    governance_repository,
    listing_repository,
    mission_repository,
    notification_repository,
    purchase_repository,
    review_repository,
)
from chalicelib.domain.communities import Membership
from chalicelib.domain.conversations import InboxEntry, Message
from chalicelib.domain.exchanges import Exchange
from chalicelib.domain.governance import BallotState, Cooperator, Proxy, RollEntry
from chalicelib.domain.ledger import Balance, StatementLine, wallet_account
from chalicelib.domain.listings import Listing
from chalicelib.domain.members import Member
from chalicelib.domain.missions import Claim
from chalicelib.domain.notifications import Inbox, Stored
from chalicelib.domain.purchases import Purchase
from chalicelib.domain.reviews import Review
from chalicelib.services import ledger, members

T = TypeVar("T")
PAGE = 100  # items per read: the export walks every page of each list


@dataclass(frozen=True)
class Conversation:
    entry: InboxEntry
    messages: list[Message]  # oldest first


@dataclass(frozen=True)
class MemberData:
    generated_at: str
    member: Member
    memberships: list[Membership]
    listings: list[Listing]
    exchanges: list[Exchange]
    conversations: list[Conversation]
    reviews_written: list[Review]
    reviews_received: list[Review]
    cooperator: Cooperator | None
    proxies_given: list[Proxy]
    proxies_held: list[Proxy]
    votes: list[RollEntry]
    mission_claims: list[Claim]
    purchases: list[Purchase]
    wallet: Balance
    statement: list[StatementLine]
    names: dict[str, str]  # display names of the statement's counterparties
    notifications: list[Stored]  # the kept ones (90 days), newest first
    inbox: Inbox  # the read mark and the kinds turned off


def every(read: Callable[[str | None, int], tuple[list[T], str | None]]) -> list[T]:
    found, cursor = read(None, PAGE)
    while cursor is not None:
        more, cursor = read(cursor, PAGE)
        found += more
    return found


def gather(member_id: str) -> MemberData:
    generated_at = clock.now_iso()
    member = members.get_own_profile(member_id)
    statement, names = _statement(member_id)
    exchanges = [
        *every(partial(exchange_repository.for_member, member_id, "proposer")),
        *every(partial(exchange_repository.for_member, member_id, "owner")),
    ]
    return MemberData(
        generated_at=generated_at,
        member=member,
        memberships=[
            found
            for community_id in member.community_ids
            if (found := community_repository.get_membership(community_id, member_id)) is not None
        ],
        listings=every(partial(listing_repository.by_owner, member_id, False)),
        exchanges=exchanges,
        conversations=_conversations(member_id),
        reviews_written=[
            review
            for exchange in exchanges
            if (review := review_repository.load(exchange.exchange_id)[1].get(member_id)) is not None
        ],
        reviews_received=every(partial(review_repository.published_about, member_id)),
        cooperator=governance_repository.cooperator(member_id),
        proxies_given=governance_repository.proxies_given(member_id),
        proxies_held=governance_repository.proxies_held(member_id),
        votes=_votes(member_id),
        mission_claims=every(partial(mission_repository.member_claims, member_id)),
        purchases=every(partial(purchase_repository.list_for_member, member_id)),
        wallet=ledger.balance(wallet_account(member_id)),
        statement=statement,
        names=names,
        notifications=every(partial(notification_repository.page, member_id)),
        inbox=notification_repository.inbox(member_id),
    )


def _conversations(member_id: str) -> list[Conversation]:
    entries = every(partial(conversation_repository.inbox, member_id))
    return [
        Conversation(
            entry,
            every(partial(conversation_repository.messages, entry.conversation_id))[::-1],
        )
        for entry in entries
    ]


def _votes(member_id: str) -> list[RollEntry]:
    """The member's place on every ballot's roll: the choice on named ballots, only "voted" on secret
    ones (a secret ballot's choice is never linked to its voter, not even here)."""
    ballot_ids = [
        ballot.ballot_id
        for state in BallotState
        for ballot in every(partial(governance_repository.ballots, state.value))
    ]
    entries = governance_repository.roll_entries_of(member_id, ballot_ids) if ballot_ids else {}
    return [entries[ballot_id] for ballot_id in ballot_ids if ballot_id in entries]


def _statement(member_id: str) -> tuple[list[StatementLine], dict[str, str]]:
    lines: list[StatementLine] = []
    names: dict[str, str] = {}
    cursor: str | None = None
    while True:
        found, found_names, cursor = ledger.statement(wallet_account(member_id), cursor, PAGE)
        lines += found
        names.update(found_names)
        if cursor is None:
            return lines, names

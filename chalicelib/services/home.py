"""What an app shows when it opens, in one call: each part read by the use case that owns it, the
independent reads side by side (a request waits for the slowest read, not for their sum)."""

from __future__ import annotations

from typing import NamedTuple

from msgspec import Struct

from chalicelib import clock
from chalicelib.adapters.dynamodb import reads
from chalicelib.domain.exchanges import awaited_from
from chalicelib.domain.ledger import Balance, wallet_account
from chalicelib.domain.members import home_community
from chalicelib.services import ballots, conversations, exchanges, ledger, listings, members, notifications, reviews

LISTINGS_PAGE = 20  # the home community's first page: GET /listings?community= pages the same way
RECENT = 20  # conversations and exchanges (per role) looked at, newest first; reviews awaited
BALLOTS = 10  # open ballots looked at
PENDING_SHOWN = 10


class Unread(Struct, frozen=True):
    conversations: int  # with unread messages, among the RECENT latest
    messages: int
    exchanges: int  # waiting for the member, among the first RECENT of each side's index
    reviews: int
    ballots: int
    notifications: int


class Pending(Struct, frozen=True):
    kind: str  # exchange, review or ballot
    id: str  # the exchange's (exchange, review) or the ballot's
    actions: tuple[str, ...]
    due_at: str | None


class Home(NamedTuple):
    wallet: Balance
    community_id: str | None  # the home community
    listings: listings.ListingPage | None  # its first page
    unread: Unread
    pending: list[Pending]  # soonest due first, at most PENDING_SHOWN


def home(member_id: str) -> Home:
    pool = reads.pool()
    wallet = pool.submit(ledger.balance, wallet_account(member_id))
    home_listings = pool.submit(_home_listings, member_id)
    inbox = pool.submit(conversations.inbox, member_id, None, RECENT)
    by_role = [pool.submit(exchanges.my_exchanges, member_id, role, None, RECENT) for role in ("proposer", "owner")]
    to_review = pool.submit(reviews.pending, member_id, RECENT)
    to_vote = pool.submit(ballots.awaiting_vote, member_id, BALLOTS)
    notified = pool.submit(notifications.unread, member_id)
    now = clock.now_iso()
    waiting = [
        (exchange, actions)
        for role in by_role
        for exchange in role.result()[0]
        if (actions := awaited_from(exchange, member_id, now))
    ]
    unread = [entry.unread for entry in inbox.result()[0] if entry.unread]
    pending = [
        *(Pending("exchange", e.exchange_id, tuple(a.value for a in actions), e.due_at) for e, actions in waiting),
        *(Pending("review", r.exchange_id, ("review",), r.closes_at) for r in to_review.result()),
        *(Pending("ballot", b.ballot_id, ("vote",), b.closes_at) for b in to_vote.result()),
    ]
    community_id, page = home_listings.result()
    return Home(
        wallet.result(),
        community_id,
        page,
        Unread(
            len(unread),
            sum(unread),
            len(waiting),
            len(to_review.result()),
            len(to_vote.result()),
            notified.result(),
        ),
        sorted(pending, key=lambda p: (p.due_at is None, p.due_at or ""))[:PENDING_SHOWN],
    )


def _home_listings(member_id: str) -> tuple[str | None, listings.ListingPage | None]:
    community_id = home_community(members.get_own_profile(member_id))
    if community_id is None:
        return None, None
    return community_id, listings.browse(("community", community_id), None, LISTINGS_PAGE)

"""What the table's stream says happened, decoded once into typed changes that any consumer reads (the
reconciliation, the notifications). No I/O: `adapters/dynamodb/changes.py` builds these from stream records."""

from __future__ import annotations

from msgspec import Struct

from chalicelib.domain.conversations import InboxEntry
from chalicelib.domain.economy import ValueShare
from chalicelib.domain.exchanges import Exchange
from chalicelib.domain.ledger import Balance, Hold, Transfer
from chalicelib.domain.missions import Claim
from chalicelib.domain.purchases import Purchase
from chalicelib.domain.reviews import Review, ReviewRound


class TransferRecorded(Struct, frozen=True):
    transfer: Transfer


class TransferRewritten(Struct, frozen=True):
    """A transfer record modified or deleted: records are immutable, so this never happens legitimately."""

    transfer_id: str


class BalanceMoved(Struct, frozen=True):
    """A balance item before and after (None: absent); `at` is the time of the ledger contribution that
    changed it, the same as its transfer records' and holds' (the stream record's time if it has none)."""

    old: Balance | None
    new: Balance | None
    at: str


class HoldMoved(Struct, frozen=True):
    """A hold placed (`old` None) or settled; `at` as for a balance: its placement's or settlement's time."""

    old: Hold | None
    new: Hold | None
    at: str


class PurchaseMoved(Struct, frozen=True):
    """A purchase before and after; `at`, the time it was last updated."""

    old: Purchase | None
    new: Purchase | None
    at: str


class RevenueCounted(Struct, frozen=True):
    """A change of one shard of a month's revenue counter, at the time of the fee that moved it."""

    month: str
    amount: int
    at: str


class StatementWritten(Struct, frozen=True):
    """A month's value-sharing statement, written once and then marked paid."""

    old: ValueShare | None
    new: ValueShare | None


class ExchangeMoved(Struct, frozen=True):
    old: Exchange | None
    new: Exchange | None


class InboxMoved(Struct, frozen=True):
    """A member's inbox entry of a conversation (its unread count and last message) before and after."""

    member_id: str
    old: InboxEntry | None
    new: InboxEntry | None


class ClaimMoved(Struct, frozen=True):
    old: Claim | None
    new: Claim | None


class ReviewWritten(Struct, frozen=True):
    """A review submitted (first written; its later changes are not followed)."""

    review: Review


class RoundMoved(Struct, frozen=True):
    old: ReviewRound | None
    new: ReviewRound | None


class ProfileMoved(Struct, frozen=True):
    """A member's profile: `created` on the first call; `old_week`/`new_week`, the activity mark (the Monday
    of the last week the member was seen) before and after."""

    member_id: str
    created: bool
    old_week: str | None
    new_week: str | None


class MembershipMoved(Struct, frozen=True):
    """A member's place in a community: `joined` when it is new; its activity mark before and after."""

    community_id: str
    member_id: str
    joined: bool
    old_week: str | None
    new_week: str | None


class ListingMoved(Struct, frozen=True):
    """A listing's status before (None: new) and after, with what the statistics group it by."""

    listing_id: str
    community_id: str
    category: str
    old_status: str | None
    new_status: str
    at: str


class RollEntered(Struct, frozen=True):
    """A member put on a ballot's roll: the ballot opens for them."""

    ballot_id: str
    member_id: str
    closes_at: str


class ResultStored(Struct, frozen=True):
    """A ballot's result, written once at its close: `adopted` on a yes/no ballot (None otherwise);
    `withheld` when a secret ballot had too few voters (then nothing but participation is published)."""

    ballot_id: str
    closed_at: str
    adopted: bool | None
    withheld: bool


TableChange = (
    TransferRecorded
    | TransferRewritten
    | BalanceMoved
    | HoldMoved
    | PurchaseMoved
    | RevenueCounted
    | StatementWritten
    | ExchangeMoved
    | InboxMoved
    | ClaimMoved
    | ReviewWritten
    | RoundMoved
    | ProfileMoved
    | MembershipMoved
    | ListingMoved
    | RollEntered
    | ResultStored
)


class Change(Struct, frozen=True):
    """One stream record: its id, its place in its shard, its approximate time (ISO), and what changed."""

    event_id: str
    sequence: str
    time: str
    what: TableChange

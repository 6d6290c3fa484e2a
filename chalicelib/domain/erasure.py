"""A member's erasure (the right to be forgotten): what blocks it, what the profile becomes, and the
steps that follow, in their order. No I/O.

Credits never turn into money: an erased member's remaining credits go to the rewards pool, as one
recorded transfer. Ledger records stay under the pseudonymous account, so the books still balance."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from msgspec import Struct
from msgspec.structs import replace

from chalicelib import errors
from chalicelib.domain.exchanges import FINAL, Exchange, ExchangeType
from chalicelib.domain.ledger import Balance, PlatformAccount, TransferKind, TransferRequest
from chalicelib.domain.members import Member
from chalicelib.domain.missions import Claim, ClaimState
from chalicelib.domain.purchases import Purchase, PurchaseStatus

FORMER_MEMBER = "former member"


def check_confirmed(member_id: str, confirmation: str) -> None:
    """The member types `erase <their id>`: no stray or replayed request from another account erases one."""
    if confirmation != f"erase {member_id}":
        raise errors.Unprocessable("erasure.confirm-erasure-erase-followed", code="erasure-not-confirmed")


class Step(StrEnum):
    """Done in this order; each is recorded on the profile once done, so a retried request resumes."""

    PSEUDONYMISED = "pseudonymised"  # credits forfeited and profile replaced, in one unit of work
    LISTINGS_REMOVED = "listings_removed"
    REVIEWS_HIDDEN = "reviews_hidden"  # reviews about the member leave public view and the reputation
    MESSAGES_ERASED = "messages_erased"
    COMMUNITIES_LEFT = "communities_left"
    PROXIES_REVOKED = "proxies_revoked"  # given and held: nobody votes through a former member
    IDENTITY_DELETED = "identity_deleted"  # last: until then, the member's token can retry the request


def remaining(done: str | None) -> list[Step]:
    steps = list(Step)
    return steps if done is None else steps[steps.index(Step(done)) + 1 :]


class Blocker(Struct, frozen=True):
    kind: str  # exchange, loan, held_credits, owed_credits, card_dispute, purchase, mission_claim
    id: str


OPEN_CLAIMS = frozenset({ClaimState.CLAIMED, ClaimState.SUBMITTED})


def blockers(
    wallet: Balance, exchanges: Iterable[Exchange], purchases: Iterable[Purchase], claims: Iterable[Claim]
) -> list[Blocker]:
    """What must end first: anything that could still move credits to or from the member, or that
    another member is waiting on."""
    found = [
        Blocker("loan" if exchange.type is ExchangeType.LOAN else "exchange", exchange.exchange_id)
        for exchange in exchanges
        if exchange.state not in FINAL
    ]
    if wallet.held:
        found.append(Blocker("held_credits", wallet.account_id))
    if wallet.owed:
        found.append(Blocker("owed_credits", wallet.account_id))
    if wallet.open_disputes:
        found.append(Blocker("card_dispute", wallet.account_id))
    found += [Blocker("purchase", p.purchase_id) for p in purchases if p.status is PurchaseStatus.PENDING]
    found += [Blocker("mission_claim", c.mission_id) for c in claims if c.state in OPEN_CLAIMS]
    return found


def pseudonymised(member: Member, at: str) -> Member:
    """Nothing the member wrote about themselves stays; the id stays (the ledger and the reviews they
    wrote name it), under the name every erased member shares."""
    return replace(
        member,
        display_name=FORMER_MEMBER,
        bio="",
        languages=(),
        skills=(),
        home_community_id=None,
        location=None,
        erased_at=at,
        erasure_step=Step.PSEUDONYMISED.value,
    )


def forfeit_id(member_id: str) -> str:
    return f"erasure:{member_id}"


def forfeit(wallet: Balance, member_id: str) -> TransferRequest | None:
    """All the wallet's credits to the rewards pool (none: no transfer)."""
    if wallet.posted <= 0:
        return None
    return TransferRequest(
        forfeit_id(member_id),
        wallet.account_id,
        PlatformAccount.REWARDS_POOL.value,
        wallet.posted,
        TransferKind.FORFEIT,
        "forfeited on erasure",
    )

"""A member's erasure, in one request that a retry completes.

First, in one unit of work: the blockers are checked, the remaining credits go to the rewards pool (a
`forfeit` transfer, its id `erasure:<member id>`), and the profile becomes the pseudonym. From that
commit on, the member's token is refused everywhere but here, so nothing new appears while the other
steps run, each idempotent and recorded on the profile once done (`domain.erasure.Step`): listings
removed (the most public), reviews about the member hidden, message bodies erased, communities left,
proxies revoked, and last the identity provider's account (until then, the member's token can retry
a step that failed). Logs carry ids only."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from msgspec import Struct
from msgspec.structs import replace

from chalicelib import clock, errors
from chalicelib.adapters import identity_provider
from chalicelib.adapters.dynamodb import (
    conversation_repository,
    exchange_repository,
    ledger_repository,
    listing_repository,
    member_repository,
    mission_repository,
)
from chalicelib.adapters.dynamodb.unit_of_work import AlreadyDone, UnitOfWork
from chalicelib.config import settings
from chalicelib.domain.conversations import Message
from chalicelib.domain.erasure import Step, blockers, check_confirmed, forfeit, forfeit_id, pseudonymised, remaining
from chalicelib.domain.exchanges import Exchange
from chalicelib.domain.ledger import wallet_account
from chalicelib.domain.listings import Status
from chalicelib.domain.members import Member
from chalicelib.domain.reviews import REVIEWABLE
from chalicelib.observability import logger
from chalicelib.services import communities, governance, ledger, members, purchases, reviews, transaction
from chalicelib.services.export import every

MESSAGES_PER_WRITE = 50  # message bodies erased per transaction (DynamoDB takes 100 items)


class Receipt(Struct, frozen=True):
    member_id: str
    erased_at: str
    forfeited: int  # credits moved to the rewards pool
    forfeit_transfer_id: str | None
    identity_deleted: bool  # False: the provider is not Cognito, its operator deletes the account


def erase(member_id: str, confirmation: str) -> Receipt:
    """Erases the member, or completes an erasure a failure interrupted; once done, answers the same."""
    check_confirmed(member_id, confirmation)
    member = members.get_own_profile(member_id)
    if member.erased_at is None:
        member = _pseudonymise(member_id)
        members.reset()  # this container forgets it knew the member as active
    for step in remaining(member.erasure_step):
        STEPS[step](member)
        transaction.run(partial(member_repository.add_erasure_step, member_id=member_id, step=step.value))
        logger.info("erasure step done", extra={"member_id": member_id, "step": step.value})
    return _receipt(member)


def _pseudonymise(member_id: str) -> Member:
    def build(uow: UnitOfWork) -> Member:
        member = members.get_own_profile(member_id)
        if member.erased_at is not None:
            raise AlreadyDone(member)  # a concurrent request, or an earlier try, erased it
        wallet = ledger.balance(wallet_account(member_id))
        claims = every(partial(mission_repository.member_claims, member_id))
        found = blockers(wallet, _exchanges(member_id), purchases.waiting(member_id), claims)
        if found:
            raise errors.Conflict(
                "erasure.account-cannot-erased-while",
                code="erasure-blocked",
                blockers=[{"kind": blocker.kind, "id": blocker.id} for blocker in found],
            )
        erased = pseudonymised(member, clock.now_iso())
        member_repository.add_erasure(uow, erased)  # first: "erased meanwhile" decides over the wallet
        request = forfeit(wallet, member_id)
        if request is None:
            ledger.add_closure(uow, wallet)
        else:
            ledger.add_forfeit(uow, request)
        return erased

    return transaction.run(build)


def _exchanges(member_id: str) -> list[Exchange]:
    return [
        *every(partial(exchange_repository.for_member, member_id, "proposer")),
        *every(partial(exchange_repository.for_member, member_id, "owner")),
    ]


def _remove_listings(member: Member) -> None:
    """Closed, hidden from everyone, their description gone (the title stays: exchanges name it)."""
    for listing in every(partial(listing_repository.by_owner, member.member_id, False)):
        if listing.status is Status.CLOSED and listing.hidden and not listing.description:
            continue

        def build(uow: UnitOfWork, listing_id: str = listing.listing_id) -> None:
            before = listing_repository.get(listing_id)
            if before is not None:
                after = replace(before, status=Status.CLOSED, hidden=True, description="", version=before.version + 1)
                listing_repository.add_replacement(uow, before, after)

        transaction.run(build)


def _hide_reviews(member: Member) -> None:
    completed = [e.exchange_id for e in _exchanges(member.member_id) if e.state in REVIEWABLE]
    reviews.hide_about(member.member_id, completed)


def _erase_messages(member: Member) -> None:
    """The bodies of the messages the member sent in their conversations (the others' stay theirs)."""
    for entry in every(partial(conversation_repository.inbox, member.member_id)):
        conversation_id = entry.conversation_id
        sent = [
            message
            for message in every(partial(conversation_repository.messages, conversation_id))
            if message.sender_id == member.member_id and message.body
        ]
        for start in range(0, len(sent), MESSAGES_PER_WRITE):
            chunk = sent[start : start + MESSAGES_PER_WRITE]
            transaction.run(partial(_add_bodies_erased, conversation_id=conversation_id, messages=chunk))


def _add_bodies_erased(uow: UnitOfWork, conversation_id: str, messages: list[Message]) -> None:
    for message in messages:
        conversation_repository.add_body_erased(uow, conversation_id, message)


def _leave_communities(member: Member) -> None:
    current = member_repository.get(member.member_id, consistent=True) or member
    for community_id in current.community_ids:
        try:
            communities.leave(member.member_id, community_id)
        except errors.NotFound:
            continue  # left by an earlier try


def _revoke_proxies(member: Member) -> None:
    governance.revoke_all(member.member_id)


def _delete_identity(member: Member) -> None:
    identity_provider.delete_account(settings().oidc_issuer, member.member_id)


STEPS: dict[Step, Callable[[Member], None]] = {
    Step.LISTINGS_REMOVED: _remove_listings,
    Step.REVIEWS_HIDDEN: _hide_reviews,
    Step.MESSAGES_ERASED: _erase_messages,
    Step.COMMUNITIES_LEFT: _leave_communities,
    Step.PROXIES_REVOKED: _revoke_proxies,
    Step.IDENTITY_DELETED: _delete_identity,
}


def _receipt(member: Member) -> Receipt:
    assert member.erased_at is not None
    found = ledger_repository.get_transfer(forfeit_id(member.member_id))
    forfeited = found[0].request.amount if found else 0
    return Receipt(
        member.member_id,
        member.erased_at,
        forfeited,
        forfeit_id(member.member_id) if found else None,
        identity_provider.cognito_pool(settings().oidc_issuer) is not None,
    )

"""Members talking directly: about a listing, or inside an exchange."""

from __future__ import annotations

import uuid

from chalicelib import clock, errors
from chalicelib.adapters.dynamodb import conversation_repository as repository
from chalicelib.adapters.dynamodb import listing_repository, store
from chalicelib.adapters.dynamodb.unit_of_work import Rejected, UnitOfWork
from chalicelib.domain.conversations import (
    Conversation,
    InboxEntry,
    Message,
    about_listing,
    check_participant,
)


def new_message(sender_id: str, body: str) -> Message:
    return Message(uuid.uuid4().hex, sender_id, body, clock.now_iso())


def add_new(uow: UnitOfWork, conversation: Conversation, first: Message | None) -> None:
    repository.add_conversation(uow, conversation, first)


def message_listing_owner(member_id: str, listing_id: str, body: str) -> tuple[Conversation, Message]:
    store.ready()
    listing = listing_repository.get(listing_id)
    if listing is None or not listing.visible:
        raise errors.not_found("The listing")
    if listing.owner_id == member_id:
        raise errors.unprocessable("This is your own listing.", "own-listing")
    conversation_id = about_listing(listing_id, member_id)
    existing = repository.get(conversation_id)
    if existing is not None:
        return existing, post_message(member_id, conversation_id, body)
    conversation = Conversation(
        conversation_id, f"listing:{listing_id}", frozenset({member_id, listing.owner_id}), clock.now_iso()
    )
    message = new_message(member_id, body)
    uow = UnitOfWork()
    add_new(uow, conversation, message)
    try:
        uow.commit()
    except Rejected:  # started by a concurrent message: add to it
        return conversation, post_message(member_id, conversation_id, body)
    return conversation, message


def post_message(member_id: str, conversation_id: str, body: str) -> Message:
    conversation = _participant_of(member_id, conversation_id)
    message = new_message(member_id, body)
    uow = UnitOfWork()
    repository.add_message(uow, conversation, message)
    uow.commit()
    return message


def read_messages(
    member_id: str, conversation_id: str, cursor: str | None, limit: int
) -> tuple[list[Message], str | None]:
    """Newest first; reading marks the conversation read for this member."""
    _participant_of(member_id, conversation_id)
    found = repository.messages(conversation_id, cursor, limit)
    repository.mark_read(conversation_id, member_id)
    return found


def inbox(member_id: str, cursor: str | None, limit: int) -> tuple[list[InboxEntry], str | None]:
    store.ready()
    return repository.inbox(member_id, cursor, limit)


def _participant_of(member_id: str, conversation_id: str) -> Conversation:
    store.ready()
    conversation = repository.get(conversation_id)
    if conversation is None:
        raise errors.not_found("The conversation")
    check_participant(conversation, member_id)
    return conversation

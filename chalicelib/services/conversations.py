"""Members talking directly: about a listing, or inside an exchange."""

from __future__ import annotations

import uuid

from chalicelib import clock, errors
from chalicelib.adapters.dynamodb import conversation_repository as repository
from chalicelib.adapters.dynamodb import listing_repository
from chalicelib.adapters.dynamodb.unit_of_work import UnitOfWork, already_done
from chalicelib.domain.conversations import (
    Conversation,
    InboxEntry,
    Message,
    about_listing,
    check_participant,
)
from chalicelib.services import transaction


def new_message(sender_id: str, body: str) -> Message:
    return Message(uuid.uuid4().hex, sender_id, body, clock.now_iso())


def add_new(uow: UnitOfWork, conversation: Conversation, first: Message | None) -> None:
    repository.add_conversation(uow, conversation, first)


def add_discussion(uow: UnitOfWork, conversation_id: str, subject: str, owner_id: str, at: str) -> None:
    """An open discussion (of a proposal): anyone allowed by its subject writes; its owner follows it."""
    add_new(uow, Conversation(conversation_id, subject, frozenset({owner_id}), at), None)


def post_to_discussion(member_id: str, conversation_id: str, body: str) -> Message:
    conversation = repository.get(conversation_id)
    if conversation is None:
        raise errors.NotFound("not-found.discussion")
    message = new_message(member_id, body)
    transaction.run(lambda uow: repository.add_message(uow, conversation, message))
    return message


def discussion(conversation_id: str, cursor: str | None, limit: int) -> tuple[list[Message], str | None]:
    return repository.messages(conversation_id, cursor, limit)


def message_listing_owner(member_id: str, listing_id: str, body: str) -> tuple[Conversation, Message]:
    """The first message starts the member's conversation about the listing; later ones add to it."""
    listing = listing_repository.get(listing_id)
    if listing is None or not listing.visible:
        raise errors.NotFound("not-found.listing")
    if listing.owner_id == member_id:
        raise errors.Unprocessable("conversations.own-listing", code="own-listing")
    conversation_id = about_listing(listing_id, member_id)

    def build(uow: UnitOfWork) -> tuple[Conversation, Message]:
        message = new_message(member_id, body)
        existing = repository.get(conversation_id)
        if existing is not None:
            repository.add_message(uow, existing, message)
            return existing, message
        conversation = Conversation(
            conversation_id, f"listing:{listing_id}", frozenset({member_id, listing.owner_id}), message.at
        )
        add_new(uow, conversation, message)  # refused if a concurrent first message started it: add to that one
        return conversation, message

    return transaction.run(build)


def post_message(member_id: str, conversation_id: str, body: str) -> Message:
    conversation = _participant_of(member_id, conversation_id)
    message = new_message(member_id, body)
    transaction.run(lambda uow: repository.add_message(uow, conversation, message))
    return message


def read_messages(
    member_id: str, conversation_id: str, cursor: str | None, limit: int
) -> tuple[list[Message], str | None]:
    """Newest first. Reading marks what the member had unread as read: nothing is written when
    nothing was (the member's inbox entry, read first, also says whether they take part)."""
    unread = repository.unread_of(conversation_id, member_id)
    if unread is None:
        raise errors.NotFound("not-found.conversation")
    found = repository.messages(conversation_id, cursor, limit)
    if unread:
        transaction.run(
            lambda uow: repository.add_read_mark(uow, conversation_id, member_id, unread, refused=already_done())
        )
    return found


def inbox(member_id: str, cursor: str | None, limit: int) -> tuple[list[InboxEntry], str | None]:
    return repository.inbox(member_id, cursor, limit)


def _participant_of(member_id: str, conversation_id: str) -> Conversation:
    conversation = repository.get(conversation_id)
    if conversation is None:
        raise errors.NotFound("not-found.conversation")
    check_participant(conversation, member_id)
    return conversation

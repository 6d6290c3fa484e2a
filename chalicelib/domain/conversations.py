"""Direct conversations between members, about a listing or inside an exchange."""

from __future__ import annotations

from msgspec import Struct

from chalicelib import errors


class Conversation(Struct, frozen=True):
    conversation_id: str
    subject: str  # "listing:<id>" or "exchange:<id>"
    participants: frozenset[str]
    created_at: str


class Message(Struct, frozen=True):
    message_id: str
    sender_id: str
    body: str
    at: str


class InboxEntry(Struct, frozen=True):
    conversation_id: str
    subject: str
    unread: int
    last_message_at: str


def about_listing(listing_id: str, member_id: str) -> str:
    """One conversation per listing and interested member."""
    return f"listing-{listing_id}-{member_id}"


def about_exchange(exchange_id: str) -> str:
    return f"exchange-{exchange_id}"


def about_proposal(proposal_id: str) -> str:
    """A proposal's discussion: every cooperator writes and every member reads; its author is the one
    participant whose inbox shows it."""
    return f"proposal-{proposal_id}"


def check_participant(conversation: Conversation, member_id: str) -> None:
    """Only participants read a conversation; to anyone else it does not exist."""
    if member_id not in conversation.participants:
        raise errors.NotFound("not-found.conversation")

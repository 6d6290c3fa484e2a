"""Direct conversations between members, about a listing or inside an exchange."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib import errors


@dataclass(frozen=True)
class Conversation:
    conversation_id: str
    subject: str  # "listing:<id>" or "exchange:<id>"
    participants: frozenset[str]
    created_at: str


@dataclass(frozen=True)
class Message:
    message_id: str
    sender_id: str
    body: str
    at: str


@dataclass(frozen=True)
class InboxEntry:
    conversation_id: str
    subject: str
    unread: int
    last_message_at: str


def about_listing(listing_id: str, member_id: str) -> str:
    """One conversation per listing and interested member."""
    return f"listing-{listing_id}-{member_id}"


def about_exchange(exchange_id: str) -> str:
    return f"exchange-{exchange_id}"


def check_participant(conversation: Conversation, member_id: str) -> None:
    """Only participants read a conversation; to anyone else it does not exist."""
    if member_id not in conversation.participants:
        raise errors.not_found("The conversation")

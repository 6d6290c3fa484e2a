"""Conversations: messages in the conversation's partition, and one inbox entry per participant."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.dynamodb import keys, pages
from chalicelib.adapters.dynamodb.models import ConversationItem, MessageItem, ParticipantItem
from chalicelib.adapters.dynamodb.unit_of_work import Refusal, UnitOfWork
from chalicelib.domain.conversations import Conversation, InboxEntry, Message


def add_conversation(uow: UnitOfWork, conversation: Conversation, first: Message | None) -> None:
    """The conversation, its first message if any, and one inbox entry per member (refused when the
    conversation exists already). One transaction writes an item once, so the entries are written as
    they are after the first message."""
    latest = first.at if first else conversation.created_at
    if first is not None:
        _put_message(uow, conversation, first)
    uow.put(
        ConversationItem(
            keys.conversation_pk(conversation.conversation_id),
            keys.CONVERSATION_SK,
            conversation_id=conversation.conversation_id,
            subject=conversation.subject,
            participants=set(conversation.participants),
            created_at=conversation.created_at,
        ),
        condition=ConversationItem.PK.does_not_exist(),
    )
    for member_id in conversation.participants:
        uow.put(
            ParticipantItem(
                keys.conversation_pk(conversation.conversation_id),
                keys.participant_sk(member_id),
                GSI1PK=keys.member_conversations_pk(member_id),
                GSI1SK=keys.newest_sk(latest, conversation.conversation_id),
                conversation_id=conversation.conversation_id,
                member_id=member_id,
                unread=1 if first and first.sender_id != member_id else 0,
                last_message_at=latest,
                subject=conversation.subject,
            ),
        )


def add_message(uow: UnitOfWork, conversation: Conversation, message: Message) -> None:
    """The message, and every participant's inbox entry moved to the top (unread for the others)."""
    _put_message(uow, conversation, message)
    for member_id in conversation.participants:
        actions: list[Any] = [
            ParticipantItem.last_message_at.set(message.at),
            ParticipantItem.GSI1SK.set(keys.newest_sk(message.at, conversation.conversation_id)),
        ]
        if member_id != message.sender_id:
            actions.append(ParticipantItem.unread.add(1))
        uow.update(
            ParticipantItem(keys.conversation_pk(conversation.conversation_id), keys.participant_sk(member_id)),
            actions,
        )


def _put_message(uow: UnitOfWork, conversation: Conversation, message: Message) -> None:
    uow.put(
        MessageItem(
            keys.conversation_pk(conversation.conversation_id),
            keys.message_sk(message.at, message.message_id),
            sender_id=message.sender_id,
            body=message.body,
            at=message.at,
        ),
    )


def get(conversation_id: str) -> Conversation | None:
    try:
        item = ConversationItem.get(keys.conversation_pk(conversation_id), keys.CONVERSATION_SK, consistent_read=True)
    except ConversationItem.DoesNotExist:
        return None
    return Conversation(item.conversation_id, item.subject, frozenset(item.participants), item.created_at)


def messages(conversation_id: str, cursor: str | None, limit: int) -> tuple[list[Message], str | None]:
    def run(start: dict[str, Any] | None) -> Any:
        return MessageItem.query(
            keys.conversation_pk(conversation_id),
            MessageItem.SK.startswith(keys.MESSAGE_SK_PREFIX),
            scan_index_forward=False,
            limit=limit,
            page_size=limit,
            last_evaluated_key=start,
        )

    def convert(item: MessageItem) -> Message:
        return Message(item.SK.rsplit(keys.SEP, 1)[-1], item.sender_id, item.body, item.at)

    return pages.collect(run, scope=f"messages:{conversation_id}", cursor=cursor, convert=convert)


def unread_of(conversation_id: str, member_id: str) -> int | None:
    """The member's unread messages in the conversation; None when they take no part in it."""
    try:
        found = ParticipantItem.get(
            keys.conversation_pk(conversation_id), keys.participant_sk(member_id), consistent_read=True
        )
    except ParticipantItem.DoesNotExist:
        return None
    return int(found.unread)


def add_read_mark(uow: UnitOfWork, conversation_id: str, member_id: str, seen: int, refused: Refusal) -> None:
    """The `seen` unread messages are read (refused when fewer are unread: a concurrent read counted
    them); one that arrived since stays unread."""
    uow.update(
        ParticipantItem(keys.conversation_pk(conversation_id), keys.participant_sk(member_id)),
        [ParticipantItem.unread.add(-seen)],
        condition=ParticipantItem.unread >= seen,
        refused=refused,
    )


def inbox(member_id: str, cursor: str | None, limit: int) -> tuple[list[InboxEntry], str | None]:
    def run(start: dict[str, Any] | None) -> Any:
        return ParticipantItem.gsi1.query(
            keys.member_conversations_pk(member_id),
            scan_index_forward=False,
            limit=limit,
            page_size=limit,
            last_evaluated_key=start,
        )

    def convert(item: ParticipantItem) -> InboxEntry:
        return InboxEntry(item.conversation_id, item.subject, int(item.unread), item.last_message_at)

    return pages.collect(run, scope=f"inbox:{member_id}", cursor=cursor, convert=convert)

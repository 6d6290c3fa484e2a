"""Conversations: messages in the conversation's partition, and one inbox entry per participant."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.dynamodb import keys, pages, reads
from chalicelib.adapters.dynamodb.mapping import from_item, values_of
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


def add_body_erased(uow: UnitOfWork, conversation_id: str, message: Message) -> None:
    """The message stays (its time, its sender's id), its body goes."""
    uow.update(
        MessageItem(keys.conversation_pk(conversation_id), keys.message_sk(message.at, message.message_id)),
        [MessageItem.body.set("")],
        condition=MessageItem.PK.exists(),
    )


def get(conversation_id: str) -> Conversation | None:
    found = reads.get_item(keys.conversation_pk(conversation_id), keys.CONVERSATION_SK, consistent_read=True)
    return None if found is None else from_item(ConversationItem, found, Conversation)


def messages(conversation_id: str, cursor: str | None, limit: int) -> tuple[list[Message], str | None]:
    def run(start: dict[str, Any] | None) -> Any:
        return reads.query(
            keys.conversation_pk(conversation_id),
            prefix=keys.MESSAGE_SK_PREFIX,
            forward=False,
            limit=limit,
            start=start,
        )

    def convert(item: reads.RawItem) -> Message:
        values = values_of(MessageItem, item)
        return Message(values["SK"].rsplit(keys.SEP, 1)[-1], values["sender_id"], values["body"], values["at"])

    return pages.collect(run, scope=f"messages:{conversation_id}", cursor=cursor, convert=convert)


def unread_of(conversation_id: str, member_id: str) -> int | None:
    """The member's unread messages in the conversation; None when they take no part in it."""
    found = reads.get_item(keys.conversation_pk(conversation_id), keys.participant_sk(member_id), consistent_read=True)
    return None if found is None else int(values_of(ParticipantItem, found)["unread"])


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
        return reads.query(
            keys.member_conversations_pk(member_id), index=ParticipantItem.gsi1, forward=False, limit=limit, start=start
        )

    def convert(item: reads.RawItem) -> InboxEntry:
        return from_item(ParticipantItem, item, InboxEntry)

    return pages.collect(run, scope=f"inbox:{member_id}", cursor=cursor, convert=convert)

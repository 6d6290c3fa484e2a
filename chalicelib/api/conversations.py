"""Routes of conversations between members."""

from __future__ import annotations

from chalicelib.api.http import Call, Router
from chalicelib.api.schemas import ConversationStarted, InboxEntryOut, MessageOut, NewMessage, Page, PageQuery
from chalicelib.domain.conversations import Message
from chalicelib.services import conversations

router = Router("conversations")


def message_out(message: Message) -> MessageOut:
    return MessageOut(message.message_id, message.sender_id, message.body, message.at)


@router.route(
    "POST",
    "/listings/{listing_id}/messages",
    summary="Write to a listing's owner (one conversation per listing)",
    description="Writing about your own listing is a 422 `own-listing`.",
    tag="conversations",
    body=NewMessage,
    response=ConversationStarted,
    status=201,
    problems=(404, 422),
    limit="messages",
)
def message_listing_owner(call: Call[NewMessage, None]) -> ConversationStarted:
    conversation, message = conversations.message_listing_owner(
        call.member.member_id, call.params["listing_id"], call.body.body
    )
    return ConversationStarted(conversation.conversation_id, message_out(message))


@router.route(
    "GET",
    "/me/conversations",
    summary="Your conversations, latest activity first, with unread counts",
    tag="conversations",
    query=PageQuery,
    response=Page[InboxEntryOut],
    problems=(400,),
)
def inbox(call: Call[None, PageQuery]) -> Page[InboxEntryOut]:
    found, cursor = conversations.inbox(call.member.member_id, call.query.cursor, call.query.limit)
    return Page([InboxEntryOut(e.conversation_id, e.subject, e.unread, e.last_message_at) for e in found], cursor)


@router.route(
    "GET",
    "/conversations/{conversation_id}/messages",
    summary="Messages, newest first (marks them read)",
    tag="conversations",
    query=PageQuery,
    response=Page[MessageOut],
    problems=(400, 404),
)
def read_messages(call: Call[None, PageQuery]) -> Page[MessageOut]:
    found, cursor = conversations.read_messages(
        call.member.member_id, call.params["conversation_id"], call.query.cursor, call.query.limit
    )
    return Page([message_out(m) for m in found], cursor)


@router.route(
    "POST",
    "/conversations/{conversation_id}/messages",
    summary="Write in a conversation you take part in",
    tag="conversations",
    body=NewMessage,
    response=MessageOut,
    status=201,
    problems=(404,),
    limit="messages",
)
def post_message(call: Call[NewMessage, None]) -> MessageOut:
    return message_out(
        conversations.post_message(call.member.member_id, call.params["conversation_id"], call.body.body)
    )

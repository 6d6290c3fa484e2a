"""A member's export of everything the platform holds about them, split into parts that each fit a
Lambda response."""

from __future__ import annotations

from typing import Any

import msgspec

from chalicelib import errors
from chalicelib.api.communities import membership_out
from chalicelib.api.conversations import message_out
from chalicelib.api.exchanges import exchange_out
from chalicelib.api.governance import vote_out
from chalicelib.api.http import Call, Router
from chalicelib.api.listings import listing_out
from chalicelib.api.members import own_profile
from chalicelib.api.missions import claim_out
from chalicelib.api.notifications import notification_out, preferences_out
from chalicelib.api.purchases import purchase_out
from chalicelib.api.reviews import review_out
from chalicelib.api.schemas import (
    ConversationMessageOut,
    CooperatorOut,
    ExportData,
    ExportOut,
    ExportQuery,
    InboxEntryOut,
    ProxyOut,
    PublicReviewOut,
    project,
    project_each,
)
from chalicelib.api.wallet import statement_page, wallet_out
from chalicelib.config import settings
from chalicelib.i18n import Language
from chalicelib.services import export
from chalicelib.services.export import MemberData

router = Router("export")

LISTS = tuple(field.name for field in msgspec.structs.fields(ExportData) if field.default_factory is list)
SINGLES = tuple(field.name for field in msgspec.structs.fields(ExportData) if field.name not in LISTS)


@router.route(
    "GET",
    "/me/export",
    summary="Everything the platform holds about you, as one JSON document (in parts when it is large)",
    description="Your profile, memberships, listings, exchanges, the messages of your conversations, the reviews "
    "you wrote and those published about you, your votes and proxies, mission claims, purchases, wallet, "
    "statement, notifications and their preferences. A part stays under the deployment's "
    "`PWIIC_EXPORT_PART_BYTES`; `parts` says how many there are (each request gathers the "
    "export again: ask for the parts in a row). A part beyond the last is a 404.",
    tag="members",
    query=ExportQuery,
    response=ExportOut,
    problems=(404,),
)
def get_export(call: Call[None, ExportQuery]) -> ExportOut:
    found = export.gather(call.member.member_id)
    parts = split(export_data(found, call.language), settings().export_part_bytes)
    if call.query.part > len(parts):
        raise errors.NotFound("not-found.export-part", params={"part": call.query.part, "parts": len(parts)})
    return ExportOut(
        found.member.member_id, found.generated_at, call.query.part, len(parts), parts[call.query.part - 1]
    )


def export_data(found: MemberData, language: Language) -> ExportData:
    return ExportData(
        profile=own_profile(found.member),
        wallet=wallet_out(found.wallet),
        cooperator=project(found.cooperator, CooperatorOut) if found.cooperator else None,
        memberships=[membership_out(membership) for membership in found.memberships],
        listings=[listing_out(listing) for listing in found.listings],
        exchanges=[exchange_out(exchange) for exchange in found.exchanges],
        conversations=[
            InboxEntryOut(c.entry.conversation_id, c.entry.subject, c.entry.unread, c.entry.last_message_at)
            for c in found.conversations
        ],
        messages=[
            ConversationMessageOut(c.entry.conversation_id, message_out(message))
            for c in found.conversations
            for message in c.messages
        ],
        reviews_written=[review_out(review) for review in found.reviews_written],
        reviews_received=project_each(found.reviews_received, PublicReviewOut),
        proxies_given=project_each(found.proxies_given, ProxyOut),
        proxies_held=project_each(found.proxies_held, ProxyOut),
        votes=[vote_out(entry) for entry in found.votes],
        mission_claims=[claim_out(claim) for claim in found.mission_claims],
        purchases=[purchase_out(purchase) for purchase in found.purchases],
        statement=statement_page(found.statement, found.names, None).items,
        notification_preferences=preferences_out(found.inbox.preferences),
        notifications=[
            notification_out(stored, stored.read(found.inbox.until), language) for stored in found.notifications
        ],
    )


def split(data: ExportData, limit: int) -> list[ExportData]:
    """The first part carries the single documents; then each list's records in order, a new part
    starting where the next record would take this one past `limit` bytes of JSON. A record larger than
    `limit` gets a part of its own."""
    parts: list[dict[str, Any]] = [{name: getattr(data, name) for name in SINGLES}]
    size = len(msgspec.json.encode(parts[0]))
    for name in LISTS:
        for record in getattr(data, name):
            record_size = len(msgspec.json.encode(record)) + 1
            if size + record_size > limit and size:
                parts.append({})
                size = 0
            parts[-1].setdefault(name, []).append(record)
            size += record_size
    return [ExportData(**part) for part in parts]

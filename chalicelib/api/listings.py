"""Routes of listings: publishing, browsing, reporting and moderating."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from chalicelib import clock
from chalicelib.api.http import Call, Router
from chalicelib.api.schemas import (
    CategoryOut,
    FeatureIn,
    ListingChanges,
    ListingOut,
    ListingReportOut,
    ListingSearch,
    NewListing,
    Page,
    PageQuery,
    Reason,
    ReviewSummaryOut,
    project,
    project_each,
)
from chalicelib.domain.listings import CATEGORIES, Kind, Listing, ListingDraft, Mode, Status
from chalicelib.i18n import labelled
from chalicelib.services import listings

router = Router("listings")

RULES = (
    "A listing keeps the rules across its fields (each a 422 naming the field): `price`, none for a `gift`, "
    "some for `credits` and `credits_swap`; `deposit`, some for a `loan`, none otherwise; `mode`, a `loan` "
    "lends an object (goods, pooled) and is an offer, a pooled object is offered for `credits` per hour; "
    "`seats`, cost sharing (`sharing.*`) is an offer with `seats`, a price per seat and an `event_at`, and "
    "nothing else has `seats` or `event_at`; `category`, one of the taxonomy's."
)
FEES = (
    "Publishing may cost credits (GET /fees; GET /fees/quote): each month's first listings are free up to the "
    "quota, then each pays the `publish_listing` fee; a professional listing (`pro.*`) pays the "
    "`publish_professional_listing` fee. Paid in the same transaction as the publication: 409 "
    "`insufficient-funds` (with `needed` and the credit packs), or 409 `fee-changed` (with the new `price`) when "
    "`expected_fee` is no longer the price."
)


def listing_out(listing: Listing) -> ListingOut:
    return project(listing, ListingOut)


def _tags(tags: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(tag.lower() for tag in tags))


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else clock.iso(moment)


def _same(value: Any) -> Any:
    return value


def listing_page(found: listings.ListingPage) -> Page[ListingOut]:
    owners = {owner_id: project(summary, ReviewSummaryOut) for owner_id, summary in found.owners.items()}
    shown = project_each(found.listings, ListingOut)
    for out in shown:
        out.owner_reviews = owners[out.owner_id]
    return Page(shown, found.next_cursor)


@router.route(
    "GET",
    "/categories",
    summary="The taxonomy's categories, with their label in your language and in each language",
    description="The label follows your `locale` (the token's claim), else `Accept-Language` (French or English), "
    "else English.",
    tag="listings",
    access="public",
    response=list[CategoryOut],
)
def list_categories(call: Call[None, None]) -> list[CategoryOut]:
    return [
        CategoryOut(category, family.value, *labelled(f"category.{category}", call.language))
        for category, family in CATEGORIES.items()
    ]


@router.route(
    "POST",
    "/listings",
    summary="Publish an offer or a request in one of your communities",
    description=f"{RULES} `community_id` must be one of your communities. A `draft` shows to you alone. {FEES}",
    tag="listings",
    body=NewListing,
    response=ListingOut,
    status=201,
    problems=(409, 422),
    limit="listings",
)
def create_listing(call: Call[NewListing, None]) -> ListingOut:
    body = call.body
    draft = ListingDraft(
        kind=Kind(body.kind),
        category=body.category,
        mode=Mode(body.mode),
        title=body.title,
        description=body.description,
        community_id=body.community_id,
        status=Status(body.status),
        price=body.price,
        deposit=body.deposit,
        tags=_tags(body.tags),
        location=body.location,
        seats=body.seats,
        event_at=_iso(body.event_at),
    )
    return listing_out(listings.create_listing(call.member.member_id, draft, body.expected_fee))


@router.route(
    "GET",
    "/listings",
    summary="Browse or search listings: by community (newest first, optionally by category, kind, "
    "mode, tag or keywords), near a geohash (optionally by keywords), or by owner",
    description="Give exactly one way in: `community`, `near` or `owner` (none or several: a 422). Only a "
    "`community` is narrowed, by at most one of `category`, `kind`, `mode` or `tag`. Others see visible "
    "listings only; an owner browsing their own listings sees them all. With `q`, a keyword search in the "
    "`community` or `near` the place: the words of titles, tags and category labels (French and English), "
    "accents and case ignored, plurals folded, the last word as a prefix while it is typed; listings holding "
    "every word first, then fewer, newest first; at most the 100 newest per word (per area cell `near`) are "
    "ranked. A `q` without a word of two letters is a 422.",
    tag="listings",
    query=ListingSearch,
    response=Page[ListingOut],
    problems=(400,),
)
def browse_listings(call: Call[None, ListingSearch]) -> Page[ListingOut]:
    query = call.query
    if query.q is not None:
        found = listings.search(
            query.q,
            community=query.community,
            near=query.near,
            narrowing=query.narrowing(),
            cursor=query.cursor,
            limit=query.limit,
        )
        return listing_page(found)
    if query.near is not None:
        return listing_page(listings.browse_near(query.near, query.cursor, query.limit))
    if query.owner is not None:
        return listing_page(listings.by_owner(call.member.member_id, query.owner, query.cursor, query.limit))
    assert query.community is not None, "the query schema requires one way to browse"
    facet: tuple[str, ...] = ("community", query.community)
    narrowing = query.narrowing()
    if narrowing is not None:
        name, value = narrowing
        facet = (name, query.community, value.lower() if name == "tag" else value)
    return listing_page(listings.browse(facet, query.cursor, query.limit))


@router.route(
    "GET",
    "/listings/{listing_id}",
    summary="One listing",
    description="Anyone sees an active listing that is not hidden. Its owner sees it whatever its state; "
    "the ambassadors of its community and operators also see it hidden, paused or closed. A draft shows to "
    "its owner alone: to anyone else, as any listing they may not see, it is a 404.",
    tag="listings",
    response=ListingOut,
    problems=(404,),
)
def get_listing(call: Call[None, None]) -> ListingOut:
    return listing_out(listings.get_listing(call.member, call.params["listing_id"]))


@router.route(
    "PATCH",
    "/listings/{listing_id}",
    summary="Change your listing (status: draft, active, paused, closed)",
    description=f"Only the owner changes a listing (403); a closed listing no longer changes (409). {RULES} "
    f"A draft made `active` for the first time is published: {FEES}",
    tag="listings",
    body=ListingChanges,
    response=ListingOut,
    problems=(403, 404, 409),
)
def update_listing(call: Call[ListingChanges, None]) -> ListingOut:
    converters: dict[str, Callable[[Any], Any]] = {"status": Status, "tags": _tags, "event_at": _iso}
    changes = {name: converters.get(name, _same)(value) for name, value in call.body.changes().items()}
    listing_id = call.params["listing_id"]
    return listing_out(listings.update_listing(call.member, listing_id, changes, call.body.expected_fee))


@router.route(
    "POST",
    "/listings/{listing_id}/feature",
    summary="Feature your listing: first in its community's browsing for the schedule's `feature_days`",
    description="Adds the days to a featuring still running. Only the owner (403), an active listing that is not "
    "hidden (409 `listing-not-visible`). The `feature_listing` fee is paid in the same transaction: 409 "
    "`insufficient-funds` (with `needed` and the credit packs), or 409 `fee-changed` (with the new `price`) when "
    "`expected_fee` is no longer the price.",
    tag="listings",
    body=FeatureIn,
    response=ListingOut,
    problems=(403, 404, 409),
)
def feature_listing(call: Call[FeatureIn, None]) -> ListingOut:
    return listing_out(listings.feature(call.member, call.params["listing_id"], call.body.expected_fee))


@router.route(
    "POST",
    "/listings/{listing_id}/report",
    summary="Report a listing to the community's moderators",
    tag="listings",
    body=Reason,
    status=204,
    problems=(404,),
    limit="reports",
)
def report_listing(call: Call[Reason, None]) -> None:
    listings.report_listing(call.member.member_id, call.params["listing_id"], call.body.reason)


@router.route(
    "POST",
    "/listings/{listing_id}/hide",
    summary="Hide a listing (the community's ambassadors, operators)",
    tag="moderation",
    body=Reason,
    response=ListingOut,
    problems=(403, 404),
)
def hide_listing(call: Call[Reason, None]) -> ListingOut:
    return listing_out(listings.set_hidden(call.member, call.params["listing_id"], True, call.body.reason))


@router.route(
    "POST",
    "/listings/{listing_id}/unhide",
    summary="Show a hidden listing again (ambassadors, operators)",
    tag="moderation",
    body=Reason,
    response=ListingOut,
    problems=(403, 404),
)
def unhide_listing(call: Call[Reason, None]) -> ListingOut:
    return listing_out(listings.set_hidden(call.member, call.params["listing_id"], False, call.body.reason))


@router.route(
    "GET",
    "/communities/{community_id}/reports",
    summary="The community's moderation queue (ambassadors, operators)",
    tag="moderation",
    query=PageQuery,
    response=Page[ListingReportOut],
    problems=(403,),
)
def list_reports(call: Call[None, PageQuery]) -> Page[ListingReportOut]:
    found, cursor = listings.reports_queue(
        call.member, call.params["community_id"], call.query.cursor, call.query.limit
    )
    return Page([ListingReportOut(r.listing_id, r.reporter_id, r.reason, r.at) for r in found], cursor)

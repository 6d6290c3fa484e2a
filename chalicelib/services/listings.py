"""Listing use cases: publishing, editing, browsing, reporting and moderating."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any, NamedTuple

from msgspec.structs import replace

from chalicelib import clock, errors
from chalicelib.adapters.dynamodb import community_repository, listing_repository, pages
from chalicelib.adapters.dynamodb.unit_of_work import AlreadyDone, UnitOfWork
from chalicelib.auth import Principal
from chalicelib.domain import search as keywords
from chalicelib.domain.audit import AuditAction
from chalicelib.domain.economy import ContributionKind, RewardRule, featured_until
from chalicelib.domain.geo import neighbourhood
from chalicelib.domain.listings import (
    GEO_INDEX_PRECISION,
    Listing,
    ListingDraft,
    ListingReport,
    Status,
    check_listing,
    narrowed,
    new_listing,
    ranked,
)
from chalicelib.domain.reviews import Summary
from chalicelib.errors import FieldError
from chalicelib.services import audit, auto_rewards, communities, fees, reviews, transaction, value_sharing


def create_listing(owner_id: str, draft: ListingDraft, expected_fee: int | None = None) -> Listing:
    """A listing, published at once (its fee, if any, paid in the same unit of work) or as a draft."""
    now = clock.now_iso()
    listing = new_listing(draft, uuid.uuid4().hex, owner_id, now)
    check_listing(listing)
    if community_repository.get_membership(listing.community_id, owner_id) is None:
        raise errors.Invalid([errors.FieldError("community_id", "listings.join-community-before-publishing")])
    if listing.status is Status.ACTIVE:
        listing = replace(listing, published_at=now)

    def build(uow: UnitOfWork) -> Listing:
        if uow.attempt and listing_repository.get(listing.listing_id) is not None:
            raise AlreadyDone(listing)  # an earlier try committed and its answer was lost: published once
        listing_repository.add_new(uow, listing)
        if listing.published_at is not None:
            fees.add_publication_fee(uow, listing, expected_fee)
        return listing

    created = transaction.run(build)
    if created.published_at is not None:
        auto_rewards.grant(RewardRule.FIRST_LISTING, owner_id, "first")
    return created


def get_listing(viewer: Principal, listing_id: str) -> Listing:
    """Others see visible listings; moderators (the community's ambassadors, operators) also see its hidden,
    paused and closed ones; a draft exists only for its owner."""
    return _seen_by(viewer, _load(listing_id))


def _seen_by(viewer: Principal, listing: Listing) -> Listing:
    """The listing as `viewer` may know it: one they may not see is as unknown as a missing one."""
    if listing.visible or viewer.member_id == listing.owner_id:
        return listing
    if listing.status is Status.DRAFT or not _moderates(viewer, listing):
        raise errors.NotFound("not-found.listing")
    return listing


def update_listing(
    owner: Principal, listing_id: str, changes: dict[str, object], expected_fee: int | None = None
) -> Listing:
    """The owner's changes, applied to the version read (again to the newer one if it changed meanwhile);
    a draft's first publication pays its fee, if any, in the same unit of work. Changes that change
    nothing write nothing: the listing is answered as it is."""

    def build(uow: UnitOfWork) -> Listing:
        before = _seen_by(owner, _load(listing_id))
        if before.owner_id != owner.member_id:
            raise errors.Forbidden("listings.only-listing-owner-edits")
        if before.status is Status.CLOSED:
            raise errors.IllegalTransition("listings.closed-listing-cannot-change", state="closed")
        if replace(before, **changes) == before:
            return before
        after = replace(before, version=before.version + 1, **changes)
        check_listing(after)
        first_publication = after.status is Status.ACTIVE and before.status is Status.DRAFT and not before.published_at
        if first_publication:
            after = replace(after, published_at=clock.now_iso())
        listing_repository.add_replacement(uow, before, after)
        if first_publication:
            fees.add_publication_fee(uow, after, expected_fee)
        return after

    return transaction.run(build, keeps_changing=_keeps_changing())


def feature(owner: Principal, listing_id: str, expected_fee: int | None) -> Listing:
    """The owner puts an active listing first in its community's browsing for the schedule's days
    (added to a running period), paying the fee in the same unit of work."""

    def build(uow: UnitOfWork) -> Listing:
        before = _seen_by(owner, _load(listing_id))
        if before.owner_id != owner.member_id:
            raise errors.Forbidden("listings.only-listing-owner-features")
        if not before.visible:
            raise errors.Conflict("listings.only-active-visible-listing", code="listing-not-visible")
        until = featured_until(fees.current(), before.featured_until, clock.now())
        after = replace(before, featured_until=until, version=before.version + 1)
        listing_repository.add_replacement(uow, before, after)
        fees.add_feature_fee(uow, after, expected_fee)
        return after

    return transaction.run(build, keeps_changing=_keeps_changing())


def end_featuring(limit: int = 100) -> int:
    """Scheduled: listings whose featuring has ended go back to their place in browsing."""
    ended = 0
    for listing in listing_repository.featuring_ended(clock.now_iso(), limit):

        def build(uow: UnitOfWork, listing_id: str = listing.listing_id) -> bool:
            before = _load(listing_id)
            if before.featured(clock.now_iso()):
                return False  # featured again meanwhile
            listing_repository.add_replacement(uow, before, replace(before, version=before.version + 1))
            return True

        try:
            ended += transaction.run(build)
        except errors.AppError:
            continue  # busy: the next run looks again
    return ended


def set_hidden(moderator: Principal, listing_id: str, hidden: bool, reason: str) -> Listing:
    """Ambassadors of the listing's community and operators hide or show listings; either clears its
    reports from the queue, and the decision lands in the audit log."""

    def build(uow: UnitOfWork) -> Listing:
        before = _seen_by(moderator, _load(listing_id))  # a draft is its owner's alone
        if not _moderates(moderator, before):
            raise errors.Forbidden("listings.moderated-by-ambassadors")
        after = replace(before, hidden=hidden, version=before.version + 1)
        listing_repository.add_replacement(uow, before, after)
        listing_repository.add_reports_cleared(uow, before)
        action = AuditAction.HIDE_LISTING if hidden else AuditAction.UNHIDE_LISTING
        audit.record(uow, moderator.member_id, action, listing_id, reason)
        value_sharing.add_contribution(uow, moderator.member_id, ContributionKind.MODERATION_DECISION)
        return after

    return transaction.run(build, keeps_changing=_keeps_changing())


def _keeps_changing() -> errors.Conflict:
    return errors.Conflict("listings.listing-keeps-changing-retry", code="listing-changed")


def report_listing(reporter_id: str, listing_id: str, reason: str) -> None:
    listing = _load(listing_id)
    if not listing.visible:
        raise errors.NotFound("not-found.listing")
    transaction.run(lambda uow: listing_repository.add_report(uow, listing, reporter_id, reason, clock.now_iso()))


def reports_queue(
    moderator: Principal, community_id: str, cursor: str | None, limit: int
) -> tuple[list[ListingReport], str | None]:
    if not communities.moderates(moderator, community_id):
        raise errors.Forbidden("moderation.reports-for-moderators")
    return listing_repository.reports(community_id, cursor, limit)


class ListingPage(NamedTuple):
    """A page of listings, with the reputation summary of each owner on it."""

    listings: list[Listing]
    next_cursor: str | None
    owners: dict[str, Summary]


def _with_owners(listings: list[Listing], next_cursor: str | None) -> ListingPage:
    return ListingPage(listings, next_cursor, reviews.summaries({listing.owner_id for listing in listings}))


def browse(facet: tuple[str, ...], cursor: str | None, limit: int) -> ListingPage:
    return _with_owners(*listing_repository.browse(facet, cursor, limit))


def browse_near(cell: str, cursor: str | None, limit: int) -> ListingPage:
    """The cell's area and its eight neighbours, newest first."""
    cells = {near[:GEO_INDEX_PRECISION] for near in neighbourhood(cell[:GEO_INDEX_PRECISION])}
    fetch = partial(listing_repository.browse_cells, cells)
    found, next_cursor = pages.newest_page(fetch, scope=f"listings-near:{cell}", cursor=cursor, limit=limit)
    return _with_owners(
        [listing for listing in found if listing.location and _close(listing.location, cell)], next_cursor
    )


def search(
    typed: str,
    *,
    community: str | None,
    near: str | None,
    narrowing: tuple[str, str] | None,
    cursor: str | None,
    limit: int,
) -> ListingPage:
    """Listings by keywords, in a community (one Query per word) or near a cell (one Query per cell of the
    area, for the most selective word); ranked by the words they hold, then newest first."""
    terms = keywords.parse(typed)
    if terms is None:
        raise errors.Invalid([FieldError("q", "listings.type-least-one-word")])
    if near is not None:
        area = {cell[:GEO_INDEX_PRECISION] for cell in neighbourhood(near[:GEO_INDEX_PRECISION])}
        found = listing_repository.by_words([("area-words", cell) for cell in area], [terms.most_selective()])
        found = [entry for entry in found if entry.location and _close(entry.location, near)]
    else:
        assert community is not None, "a keyword search is in a community or near a place"
        found = listing_repository.by_words([("words", community)], terms.lookups())
    results = ranked((entry for entry in found if narrowed(entry, narrowing)), terms)
    scope = f"listings-search:{community}:{near}:{narrowing}:{terms}"
    page, next_cursor = pages.offset_page(results, scope=scope, cursor=cursor, limit=limit)
    return _with_owners(listing_repository.shown([entry.listing_id for entry in page]), next_cursor)


def index_keywords(start: dict[str, Any] | None, limit: int) -> tuple[int, dict[str, Any] | None]:
    """Writes the keyword entries of the visible listings of one page of the table (listings published
    before keyword search, or entries to repair); returns how many listings and where the next page starts."""
    found, next_start = listing_repository.scan_listings(start, limit)
    return sum(index_listing_keywords(listing.listing_id) for listing in found), next_start


def index_listing_keywords(listing_id: str) -> bool:
    """Writes a listing's keyword entries again, if it is visible (whether it was)."""

    def build(uow: UnitOfWork) -> bool:
        listing = _load(listing_id)
        if listing.visible:
            listing_repository.add_keyword_entries(uow, listing)
        return listing.visible

    return transaction.run(build, keeps_changing=_keeps_changing())


def _close(location: str, cell: str) -> bool:
    precision = min(len(location), len(cell))
    return location[:precision] in {near[:precision] for near in neighbourhood(cell[:precision])}


def by_owner(viewer_id: str, owner_id: str, cursor: str | None, limit: int) -> ListingPage:
    return _with_owners(*listing_repository.by_owner(owner_id, viewer_id != owner_id, cursor, limit))


def _load(listing_id: str) -> Listing:
    listing = listing_repository.get(listing_id)
    if listing is None:
        raise errors.NotFound("not-found.listing")
    return listing


def _moderates(member: Principal, listing: Listing) -> bool:
    return communities.moderates(member, listing.community_id)

"""Listings: what members offer or ask for, and the rules that keep them coherent and visible."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

import msgspec
from msgspec import Struct

from chalicelib import errors
from chalicelib.domain.search import SearchTerms, listing_words
from chalicelib.errors import FieldError


class Kind(StrEnum):
    OFFER = "offer"
    REQUEST = "request"


class Family(StrEnum):
    GOODS = "goods"
    PEER_SERVICE = "peer_service"
    PRO_SERVICE = "pro_service"
    KNOWLEDGE = "knowledge"
    COST_SHARING = "cost_sharing"  # seats, a price per seat, an event date
    POOLED = "pooled"  # an object owned together, booked by the hour


CATEGORIES: dict[str, Family] = {
    "goods.toys": Family.GOODS,
    "goods.clothes": Family.GOODS,
    "goods.tools": Family.GOODS,
    "goods.books": Family.GOODS,
    "goods.instruments": Family.GOODS,
    "goods.other": Family.GOODS,
    "services.babysitting": Family.PEER_SERVICE,
    "services.gardening": Family.PEER_SERVICE,
    "services.homework": Family.PEER_SERVICE,
    "services.music_lessons": Family.PEER_SERVICE,
    "services.other": Family.PEER_SERVICE,
    "pro.crafts": Family.PRO_SERVICE,
    "pro.care": Family.PRO_SERVICE,
    "pro.other": Family.PRO_SERVICE,
    "knowledge.language": Family.KNOWLEDGE,
    "knowledge.cooking": Family.KNOWLEDGE,
    "knowledge.other": Family.KNOWLEDGE,
    "sharing.carpool": Family.COST_SHARING,
    "sharing.garden": Family.COST_SHARING,
    "sharing.meal": Family.COST_SHARING,
    "pooled.vehicle": Family.POOLED,
    "pooled.object": Family.POOLED,
}


class Mode(StrEnum):
    CREDITS = "credits"
    SWAP = "swap"
    CREDITS_SWAP = "credits_swap"
    GIFT = "gift"
    LOAN = "loan"


class Status(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    CLOSED = "closed"


class ListingDraft(Struct, frozen=True):
    """What a member writes when publishing; the platform adds the rest (`Listing`)."""

    kind: Kind
    category: str
    mode: Mode
    title: str
    description: str
    community_id: str
    status: Status
    price: int = 0  # credits; per seat (cost sharing) or per hour (pooled)
    deposit: int = 0  # loans: the replacement cost, held while the object is out
    tags: tuple[str, ...] = ()
    location: str | None = None
    seats: int = 0  # cost sharing
    event_at: str | None = None  # cost sharing: when the trip, meal or garden day happens


class Listing(ListingDraft, frozen=True, kw_only=True):
    listing_id: str
    owner_id: str
    created_at: str
    seats_taken: int = 0
    hidden: bool = False  # by a moderator; the owner still sees it
    version: int = 0
    published_at: str | None = None  # first made active: its publication fee, if any, was paid then
    featured_until: str | None = None  # first in its community's browsing until then (a paid option)

    def featured(self, now: str) -> bool:
        return self.featured_until is not None and self.featured_until > now

    @property
    def family(self) -> Family:
        return CATEGORIES[self.category]

    @property
    def visible(self) -> bool:
        """What others may see and search."""
        return self.status is Status.ACTIVE and not self.hidden


def new_listing(draft: ListingDraft, listing_id: str, owner_id: str, created_at: str) -> Listing:
    return Listing(**msgspec.structs.asdict(draft), listing_id=listing_id, owner_id=owner_id, created_at=created_at)


class ListingReport(Struct, frozen=True):
    listing_id: str
    reporter_id: str
    reason: str
    at: str


def check_listing(listing: Listing) -> None:
    """The rules that span several fields; each field's own type and bounds are the schema's."""
    if listing.category not in CATEGORIES:
        raise errors.Invalid([FieldError("category", "listings.unknown-category")])
    problems: list[FieldError] = []
    family = listing.family
    if listing.mode is Mode.GIFT and listing.price != 0:
        problems.append(FieldError("price", "listings.gift-price"))
    if listing.mode in (Mode.CREDITS, Mode.CREDITS_SWAP) and listing.price <= 0:
        problems.append(FieldError("price", "listings.set-price-credits-mode"))
    if listing.mode is Mode.LOAN:
        if listing.deposit <= 0:
            problems.append(FieldError("deposit", "listings.loan-needs-deposit-object"))
        if family not in (Family.GOODS, Family.POOLED):
            problems.append(FieldError("mode", "listings.only-objects-lent"))
        elif listing.kind is not Kind.OFFER:  # the loan's roles follow the listing: its owner is the lender
            problems.append(FieldError("mode", "listings.only-lender-offers-loan"))
    elif listing.deposit:
        problems.append(FieldError("deposit", "listings.only-loans-carry-deposit"))
    if family is Family.COST_SHARING:
        if listing.seats <= 0 or listing.event_at is None or listing.kind is not Kind.OFFER:
            problems.append(FieldError("seats", "listings.cost-sharing-offer-seats"))
        elif listing.seats < listing.seats_taken:
            problems.append(FieldError("seats", "listings.seats-taken", {"taken": listing.seats_taken}))
    elif listing.seats or listing.event_at:
        problems.append(FieldError("seats", "listings.only-cost-sharing-seats"))
    if family is Family.POOLED and (listing.kind is not Kind.OFFER or listing.mode is not Mode.CREDITS):
        problems.append(FieldError("mode", "listings.pooled-object-offered-credits"))
    if problems:
        raise errors.Invalid(problems)


def facets(listing: Listing) -> dict[str, tuple[str, ...]]:
    """The ways a visible listing is found, each one index key: name -> key parts. Keyword entries share
    their partition (the community's, the area cell's) and sort by their word first (`facet_word`)."""
    if not listing.visible:
        return {}
    community = listing.community_id
    found = {
        "community": ("community", community),
        "category": ("category", community, listing.category),
        "kind": ("kind", community, listing.kind.value),
        "mode": ("mode", community, listing.mode.value),
    }
    found.update({f"tag:{tag}": ("tag", community, tag) for tag in listing.tags})
    found_by = listing_words(listing.title, listing.tags, listing.category)
    found.update({WORD_FACET + word: ("words", community) for word in found_by})
    if listing.location and len(listing.location) >= GEO_INDEX_PRECISION:
        cell = listing.location[:GEO_INDEX_PRECISION]
        found["geo"] = ("geo", cell)
        found.update({AREA_WORD_FACET + word: ("area-words", cell) for word in found_by})
    return found


def facet_word(name: str) -> str | None:
    """The word a keyword entry is found by (its index sort key starts with it); None for other entries."""
    for prefix in (WORD_FACET, AREA_WORD_FACET):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return None


WORD_FACET = "word:"  # keyword entries in the community: one per word the listing is found by
AREA_WORD_FACET = "area-word:"  # and in its area cell, for keyword searches `near` a place
GEO_INDEX_PRECISION = 4  # ~20 km cells: a search looks at the cell and its 8 neighbours


class KeywordEntry(Struct, frozen=True):
    """What a keyword index entry carries: enough to filter and rank a listing, not to show it. An edit that
    leaves it the same (a price, a description) leaves the listing's keyword entries as they are."""

    listing_id: str
    created_at: str
    words: tuple[str, ...]
    category: str
    kind: str
    mode: str
    tags: tuple[str, ...]
    location: str | None


def keyword_entry(listing: Listing) -> KeywordEntry:
    return KeywordEntry(
        listing.listing_id,
        listing.created_at,
        listing_words(listing.title, listing.tags, listing.category),
        listing.category,
        listing.kind.value,
        listing.mode.value,
        listing.tags,
        listing.location,
    )


def narrowed(entry: KeywordEntry, narrowing: tuple[str, str] | None) -> bool:
    """Whether a listing is in a community browse's narrowing: ("category" | "kind" | "mode" | "tag", value)."""
    if narrowing is None:
        return True
    name, value = narrowing
    if name == "tag":
        return value.lower() in entry.tags
    return str(getattr(entry, name)) == value


def ranked(found: Iterable[KeywordEntry], terms: SearchTerms) -> list[KeywordEntry]:
    """The listings holding at least one term: those holding the most first, then the newest."""
    scored = [(terms.matched(entry.words), entry) for entry in found]
    hits = [(score, entry) for score, entry in scored if score]
    hits.sort(key=lambda pair: (pair[0], pair[1].created_at, pair[1].listing_id), reverse=True)
    return [entry for _, entry in hits]

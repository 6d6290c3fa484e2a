"""Listings, their browse entries (facets) and the moderation queue."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from functools import partial
from typing import Any

import msgspec
from msgspec.structs import replace
from pynamodb.expressions.condition import Condition

from chalicelib import clock
from chalicelib.adapters.dynamodb import keys, pages, reads
from chalicelib.adapters.dynamodb.mapping import from_packed, packed, to_attributes
from chalicelib.adapters.dynamodb.models import FacetItem, ListingItem, ListingReportItem
from chalicelib.adapters.dynamodb.unit_of_work import Refusal, UnitOfWork, stale
from chalicelib.domain.listings import (
    KeywordEntry,
    Listing,
    ListingReport,
    Status,
    facet_word,
    facets,
    keyword_entry,
)

# Changed by ADD (a seat taken or given back) without rewriting the copy the item carries: read from their
# own attributes, left at zero in the copy.
_COUNTERS = ("seats_taken", "version")
WORD_CANDIDATES = 100  # a keyword search ranks at most this many listings per word (and per area cell)


def _listing(item: reads.RawItem) -> Listing:
    return from_packed(ListingItem, item, Listing, _COUNTERS)


def _packed(listing: Listing) -> bytes:
    return packed(replace(listing, **dict.fromkeys(_COUNTERS, 0)))


def _summary(listing: Listing) -> str:
    """The copy a browse entry carries: what browsing shows, so neither the version nor the publication
    time, which change without changing what is shown (an edit leaves the entries whose copy is the same)."""
    return msgspec.json.encode(replace(listing, version=0, published_at=None)).decode()


def _keywords(listing: Listing) -> str:
    """The copy a keyword entry carries (KeywordEntry)."""
    return msgspec.json.encode(keyword_entry(listing)).decode()


def _from_summary(item: reads.RawItem) -> Listing:
    """A browse entry's copy of the listing (FacetItem.summary), decoded straight from the raw item."""
    return msgspec.json.decode(item["summary"]["S"], type=Listing)


def _item(listing: Listing) -> ListingItem:
    """Indexed under its owner (GSI2) and, while featured, by the end of its featuring (GSI3)."""
    featured_pk, featured_sk = _featured_keys(listing)
    return ListingItem(
        keys.listing_pk(listing.listing_id),
        keys.LISTING_SK,
        GSI2PK=keys.owner_listings_pk(listing.owner_id),
        GSI2SK=keys.newest_sk(listing.created_at, listing.listing_id),
        GSI3PK=featured_pk,
        GSI3SK=featured_sk,
        packed=_packed(listing),
        **to_attributes(listing),
    )


def _featured_keys(listing: Listing) -> tuple[str | None, str | None]:
    if not listing.featured(clock.now_iso()):
        return None, None
    return keys.FEATURED_DUE_PK, keys.newest_sk(listing.featured_until or "", listing.listing_id)


def _put_facets(uow: UnitOfWork, listing: Listing, names: Iterable[str]) -> None:
    """The browse entries; a featured listing's community entry sorts first while its featuring lasts."""
    found = facets(listing)
    summary, keywords = _summary(listing), _keywords(listing)
    featured = listing.featured_until if listing.featured(clock.now_iso()) else None
    for name in names:
        word = facet_word(name)
        if word is not None:
            sort_key, copy = keys.word_sk(word, listing.created_at, listing.listing_id), keywords
        else:
            copy = summary
            sort_key = keys.browse_sk(listing.created_at, listing.listing_id, featured if name == "community" else None)
        uow.put(
            FacetItem(
                keys.listing_pk(listing.listing_id),
                keys.facet_sk(name),
                GSI1PK=keys.browse_pk(*found[name]),
                GSI1SK=sort_key,
                listing_id=listing.listing_id,
                summary=copy,
            ),
        )


def add_new(uow: UnitOfWork, listing: Listing) -> None:
    uow.put(_item(listing), condition=ListingItem.PK.does_not_exist())
    _put_facets(uow, listing, facets(listing))


def add_replacement(uow: UnitOfWork, before: Listing, after: Listing) -> None:
    """The new version, only over the version that was read, writing only what changed: the listing's
    changed attributes (its copy too, unless only counters changed), and the browse entries whose key or
    copy changed (put whole: an entry is its key and its copy), the others left as they are. A listing
    ever featured has its community entry and its GSI3 keys written again: where they belong depends on
    the time."""
    attributes = ListingItem.get_attributes()
    old_values = to_attributes(before)
    actions = [
        attributes[name].set(list(value) if isinstance(value, tuple) else value)
        if value is not None
        else attributes[name].remove()
        for name, value in to_attributes(after).items()
        if value != old_values[name]
    ]
    copy = _packed(after)
    if copy != _packed(before):
        actions.append(ListingItem.packed.set(copy))
    timed = before.featured_until is not None or after.featured_until is not None
    if timed:
        featured = zip((ListingItem.GSI3PK, ListingItem.GSI3SK), _featured_keys(after), strict=True)
        actions += [key.set(value) if value is not None else key.remove() for key, value in featured]
    ref = ListingItem(keys.listing_pk(after.listing_id), keys.LISTING_SK)
    uow.update(ref, actions, condition=ListingItem.version == before.version)
    old, new = facets(before), facets(after)
    for name in old.keys() - new.keys():
        uow.delete(FacetItem(keys.listing_pk(before.listing_id), keys.facet_sk(name)))
    moved = {name for name, parts in new.items() if old.get(name) != parts or (name == "community" and timed)}
    if _summary(before) != _summary(after):
        moved |= {name for name in new if facet_word(name) is None}
    if _keywords(before) != _keywords(after):
        moved |= {name for name in new if facet_word(name) is not None}
    _put_facets(uow, after, moved)


def featuring_ended(now: str, limit: int) -> list[Listing]:
    """Listings whose featuring has ended: their browse entries go back to their place."""
    found = reads.query(keys.FEATURED_DUE_PK, index=ListingItem.gsi3, up_to=now, limit=limit)
    return [_listing(item) for item in found]


def add_seat_change(uow: UnitOfWork, listing_id: str, delta: int, refused: Refusal = stale) -> None:
    """Taking a seat is refused in the write itself when none is left. The version
    moves too, so an edit read before the change cannot write the old count back."""
    condition: Condition = ListingItem.PK.exists()
    if delta > 0:
        condition &= (ListingItem.seats_taken < ListingItem.seats) & (ListingItem.status == Status.ACTIVE.value)
        condition &= ListingItem.hidden == False  # noqa: E712 - a condition expression
    uow.update(
        ListingItem(keys.listing_pk(listing_id), keys.LISTING_SK),
        [ListingItem.seats_taken.add(delta), ListingItem.version.add(1)],
        condition=condition,
        refused=refused,
    )


def add_keyword_entries(uow: UnitOfWork, listing: Listing) -> None:
    """A visible listing's keyword entries (written again whole), over the version that was read."""
    uow.check(ListingItem, keys.listing_pk(listing.listing_id), keys.LISTING_SK, ListingItem.version == listing.version)
    _put_facets(uow, listing, [name for name in facets(listing) if facet_word(name) is not None])


def scan_listings(start: dict[str, Any] | None, limit: int) -> tuple[list[Listing], dict[str, Any] | None]:
    """One page of a Scan of the whole table (`limit` items read, every one paid for), its listings, and
    where the next page starts (None: the end). For one-off operator jobs, never a request."""
    connection = ListingItem._get_connection()
    found = connection.scan(filter_condition=ListingItem.SK == keys.LISTING_SK, limit=limit, exclusive_start_key=start)  # type: ignore[arg-type]  # a key, typed as str by PynamoDB
    return [_listing(item) for item in found.get("Items", [])], found.get("LastEvaluatedKey")


def add_visible_check(uow: UnitOfWork, listing: Listing) -> None:
    """The listing is still active and not hidden when the exchange is written."""
    uow.check(
        ListingItem,
        keys.listing_pk(listing.listing_id),
        keys.LISTING_SK,
        (ListingItem.status == Status.ACTIVE.value) & (ListingItem.hidden == False),  # noqa: E712
    )


def get(listing_id: str) -> Listing | None:
    found = reads.get_item(keys.listing_pk(listing_id), keys.LISTING_SK, consistent_read=True)
    return None if found is None else _listing(found)


def browse(facet: tuple[str, ...], cursor: str | None, limit: int) -> tuple[list[Listing], str | None]:
    def run(start: dict[str, Any] | None) -> Any:
        return reads.query(keys.browse_pk(*facet), index=FacetItem.gsi1, forward=False, limit=limit, start=start)

    return pages.collect(run, scope="listings:" + "/".join(facet), cursor=cursor, convert=_from_summary)


def browse_cells(cells: set[str], before: str | None, limit: int) -> list[tuple[str, Listing]]:
    """Newest first across several area cells (one Query each, all at once), merged; `before` is the last
    key seen."""
    partitions = (keys.browse_pk("geo", cell) for cell in cells)
    found = reads.newest_first(partitions, index=FacetItem.gsi1, below=before, limit=limit)
    return [(sort_key, _from_summary(item)) for sort_key, item in found]


def by_words(facets: Iterable[tuple[str, ...]], lookups: Iterable[tuple[str, bool]]) -> list[KeywordEntry]:
    """The keyword entries: for each partition (`facets`' key parts) and each (word, prefix?) lookup, one
    Query of at most WORD_CANDIDATES entries, newest first, all at once; each listing once."""

    def entries(partition: str, word: str, prefix: bool) -> list[reads.RawItem]:
        lookup = keys.word_lookup(word, prefix)
        query = reads.query(partition, index=FacetItem.gsi1, prefix=lookup, forward=False, limit=WORD_CANDIDATES)
        return list(query)

    partitions = [keys.browse_pk(*facet) for facet in facets]
    runs = [partial(entries, partition, word, prefix) for partition in partitions for word, prefix in lookups]
    found: dict[str, KeywordEntry] = {}
    for item in itertools.chain.from_iterable(reads.at_once(runs)):
        entry = msgspec.json.decode(item["summary"]["S"], type=KeywordEntry)
        found.setdefault(entry.listing_id, entry)
    return list(found.values())


def shown(listing_ids: Sequence[str]) -> list[Listing]:
    """The visible listings of these ids as browsing shows them (their community entries, one batch read),
    in the order given; those no longer visible are left out."""
    wanted = [(keys.listing_pk(listing_id), keys.facet_sk("community")) for listing_id in listing_ids]
    found = {listing.listing_id: listing for listing in map(_from_summary, reads.batch_get_items(wanted))}
    return [found[listing_id] for listing_id in listing_ids if listing_id in found]


def by_owner(owner_id: str, only_visible: bool, cursor: str | None, limit: int) -> tuple[list[Listing], str | None]:
    visible: dict[str, reads.AttributeValue] | None = None
    if only_visible:
        visible = {"status": {"S": Status.ACTIVE.value}, "hidden": {"BOOL": False}}

    def run(start: dict[str, Any] | None) -> Any:
        return reads.query(
            keys.owner_listings_pk(owner_id),
            index=ListingItem.gsi2,
            equal=visible,
            forward=False,
            limit=limit,
            start=start,
        )

    scope = f"owner-listings:{owner_id}:{only_visible}"
    return pages.collect(run, scope=scope, cursor=cursor, convert=_listing)


def add_report(uow: UnitOfWork, listing: Listing, reporter_id: str, reason: str, at: str) -> None:
    """One report per member and listing in its community's queue (a second one replaces the first)."""
    uow.put(
        ListingReportItem(
            keys.report_queue_pk(listing.community_id),
            keys.key(listing.listing_id, keys.report_sk(reporter_id)),
            listing_id=listing.listing_id,
            reporter_id=reporter_id,
            reason=reason,
            at=at,
        )
    )


def reports(community_id: str, cursor: str | None, limit: int) -> tuple[list[ListingReport], str | None]:
    def run(start: dict[str, Any] | None) -> Any:
        return ListingReportItem.query(
            keys.report_queue_pk(community_id), limit=limit, page_size=limit, last_evaluated_key=start
        )

    def convert(item: ListingReportItem) -> ListingReport:
        return ListingReport(item.listing_id, item.reporter_id, item.reason, item.at)

    return pages.collect(run, scope=f"reports:{community_id}", cursor=cursor, convert=convert)


def add_reports_cleared(uow: UnitOfWork, listing: Listing) -> None:
    """Moderating a listing works its reports off the queue."""
    for item in ListingReportItem.query(
        keys.report_queue_pk(listing.community_id), ListingReportItem.SK.startswith(listing.listing_id + keys.SEP)
    ):
        uow.delete(item)

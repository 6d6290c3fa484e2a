"""The fee schedule: the version in force (read once a minute per container), quotes, changes by
operators or by an adopted ballot, and the fee an operation pays inside its own unit of work."""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta

from chalicelib import clock
from chalicelib.adapters.dynamodb import economy_repository
from chalicelib.adapters.dynamodb import governance_repository as repository
from chalicelib.adapters.dynamodb.unit_of_work import UnitOfWork, stale
from chalicelib.config import settings
from chalicelib.domain.audit import AuditAction
from chalicelib.domain.economy import FeeVersion, Operation, Quote, changed, check_expected, in_force, publication_quote
from chalicelib.domain.ledger import PlatformAccount, TransferKind, TransferRequest, wallet_account
from chalicelib.domain.listings import Family, Listing
from chalicelib.errors import Conflict
from chalicelib.services import audit, ledger, transaction

SCHEDULE_SECONDS = 60.0  # how long a container reuses the schedule: less than any change's notice
_schedule: list[tuple[float, list[FeeVersion]]] = []


def notice() -> timedelta:
    return timedelta(seconds=settings().fee_notice_seconds)


def schedule() -> list[FeeVersion]:
    """Every version, oldest first: the configured defaults (version 0), then the changes."""
    now = time.monotonic()
    if _schedule and _schedule[0][0] > now:
        return _schedule[0][1]
    config = settings()
    prices = {
        Operation.PUBLISH_LISTING: config.fee_publish_listing,
        Operation.PUBLISH_PROFESSIONAL: config.fee_publish_professional,
    }
    defaults = FeeVersion(0, "", {op: price for op, price in prices.items() if price}, config.free_listings_per_month)
    versions = [defaults, *repository.fee_versions()[0]]
    _schedule[:] = [(now + SCHEDULE_SECONDS, versions)]
    return versions


def current() -> FeeVersion:
    return in_force(schedule(), clock.now_iso())


def reset() -> None:
    _schedule.clear()


def quote_publication(member_id: str, professional: bool) -> Quote:
    published = repository.listings_published(member_id, clock.now_iso()[:7])
    return publication_quote(current(), professional, published)


def add_publication_fee(uow: UnitOfWork, listing: Listing, expected: int | None) -> Quote:
    """A listing's first publication: counted in the month's quota (a free one under the quota, in the
    write's condition) and, beyond it or for a professional listing, paid to the platform's revenue in
    the same unit of work. `expected`: the fee the member was shown (409 `fee-changed` otherwise)."""
    month = clock.now_iso()[:7]
    fees = current()
    professional = listing.family is Family.PRO_SERVICE
    quote = publication_quote(fees, professional, repository.listings_published(listing.owner_id, month))
    check_expected(quote, expected)
    if not professional:  # a professional listing pays its own fee and leaves the free quota alone
        free_quota = fees.free_listings_per_month if quote.free else None
        repository.add_listing_published(uow, listing.owner_id, month, free_quota)
    _charge(uow, listing, quote, f"fee:{quote.operation.value}:{listing.listing_id}")
    _still_in_force(fees, month)
    return quote


def _still_in_force(fees: FeeVersion, month: str) -> None:
    """After the unit of work's reads (they can take a while): if another version has come into force,
    or another month begun, since the quote, build again at once on the new price. A fee is then always
    the price in force when its transfer was recorded, up to the commit's own round trip."""
    if current().number != fees.number or clock.now_iso()[:7] != month:
        stale()


def quote_feature() -> Quote:
    fees = current()
    return Quote(Operation.FEATURE_LISTING, fees.price(Operation.FEATURE_LISTING), False, 0, fees.number)


def add_feature_fee(uow: UnitOfWork, listing: Listing, expected: int | None) -> Quote:
    """Featuring a listing (until `listing.featured_until`) paid in the same unit of work."""
    quote = quote_feature()
    check_expected(quote, expected)
    _charge(uow, listing, quote, f"fee:{quote.operation.value}:{listing.listing_id}:{listing.featured_until}")
    return quote


def _charge(uow: UnitOfWork, listing: Listing, quote: Quote, transfer_id: str) -> None:
    """The fee from the owner's wallet to the platform's revenue, counted in the month's revenue (over
    shards) for value sharing, in the operation's unit of work."""
    if not quote.price:
        return
    request = TransferRequest(
        transfer_id=transfer_id,
        payer=wallet_account(listing.owner_id),
        payee=PlatformAccount.REVENUE.value,
        amount=quote.price,
        kind=TransferKind.FEE,
        reason=quote.operation.value,
        refs={"listing_id": listing.listing_id},
    )
    charged = ledger.add_transfer(uow, request)
    shard = random.randrange(settings().platform_shards)
    economy_repository.add_revenue(uow, shard, quote.price, charged.created_at)


def change(
    operator_id: str,
    prices: dict[Operation, int],
    free_listings: int,
    feature_days: int,
    effective_at: datetime,
    reason: str,
) -> list[FeeVersion]:
    """Operators schedule a new version (audited); it applies at `effective_at`, at least the notice ahead."""

    def build(uow: UnitOfWork) -> list[FeeVersion]:
        stored, version = repository.fee_versions()
        after = changed(stored, prices, free_listings, effective_at, clock.now(), notice(), operator_id, feature_days)
        repository.add_fee_versions(uow, after, version)
        details = {op.value: str(price) for op, price in prices.items()}
        audit.record(uow, operator_id, AuditAction.CHANGE_FEES, "fees", reason, **details)
        return after

    versions = transaction.run(build, keeps_changing=Conflict("The fees changed meanwhile.", code="fees-changed"))
    reset()
    return versions


def add_ballot_change(uow: UnitOfWork, ballot_id: str, operation: Operation | None, value: int, at: str) -> str:
    """An adopted ballot's change of one price (or, without an operation, of the free quota), on top of
    the latest version, applying the notice after the close. Returns when it applies."""
    stored, version = repository.fee_versions()
    latest = (schedule()[:1] + stored)[-1]
    prices = dict(latest.prices)
    free = latest.free_listings_per_month
    if operation is None:
        free = value
    else:
        prices[operation] = value
    effective = max(clock.parse(at) + notice(), clock.parse(latest.effective_at or at) + timedelta(seconds=1))
    after = changed(stored, prices, free, effective, clock.parse(at), notice(), f"ballot:{ballot_id}")
    repository.add_fee_versions(uow, after, version)
    return after[-1].effective_at

"""The public books: what the platform sold, issued, took back, earned and paid, how many exchanges and
members it had, per day and per month, published as a hash chain anyone can verify. No I/O.

The stream's changes give each day's flows (`flows`); the hourly reconciliation, which reads the same
batches to prove the ledger, adds them to the days still open and closes each day once its settle window
has passed (`close`): a closed day is an immutable `Period` carrying the digest of the day before it, and
a month closes with its last day, chained to the month before. Stocks (credits in wallets, held, owed)
are the previous day's plus the day's changes of the balances, so nothing is ever summed over history."""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import NamedTuple

import msgspec
from msgspec import Struct, field

from chalicelib.domain.changes import (
    BalanceMoved,
    Change,
    ExchangeMoved,
    ListingMoved,
    MembershipMoved,
    ProfileMoved,
    PurchaseMoved,
    ResultStored,
    RoundMoved,
    TransferRecorded,
)
from chalicelib.domain.exchanges import ExchangeType, State
from chalicelib.domain.ledger import TransferKind, member_of
from chalicelib.domain.listings import CATEGORIES, Family
from chalicelib.domain.listings import Status as ListingStatus
from chalicelib.domain.purchases import Currency, PurchaseStatus

# Credits per transfer kind, by the figure they count in (a reward paid for a mission counts as a mission).
_CREDIT_FLOWS: dict[TransferKind, str] = {
    TransferKind.PURCHASE: "credits_issued",
    TransferKind.REVERSAL: "credits_reversed",
    TransferKind.FEE: "credits_revenue",
    TransferKind.REWARD: "credits_rewards",
    TransferKind.VALUE_SHARE: "credits_value_shared",
    TransferKind.FORFEIT: "credits_forfeited",
    TransferKind.PAYMENT: "credits_exchanged",
    TransferKind.TIP: "credits_exchanged",
    TransferKind.HOLD_POST: "credits_exchanged",
}
_DONE = frozenset({State.COMPLETED, State.RESOLVED})

FLOWS: tuple[str, ...] = (
    "purchases",
    *(f"sold_cents_{currency.value}" for currency in Currency),
    "credits_issued",
    "credits_reversed",
    "credits_revenue",
    "credits_rewards",
    "credits_missions",
    "credits_value_shared",
    "credits_forfeited",
    "credits_exchanged",
    *(f"exchanges_completed_{kind.value}" for kind in ExchangeType),
    *(f"exchanges_completed_{family.value}" for family in Family),
    "members_new",
    "members_active",
    "reviews_published",
    "ballots_closed",
    "ballots_adopted",
)
STOCKS: tuple[str, ...] = ("credits_in_wallets", "credits_held", "credits_owed")
# A community's month, for the public statistics (`domain/statistics.py`): flows only.
COMMUNITY_FIGURES: tuple[str, ...] = (
    "members_new",
    "members_active",
    *(f"listings_published_{family.value}" for family in Family),
    *(f"exchanges_completed_{family.value}" for family in Family),
    "credits_circulated",
    "events_held",
)
_COMMUNITY = "community#"  # a day's figure of one community: community#<id>#<figure>
EVENT = "event#"  # a cost-sharing listing whose seats completed: counted once in its community's month
FIGURES: tuple[str, ...] = (*FLOWS, *STOCKS)
MAX_CLOSED_PER_RUN = 62  # days a run closes at most (a job that was down catches up over its next runs)

Figures = dict[str, int]


class Period(Struct, frozen=True):
    """A closed day (`YYYY-MM-DD`) or month (`YYYY-MM`): every figure, the digest of the period before it of
    the same kind ("" for the first) and its own digest. `reconciled`: the reconciliation that closed it
    found the ledger balanced."""

    period: str
    figures: Figures
    previous: str
    reconciled: bool
    closed_at: str
    digest: str = ""


def digest_of(period: Period) -> str:
    """SHA-256 of the period's canonical JSON (keys sorted, no spaces, UTF-8) without its digest."""
    content = msgspec.structs.asdict(period)
    del content["digest"]
    return hashlib.sha256(msgspec.json.encode(content, order="sorted")).hexdigest()


def sealed(period: Period) -> Period:
    return msgspec.structs.replace(period, digest=digest_of(period))


def broken_links(chain: Sequence[Period]) -> list[str]:
    """The periods of a chain (oldest first) whose digest is wrong or that do not carry the one before."""
    broken = [period.period for period in chain if period.digest != digest_of(period)]
    broken += [after.period for before, after in itertools.pairwise(chain) if after.previous != before.digest]
    return sorted(set(broken))


# The day's flows, from the stream


def community_figure(community_id: str, figure: str) -> str:
    return f"{_COMMUNITY}{community_id}#{figure}"


def flows(changes: Iterable[Change]) -> dict[str, Figures]:
    """Each day's additions to the figures (stocks as changes), by the day of the fact each change records."""
    days: dict[str, Counter[str]] = {}
    for change in changes:
        for at, figure, amount in _figures(change):
            if amount:
                days.setdefault(at[:10], Counter())[figure] += amount
    return {day: dict(counted) for day, counted in days.items()}


def _figures(change: Change) -> list[tuple[str, str, int]]:
    """(time, figure, amount) for what one change adds."""
    what = change.what
    if isinstance(what, TransferRecorded):
        return _credits(what)
    if isinstance(what, BalanceMoved):
        old, new = what.old, what.new
        if member_of((new or old).account_id) is None:  # type: ignore[union-attr]  # one of them exists
            return []
        return [
            (what.at, stock, getattr(new, stock_field, 0) - getattr(old, stock_field, 0))
            for stock, stock_field in (
                ("credits_in_wallets", "posted"),
                ("credits_held", "held"),
                ("credits_owed", "owed"),
            )
        ]
    if isinstance(what, PurchaseMoved):
        paid, before = what.new, what.old
        if paid is None or paid.status is not PurchaseStatus.SUCCEEDED:
            return []
        if before is not None and before.status is PurchaseStatus.SUCCEEDED:
            return []
        return [(what.at, "purchases", 1), (what.at, f"sold_cents_{paid.currency.value}", paid.amount_cents)]
    if isinstance(what, ExchangeMoved):
        done, was = what.new, what.old
        if done is None or done.state not in _DONE or (was is not None and was.state in _DONE):
            return []
        at, community = done.updated_at, done.community_id
        found = [(at, f"exchanges_completed_{done.type.value}", 1)]
        if done.family:  # exchanges proposed before they carried their listing's family have none
            found.append((at, f"exchanges_completed_{done.family}", 1))
        if community:
            found += [
                (at, community_figure(community, f"exchanges_completed_{done.family}"), 1),
                (at, community_figure(community, "credits_circulated"), done.posted_amount),
            ]
            if done.type is ExchangeType.SHARE:
                found.append((at, community_figure(community, f"{EVENT}{done.listing_id}"), 1))
        return found
    if isinstance(what, MembershipMoved):
        first_in_month = what.new_week is not None and (what.old_week or "")[:7] < what.new_week[:7]
        community = what.community_id
        return [
            (change.time, community_figure(community, "members_new"), int(what.joined)),
            (change.time, community_figure(community, "members_active"), int(first_in_month)),
        ]
    if isinstance(what, ListingMoved):
        now_public = what.new_status == ListingStatus.ACTIVE and what.old_status in (None, ListingStatus.DRAFT)
        family = CATEGORIES.get(what.category)
        if not now_public or family is None:
            return []
        return [(what.at, community_figure(what.community_id, f"listings_published_{family.value}"), 1)]
    if isinstance(what, ProfileMoved):
        first_in_month = what.new_week is not None and (what.old_week or "")[:7] < what.new_week[:7]
        return [(change.time, "members_new", int(what.created)), (change.time, "members_active", int(first_in_month))]
    if isinstance(what, RoundMoved):
        published, before_round = what.new, what.old
        if published is None or not published.published_at or (before_round and before_round.published_at):
            return []
        return [(published.published_at, "reviews_published", len(published.submitted))]
    if isinstance(what, ResultStored):
        return [(what.closed_at, "ballots_closed", 1), (what.closed_at, "ballots_adopted", int(bool(what.adopted)))]
    return []


def _credits(recorded: TransferRecorded) -> list[tuple[str, str, int]]:
    request = recorded.transfer.request
    figure = _CREDIT_FLOWS.get(request.kind)
    if figure == "credits_rewards" and "mission_id" in request.refs:
        figure = "credits_missions"
    if figure == "credits_exchanged" and not (member_of(request.payer) and member_of(request.payee)):
        figure = None
    return [] if figure is None else [(recorded.transfer.created_at, figure, request.amount)]


# The days still open, and closing them


class OpenBooks(Struct, frozen=True):
    """What the reconciliation carries between runs: the flows of days not closed yet, the stocks at the
    end of the last closed day, and the heads of the two chains."""

    days: dict[str, Figures] = field(default_factory=dict)
    stocks: Figures = field(default_factory=dict)
    last_day: str = ""
    last_day_digest: str = ""
    month: Figures = field(default_factory=dict)  # the flows of the closed days of `last_day`'s month
    last_month: str = ""
    last_month_digest: str = ""
    late: int = 0  # changes of a day already closed, counted in the next day instead
    communities: dict[str, Figures] = field(default_factory=dict)  # `month`, per community


def add(books: OpenBooks, found: Iterable[Mapping[str, Figures]]) -> OpenBooks:
    """The open days with what batches found; a change of a day already closed goes to the first open day."""
    days = {day: Counter(figures) for day, figures in books.days.items()}
    late = books.late
    first_open = _next(books.last_day) if books.last_day else ""
    for batch in found:
        for day, figures in batch.items():
            if first_open and day < first_open:
                late += 1
                day = first_open
            days.setdefault(day, Counter()).update(figures)
    return msgspec.structs.replace(books, days={day: dict(figures) for day, figures in days.items()}, late=late)


class CommunityMonth(Struct, frozen=True):
    """One community's month, as counted (before any suppression: `domain/statistics.py` publishes it)."""

    community_id: str
    month: str
    figures: Figures


class Closed(NamedTuple):
    books: OpenBooks
    periods: list[Period]  # days and months, in order
    communities: list[CommunityMonth]  # of the months closed


def close(books: OpenBooks, until: str, reconciled: bool, now: str) -> Closed:
    """Closes every day up to `until` (the last day whose settle window has passed), in order, each one
    chained to the day before; a month closes with its last day, with its communities' months. Days
    without activity close too, so the chain has no hole."""
    first = _next(books.last_day) if books.last_day else min(books.days, default="")
    if not first or first > until:
        return Closed(books, [], [])
    days, stocks = dict(books.days), Counter(books.stocks)
    month, month_flows = books.last_day[:7], Counter(books.month)
    day_head, month_head, last_month = books.last_day_digest, books.last_month_digest, books.last_month
    communities = {community: Counter(figures) for community, figures in books.communities.items()}
    closed: list[Period] = []
    community_months: list[CommunityMonth] = []
    day = first
    for _ in range(MAX_CLOSED_PER_RUN):
        if day > until:
            break
        found = days.pop(day, {})
        stocks.update({figure: found.get(figure, 0) for figure in STOCKS})
        day_flows = {figure: found.get(figure, 0) for figure in FLOWS}
        period = sealed(Period(day, {**day_flows, **_stocks(stocks)}, day_head, reconciled, now))
        closed.append(period)
        day_head = period.digest
        if day[:7] != month:
            month, month_flows, communities = day[:7], Counter(), {}
        month_flows.update(day_flows)
        for name, amount in found.items():
            if name.startswith(_COMMUNITY):
                community, figure = name.removeprefix(_COMMUNITY).split("#", 1)
                communities.setdefault(community, Counter())[figure] += amount
        if _next(day)[:7] != month:  # the month's last day
            month_period = sealed(Period(month, {**dict(month_flows), **_stocks(stocks)}, month_head, reconciled, now))
            closed.append(month_period)
            month_head, last_month = month_period.digest, month
            community_months += [
                _community_month(community, month, counted) for community, counted in communities.items()
            ]
        day, last = _next(day), day
    after = OpenBooks(
        days,
        _stocks(stocks),
        last,
        day_head,
        {figure: month_flows.get(figure, 0) for figure in FLOWS},
        last_month,
        month_head,
        books.late,
        {community: dict(counted) for community, counted in communities.items()},
    )
    return Closed(after, closed, sorted(community_months, key=lambda found: found.community_id))


def _community_month(community_id: str, month: str, counted: Mapping[str, int]) -> CommunityMonth:
    figures = {figure: counted.get(figure, 0) for figure in COMMUNITY_FIGURES}
    figures["events_held"] = sum(1 for name, seats in counted.items() if name.startswith(EVENT) and seats > 0)
    return CommunityMonth(community_id, month, figures)


def _stocks(stocks: Mapping[str, int]) -> Figures:
    return {figure: stocks.get(figure, 0) for figure in STOCKS}


def _next(day: str) -> str:
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


# Open data


def as_csv(periods: Sequence[Period]) -> str:
    """One row per period, one column per figure (the dictionary describes them), then the chain's columns."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["period", *FIGURES, "reconciled", "closed_at", "previous", "digest"])
    for period in periods:
        figures = [period.figures.get(figure, 0) for figure in FIGURES]
        chain = [str(period.reconciled).lower(), period.closed_at, period.previous, period.digest]
        writer.writerow([period.period, *figures, *chain])
    return out.getvalue()

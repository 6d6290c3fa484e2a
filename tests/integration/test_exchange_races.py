"""Exchange races on DynamoDB Local, through the services: many threads accepting one proposal,
taking the last seats, booking overlapping hours, or cancelling while the exchange completes. The
write conditions, not Python, must keep one outcome; the ledger must reconcile and every exchange's
state must match its hold's status afterwards."""

from __future__ import annotations

import itertools
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from chalicelib import clock, errors
from chalicelib.adapters.dynamodb import exchange_repository, keys, ledger_repository, listing_repository
from chalicelib.adapters.dynamodb.models import ExchangeItem, SlotItem
from chalicelib.api.problems import status_of
from chalicelib.auth import Principal
from chalicelib.domain.exchanges import Action, Exchange, ExchangeType, State
from chalicelib.domain.ledger import HoldStatus, wallet_account
from chalicelib.domain.listings import Kind, ListingDraft, Mode, Status
from chalicelib.services import communities, conversations, exchanges, ledger, listings
from tests import books
from tests.conftest import reset_caches
from tests.integration import ledger_kit
from tests.integration.ledger_kit import at_once
from tools import devkeys, table

THREADS = 10
FUNDS = 100


def outcome(result: Any) -> str:
    if isinstance(result, errors.AppError):
        return result.code
    if isinstance(result, Exception):
        raise result
    return "ok"


def member(name: str) -> Principal:
    return Principal(name, frozenset())


class World:
    def __init__(self) -> None:
        self.prefix = uuid.uuid4().hex[:6]
        self.owner = f"{self.prefix}-olga"
        ledger_kit.open_wallet(self.owner)
        created = communities.create_community("op", "Carouge", f"c-{self.prefix}", ["u0hq"], [])
        self.community = created.community_id
        communities.join(self.owner, self.community)
        self.members: list[str] = []

    def join(self, count: int, funds: int = FUNDS) -> list[str]:
        names = [f"{self.prefix}-m{len(self.members) + index}" for index in range(count)]

        def enrol(name: str) -> None:
            wallet = ledger_kit.open_wallet(name)
            if funds:
                ledger_kit.fund(wallet, funds)
            communities.join(name, self.community)

        with ThreadPoolExecutor(8) as pool:  # setup only: the races themselves use at_once
            list(pool.map(enrol, names))
        self.members += names
        return names

    def publish(self, owner: str | None = None, **fields: Any) -> str:
        base = {
            "kind": Kind.OFFER,
            "category": "services.gardening",
            "mode": Mode.CREDITS,
            "title": "Garden help",
            "description": "",
            "community_id": self.community,
            "status": Status.ACTIVE,
            "price": 30,
        }
        return listings.create_listing(owner or self.owner, ListingDraft(**{**base, **fields})).listing_id


@pytest.fixture(scope="module")
def module_table(dynamodb_endpoint, local_secrets):
    """One table for the module (a table costs ~1 s on DynamoDB Local): each test has its own
    community, members and listings, and the consistency checks hold across all of them."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    client = table.dynamodb_client(dynamodb_endpoint)
    table.ensure_table(client, name)
    with pytest.MonkeyPatch.context() as patch:
        env = devkeys.local_env(local_secrets, dynamodb_endpoint=dynamodb_endpoint, table_name=name)
        for key, value in env.items():
            patch.setenv(key, value)
        reset_caches()
        yield name
    reset_caches()
    client.delete_table(TableName=name)


@pytest.fixture
def world(module_table) -> World:
    return World()


def held(name: str) -> int:
    return ledger.balance(wallet_account(name)).held


def posted(name: str) -> int:
    return ledger.balance(wallet_account(name)).posted


def all_exchanges() -> list[Exchange]:
    found = ExchangeItem.scan(ExchangeItem.SK == keys.EXCHANGE_SK, consistent_read=True)
    return [exchange_repository.get(item.exchange_id) for item in found]


def assert_consistent() -> None:
    """The ledger reconciles; every exchange's state matches its hold; every booked hour belongs to a
    live booking; every shared event counts exactly its seats."""
    ledger_kit.assert_reconciled()
    found = all_exchanges()
    for exchange in found:
        hold = ledger_repository.get_hold(exchange.hold_id)
        status = hold[0].status if hold else None
        state = exchange.state
        if not exchange.moves_credits or state in (State.PROPOSED, State.DECLINED):
            assert status is None, exchange
        elif state in (State.ACCEPTED, State.DAMAGE_CLAIMED, State.DISPUTED):
            assert status is HoldStatus.PENDING, exchange
        elif state in (State.COMPLETED, State.RESOLVED):
            expected = HoldStatus.POSTED if exchange.posted_amount else HoldStatus.VOIDED
            assert status is expected, exchange
            assert hold[0].posted_amount == exchange.posted_amount, (exchange, hold)
        else:
            assert state is State.CANCELLED and status in (HoldStatus.VOIDED, None), exchange
        if status is not None:
            assert hold[0].request.amount == exchange.amount, (exchange, hold)
    live = {e.exchange_id: e for e in found if e.state is not State.CANCELLED}
    slots = list(SlotItem.scan(SlotItem.SK == keys.SLOT_SK, consistent_read=True))
    for slot in slots:
        assert slot.exchange_id in live and live[slot.exchange_id].type is ExchangeType.BOOKING, slot.PK
    booked_hours = sum(
        int((clock.parse(e.due_at) - clock.parse(e.starts_at)).total_seconds() // 3600)
        for e in live.values()
        if e.type is ExchangeType.BOOKING
    )
    assert len(slots) == booked_hours
    seats: Counter[str] = Counter(e.listing_id for e in live.values() if e.type is ExchangeType.SHARE)
    for listing_id in {e.listing_id for e in found if e.type is ExchangeType.SHARE}:
        listing = listing_repository.get(listing_id)
        assert listing.seats_taken == seats[listing_id] <= listing.seats, listing


def propose(world: World, proposer: str, listing_id: str, **kwargs: Any) -> Exchange:
    fields = {"amount": None, "swap_listing_id": None, "message": "", "return_by": None, **kwargs}
    return exchanges.propose(proposer, listing_id, **fields)


# two accepts of one proposal


def test_many_accepts_of_one_proposal(world):
    (alice,) = world.join(1)
    proposal = propose(world, alice, world.publish())
    owner = member(world.owner)
    results = at_once([lambda: exchanges.act(owner, proposal.exchange_id, Action.ACCEPT)] * THREADS)

    assert Counter(outcome(r) for r in results) == {"ok": 1, "illegal-transition": THREADS - 1}, results
    assert all(r.extra["state"] == "accepted" for r in results if isinstance(r, errors.AppError))
    assert exchanges.get_exchange(owner, proposal.exchange_id).state is State.ACCEPTED
    assert (held(alice), posted(alice)) == (30, FUNDS)
    holds = [h for h in books.holds() if h.request.payer == wallet_account(alice)]
    assert [(h.request.hold_id, h.status) for h in holds] == [(proposal.hold_id, HoldStatus.PENDING)]
    assert_consistent()


def test_accepts_and_declines_of_one_proposal_at_once(world):
    (alice,) = world.join(1)
    listing_id = world.publish()
    for _round in range(3):
        proposal = propose(world, alice, listing_id)
        xid = proposal.exchange_id
        calls = [lambda x=xid: exchanges.act(member(world.owner), x, Action.ACCEPT)] * 5
        calls += [lambda x=xid: exchanges.act(member(world.owner), x, Action.DECLINE)] * 5
        results = at_once(calls)
        winners = [r for r in results if isinstance(r, Exchange)]
        assert len(winners) == 1, results
        final = exchanges.get_exchange(member(world.owner), proposal.exchange_id)
        assert final.state is winners[0].state
        losers = [r for r in results if isinstance(r, errors.AppError)]
        assert {(status_of(r), r.extra.get("state")) for r in losers} == {(409, final.state.value)}, losers
        if final.state is State.ACCEPTED:
            exchanges.act(member(alice), proposal.exchange_id, Action.CANCEL)
        assert held(alice) == 0
    assert posted(alice) == FUNDS
    assert_consistent()


# the last seats


@pytest.mark.parametrize("seats", [1, 3])
def test_members_racing_for_the_last_seats(world, seats):
    racers = world.join(THREADS)
    event = clock.iso(clock.now() + timedelta(days=2))
    trip = world.publish(category="sharing.carpool", price=10, seats=seats, event_at=event)
    results = at_once([lambda name=name: exchanges.join_share(name, trip) for name in racers])

    assert Counter(outcome(r) for r in results) == {"ok": seats, "no-seat-left": THREADS - seats}, results
    winners = {r.proposer_id for r in results if isinstance(r, Exchange)}
    assert listing_repository.get(trip).seats_taken == seats
    for name in racers:
        assert (held(name), posted(name)) == ((10, FUNDS) if name in winners else (0, FUNDS)), name
    pending = [h for h in books.holds() if h.status is HoldStatus.PENDING and h.request.refs.get("listing_id") == trip]
    assert sorted(h.request.payer for h in pending) == sorted(wallet_account(name) for name in winners)
    assert_consistent()


def test_cancelled_seats_are_taken_again_but_never_oversold(world):
    racers = world.join(THREADS)
    event = clock.iso(clock.now() + timedelta(days=2))
    trip = world.publish(category="sharing.carpool", price=10, seats=4, event_at=event)
    first = [exchanges.join_share(name, trip) for name in racers[:4]]
    # two seat holders cancel while the eight others race for the seats
    calls = [lambda x=x: exchanges.act(member(x.proposer_id), x.exchange_id, Action.CANCEL) for x in first[:2]]
    calls += [lambda name=name: exchanges.join_share(name, trip) for name in racers[4:]]
    results = at_once(calls)
    assert all(isinstance(r, Exchange) and r.state is State.CANCELLED for r in results[:2]), results[:2]
    joined = Counter(outcome(r) for r in results[2:])
    assert set(joined) <= {"ok", "no-seat-left"} and joined["ok"] <= 2, joined
    assert listing_repository.get(trip).seats_taken == 2 + joined["ok"] <= 4
    assert_consistent()


def test_the_seat_count_survives_an_edit_made_over_a_stale_read(world, monkeypatch):
    """An owner's edit read before a member took a seat must not write the old count back."""
    (alice,) = world.join(1)
    event = clock.iso(clock.now() + timedelta(days=2))
    trip = world.publish(category="sharing.carpool", price=10, seats=1, event_at=event)
    stale = listing_repository.get(trip)
    exchanges.join_share(alice, trip)
    real_load = listings._load
    reads = iter([stale])
    monkeypatch.setattr(listings, "_load", lambda listing_id: next(reads, None) or real_load(listing_id))

    edited = listings.update_listing(member(world.owner), trip, {"title": "To Lausanne, via Morges"})
    assert (edited.title, edited.seats_taken) == ("To Lausanne, via Morges", 1)
    assert listing_repository.get(trip).seats_taken == 1
    (bob,) = world.join(1)
    assert outcome(_raised(lambda: exchanges.join_share(bob, trip))) == "no-seat-left"
    assert_consistent()


def test_the_owner_edits_while_members_take_seats(world):
    racers = world.join(THREADS - 2)
    event = clock.iso(clock.now() + timedelta(days=2))
    trip = world.publish(category="sharing.carpool", price=10, seats=5, event_at=event)
    calls: list[Callable[[], Any]] = [lambda name=name: exchanges.join_share(name, trip) for name in racers]
    calls += [
        lambda i=i: listings.update_listing(member(world.owner), trip, {"description": f"edit {i}"}) for i in range(2)
    ]
    results = at_once(calls)
    taken = Counter(outcome(r) for r in results[: len(racers)])
    assert taken == {"ok": 5, "no-seat-left": len(racers) - 5}, results
    assert listing_repository.get(trip).seats_taken == 5
    assert_consistent()


def test_fewer_seats_than_participants_is_refused(world):
    racers = world.join(3)
    event = clock.iso(clock.now() + timedelta(days=2))
    trip = world.publish(category="sharing.carpool", price=10, seats=4, event_at=event)
    for name in racers:
        exchanges.join_share(name, trip)
    problem = _raised(lambda: listings.update_listing(member(world.owner), trip, {"seats": 2}))
    assert (status_of(problem), [e.field for e in problem.errors]) == (422, ["seats"])
    assert listings.update_listing(member(world.owner), trip, {"seats": 3}).seats == 3
    assert_consistent()


def _raised(call: Callable[[], Any]) -> errors.AppError:
    with pytest.raises(errors.AppError) as caught:
        call()
    return caught.value


# overlapping bookings


def _hour(hours: int) -> Any:
    return (clock.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0) + timedelta(hours=hours)


def test_overlapping_bookings_of_one_object(world):
    racers = world.join(THREADS)
    car = world.publish(category="pooled.vehicle", price=4)
    # every range contains hour 3: starts at 0..3, ends at 4..6
    ranges = [(_hour(i % 4), _hour(4 + i % 3)) for i in range(THREADS)]
    results = at_once(
        [lambda name=name, r=r: exchanges.book(name, car, *r) for name, r in zip(racers, ranges, strict=True)]
    )

    assert Counter(outcome(r) for r in results) == {"ok": 1, "slot-taken": THREADS - 1}, results
    (winner,) = [r for r in results if isinstance(r, Exchange)]
    hours = int((clock.parse(winner.due_at) - clock.parse(winner.starts_at)).total_seconds() // 3600)
    assert winner.amount == 4 * hours
    for name in racers:
        assert held(name) == (winner.amount if name == winner.proposer_id else 0), name
    slots = [s for s in SlotItem.scan(SlotItem.SK == keys.SLOT_SK, consistent_read=True) if car in s.PK]
    assert len(slots) == hours and {s.exchange_id for s in slots} == {winner.exchange_id}
    assert_consistent()


def test_a_chain_of_overlapping_bookings_keeps_the_winners_apart(world):
    racers = world.join(THREADS)
    car = world.publish(category="pooled.vehicle", price=4)
    ranges = [(_hour(i), _hour(i + 2)) for i in range(THREADS)]  # each overlaps its neighbours
    results = at_once(
        [lambda name=name, r=r: exchanges.book(name, car, *r) for name, r in zip(racers, ranges, strict=True)]
    )
    assert set(Counter(outcome(r) for r in results)) <= {"ok", "slot-taken"}
    won = sorted((r.starts_at, r.due_at) for r in results if isinstance(r, Exchange))
    assert len(won) >= THREADS // 4
    assert all(earlier[1] <= later[0] for earlier, later in itertools.pairwise(won)), won
    for r, booked in zip(results, ranges, strict=True):  # every refusal overlapped a winner
        if isinstance(r, errors.AppError):
            start, end = clock.iso(booked[0]), clock.iso(booked[1])
            assert any(s < end and start < e for s, e in won), (booked, won)
    assert_consistent()


def test_a_cancelled_booking_races_new_bookings_of_its_hours(world):
    alice, *racers = world.join(THREADS)
    car = world.publish(category="pooled.vehicle", price=4)
    booking = exchanges.book(alice, car, _hour(0), _hour(2))
    calls = [lambda: exchanges.act(member(alice), booking.exchange_id, Action.CANCEL)]
    calls += [lambda name=name: exchanges.book(name, car, _hour(1), _hour(3)) for name in racers]
    results = at_once(calls)
    assert isinstance(results[0], Exchange) and results[0].state is State.CANCELLED, results[0]
    assert Counter(outcome(r) for r in results[1:])["ok"] <= 1
    assert_consistent()


# a cancel racing a completion


def _accepted_trade(world: World, payer: str, confirmed_by: str | None = None) -> Exchange:
    proposal = propose(world, payer, world.publish())
    exchanges.act(member(world.owner), proposal.exchange_id, Action.ACCEPT)
    if confirmed_by:
        exchanges.act(member(confirmed_by), proposal.exchange_id, Action.CONFIRM)
    return proposal


def test_a_cancel_racing_the_last_confirmation(world):
    payers = world.join(6)
    trades = [_accepted_trade(world, payer, confirmed_by=payer) for payer in payers]
    calls: list[Callable[[], Any]] = []
    for trade in trades:
        calls.append(lambda t=trade: exchanges.act(member(t.proposer_id), t.exchange_id, Action.CANCEL))
        calls.append(lambda t=trade: exchanges.act(member(world.owner), t.exchange_id, Action.CONFIRM))
    results = at_once(calls)

    for index, trade in enumerate(trades):
        cancel, confirm = results[2 * index], results[2 * index + 1]
        final = exchanges.get_exchange(member(world.owner), trade.exchange_id)
        assert final.state in (State.CANCELLED, State.COMPLETED), final
        winner, loser = (cancel, confirm) if final.state is State.CANCELLED else (confirm, cancel)
        assert isinstance(winner, Exchange) and winner.state is final.state, (winner, loser)
        assert isinstance(loser, errors.AppError) and status_of(loser) == 409, loser
        assert loser.extra["state"] == final.state.value, loser  # the 409 states the exchange's state
        payer = trade.proposer_id
        assert held(payer) == 0
        assert posted(payer) == (FUNDS - 30 if final.state is State.COMPLETED else FUNDS), final
    completed = sum(exchanges.get_exchange(member(world.owner), t.exchange_id).state is State.COMPLETED for t in trades)
    assert posted(world.owner) == 30 * completed
    assert_consistent()


def test_a_cancel_racing_the_silent_completion(world):
    payers = world.join(6)
    trades = [_accepted_trade(world, payer, confirmed_by=world.owner) for payer in payers]
    later = clock.iso(clock.now() + timedelta(days=4))
    calls: list[Callable[[], Any]] = [
        lambda t=t: exchanges.act(member(t.proposer_id), t.exchange_id, Action.CANCEL) for t in trades
    ]
    calls += [lambda: exchanges.run_deadlines(now=later)] * 2
    results = at_once(calls)
    assert all(isinstance(count, int) for count in results[len(trades) :]), results
    for trade, result in zip(trades, results, strict=False):
        final = exchanges.get_exchange(member(world.owner), trade.exchange_id)
        assert final.state in (State.CANCELLED, State.COMPLETED), final
        if final.state is State.CANCELLED:
            assert isinstance(result, Exchange) and result.state is State.CANCELLED, result
        else:
            assert isinstance(result, errors.AppError) and result.extra["state"] == "completed", result
        assert posted(trade.proposer_id) == (FUNDS - 30 if final.state is State.COMPLETED else FUNDS)
    assert_consistent()


@pytest.mark.parametrize(
    ("winner", "loser"),
    [
        pytest.param(("payer", Action.CANCEL), ("owner", Action.CONFIRM), id="cancel-beats-confirm"),
        pytest.param(("owner", Action.CONFIRM), ("payer", Action.CANCEL), id="confirm-beats-cancel"),
        pytest.param(("payer", Action.CANCEL), ("owner", Action.CANCEL), id="cancel-beats-cancel"),
    ],
)
def test_the_loser_read_before_the_winner_committed(world, monkeypatch, winner, loser):
    """The loser decided on the state before the winner's commit and found the hold already settled
    (the other way, or the same way): it must decide again and report the exchange's new state,
    never a success it did not write."""
    (alice,) = world.join(1)
    trade = _accepted_trade(world, alice, confirmed_by=alice)
    who = {"payer": alice, "owner": world.owner}
    stale = exchanges.get_exchange(member(alice), trade.exchange_id)
    exchanges.act(member(who[winner[0]]), trade.exchange_id, winner[1])
    real_load = exchanges._load
    reads = iter([stale])
    monkeypatch.setattr(exchanges, "_load", lambda exchange_id: next(reads, None) or real_load(exchange_id))

    problem = _raised(lambda: exchanges.act(member(who[loser[0]]), trade.exchange_id, loser[1]))
    final = State.CANCELLED if winner[1] is Action.CANCEL else State.COMPLETED
    assert (status_of(problem), problem.code, problem.extra["state"]) == (409, "illegal-transition", final.value)
    assert exchanges.get_exchange(member(alice), trade.exchange_id).state is final
    assert_consistent()


def test_a_resolution_is_never_reported_unless_written(table_name):
    """If a disputed exchange's hold was voided behind its back (the ledger's expiry sweeper), resolving
    it must not answer "resolved" while the exchange stays disputed. (A table of its own: the sweeper
    voids every expired hold.)"""
    world = World()
    (alice,) = world.join(1)
    trade = _accepted_trade(world, alice)
    exchanges.act(member(alice), trade.exchange_id, Action.DISPUTE)
    assert ledger.void_expired_holds(now=clock.iso(clock.now() + timedelta(days=1000))) >= 1
    operator = Principal("op", frozenset({"operators"}))
    for share in (0, 10):
        problem = _raised(lambda share=share: exchanges.resolve_dispute(operator, trade.exchange_id, share, "late"))
        assert status_of(problem) == 409, problem
    assert exchanges.get_exchange(member(alice), trade.exchange_id).state is State.DISPUTED
    assert (held(alice), posted(alice)) == (0, FUNDS)
    ledger_kit.assert_reconciled()


# operators, moderators and members at once


def test_two_operators_resolving_one_dispute(world):
    (alice,) = world.join(1)
    trade = _accepted_trade(world, alice)
    exchanges.act(member(alice), trade.exchange_id, Action.DISPUTE)
    operators = [Principal(f"op{index}", frozenset({"operators"})) for index in range(4)]
    shares = [0, 10, 20, 30]
    results = at_once(
        [
            lambda op=op, share=share: exchanges.resolve_dispute(op, trade.exchange_id, share, "decided")
            for op, share in zip(operators, shares, strict=True)
        ]
    )
    winners = [r for r in results if isinstance(r, Exchange)]
    assert len(winners) == 1, results
    assert {(r.code, r.extra["state"]) for r in results if isinstance(r, errors.AppError)} == {
        ("illegal-transition", "resolved")
    }
    share = winners[0].posted_amount
    assert posted(alice) == FUNDS - share and posted(world.owner) == share and held(alice) == 0
    assert_consistent()


def test_an_ambassador_hides_while_the_owner_edits(world):
    """Each write applies to the version it read (or retries): no success is lost, and a writer that
    keeps losing is told to retry (409 listing-changed)."""
    ambassador = world.join(1, funds=0)[0]
    communities.set_ambassador("op", world.community, ambassador, True)
    for round_ in range(3):
        listing_id = world.publish(title=f"Listing {round_}")
        calls = [lambda lid=listing_id: listings.set_hidden(member(ambassador), lid, True, "spam")]
        calls += [
            lambda i=i, lid=listing_id: listings.update_listing(member(world.owner), lid, {"description": f"v{i}"})
            for i in range(3)
        ]
        results = at_once(calls)
        assert {outcome(r) for r in results} <= {"ok", "listing-changed"}, results
        done = [r for r in results if not isinstance(r, Exception)]
        assert len({r.version for r in done}) == len(done)  # one after the other
        final, last = listing_repository.get(listing_id), max(done, key=lambda r: r.version)
        assert (final.version, final.description, final.hidden) == (last.version, last.description, last.hidden)
        if outcome(results[0]) == "ok":
            assert final.hidden
            assert listings.browse(("community", world.community), None, 50)[0] == []


def test_concurrent_first_messages_make_one_conversation(world):
    (alice,) = world.join(1, funds=0)
    listing_id = world.publish()
    results = at_once(
        [lambda i=i: conversations.message_listing_owner(alice, listing_id, f"hello {i}") for i in range(6)]
    )
    assert all(not isinstance(r, Exception) for r in results), results
    assert len({conversation.conversation_id for conversation, _ in results}) == 1
    conversation_id = results[0][0].conversation_id
    found, _ = conversations.read_messages(world.owner, conversation_id, None, 50)
    assert sorted(m.body for m in found) == [f"hello {i}" for i in range(6)]
    (entry,) = conversations.inbox(alice, None, 10)[0]
    assert entry.unread == 0
    assert conversations.inbox(world.owner, None, 10)[0][0].unread == 0  # read above

"""The reconciliation's proofs on hand-made changes: residues of what the stream delivers, carried and
judged after the settle window; the audit's checks of one account and of the whole."""

from __future__ import annotations

import itertools
import zlib
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from chalicelib.domain.changes import (
    BalanceMoved,
    Change,
    HoldMoved,
    PurchaseMoved,
    RevenueCounted,
    StatementWritten,
    TableChange,
    TransferRecorded,
    TransferRewritten,
)
from chalicelib.domain.economy import Share, ValueShare
from chalicelib.domain.ledger import (
    Balance,
    Hold,
    HoldRequest,
    HoldStatus,
    Transfer,
    TransferKind,
    TransferRequest,
)
from chalicelib.domain.ledger_audit import AuditState, entry_count_mismatch, reversal_mismatches
from chalicelib.domain.purchases import Currency, Purchase, PurchaseStatus
from chalicelib.domain.reconciliation import (
    Carried,
    Check,
    Mismatch,
    Observed,
    account_mismatches,
    carry,
    judge,
    observe,
    record_once,
    share_faults,
)

AT = "2024-05-01T10:00:00.000000Z"
LATER = "2024-05-01T10:30:00.000000Z"  # past a 15-minute settle window
BEFORE = "2024-05-01T09:59:00.000000Z"  # within it
ISSUANCE = "platform:issuance.0"
REVENUE = "platform:revenue.3"
_sequence = itertools.count(1)


def change(what: TableChange, time: str = AT) -> Change:
    number = next(_sequence)
    return Change(f"e{number}", str(number), time, what)


def recorded(
    transfer_id: str,
    payer: str,
    payee: str,
    amount: int,
    at: str = AT,
    kind: TransferKind = TransferKind.PAYMENT,
    **refs: str,
) -> Change:
    request = TransferRequest(transfer_id, payer.split(".")[0], payee.split(".")[0], amount, kind, refs=refs)
    return change(TransferRecorded(Transfer(request, at, payer, payee)))


def moved(
    account: str, before: tuple[int, int], after: tuple[int, int], at: str = AT, available: int | None = None
) -> Change:
    old = Balance(account, before[0], before[1], before[0] - before[1])
    new_available = after[0] - after[1] if available is None else available
    return change(BalanceMoved(old, Balance(account, after[0], after[1], new_available), at))


def hold(hold_id: str, payer: str, amount: int, status: HoldStatus) -> Hold:
    return Hold(HoldRequest(hold_id, payer, "member:bob", amount, "2030-01-01"), status, AT)


def payment(amount: int = 30, at: str = AT) -> list[Change]:
    """alice (100) pays bob (0) `amount`: the record and both balance items."""
    return [
        recorded(f"pay-{at}", "member:alice", "member:bob", amount, at),
        moved("member:alice", (100, 0), (100 - amount, 0), at),
        moved("member:bob", (0, 0), (amount, 0), at),
    ]


def judged(*batches: list[Change], settled_before: str = LATER, base_at: str = "") -> tuple[list[Mismatch], int]:
    carried = carry(Carried(), [observe(batch) for batch in batches], base_at, 1000, AT)
    return judge(carried, settled_before)


# Accounts: entries against posted, pending holds against held, available on every image


def test_a_transaction_whose_parts_arrive_in_different_batches_closes():
    record, alice, bob = payment()
    assert observe([record]).residues  # alone, a record leaves both accounts open
    assert judged([bob], [record], [alice]) == ([], 0)


def test_a_balance_changed_without_an_entry_is_a_mismatch_once_settled():
    forged = moved("member:bob", (30, 0), (35, 0), AT)
    assert judged(payment(), [forged], settled_before=BEFORE) == ([], 0)  # still within the window
    mismatches, total = judged(payment(), [forged])
    assert mismatches == [Mismatch("member:bob", Check.ENTRIES, 0, 5)]
    assert total == 5  # the sum of balances moved by 5


def test_a_transfer_without_its_balance_changes():
    ghost = recorded("ghost", "member:bob", "member:carol", 5)
    mismatches, total = judged(payment(), [ghost])
    assert mismatches == [
        Mismatch("member:bob", Check.ENTRIES, -5, 0),
        Mismatch("member:carol", Check.ENTRIES, 5, 0),
    ]
    assert total == 0  # double entry: the entries themselves always sum to zero


def test_changes_of_different_transactions_do_not_cancel():
    """A credit without its record and a record without its credit, at different times, both show."""
    early = moved("member:bob", (0, 0), (5, 0), "2024-05-01T09:00:00.000000Z")
    late = [recorded("pay", "member:alice", "member:bob", 5), moved("member:alice", (5, 0), (0, 0))]
    mismatches, _ = judged([early], late)
    assert {(m.account_id, m.expected, m.actual) for m in mismatches} == {("member:bob", 5, 5)}
    assert len(mismatches) == 1 and mismatches[0].check is Check.ENTRIES


def test_a_forged_update_that_keeps_the_last_time_is_overdue_at_once():
    """Its time is that of the transaction before it: long settled."""
    old = "2024-04-01T00:00:00.000000Z"
    mismatches, _ = judged([moved("member:bob", (30, 0), (40, 0), old)], settled_before=BEFORE)
    assert mismatches == [Mismatch("member:bob", Check.ENTRIES, 0, 10)]


def test_shards_reconcile_on_their_own_items():
    record = recorded("buy", ISSUANCE, "member:alice", 100, kind=TransferKind.POOL_FUNDING)
    wrong_shard = moved("platform:issuance.1", (0, 0), (-100, 0))
    mismatches, _ = judged([record, moved("member:alice", (0, 0), (100, 0)), wrong_shard])
    assert {(m.account_id, m.expected, m.actual) for m in mismatches} == {
        (ISSUANCE, -100, 0),
        ("platform:issuance.1", 0, -100),
    }


def test_holds_placed_and_settled_against_held():
    placed = [
        change(HoldMoved(None, hold("h1", "member:alice", 20, HoldStatus.PENDING), AT)),
        moved("member:alice", (100, 0), (100, 20)),
    ]
    assert judged(placed) == ([], 0)
    settled_at = "2024-05-01T10:05:00.000000Z"
    posted = [
        change(
            HoldMoved(
                hold("h1", "member:alice", 20, HoldStatus.PENDING),
                hold("h1", "member:alice", 20, HoldStatus.POSTED),
                settled_at,
            )
        ),
        recorded("h1:post", "member:alice", "member:bob", 15, settled_at, TransferKind.HOLD_POST),
        moved("member:alice", (100, 20), (85, 0), settled_at),
        moved("member:bob", (0, 0), (15, 0), settled_at),
    ]
    assert judged(placed, posted) == ([], 0)
    # the hold settled, but its held never released
    mismatches, _ = judged(
        placed, [*posted[:2], moved("member:alice", (100, 20), (85, 20), settled_at, 65), *posted[3:]]
    )
    assert mismatches == [Mismatch("member:alice", Check.HELD, -20, 0)]


def test_a_voided_hold_releases_what_it_held():
    pending = hold("h1", "member:alice", 20, HoldStatus.PENDING)
    batches = (
        [change(HoldMoved(None, pending, AT)), moved("member:alice", (100, 0), (100, 20))],
        [
            change(HoldMoved(pending, replace(pending, status=HoldStatus.VOIDED), LATER)),
            moved("member:alice", (100, 20), (100, 0), LATER),
        ],
    )
    assert judged(*batches, settled_before="2024-05-01T11:00:00.000000Z") == ([], 0)


def test_available_must_be_posted_minus_held_on_every_image():
    mismatches, _ = judged([moved("member:alice", (0, 0), (0, 0), available=7)], settled_before=BEFORE)
    assert mismatches == [Mismatch("member:alice", Check.AVAILABLE, 0, 7)]


# Purchases, fees, the rewards pool, records and statements


def purchase(status: PurchaseStatus, refunded_cents: int = 0) -> Purchase:
    return Purchase("p1", "alice", "pack", 100, 1000, Currency.EUR, status, AT, refunded_cents=refunded_cents)


def bought(credits: int = 100) -> list[Change]:
    return [
        change(PurchaseMoved(purchase(PurchaseStatus.PENDING), purchase(PurchaseStatus.SUCCEEDED), AT)),
        recorded("purchase:pi_1", ISSUANCE, "member:alice", credits, kind=TransferKind.PURCHASE, purchase_id="p1"),
        moved(ISSUANCE, (0, 0), (-credits, 0)),
        moved("member:alice", (0, 0), (credits, 0)),
    ]


def test_a_purchase_issues_its_credits_once():
    assert judged(bought()) == ([], 0)
    mismatches, _ = judged(bought()[:1])  # succeeded, no credits
    assert mismatches == [Mismatch("purchase:p1", Check.ISSUED, 100, 0)]
    mismatches, _ = judged(bought()[1:])  # credits, the purchase never succeeded
    assert mismatches == [Mismatch("purchase:p1", Check.UNPURCHASED, 0, 100)]


def test_reversals_follow_the_refunds():
    refunded = replace(purchase(PurchaseStatus.SUCCEEDED), refunded_cents=300)
    refund = [
        change(PurchaseMoved(purchase(PurchaseStatus.SUCCEEDED), refunded, LATER)),
        recorded("reversal:p1:30", "member:alice", ISSUANCE, 30, LATER, TransferKind.REVERSAL, purchase_id="p1"),
        moved("member:alice", (100, 0), (70, 0), LATER),
        moved(ISSUANCE, (-100, 0), (-70, 0), LATER),
    ]
    late = "2024-05-01T12:00:00.000000Z"
    assert judged(bought(), refund, settled_before=late) == ([], 0)
    mismatches, _ = judged(bought(), refund[:1], settled_before=late)
    assert mismatches == [Mismatch("purchase:p1", Check.REVERSED, 30, 0)]


def test_the_month_s_revenue_counts_its_fees():
    fee = [
        recorded("fee:x", "member:alice", REVENUE, 5, kind=TransferKind.FEE),
        moved("member:alice", (100, 0), (95, 0)),
        moved(REVENUE, (0, 0), (5, 0)),
        change(RevenueCounted("2024-05", 5, AT)),
    ]
    assert judged(fee) == ([], 0)
    assert judged(fee[:3])[0] == [Mismatch("revenue:2024-05", Check.REVENUE, 5, 0)]
    assert judged([*fee[:3], change(RevenueCounted("2024-05", 7, AT))])[0] == [
        Mismatch("revenue:2024-05", Check.REVENUE, 5, 7)
    ]


def test_the_rewards_pool_pays_only_its_known_flows():
    def paid(transfer_id: str) -> Change:
        return recorded(transfer_id, "platform:rewards.1", "member:bob", 1, kind=TransferKind.REWARD)

    known = [paid(tid) for tid in ("reward:1", "mission:m:bob", "auto:review_written:bob:x", "earmark:b:p")]
    assert observe(known).faults == []
    assert [fault.mismatch for fault in observe([paid("gift:1")]).faults] == [Mismatch("gift:1", Check.POOL, 0, 1)]


def test_records_never_change_and_statements_change_only_to_paid():
    statement = ValueShare("2024-04", 8, 50, 4, (Share("bob", 1, 3), Share("carol", 1, 1)), {})
    assert (
        observe(
            [
                change(StatementWritten(None, statement)),
                change(StatementWritten(statement, replace(statement, paid=True))),
            ]
        ).faults
        == []
    )
    rewritten = observe(
        [change(TransferRewritten("pay")), change(StatementWritten(statement, replace(statement, distributed=5)))]
    )
    assert [fault.mismatch.check for fault in rewritten.faults] == [Check.RECORD_CHANGED, Check.STATEMENT_CHANGED]


def test_value_sharing_pays_each_share_of_its_statement():
    statement = ValueShare("2024-04", 8, 50, 4, (Share("bob", 1, 3), Share("carol", 1, 1)), {})

    def share(member: str, credits: int) -> Change:
        request = TransferRequest(
            f"value-share:2024-04:{member}",
            "platform:revenue",
            f"member:{member}",
            credits,
            TransferKind.VALUE_SHARE,
            "2024-04",
        )
        return change(TransferRecorded(Transfer(request, AT, REVENUE, f"member:{member}")))

    shares = observe([share("bob", 3), share("dave", 1)]).shares
    assert [fault.mismatch for fault in share_faults(shares, {"2024-04": statement})] == [
        Mismatch("value-share:2024-04", Check.SHARES, 0, 1)  # dave is not in the statement
    ]
    assert [fault.mismatch for fault in share_faults(shares[:1], {"2024-04": None})] == [
        Mismatch("value-share:2024-04", Check.SHARES, 0, 3)  # no statement at all
    ]
    assert share_faults(observe([share("bob", 3), share("carol", 1)]).shares, {"2024-04": statement}) == []


# Carrying between runs: the base, the cap


def test_what_precedes_the_base_is_the_audit_s():
    forged = moved("member:bob", (30, 0), (35, 0), AT)
    assert judged([forged], base_at=LATER) == ([], 0)
    carried = carry(Carried(), [observe([forged])], "", 1000, AT)
    assert judge(carry(carried, [], LATER, 1000, LATER), LATER) == ([], 0)  # an audit moved the base past it


def test_too_many_open_residues_lose_track_until_the_next_audit():
    forged = [moved(f"member:m{n}", (0, 0), (1, 0), AT) for n in range(5)]
    carried = carry(Carried(), [observe(forged)], "", 3, AT)
    assert len(carried.residues) == 3 and carried.lost_since == AT
    mismatches, _ = judge(carried, LATER)
    assert Mismatch("reconciliation", Check.LOST_TRACK, 0, 0) in mismatches
    assert judge(carry(carried, [], LATER, 3, LATER), LATER) == ([], 0)  # the audit's base clears it
    assert carry(Carried(), [], "", 3, AT, lost=True).lost_since == AT


class Store:
    """The residue items as the handler keeps them: one per first change, with the last sequence it covers."""

    def __init__(self) -> None:
        self.items: dict[str, tuple[str, Observed]] = {}

    def __call__(self, first: Change, last: Change, observed: Observed) -> str | None:
        if first.event_id in self.items:
            return self.items[first.event_id][0]
        self.items[first.event_id] = (last.sequence, observed)
        return None

    def observed(self) -> list[Observed]:
        return [observed for _, observed in self.items.values()]


def test_a_batch_redelivered_or_extended_is_stored_once():
    parts = payment()
    store = Store()
    record_once(parts[:2], store)
    record_once(parts[:2], store)  # redelivered
    record_once(parts, store)  # retried with what arrived since
    record_once(parts[2:], store)  # the next batch starts where the first ended
    assert len(store.items) == 2
    assert judge(carry(Carried(), store.observed(), "", 100, AT), LATER) == ([], 0)


# The full audit's checks


def test_an_account_as_the_audit_reads_it():
    alice = Balance("member:alice", 70, 20, 50)
    assert account_mismatches(alice, 70, 20, {}, []) == []
    assert account_mismatches(alice, 71, 20, {}, []) == [Mismatch("member:alice", Check.ENTRIES, 71, 70)]
    assert account_mismatches(alice, 70, 0, {}, []) == [Mismatch("member:alice", Check.HELD, 0, 20)]
    assert account_mismatches(replace(alice, available=70), 70, 20, {}, []) == [
        Mismatch("member:alice", Check.AVAILABLE, 50, 70)
    ]


def test_a_wallet_s_credits_against_its_purchases():
    alice = Balance("member:alice", 100, 0, 100)
    succeeded = purchase(PurchaseStatus.SUCCEEDED)
    assert account_mismatches(alice, 100, 0, {"p1": 100}, [succeeded]) == []
    assert account_mismatches(alice, 100, 0, {}, [succeeded]) == [Mismatch("purchase:p1", Check.ISSUED, 100, 0)]
    assert account_mismatches(alice, 100, 0, {"p1": 100}, [purchase(PurchaseStatus.FAILED)]) == [
        Mismatch("purchase:p1", Check.ISSUED, 0, 100)
    ]
    assert account_mismatches(alice, 100, 0, {"ghost": 10}, []) == [
        Mismatch("purchase:ghost", Check.UNPURCHASED, 0, 10)
    ]


def test_the_audit_s_closing_checks():
    state = AuditState(audit_id="a", started_by="op", started_at=AT, base_at=AT, transfers=3, entries=6)
    assert entry_count_mismatch(state) is None
    state.entries = 5  # a record names an account that does not exist: one entry is nowhere
    assert entry_count_mismatch(state) == Mismatch("ledger", Check.UNKNOWN_ACCOUNT, 6, 5)
    state.targets, state.reversed, state.changed = {"p1": 30, "p2": 10}, {"p1": 30, "p3": 5}, ["p2"]
    assert reversal_mismatches(state) == [Mismatch("purchase:p3", Check.REVERSED, 0, 5)]


# Property: whatever the batching, redelivery and order, a consistent ledger leaves no mismatch, and one
# forged change always shows once settled.

MEMBERS = ("member:a", "member:b", "member:c")


@dataclass
class Ledger:
    """A tiny ledger that writes what the real one writes, item by item, as the stream shows it."""

    balances: dict[str, tuple[int, int]] = field(default_factory=dict)
    holds: dict[str, Hold] = field(default_factory=dict)
    purchases: dict[str, Purchase] = field(default_factory=dict)
    changes: list[tuple[str, TableChange]] = field(default_factory=list)  # (item key, change)
    clock: int = 0

    def at(self) -> str:
        self.clock += 1
        return f"2024-05-01T10:{self.clock // 60:02d}:{self.clock % 60:02d}.000000Z"

    def move(self, account: str, posted: int, held: int, at: str) -> None:
        before = self.balances.get(account, (0, 0))
        after = (before[0] + posted, before[1] + held)
        self.balances[account] = after
        old = Balance(account, *before, before[0] - before[1])
        self.changes.append((account, BalanceMoved(old, Balance(account, *after, after[0] - after[1]), at)))

    def transfer(
        self, payer: str, payee: str, amount: int, kind: TransferKind = TransferKind.PAYMENT, at: str = "", **refs: str
    ) -> None:
        at = at or self.at()
        transfer_id = f"t{self.clock}-{payer}-{payee}"
        request = TransferRequest(transfer_id, payer.split(".")[0], payee.split(".")[0], amount, kind, refs=refs)
        self.changes.append((transfer_id, TransferRecorded(Transfer(request, at, payer, payee))))
        self.move(payer, -amount, 0, at)
        self.move(payee, amount, 0, at)

    def hold(self, payer: str, amount: int) -> None:
        at, hold_id = self.at(), f"h{self.clock}"
        self.holds[hold_id] = hold(hold_id, payer, amount, HoldStatus.PENDING)
        self.changes.append((hold_id, HoldMoved(None, self.holds[hold_id], at)))
        self.move(payer, 0, amount, at)

    def settle(self, post: bool) -> None:
        pending = [h for h in self.holds.values() if h.status is HoldStatus.PENDING]
        if not pending:
            return
        before, at = pending[0], self.at()
        after = replace(before, status=HoldStatus.POSTED if post else HoldStatus.VOIDED)
        self.holds[before.request.hold_id] = after
        self.changes.append((before.request.hold_id, HoldMoved(before, after, at)))
        payer = before.request.payer
        self.move(payer, 0, -before.request.amount, at)
        if post:
            self.transfer(
                payer,
                "member:b" if payer != "member:b" else "member:a",
                before.request.amount,
                TransferKind.HOLD_POST,
                at,
            )

    def buy(self, member: str, shard: int) -> None:
        at = self.at()
        purchase_id = f"p{self.clock}"
        pending = Purchase(purchase_id, member, "pack", 100, 1000, Currency.EUR, PurchaseStatus.PENDING, at)
        self.purchases[purchase_id] = replace(pending, status=PurchaseStatus.SUCCEEDED)
        self.changes.append((purchase_id, PurchaseMoved(pending, self.purchases[purchase_id], at)))
        self.transfer(f"platform:issuance.{shard}", member, 100, TransferKind.PURCHASE, at, purchase_id=purchase_id)

    def refund(self, cents: int) -> None:
        if not self.purchases:
            return
        before = next(iter(self.purchases.values()))
        after = replace(before, refunded_cents=min(before.refunded_cents + cents, 1000))
        taken = after.credits * after.refunded_cents // 1000 - before.credits * before.refunded_cents // 1000
        at = self.at()
        self.purchases[before.purchase_id] = after
        self.changes.append((before.purchase_id, PurchaseMoved(before, after, at)))
        if taken:
            self.transfer(
                before.member_id,
                "platform:issuance.0",
                taken,
                TransferKind.REVERSAL,
                at,
                purchase_id=before.purchase_id,
            )

    def fee(self, member: str, amount: int) -> None:
        at = self.at()
        self.transfer(member, "platform:revenue.1", amount, TransferKind.FEE, at)
        self.changes.append(("revenue.1", RevenueCounted(at[:7], amount, at)))


operations = st.lists(
    st.one_of(
        st.tuples(st.just("transfer"), st.sampled_from(MEMBERS), st.sampled_from(MEMBERS), st.integers(1, 50)),
        st.tuples(st.just("hold"), st.sampled_from(MEMBERS), st.integers(1, 30)),
        st.tuples(st.just("settle"), st.booleans()),
        st.tuples(st.just("buy"), st.sampled_from(MEMBERS), st.integers(0, 1)),
        st.tuples(st.just("refund"), st.integers(1, 600)),
        st.tuples(st.just("fee"), st.sampled_from(MEMBERS), st.integers(1, 9)),
    ),
    min_size=1,
    max_size=25,
)
SHARDS = 3


def play(steps: list[tuple]) -> Ledger:
    ledger = Ledger()
    for step in steps:
        name, *args = step
        if name == "transfer" and args[0] == args[1]:
            continue
        getattr(ledger, name)(*args)
    return ledger


def deliver(ledger: Ledger, data: st.DataObject) -> list[Observed]:
    """The stream as Lambda delivers it: each item's changes on its shard, in order; each shard cut into
    batches delivered one after the other, a failed one retried from the same record (with what arrived
    since, sometimes), any one delivered again after it succeeded; shards interleaved anyhow. Stored as
    the handler stores them."""
    shards: list[list[Change]] = [[] for _ in range(SHARDS)]
    for number, (key, what) in enumerate(ledger.changes, start=1):
        shards[zlib.crc32(key.encode()) % SHARDS].append(Change(f"e{number}", str(number), AT, what))
    deliveries: list[list[list[Change]]] = []
    for stream in shards:
        cuts = sorted(data.draw(st.sets(st.integers(1, max(len(stream) - 1, 1)), max_size=4)))
        batches = [stream[a:b] for a, b in itertools.pairwise([0, *cuts, len(stream)]) if stream[a:b]]
        delivered: list[list[Change]] = []
        index = 0
        while index < len(batches):
            batch = batches[index]
            if data.draw(st.booleans()):  # stored, then the invocation failed: Lambda retries it
                delivered.append(batch)
                if index + 1 < len(batches) and data.draw(st.booleans()):
                    index += 1
                    batch = batch + batches[index]
            delivered.append(batch)
            if data.draw(st.booleans()):  # at least once: delivered again later
                delivered.append(batch)
            index += 1
        deliveries.append(delivered)
    store = Store()
    while any(deliveries):
        shard = data.draw(st.sampled_from([n for n, left in enumerate(deliveries) if left]))
        record_once(deliveries[shard].pop(0), store)
    return store.observed()


def settle_in_runs(batches: list[Observed], data: st.DataObject, settled_before: str) -> tuple[list[Mismatch], int]:
    """The hourly job over the stored items, cut into runs anywhere; judged after the last."""
    carried = Carried()
    cuts = sorted(data.draw(st.sets(st.integers(0, len(batches)), max_size=3)))
    for a, b in itertools.pairwise([0, *cuts, len(batches)]):
        carried = carry(carried, batches[a:b], "", 10_000, AT)
    return judge(carried, settled_before)


@settings(max_examples=60, deadline=None)
@given(operations, st.data())
def test_any_batching_of_a_consistent_ledger_closes(steps, data):
    ledger = play(steps)
    assert settle_in_runs(deliver(ledger, data), data, "2024-05-02T00:00:00.000000Z") == ([], 0)


FORGERIES = ("credit", "held", "purchase", "fee")


@settings(max_examples=40, deadline=None)
@given(operations, st.sampled_from(FORGERIES), st.data())
def test_any_forged_change_shows_once_settled(steps, forgery, data):
    ledger = play(steps)
    at = ledger.at()
    if forgery == "credit":  # a balance credited without a record
        ledger.move("member:c", 7, 0, at)
        expected = Mismatch("member:c", Check.ENTRIES, 0, 7)
    elif forgery == "held":  # a hold settled without releasing what it held
        ledger.hold("member:a", 5)
        placed = ledger.holds[f"h{ledger.clock}"]
        ledger.changes.append(
            (placed.request.hold_id, HoldMoved(placed, replace(placed, status=HoldStatus.VOIDED), at))
        )
        expected = Mismatch("member:a", Check.HELD, -5, 0)
    elif forgery == "purchase":  # a purchase succeeded without its credits
        pending = Purchase("px", "member:a", "pack", 100, 1000, Currency.EUR, PurchaseStatus.PENDING, at)
        ledger.changes.append(("px", PurchaseMoved(pending, replace(pending, status=PurchaseStatus.SUCCEEDED), at)))
        expected = Mismatch("purchase:px", Check.ISSUED, 100, 0)
    else:  # a fee without its revenue
        ledger.transfer("member:a", "platform:revenue.1", 4, TransferKind.FEE, at)
        expected = Mismatch(f"revenue:{at[:7]}", Check.REVENUE, 4, 0)
    batches = deliver(ledger, data)
    mismatches, _ = settle_in_runs(batches, data, "2024-05-02T00:00:00.000000Z")
    assert expected in mismatches and len(mismatches) == 1, mismatches
    assert settle_in_runs(batches, data, "2024-05-01T00:00:00.000000Z") == ([], 0)  # not yet settled

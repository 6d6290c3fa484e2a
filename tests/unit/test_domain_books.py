"""The public books' rules: each change's figures, days closed in order and chained, months with their last
day, late changes, and a chain that shows any rewriting."""

from __future__ import annotations

import csv
import io

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from msgspec.structs import replace

from chalicelib.domain import books
from chalicelib.domain.books import FIGURES, FLOWS, STOCKS, OpenBooks, Period
from chalicelib.domain.changes import (
    BalanceMoved,
    Change,
    ExchangeMoved,
    ProfileMoved,
    PurchaseMoved,
    ResultStored,
    TableChange,
    TransferRecorded,
)
from chalicelib.domain.exchanges import Exchange, ExchangeType, State
from chalicelib.domain.ledger import Balance, Transfer, TransferKind, TransferRequest, wallet_account
from chalicelib.domain.purchases import Currency, Purchase, PurchaseStatus

DAY, NEXT = "2026-05-31", "2026-06-01"
AT = f"{DAY}T10:00:00.000000Z"
ANN, BEN = wallet_account("ann"), wallet_account("ben")


def change(what: TableChange, time: str = AT) -> Change:
    return Change("e1", "1", time, what)


def transfer(kind: TransferKind, payer: str = ANN, payee: str = BEN, amount: int = 7, **refs: str) -> Change:
    request = TransferRequest(f"t-{kind}", payer, payee, amount, kind, refs=dict(refs))
    return change(TransferRecorded(Transfer(request, AT, payer, payee)))


def purchase(status: PurchaseStatus) -> Purchase:
    return Purchase("p1", "ann", "pack", 50, 500, Currency.CHF, status, AT)


@pytest.mark.parametrize(
    ("what", "expected"),
    [
        (transfer(TransferKind.PURCHASE, payer="platform:issuance#1"), {"credits_issued": 7}),
        (transfer(TransferKind.REVERSAL, payee="platform:receivable"), {"credits_reversed": 7}),
        (transfer(TransferKind.FEE, payee="platform:revenue"), {"credits_revenue": 7}),
        (transfer(TransferKind.REWARD, payer="platform:rewards"), {"credits_rewards": 7}),
        (transfer(TransferKind.REWARD, payer="platform:rewards", mission_id="m1"), {"credits_missions": 7}),
        (transfer(TransferKind.VALUE_SHARE, payer="platform:revenue"), {"credits_value_shared": 7}),
        (transfer(TransferKind.FORFEIT, payee="platform:rewards"), {"credits_forfeited": 7}),
        (transfer(TransferKind.TIP), {"credits_exchanged": 7}),
        (transfer(TransferKind.HOLD_POST), {"credits_exchanged": 7}),
        (transfer(TransferKind.PAYMENT, payee="platform:revenue"), {}),  # not between members
        (transfer(TransferKind.POOL_FUNDING, payer="platform:issuance", payee="platform:rewards"), {}),
        (
            change(PurchaseMoved(purchase(PurchaseStatus.PENDING), purchase(PurchaseStatus.SUCCEEDED), AT)),
            {"purchases": 1, "sold_cents_chf": 500},
        ),
        (change(PurchaseMoved(purchase(PurchaseStatus.SUCCEEDED), purchase(PurchaseStatus.SUCCEEDED), AT)), {}),
        (
            change(BalanceMoved(Balance(ANN, 10, 4, 6), Balance(ANN, 3, 0, 3, owed=2), AT)),
            {"credits_in_wallets": -7, "credits_held": -4, "credits_owed": 2},
        ),
        (change(BalanceMoved(None, Balance("platform:revenue", 5, 0, 5), AT)), {}),
        (change(ProfileMoved("ann", True, None, "2026-05-25")), {"members_new": 1, "members_active": 1}),
        (change(ProfileMoved("ann", False, "2026-04-27", "2026-05-04")), {"members_active": 1}),
        (change(ProfileMoved("ann", False, "2026-05-18", "2026-05-25")), {}),  # seen already this month
        (change(ResultStored("b1", AT, True, False)), {"ballots_closed": 1, "ballots_adopted": 1}),
        (change(ResultStored("b1", AT, None, False)), {"ballots_closed": 1}),
    ],
)
def test_each_change_adds_its_figures_to_the_day_of_its_fact(what, expected):
    assert books.flows([what]) == ({DAY: expected} if expected else {})


def test_an_exchange_counts_once_when_it_completes_by_its_kind():
    proposed = Exchange("x1", ExchangeType.LOAN, "l1", "ann", "ben", "ben", "ann", 30, State.ACCEPTED, AT, AT)
    done = replace(proposed, state=State.COMPLETED, updated_at=f"{NEXT}T01:00:00.000000Z")
    assert books.flows([change(ExchangeMoved(proposed, done))]) == {NEXT: {"exchanges_completed_loan": 1}}
    of_goods = replace(done, family="goods")
    assert books.flows([change(ExchangeMoved(proposed, of_goods))])[NEXT] == {
        "exchanges_completed_loan": 1,
        "exchanges_completed_goods": 1,
    }
    assert books.flows([change(ExchangeMoved(done, replace(done, version=2)))]) == {}


def test_days_close_in_order_chained_with_their_stocks_and_a_month_with_its_last_day():
    flows = {"2026-05-30": {"credits_issued": 50, "credits_in_wallets": 50}, NEXT: {"credits_revenue": 2}}
    state, closed, _ = books.close(books.add(OpenBooks(), [flows]), NEXT, True, "now")
    assert [period.period for period in closed] == ["2026-05-30", DAY, "2026-05", NEXT]
    may30, may31, may, june1 = closed
    assert (may30.previous, may31.previous, june1.previous) == ("", may30.digest, may31.digest)
    assert may31.figures["credits_issued"] == 0 and may31.figures["credits_in_wallets"] == 50  # a quiet day
    assert may.figures["credits_issued"] == 50 and may.figures["credits_in_wallets"] == 50 and may.previous == ""
    assert set(may30.figures) == set(FIGURES)
    assert books.broken_links([may30, may31, june1]) == []
    assert (state.last_day, state.last_day_digest, state.last_month, state.days) == (NEXT, june1.digest, "2026-05", {})

    later, more, _ = books.close(
        books.add(state, [{NEXT: {"credits_revenue": 1}, "2026-06-02": {"members_new": 1}}]),
        "2026-06-02",
        True,
        "later",
    )
    assert later.late == 1, "a change of a closed day goes to the first open day"
    (june2,) = more
    assert (
        june2.previous == june1.digest and june2.figures["credits_revenue"] == 1 and june2.figures["members_new"] == 1
    )


def test_nothing_closes_before_its_time_and_a_run_closes_a_bounded_number():
    state = books.add(OpenBooks(), [{DAY: {"members_new": 1}}])
    assert books.close(state, "2026-05-30", True, "now") == (state, [], [])
    _, closed, _ = books.close(state, "2027-12-31", True, "now")
    assert len([p for p in closed if len(p.period) == 10]) == books.MAX_CLOSED_PER_RUN


def test_any_rewriting_breaks_the_chain():
    _, closed, _ = books.close(books.add(OpenBooks(), [{"2026-05-29": {"purchases": 1}}]), DAY, True, "now")
    days = [period for period in closed if len(period.period) == 10]
    assert books.broken_links(days) == []
    forged = replace(days[1], figures={**days[1].figures, "purchases": 9})
    assert books.broken_links([days[0], forged, days[2]]) == [days[1].period]
    resealed = books.sealed(forged)
    assert books.broken_links([days[0], resealed, days[2]]) == [days[2].period], "the next day names the old one"


def test_the_digest_is_sha256_of_the_canonical_json_anyone_can_recompute():
    import hashlib
    import json

    period = books.sealed(Period(DAY, {"purchases": 2}, "abc", True, "now"))
    document = json.loads(msgspec.json.encode(period))
    del document["digest"]
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert hashlib.sha256(canonical).hexdigest() == period.digest


def test_csv_has_every_figure_and_the_chain():
    _, closed, _ = books.close(books.add(OpenBooks(), [{DAY: {"purchases": 3}}]), DAY, True, "now")
    rows = list(csv.DictReader(io.StringIO(books.as_csv(closed))))
    assert [row["period"] for row in rows] == [DAY, "2026-05"]
    assert rows[0]["purchases"] == "3" and rows[0]["digest"] == closed[0].digest
    assert list(rows[0])[1 : 1 + len(FIGURES)] == list(FIGURES)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["2026-05-30", DAY, NEXT, "2026-06-02"]),
            st.sampled_from(FLOWS + STOCKS),
            st.integers(-50, 50),
        ),
        max_size=30,
    ),
    st.integers(0, 3),
)
def test_flows_add_up_however_the_batches_and_runs_split_them(entries, runs):
    """Whatever the batches and how many runs close them, the closed days hold every flow once and the
    stocks are the running sums."""
    batches = [{day: {figure: amount}} for day, figure, amount in entries]
    state, closed = OpenBooks(), []
    ends = ["2026-05-30", DAY, NEXT, "2026-06-02"]
    for number, batch in enumerate(batches):
        state = books.add(state, [batch])
        if runs and number % (runs + 1) == 0:
            state, found, _ = books.close(state, ends[min(number // 5, 3)], True, "now")
            closed += found
    state, found, _ = books.close(state, "2026-06-10", True, "now")  # late changes move past the last day
    closed += found
    days = [period for period in closed if len(period.period) == 10]
    assert books.broken_links(days) == []
    for figure in FLOWS:
        assert sum(day.figures[figure] for day in days) == sum(a for _, f, a in entries if f == figure)
    for figure in STOCKS:
        assert days[-1].figures[figure] == sum(a for _, f, a in entries if f == figure) if days else True

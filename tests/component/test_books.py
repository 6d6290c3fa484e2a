"""The public books over HTTP: what members do reaches the day's figures through the stream, the hourly
reconciliation closes the day once it is over and publishes it chained to the day before, and each figure
is what the ledger holds."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

import msgspec

from chalicelib import clock
from chalicelib.domain import books as rules
from chalicelib.domain.books import FIGURES, Period
from chalicelib.domain.ledger import member_of
from chalicelib.domain.statistics import as_csv as statistics_csv
from chalicelib.services import reconciliation
from tests import books
from tests.component.support import assert_422
from tests.conftest import OPERATOR


def at_two(day: date) -> datetime:
    return datetime.combine(day, time(2), tzinfo=UTC)


def close_books_at(monkeypatch, moment: datetime) -> None:
    books.feed_stream()
    monkeypatch.setattr(clock, "now", lambda: moment)
    assert reconciliation.run(settle=timedelta(0), write_margin=timedelta(0)).balanced


def test_a_day_s_books_are_the_ledger_s_and_chained(api, monkeypatch):
    today = clock.now().date()
    api.get("/me", as_="bob")
    assert (
        api.post(
            "/operator/rewards-pool/fundings", {"amount": 1000, "note": "pilot"}, as_="op", groups=OPERATOR
        ).status_code
        == 201
    )
    api.get("/me")
    grant = {"member_id": "alice", "amount": 50, "reason_code": "welcome_newcomer", "note": "hi", "reward_id": "r1"}
    assert api.post("/operator/rewards", grant, as_="op", groups=OPERATOR).status_code == 201
    tip = {"to_member_id": "bob", "amount": 20, "kind": "tip", "transfer_id": "t1"}
    assert api.post("/transfers", tip).status_code == 201

    books.feed_stream()
    assert books.assert_reconciled().balanced
    assert api.get(f"/books/days?from={today}&to={today}", as_=None).json["items"] == [], "not over yet"

    month_end = (today.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    close_books_at(
        monkeypatch,
        at_two(month_end + timedelta(days=1)),
    )
    (day,) = api.get(f"/books/days?from={today}&to={today}", as_=None).json["items"]
    figures = day["figures"]
    assert set(figures) == set(FIGURES) and day["reconciled"] is True

    by_kind = Counter()
    for transfer in books.transfers():
        by_kind[transfer.request.kind.value] += transfer.request.amount
    assert figures["credits_rewards"] == by_kind["reward"] == 50
    assert figures["credits_exchanged"] == by_kind["tip"] == 20
    wallets = [balance for balance in books.balances() if member_of(balance.account_id)]
    assert figures["credits_in_wallets"] == sum(balance.posted for balance in wallets) == 50
    assert figures["credits_held"] == sum(balance.held for balance in wallets) == 0
    assert figures["members_new"] == 3 and figures["members_active"] == 3  # bob, op, alice

    published = msgspec.convert(
        api.get(f"/books/days?from={today}&to={month_end}", as_=None).json["items"], list[Period]
    )
    assert [period.period for period in published] == [
        (today + timedelta(days=n)).isoformat() for n in range((month_end - today).days + 1)
    ]
    assert rules.broken_links(published) == []
    assert all(period.figures["credits_in_wallets"] == 50 for period in published), "stocks carry over quiet days"
    (month,) = api.get(f"/books/months?from={today:%Y-%m}&to={today:%Y-%m}", as_=None).json["items"]
    assert month["figures"]["credits_rewards"] == 50 and month["figures"]["credits_in_wallets"] == 50

    rows = list(
        csv.DictReader(io.StringIO(api.get(f"/books/days.csv?from={today}&to={today}", as_=None).body.decode()))
    )
    assert [(row["period"], row["credits_rewards"], row["digest"]) for row in rows] == [
        (str(today), "50", day["digest"])
    ]

    close_books_at(
        monkeypatch,
        at_two(month_end + timedelta(days=2)),
    )
    again = api.get(f"/books/days?from={today}&to={month_end + timedelta(days=1)}", as_=None).json["items"]
    assert again[:-1] == [msgspec.to_builtins(period) for period in published], "a published day never changes"
    assert again[-1]["previous"] == published[-1].digest and again[-1]["figures"]["credits_rewards"] == 0


def test_the_dictionary_and_bad_ranges(api):
    dictionary = api.get("/books/dictionary", as_=None).json
    response = api.get("/books/days.csv?from=2020-01-01&to=2020-01-02", as_=None)
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.headers["Content-Disposition"] == 'attachment; filename="pwiic-books-days.csv"'
    header = response.body.decode()
    assert header.count("\n") == 1, "a header alone"
    assert [column["name"] for column in dictionary["columns"]] == header.strip().split(","), "every CSV column"
    assert [column["name"] for column in dictionary["columns"]][1:-4] == list(FIGURES)
    statistics_header = statistics_csv("month", []).strip().split(",")
    assert [column["name"] for column in dictionary["statistics_columns"]] == statistics_header
    described = dictionary["columns"] + dictionary["statistics_columns"]
    assert all(column["description"]["fr"] and column["description"]["en"] for column in described)
    assert all("{" not in text for column in described for text in column["description"].values()), "filled in"
    assert {column["kind"] for column in described} == {"key", "flow", "stock", "chain"}
    assert dictionary["licence"] == "CC-BY-4.0"
    assert "SHA-256" in dictionary["chain"]["en"] and "SHA-256" in dictionary["chain"]["fr"]
    assert_422(api.get("/books/days?from=2026-01-01&to=2026-12-31", as_=None), "from")
    assert_422(api.get("/books/days?from=2026-02-30", as_=None), "from")
    assert_422(api.get("/books/months?from=2026-05&to=2026-01", as_=None), "from")
    # Python's \d matches every script's digits; the contract's dates are ASCII digits only.
    assert_422(api.get("/books/months?from=%D9%A2%D9%A0%D9%A2%D9%A6-05", as_=None), "from")
    assert_422(api.get("/books/days?to=%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%96-01-01", as_=None), "to")

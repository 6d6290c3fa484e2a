"""Public statistics over HTTP: a community's closed month with small counts suppressed, a small community
publishing nothing, and an area summing only what its communities publish."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from chalicelib import clock
from chalicelib.services import reconciliation
from tests import books
from tests.component.support import assert_422, assert_problem, create_community


def close_the_month(monkeypatch) -> str:
    books.feed_stream()
    today = clock.now().date()
    next_month = (today.replace(day=28) + timedelta(days=4)).replace(day=1)
    monkeypatch.setattr(clock, "now", lambda: datetime.combine(next_month + timedelta(days=1), time(2), tzinfo=UTC))
    assert reconciliation.run(settle=timedelta(0), write_margin=timedelta(0)).balanced
    return f"{today:%Y-%m}"


def test_a_community_s_month_an_area_and_suppression(api, monkeypatch):
    big, small = create_community(api)["id"], create_community(api)["id"]
    for number in range(6):
        assert api.post(f"/communities/{big}/join", as_=f"big{number}").status_code in (200, 201)
    for number in range(5):
        listing = {
            "kind": "offer",
            "category": "goods.tools",
            "mode": "gift",
            "title": f"Outil {number}",
            "community_id": big,
        }
        assert api.post("/listings", listing, as_=f"big{number}").status_code == 201
    for number in range(2):
        assert api.post(f"/communities/{small}/join", as_=f"small{number}").status_code in (200, 201)
    month = close_the_month(monkeypatch)

    found = api.get(f"/communities/{big}/statistics?from={month}&to={month}", as_=None).json
    assert found["min_people"] == 5
    (shown,) = found["months"]
    figures = shown["figures"]
    assert (shown["month"], figures["members_new"], figures["members_active"]) == (month, 6, 6)
    assert figures["listings_published_goods"] == 5
    assert figures["exchanges_completed_goods"] == 0, "zero is about nobody: shown"
    assert figures["credits_circulated"] is None, "credits of fewer than 5 exchanges"
    (nothing,) = api.get(f"/communities/{small}/statistics?from={month}&to={month}", as_=None).json["months"]
    assert set(nothing["figures"].values()) == {None}, "2 members: nothing about them is published"

    area = api.get(f"/statistics/areas?cells=u0hq&month={month}", as_=None).json
    assert (area["communities"], area["figures"]["members_new"], area["figures"]["members_active"]) == (2, 6, 6)
    assert area["figures"]["listings_published_goods"] == 5, "the small community adds nothing it does not publish"

    rows = api.get(f"/communities/{big}/statistics.csv?from={month}&to={month}", as_=None).body.decode().splitlines()
    header, row = (line.split(",") for line in rows)
    shown_csv = dict(zip(header, row, strict=True))
    assert (shown_csv["month"], shown_csv["members_active"], shown_csv["credits_circulated"]) == (month, "6", "")
    area_rows = api.get(f"/statistics/areas.csv?cells=u0hq&month={month}", as_=None).body.decode().splitlines()
    assert area_rows[0] == ",".join(header) and area_rows[1].startswith(f"{month},6,6,")

    assert_problem(api.get("/communities/nope/statistics", as_=None), 404, "not-found")
    assert_422(api.get(f"/statistics/areas?cells=u0hq,x&month={month}", as_=None), "cells")
    assert_422(api.get("/statistics/areas?cells=u0hq&month=2026-13", as_=None), "month")
    for months in ("from=2026-05&to=2026-04", "from=2023-01&to=2026-01"):  # reversed; 37 months
        assert_422(api.get(f"/communities/{big}/statistics?{months}", as_=None), "from")
        assert_422(api.get(f"/communities/{big}/statistics.csv?{months}", as_=None), "from")

"""Public statistics: communities' months from the stream, suppression under the threshold, and area sums
whose differences never reveal a suppressed figure."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from msgspec.structs import replace

from chalicelib.domain import books, statistics
from chalicelib.domain.books import COMMUNITY_FIGURES, CommunityMonth, OpenBooks
from chalicelib.domain.changes import Change, ExchangeMoved, ListingMoved, MembershipMoved, TableChange
from chalicelib.domain.exchanges import Exchange, ExchangeType, State

DAY = "2026-05-31"
AT = f"{DAY}T10:00:00.000000Z"


def change(what: TableChange) -> Change:
    return Change("e1", "1", AT, what)


def completed(exchange_id: str, kind: ExchangeType, listing_id: str, posted: int) -> Change:
    before = Exchange(
        exchange_id,
        kind,
        listing_id,
        "o",
        "p",
        "p",
        "o",
        posted,
        State.ACCEPTED,
        AT,
        AT,
        community_id="c1",
        family="cost_sharing",
    )
    return change(ExchangeMoved(before, replace(before, state=State.COMPLETED, posted_amount=posted)))


def test_a_community_s_month_from_its_memberships_listings_and_exchanges():
    changes = [
        change(MembershipMoved("c1", "ann", True, None, "2026-05-25")),
        change(MembershipMoved("c1", "ben", False, "2026-04-27", "2026-05-25")),
        change(MembershipMoved("c1", "cat", False, "2026-05-18", "2026-05-25")),  # seen this month already
        change(ListingMoved("l1", "c1", "goods.tools", None, "active", AT)),
        change(ListingMoved("l2", "c1", "goods.tools", None, "draft", AT)),  # not published yet
        change(ListingMoved("l2", "c1", "goods.tools", "draft", "active", AT)),
        change(ListingMoved("l1", "c1", "goods.tools", "paused", "active", AT)),  # published before
        completed("x1", ExchangeType.SHARE, "meal", 6),
        completed("x2", ExchangeType.SHARE, "meal", 6),  # the same event
    ]
    closed = books.close(books.add(OpenBooks(), [books.flows(changes)]), DAY, True, "now")
    (month,) = closed.communities
    assert (month.community_id, month.month) == ("c1", "2026-05")
    expected = dict.fromkeys(COMMUNITY_FIGURES, 0)
    expected |= {"members_new": 1, "members_active": 2, "listings_published_goods": 2}
    expected |= {"exchanges_completed_cost_sharing": 2, "credits_circulated": 12, "events_held": 1}
    assert month.figures == expected
    assert set(closed.periods[0].figures) == set(books.FIGURES), "the platform's day keeps its own columns"


def month(**figures: int) -> CommunityMonth:
    return CommunityMonth("c", "2026-05", {**dict.fromkeys(COMMUNITY_FIGURES, 0), **figures})


def test_a_small_group_publishes_nothing_and_small_counts_are_suppressed():
    assert set(statistics.published(month(members_active=4, members_new=9), 5).values()) == {None}
    shown = statistics.published(
        month(members_active=7, members_new=2, exchanges_completed_goods=3, credits_circulated=40), 5
    )
    assert (shown["members_active"], shown["members_new"], shown["exchanges_completed_goods"]) == (7, None, None)
    assert shown["credits_circulated"] is None, "credits of fewer than 5 exchanges"
    busy = statistics.published(
        month(members_active=9, exchanges_completed_goods=3, exchanges_completed_peer_service=2, credits_circulated=40),
        5,
    )
    assert busy["credits_circulated"] == 40 and busy["exchanges_completed_goods"] is None


figures = st.fixed_dictionaries({figure: st.integers(0, 12) for figure in COMMUNITY_FIGURES})


@given(st.lists(figures, min_size=1, max_size=6), st.integers(1, 6))
def test_no_difference_between_areas_reveals_a_suppressed_figure(communities, threshold):
    """Removing one community from an area changes each sum by that community's published figure only: a
    suppressed one (None) changes nothing, so no pair of published areas reveals it."""
    shown = [
        statistics.published(CommunityMonth(str(n), "2026-05", counted), threshold)
        for n, counted in enumerate(communities)
    ]
    whole = statistics.area_sums(shown)
    for left_out in range(len(shown)):
        rest = statistics.area_sums(shown[:left_out] + shown[left_out + 1 :])
        for figure in COMMUNITY_FIGURES:
            difference = (whole[figure] or 0) - (rest[figure] or 0)
            assert difference == (shown[left_out][figure] or 0)
            if figure != "credits_circulated":  # a count about people: what is published reaches the threshold
                assert whole[figure] is None or whole[figure] == 0 or whole[figure] >= threshold

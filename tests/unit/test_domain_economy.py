"""The economy's pure rules: fee versions and their effective times, publication quotes and the free
quota, the notice of a change, reward caps, contribution points and largest-remainder shares."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib import clock, errors
from chalicelib.domain.economy import (
    Contribution,
    ContributionKind,
    FeeVersion,
    Operation,
    changed,
    check_expected,
    distribute,
    featured_until,
    in_force,
    largest_remainder,
    publication_quote,
    within_caps,
)

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
V0 = FeeVersion(0, "", {}, 2)
V1 = FeeVersion(1, "2026-12-01T00:00:00.000000Z", {Operation.PUBLISH_LISTING: 3}, 1)


def test_the_version_in_force_is_the_latest_whose_time_has_come():
    assert in_force([V0, V1], "2026-11-30T23:59:59.999999Z") == V0
    assert in_force([V0, V1], "2026-12-01T00:00:00.000000Z") == V1


def test_the_free_quota_then_the_price_and_a_professional_listing_pays_its_own():
    assert publication_quote(V1, False, 0).free is True
    paid = publication_quote(V1, False, 1)
    assert (paid.price, paid.free, paid.free_left) == (3, False, 0)
    pro = publication_quote(FeeVersion(2, "", {Operation.PUBLISH_PROFESSIONAL: 9}, 5), True, 0)
    assert (pro.operation, pro.price, pro.free, pro.free_left) == (Operation.PUBLISH_PROFESSIONAL, 9, False, 5)


def test_the_expected_fee_must_still_be_the_price():
    check_expected(publication_quote(V1, False, 1), 3)
    check_expected(publication_quote(V1, False, 1), None)
    with pytest.raises(errors.Conflict) as refused:
        check_expected(publication_quote(V1, False, 1), 0)
    assert (refused.value.code, refused.value.extra["price"]) == ("fee-changed", 3)


def test_a_change_applies_after_the_notice_and_after_the_last_one():
    notice = timedelta(minutes=2)
    with pytest.raises(errors.Invalid):
        changed([V1], {}, 0, NOW + timedelta(minutes=1), NOW, notice, "op")
    with pytest.raises(errors.Invalid):  # before V1, although after the notice
        changed([V1], {}, 0, NOW + timedelta(minutes=3), NOW, notice, "op")
    after = changed([V1], {Operation.PUBLISH_LISTING: 0}, 4, NOW + timedelta(days=5), NOW, notice, "op")
    assert (after[-1].number, after[-1].prices, after[-1].free_listings_per_month) == (2, {}, 4)


def test_featuring_extends_a_running_period():
    fees = FeeVersion(1, "", {}, 0, feature_days=7)
    assert featured_until(fees, None, NOW) == clock.iso(NOW + timedelta(days=7))
    running = clock.iso(NOW + timedelta(days=2))
    assert featured_until(fees, running, NOW) == clock.iso(NOW + timedelta(days=9))
    assert featured_until(fees, clock.iso(NOW - timedelta(days=1)), NOW) == clock.iso(NOW + timedelta(days=7))


def test_reward_caps():
    assert within_caps(9, 1, 10) and not within_caps(9, 2, 10)


def test_points_are_weighted_facts_and_nobody_without_points_shares():
    weights = {ContributionKind.MISSION_APPROVED: 5, ContributionKind.REVIEW_WRITTEN: 1}
    shared = distribute("2026-11", 101, 20, [Contribution("a", 1, 2), Contribution("b", 0, 0, 3)], weights)
    assert (shared.distributed, [(s.member_id, s.points, s.credits) for s in shared.shares]) == (20, [("a", 7, 20)])


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10_000), st.dictionaries(st.text("abcdef", min_size=1, max_size=3), st.integers(0, 50)))
def test_largest_remainder_adds_up_exactly_and_stays_within_one_credit_of_the_quota(total, points):
    shares = largest_remainder(total, points)
    whole = sum(points.values())
    assert sum(shares.values()) == (total if whole else 0)
    if whole:
        assert all(abs(shares[m] * whole - total * p) < whole for m, p in points.items())

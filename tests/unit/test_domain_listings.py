"""Listings' cross-field rules (check_listing), the taxonomy, and how a listing is found (facets).
Pure: no database."""

from __future__ import annotations

import pytest
from msgspec.structs import replace

from chalicelib import errors
from chalicelib.api.problems import status_of
from chalicelib.domain.listings import (
    CATEGORIES,
    GEO_INDEX_PRECISION,
    Family,
    Kind,
    Listing,
    Mode,
    Status,
    check_listing,
    facet_word,
    facets,
)

EVENT = "2030-01-10T18:00:00.000000Z"


def listing(**changes) -> Listing:
    fields = {
        "listing_id": "l1",
        "owner_id": "olga",
        "kind": Kind.OFFER,
        "category": "services.gardening",
        "mode": Mode.CREDITS,
        "title": "Garden help",
        "description": "",
        "community_id": "c1",
        "status": Status.ACTIVE,
        "created_at": "2030-01-01T12:00:00.000000Z",
        "price": 30,
    }
    return Listing(**{**fields, **changes})


def problems(candidate: Listing) -> dict[str, str]:
    """The fields check_listing refuses (a 422), with their messages."""
    with pytest.raises(errors.AppError) as caught:
        check_listing(candidate)
    assert (status_of(caught.value), caught.value.code) == (422, "validation-failed"), caught.value
    assert caught.value.errors and all(error.text() for error in caught.value.errors)
    return {error.field: error.text() for error in caught.value.errors}


# the taxonomy


def test_the_taxonomy_covers_every_family_and_the_named_kinds_of_sharing():
    assert {family for family in CATEGORIES.values()} == set(Family)
    assert {"sharing.carpool", "sharing.garden", "sharing.meal"} <= set(CATEGORIES)
    sharing = ("sharing.carpool", "sharing.garden", "sharing.meal")
    assert all(CATEGORIES[name] is Family.COST_SHARING for name in sharing)
    assert listing(category="pooled.vehicle").family is Family.POOLED
    assert {mode.value for mode in Mode} == {"credits", "swap", "credits_swap", "gift", "loan"}
    assert {status.value for status in Status} == {"draft", "active", "paused", "closed"}


# check_listing: valid listings of every family and mode


VALID = [
    pytest.param(listing(), id="service-for-credits"),
    pytest.param(listing(kind=Kind.REQUEST, category="services.babysitting"), id="request-for-credits"),
    pytest.param(listing(category="goods.toys", mode=Mode.GIFT, price=0), id="gift"),
    pytest.param(listing(category="goods.books", mode=Mode.SWAP, price=0), id="swap"),
    pytest.param(listing(category="goods.books", mode=Mode.SWAP, price=5), id="swap-with-a-price"),
    pytest.param(listing(category="goods.clothes", mode=Mode.CREDITS_SWAP, price=5), id="credits-and-swap"),
    pytest.param(listing(category="goods.tools", mode=Mode.LOAN, price=5, deposit=40), id="loan-with-fee"),
    pytest.param(listing(category="goods.tools", mode=Mode.LOAN, price=0, deposit=40), id="free-loan"),
    pytest.param(listing(category="pro.crafts", price=100), id="professional"),
    pytest.param(listing(category="knowledge.language", mode=Mode.GIFT, price=0), id="knowledge-gift"),
    pytest.param(listing(category="sharing.carpool", seats=3, price=10, event_at=EVENT), id="carpool"),
    pytest.param(listing(category="sharing.meal", mode=Mode.GIFT, price=0, seats=8, event_at=EVENT), id="free-meal"),
    pytest.param(listing(category="pooled.vehicle", price=4), id="pooled-for-credits"),
    pytest.param(listing(status=Status.DRAFT), id="draft"),
    pytest.param(listing(status=Status.CLOSED, hidden=True), id="closed-and-hidden"),
]


@pytest.mark.parametrize("candidate", VALID)
def test_valid_listings_pass(candidate):
    check_listing(candidate)


# check_listing: each rule names its field


def test_an_unknown_category_is_refused_first():
    assert set(problems(listing(category="goods.spaceships", mode=Mode.GIFT, price=3))) == {"category"}
    assert set(problems(listing(category=""))) == {"category"}
    assert set(problems(listing(category="GOODS.TOYS"))) == {"category"}


@pytest.mark.parametrize("price", [1, 30])
def test_a_gift_has_no_price(price):
    assert set(problems(listing(category="goods.toys", mode=Mode.GIFT, price=price))) == {"price"}


@pytest.mark.parametrize("mode", [Mode.CREDITS, Mode.CREDITS_SWAP])
def test_credits_need_a_price(mode):
    assert set(problems(listing(mode=mode, price=0))) == {"price"}
    assert set(problems(listing(mode=mode, price=-5))) == {"price"}


def test_a_loan_needs_a_deposit():
    assert set(problems(listing(category="goods.tools", mode=Mode.LOAN, deposit=0))) == {"deposit"}


def test_a_loan_is_offered_by_its_lender():
    """The loan's state machine gives the lender's moves (confirm the return, claim damage) to the
    listing's owner: a request to borrow would hand them to the borrower."""
    assert set(problems(listing(kind=Kind.REQUEST, category="goods.tools", mode=Mode.LOAN, deposit=40))) == {"mode"}


@pytest.mark.parametrize("category", ["services.gardening", "pro.care", "knowledge.cooking"])
def test_only_objects_are_lent(category):
    assert set(problems(listing(category=category, mode=Mode.LOAN, deposit=40))) == {"mode"}


@pytest.mark.parametrize("mode", [Mode.CREDITS, Mode.SWAP, Mode.GIFT])
def test_only_a_loan_carries_a_deposit(mode):
    price = 5 if mode is Mode.CREDITS else 0
    assert set(problems(listing(category="goods.tools", mode=mode, price=price, deposit=40))) == {"deposit"}


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"seats": 0}, id="no-seats"),
        pytest.param({"event_at": None}, id="no-date"),
        pytest.param({"kind": Kind.REQUEST}, id="a-request"),
    ],
)
def test_cost_sharing_is_an_offer_with_seats_and_a_date(changes):
    trip = listing(category="sharing.carpool", seats=3, price=10, event_at=EVENT)
    assert set(problems(replace(trip, **changes))) == {"seats"}


def test_never_fewer_seats_than_participants():
    trip = listing(category="sharing.carpool", seats=3, price=10, event_at=EVENT, seats_taken=3)
    check_listing(trip)
    message = problems(replace(trip, seats=2))["seats"]
    assert "3" in message


@pytest.mark.parametrize("changes", [{"seats": 2}, {"event_at": EVENT}, {"seats": 2, "event_at": EVENT}])
def test_only_cost_sharing_has_seats_and_a_date(changes):
    assert set(problems(listing(**changes))) == {"seats"}


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"kind": Kind.REQUEST}, id="requested"),
        pytest.param({"mode": Mode.GIFT, "price": 0}, id="gift"),
        pytest.param({"mode": Mode.SWAP, "price": 0}, id="swap"),
        pytest.param({"mode": Mode.CREDITS_SWAP}, id="credits-swap"),
        pytest.param({"mode": Mode.LOAN, "deposit": 40}, id="lent"),
    ],
)
def test_a_pooled_object_is_offered_for_credits(changes):
    assert set(problems(listing(**{"category": "pooled.vehicle", "price": 4, **changes}))) == {"mode"}


def test_every_problem_is_reported_at_once():
    bad = listing(category="services.homework", mode=Mode.LOAN, deposit=0, seats=2)
    assert set(problems(bad)) == {"deposit", "mode", "seats"}
    gift = listing(category="pooled.object", mode=Mode.GIFT, price=9, deposit=3)
    assert set(problems(gift)) == {"price", "deposit", "mode"}


# visibility and facets


def test_only_active_unhidden_listings_are_visible():
    assert listing().visible
    assert not listing(hidden=True).visible
    for status in (Status.DRAFT, Status.PAUSED, Status.CLOSED):
        assert not listing(status=status).visible


def test_a_visible_listing_is_found_by_community_category_kind_mode_tags_and_area():
    found = facets(listing(tags=("jardin", "bio"), location="u0hqe"))
    assert {name: parts for name, parts in found.items() if facet_word(name) is None} == {
        "community": ("community", "c1"),
        "category": ("category", "c1", "services.gardening"),
        "kind": ("kind", "c1", "offer"),
        "mode": ("mode", "c1", "credits"),
        "tag:jardin": ("tag", "c1", "jardin"),
        "tag:bio": ("tag", "c1", "bio"),
        "geo": ("geo", "u0hq"),
    }
    assert GEO_INDEX_PRECISION == 4


def test_the_area_cell_is_coarse_and_needs_enough_precision():
    assert facets(listing(location="u0hq"))["geo"] == ("geo", "u0hq")
    assert "geo" not in facets(listing(location="u0h"))
    assert "geo" not in facets(listing(location=None))
    assert "geo" not in facets(listing())


def test_a_request_is_found_as_a_request():
    assert facets(listing(kind=Kind.REQUEST))["kind"] == ("kind", "c1", "request")


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"hidden": True}, id="hidden"),
        pytest.param({"status": Status.CLOSED}, id="closed"),
        pytest.param({"status": Status.DRAFT}, id="draft"),
        pytest.param({"status": Status.PAUSED}, id="paused"),
        pytest.param({"status": Status.DRAFT, "hidden": True}, id="hidden-draft"),
    ],
)
def test_hidden_closed_draft_and_paused_listings_have_no_facets(changes):
    assert facets(listing(tags=("jardin",), location="u0hqe", **changes)) == {}

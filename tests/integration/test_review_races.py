"""Review races on DynamoDB Local, through the services: both parties submitting at the same instant,
a submission racing the window closer, two moderators hiding one review, and many reviews of one
provider published at once. The write conditions, not Python, must publish each review once and count
it once: every stored reputation must equal the recount of its member's published reviews."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from chalicelib import clock, errors
from chalicelib.adapters.dynamodb import review_repository
from chalicelib.api.problems import status_of
from chalicelib.auth import Principal
from chalicelib.domain.exchanges import Action, State
from chalicelib.domain.listings import Kind, ListingDraft, Mode, Status
from chalicelib.domain.reviews import (
    Draft,
    KindWord,
    Reputation,
    Review,
    ReviewRound,
    ReviewState,
    recount,
    same_counts,
)
from chalicelib.services import communities, exchanges, listings, reviews
from tests.integration import ledger_kit
from tests.integration.ledger_kit import at_once

FUNDS = 100


REAL_LOAD = review_repository.load


def read_together(monkeypatch: pytest.MonkeyPatch, parties: int) -> None:
    """The next `parties` reads of an exchange's reviews (`review_repository.load`, each use case's
    first read) wait for one another before going on: every racer decides on the same version, before
    any has written, and their writes then race. Later reads (a retry's) pass at once."""
    barrier = threading.Barrier(parties, timeout=10)
    left = [parties]
    lock = threading.Lock()

    def load(exchange_id: str) -> Any:
        found = REAL_LOAD(exchange_id)
        with lock:
            waits = left[0] > 0
            left[0] -= 1
        if waits:
            barrier.wait()
        return found

    monkeypatch.setattr(review_repository, "load", load)


def member(name: str) -> Principal:
    return Principal(name, frozenset())


def operator(name: str) -> Principal:
    return Principal(name, frozenset({"operators"}))


class World:
    """A community, its members (funded wallets) and completed exchanges between them, made through the
    services as members make them."""

    def __init__(self) -> None:
        self.prefix = uuid.uuid4().hex[:6]
        self.community = communities.create_community("op", "Carouge", f"c-{self.prefix}", ["u0hq"], []).community_id
        self.members: list[str] = []

    def join(self, count: int) -> list[str]:
        names = [f"{self.prefix}-m{len(self.members) + index}" for index in range(count)]

        def enrol(name: str) -> None:
            ledger_kit.fund(ledger_kit.open_wallet(name), FUNDS)
            communities.join(name, self.community)

        with ThreadPoolExecutor(4) as pool:  # setup only: the races themselves use at_once
            list(pool.map(enrol, names))
        self.members += names
        return names

    def completed(self, provider: str, receiver: str) -> str:
        """A garden service offered by `provider` (the payee), bought by `receiver`, confirmed by both."""
        draft = ListingDraft(
            kind=Kind.OFFER,
            category="services.gardening",
            mode=Mode.CREDITS,
            title="Garden help",
            description="",
            community_id=self.community,
            status=Status.ACTIVE,
            price=10,
        )
        listing_id = listings.create_listing(provider, draft).listing_id
        proposal = exchanges.propose(receiver, listing_id, None, None, "", None)
        xid = proposal.exchange_id
        exchanges.act(member(provider), xid, Action.ACCEPT)
        exchanges.act(member(receiver), xid, Action.CONFIRM)
        assert exchanges.act(member(provider), xid, Action.CONFIRM).state is State.COMPLETED
        return xid


@pytest.fixture
def world(table_name) -> World:
    return World()


def draft(rating: int) -> Draft:
    return Draft(rating, f"{rating} stars", (KindWord.PUNCTUAL, KindWord.FRIENDLY)[: rating % 3], "between us")


def stored(member_id: str) -> Reputation:
    return review_repository.get_reputations({member_id}, consistent=True)[member_id]


def assert_exact(member_id: str, count: int, *, counted: int | None = None) -> Reputation:
    """The stored reputation counts `count` reviews and equals the recount of the member's published
    reviews; it was written `counted` times (each publication +1, each hide -1: by default `count`)."""
    reputation = stored(member_id)
    published = review_repository.all_published_about(member_id)
    recounted = recount(member_id, published)
    assert same_counts(reputation, recounted), (member_id, reputation, recounted)
    assert reputation.overall.count == count == len(published), (member_id, reputation, published)
    assert reputation.version == (count if counted is None else counted), (member_id, reputation)
    return reputation


def assert_published_together(exchange_id: str) -> tuple[ReviewRound, dict[str, Review]]:
    """The round is closed, and every review in it was published at the round's moment (once)."""
    review_round, found = review_repository.load(exchange_id)
    assert review_round is not None and not review_round.open, review_round
    for review in found.values():
        assert review.state is ReviewState.PUBLISHED, review
        assert review.published_at == review_round.published_at, (review, review_round)
    assert set(found) == review_round.submitted, (found, review_round)
    return review_round, found


def assert_no_recount_mismatch(monkeypatch: pytest.MonkeyPatch, at_least: int) -> None:
    """The scheduled recount finds every touched reputation equal to its recount (it logs an error for
    each mismatch). It reads the touched ones from an index, which is eventually consistent (DynamoDB
    Local's too, when the machine is loaded): it runs again for a few seconds until it saw `at_least`."""
    logged: list[Any] = []
    monkeypatch.setattr(reviews.logger, "error", lambda *args, **kwargs: logged.append((args, kwargs)))
    checked, deadline = reviews.recount_touched(), time.monotonic() + 10
    while checked < at_least and time.monotonic() < deadline:
        time.sleep(0.2)
        checked += reviews.recount_touched()
    assert checked >= at_least
    assert logged == []


def later() -> str:
    """A moment past every window opened now (the window is 14 days)."""
    return clock.iso(clock.now() + timedelta(days=30))


# both parties at the same instant


def test_both_parties_submit_at_the_same_instant(world, monkeypatch):
    rounds = 5
    people = world.join(2 * rounds)
    for index in range(rounds):
        provider, receiver = people[2 * index], people[2 * index + 1]
        xid = world.completed(provider, receiver)
        if index % 2 == 0:  # both read the round before either writes; otherwise as the threads go
            read_together(monkeypatch, 2)
        results = at_once(
            [
                lambda x=xid, p=provider: reviews.submit_review(p, x, draft(4)),
                lambda x=xid, r=receiver: reviews.submit_review(r, x, draft(5)),
            ]
        )
        assert all(isinstance(result, Review) for result in results), results
        # one went in sealed; the other, built again over it, published both
        assert sorted(result.state.value for result in results) == ["published", "sealed"], results
        review_round, found = assert_published_together(xid)
        assert review_round.submitted == {provider, receiver}
        assert (found[provider].rating, found[receiver].rating) == (4, 5)
        assert (found[provider].subject_id, found[receiver].subject_id) == (receiver, provider)
        assert assert_exact(provider, 1).provider.count == 1
        assert assert_exact(receiver, 1).receiver.count == 1
        assert reviews.pending(provider, 10) == reviews.pending(receiver, 10) == []
    assert_no_recount_mismatch(monkeypatch, at_least=2 * rounds)


# a submission racing the window closer


@pytest.mark.parametrize("first", ["receiver", None], ids=["second-review-vs-closer", "first-review-vs-closer"])
def test_a_submission_racing_the_window_closer(world, monkeypatch, first):
    """The submission decides on the real clock (inside the 14-day window), the closer on a moment past
    the deadline: whichever commits first, the other decides again on what it wrote. Two closers run
    too. With the receiver's review already in, the provider's submission would publish both; without,
    it would be sealed and the closer publish it."""
    rounds = 4
    people = world.join(2 * rounds)
    winners: Counter[str] = Counter()
    for index in range(rounds):
        provider, receiver = people[2 * index], people[2 * index + 1]
        xid = world.completed(provider, receiver)
        if first:
            reviews.submit_review(receiver, xid, draft(2))
        moment = later()
        read_together(monkeypatch, 3)  # the submission and both closers decide on the same version
        results = at_once(
            [
                lambda x=xid, p=provider: reviews.submit_review(p, x, draft(5)),
                lambda m=moment: reviews.close_windows(m),
                lambda m=moment: reviews.close_windows(m),
            ]
        )
        submitted, *closers = results
        assert all(isinstance(closed, int) for closed in closers), closers
        review_round, found = assert_published_together(xid)
        if isinstance(submitted, Review):
            winners["submission"] += 1
            assert provider in found and found[provider].rating == 5
            if first:  # it published both, the closers found nothing to do
                assert (submitted.state, submitted.published_at) == (ReviewState.PUBLISHED, review_round.published_at)
                assert sum(closers) == 0, closers
            else:  # sealed, then published by one closer
                assert submitted.state is ReviewState.SEALED
                assert (sum(closers), review_round.published_at) == (1, moment), closers
        else:
            winners["closer"] += 1
            assert isinstance(submitted, errors.Conflict), submitted
            assert (status_of(submitted), submitted.code) == (409, "review-window-closed"), submitted
            assert provider not in found and review_round.submitted == ({receiver} if first else set())
            assert (sum(closers), review_round.published_at) == (1, moment), closers
        assert_exact(receiver, 1 if provider in found else 0)
        assert_exact(provider, 1 if receiver in found else 0)
    print(f"race winners: {dict(winners)}")
    assert reviews.close_windows(later()) == 0  # nothing left open
    assert_no_recount_mismatch(monkeypatch, at_least=1)


# two moderators hide one review


def test_two_operators_hide_one_review_at_once(world, monkeypatch):
    rounds = 3
    people = world.join(2 * rounds)
    for index in range(rounds):
        provider, receiver = people[2 * index], people[2 * index + 1]
        xid = world.completed(provider, receiver)
        reviews.submit_review(receiver, xid, draft(1))
        reviews.submit_review(provider, xid, draft(5))
        assert_exact(provider, 1)
        read_together(monkeypatch, 2)
        results = at_once(
            [
                lambda x=xid, r=receiver, i=i: reviews.moderate(operator(f"op{i}"), x, r, True, "insulting")
                for i in range(2)
            ]
        )
        for result in results:
            if isinstance(result, errors.AppError):
                assert status_of(result) in (404, 409), result
            else:
                assert isinstance(result, Review) and result.state is ReviewState.HIDDEN, result
        assert any(isinstance(result, Review) for result in results), results
        _, found = review_repository.load(xid)
        assert (found[receiver].state, found[provider].state) == (ReviewState.HIDDEN, ReviewState.PUBLISHED)
        assert assert_exact(provider, 0, counted=2).overall.histogram == (0, 0, 0, 0, 0)  # +1, then -1 once
        assert_exact(receiver, 1)
        assert reviews.published_about(provider, None, 10)[0] == []
        print(f"hide outcomes: {[type(r).__name__ if isinstance(r, Review) else r.code for r in results]}")
    assert_no_recount_mismatch(monkeypatch, at_least=1)


# many reviews of one provider at once


@pytest.mark.parametrize("together", [False, True], ids=["as-threads-go", "all-read-first"])
def test_many_exchanges_of_one_provider_reviewed_at_once(world, monkeypatch, together):
    provider, *receivers = world.join(7)
    xids = [world.completed(provider, receiver) for receiver in receivers]
    if together:  # all twelve read their round before any writes
        read_together(monkeypatch, 12)
    calls: list[Callable[[], Any]] = []
    for xid, receiver in zip(xids, receivers, strict=True):
        calls.append(lambda x=xid, r=receiver: reviews.submit_review(r, x, draft(5)))
        calls.append(lambda x=xid: reviews.submit_review(provider, x, draft(3)))
    results = at_once(calls)
    failed = [result for result in results if not isinstance(result, Review)]
    assert failed == [], failed
    for xid in xids:
        assert_published_together(xid)
    reputation = assert_exact(provider, 6)
    assert (reputation.provider.count, reputation.receiver.count, reputation.overall.stars) == (6, 0, 30)
    for receiver in receivers:
        assert assert_exact(receiver, 1).receiver.stars == 3
    assert len(reviews.published_about(provider, None, 50)[0]) == 6
    assert_no_recount_mismatch(monkeypatch, at_least=7)

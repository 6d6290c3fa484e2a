"""Reviews' pure rules: who may submit and when, the blind reveal (sealed until both are in or the
window closes), replies, what each viewer sees, and the reputation's maths (counts, stars, histogram,
kind words, average and Bayesian average), with a property: a reputation kept incrementally, as the
service keeps it, always equals the recount of the member's published reviews. No database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from chalicelib import clock, errors
from chalicelib.api.problems import status_of
from chalicelib.domain.exchanges import Exchange, ExchangeType, State
from chalicelib.domain.reviews import (
    MAX_RATING,
    Draft,
    KindWord,
    Prior,
    Reputation,
    Review,
    ReviewRound,
    ReviewState,
    Role,
    Submission,
    Tally,
    as_seen_by,
    close,
    hidden,
    open_round,
    public,
    published,
    recount,
    reply,
    same_counts,
    starts_round,
    submit,
    summarize,
)

PAYEE, PAYER, STRANGER = "olga", "pete", "sam"  # the provider (payee), the receiver (payer), a third member
T0 = "2030-01-01T12:00:00.000000Z"  # the exchange completed
WINDOW = timedelta(days=14)


def at(moment: str, **delta: float) -> str:
    return clock.iso(clock.parse(moment) + timedelta(**delta))


CLOSES = at(T0, days=14)


def exchange(state: State = State.COMPLETED, **changes: Any) -> Exchange:
    fields: dict[str, Any] = {
        "exchange_id": "x1",
        "type": ExchangeType.TRADE,
        "listing_id": "l1",
        "owner_id": PAYEE,
        "proposer_id": PAYER,
        "payer_id": PAYER,
        "payee_id": PAYEE,
        "amount": 30,
        "state": state,
        "created_at": at(T0, days=-3),
        "updated_at": T0,
        "version": 4,
    }
    return Exchange(**{**fields, **changes})


def a_round(**changes: Any) -> ReviewRound:
    return replace(open_round(exchange(), WINDOW), **changes)


def review(author: str = PAYER, rating: int = 4, state: ReviewState = ReviewState.PUBLISHED, **changes: Any) -> Review:
    subject = PAYEE if author == PAYER else PAYER
    fields: dict[str, Any] = {
        "exchange_id": "x1",
        "author_id": author,
        "subject_id": subject,
        "subject_role": Role.PROVIDER if subject == PAYEE else Role.RECEIVER,
        "rating": rating,
        "comment": "Fine",
        "submitted_at": at(T0, hours=1),
        "updated_at": at(T0, hours=1),
        "state": state,
        "published_at": at(T0, hours=2) if state is not ReviewState.SEALED else None,
    }
    return Review(**{**fields, **changes})


def refused(call: Any) -> errors.AppError:
    with pytest.raises(errors.AppError) as caught:
        call()
    return caught.value


def assert_refused(call: Any, kind: type[errors.AppError], status: int, code: str) -> errors.AppError:
    error = refused(call)
    assert (type(error), status_of(error), error.code) == (kind, status, code), error
    return error


# The round an exchange opens


def test_a_completed_exchange_opens_a_round_for_its_payee_and_payer():
    opened = open_round(exchange(), WINDOW)
    assert (opened.exchange_id, opened.exchange_type, opened.listing_id) == ("x1", ExchangeType.TRADE, "l1")
    assert (opened.provider_id, opened.receiver_id) == (PAYEE, PAYER)
    assert (opened.completed_at, opened.closes_at) == (T0, "2030-01-15T12:00:00.000000Z")
    assert opened.after_dispute is False
    assert (opened.submitted, opened.published_at, opened.version, opened.open) == (frozenset(), None, 0, True)


def test_a_resolved_exchange_opens_a_round_after_dispute():
    opened = open_round(exchange(State.RESOLVED, updated_at=at(T0, days=2)), timedelta(days=3, hours=6))
    assert opened.after_dispute is True
    assert (opened.completed_at, opened.closes_at) == (at(T0, days=2), at(T0, days=5, hours=6))


def test_the_provider_is_the_payee_not_the_owner():
    """On a request the owner pays: the member who gave the service (the payee) is the provider."""
    request = exchange(owner_id="rita", proposer_id="hugo", payer_id="rita", payee_id="hugo")
    opened = open_round(request, WINDOW)
    assert (opened.provider_id, opened.receiver_id) == ("hugo", "rita")
    assert (opened.role_of("hugo"), opened.role_of("rita")) == (Role.PROVIDER, Role.RECEIVER)
    assert (opened.other("hugo"), opened.other("rita"), opened.parties) == ("rita", "hugo", ("hugo", "rita"))


@pytest.mark.parametrize("before", [None, *State])
@pytest.mark.parametrize("after", list(State))
def test_a_round_starts_only_on_entering_completed_or_resolved(before, after):
    reviewable = {State.COMPLETED, State.RESOLVED}
    previous = exchange(before) if before is not None else None
    expected = after in reviewable and (before is None or before not in reviewable)
    assert starts_round(previous, exchange(after)) is expected


# Submitting


def test_a_third_member_is_refused_as_not_found():
    error = assert_refused(
        lambda: submit(a_round(), STRANGER, Draft(5), None, at(T0, hours=1)), errors.NotFound, 404, "not-found"
    )
    assert "review" in error.detail().lower()


def test_the_first_review_is_sealed_and_keeps_the_round_open():
    now = at(T0, hours=1)
    draft = Draft(5, "Lovely hedge", (KindWord.PUNCTUAL,), "Thanks!")
    done = submit(a_round(), PAYER, draft, None, now)
    assert isinstance(done, Submission) and done.publish is False
    mine = done.review
    assert (mine.author_id, mine.subject_id, mine.subject_role) == (PAYER, PAYEE, Role.PROVIDER)
    assert (mine.rating, mine.comment, mine.kind_words, mine.private_note) == (
        5,
        "Lovely hedge",
        (KindWord.PUNCTUAL,),
        "Thanks!",
    )
    assert (mine.state, mine.published_at, mine.submitted_at, mine.updated_at) == (ReviewState.SEALED, None, now, now)
    assert (mine.reply, mine.after_dispute) == (None, False)
    assert done.round.open and done.round.published_at is None
    assert (done.round.submitted, done.round.version) == (frozenset({PAYER}), 1)


def test_the_providers_review_is_about_the_receiver():
    done = submit(a_round(), PAYEE, Draft(3), None, at(T0, hours=1))
    assert (done.review.subject_id, done.review.subject_role) == (PAYER, Role.RECEIVER)


def test_the_second_review_publishes_the_round():
    first = submit(a_round(), PAYER, Draft(5), None, at(T0, hours=1))
    now = at(T0, hours=2)
    second = submit(first.round, PAYEE, Draft(4, "Paid on time"), None, now)
    assert second.publish is True
    assert (second.round.published_at, second.round.open) == (now, False)
    assert (second.round.submitted, second.round.version) == (frozenset({PAYER, PAYEE}), 2)
    assert second.review.state is ReviewState.SEALED  # the service publishes both, at the same moment
    shown = published(second.review, now)
    assert (shown.state, shown.published_at) == (ReviewState.PUBLISHED, now)
    assert published(first.review, now).published_at == shown.published_at


def test_an_edit_keeps_its_submission_time_and_the_round_open():
    first = submit(a_round(), PAYER, Draft(5, "Great"), None, at(T0, hours=1))
    later = at(T0, days=3)
    edited = submit(first.round, PAYER, Draft(2, "Late after all"), first.review, later)
    assert edited.publish is False and edited.round.open
    assert (edited.review.rating, edited.review.comment) == (2, "Late after all")
    assert (edited.review.submitted_at, edited.review.updated_at) == (at(T0, hours=1), later)
    assert (edited.round.submitted, edited.round.version) == (frozenset({PAYER}), 2)


def test_kind_words_are_deduplicated_in_their_order():
    words = (KindWord.FRIENDLY, KindWord.PUNCTUAL, KindWord.FRIENDLY, KindWord.PUNCTUAL, KindWord.CAREFUL)
    done = submit(a_round(), PAYER, Draft(5, kind_words=words), None, at(T0, hours=1))
    assert done.review.kind_words == (KindWord.FRIENDLY, KindWord.PUNCTUAL, KindWord.CAREFUL)


def test_a_review_after_a_dispute_says_so():
    resolved = open_round(exchange(State.RESOLVED), WINDOW)
    assert submit(resolved, PAYER, Draft(1), None, at(T0, hours=1)).review.after_dispute is True


@pytest.mark.parametrize("state", [ReviewState.PUBLISHED, ReviewState.HIDDEN])
def test_a_published_review_can_no_longer_change(state):
    both = a_round(submitted=frozenset({PAYER, PAYEE}), published_at=at(T0, hours=2), version=2)
    existing = review(PAYER, state=state)
    error = assert_refused(
        lambda: submit(both, PAYER, Draft(1), existing, at(T0, hours=3)), errors.Conflict, 409, "review-published"
    )
    assert error.extra["state"] == state.value


def test_review_published_is_said_even_after_the_window():
    both = a_round(submitted=frozenset({PAYER, PAYEE}), published_at=at(T0, hours=2))
    error = refused(lambda: submit(both, PAYER, Draft(1), review(PAYER), at(CLOSES, days=30)))
    assert error.code == "review-published"


@pytest.mark.parametrize("now", [CLOSES, at(CLOSES, microseconds=1), at(CLOSES, days=100)])
def test_no_review_once_the_window_has_passed(now):
    error = assert_refused(
        lambda: submit(a_round(), PAYER, Draft(5), None, now), errors.Conflict, 409, "review-window-closed"
    )
    assert error.extra["state"] == "closed"


def test_a_review_just_before_the_window_closes_is_taken():
    assert submit(a_round(), PAYER, Draft(5), None, at(CLOSES, microseconds=-1)).review.rating == 5


def test_no_review_once_the_closer_published_the_round():
    first = submit(a_round(), PAYER, Draft(5), None, at(T0, hours=1))
    closed = close(first.round, CLOSES)
    assert (closed.published_at, closed.open, closed.version) == (CLOSES, False, first.round.version + 1)
    assert_refused(
        lambda: submit(closed, PAYEE, Draft(4), None, at(T0, hours=2)), errors.Conflict, 409, "review-window-closed"
    )  # even at a time before closes_at: the round is closed
    sealed = first.review  # the closer had not yet published it: still refused
    assert_refused(
        lambda: submit(closed, PAYER, Draft(4), sealed, at(T0, hours=2)), errors.Conflict, 409, "review-window-closed"
    )


def test_a_third_member_is_not_found_even_on_a_closed_round():
    closed = close(a_round(), CLOSES)
    assert_refused(lambda: submit(closed, STRANGER, Draft(5), None, CLOSES), errors.NotFound, 404, "not-found")


# Publishing and hiding


def test_hidden_keeps_everything_but_the_state():
    shown = review(PAYER)
    gone = hidden(shown)
    assert gone.state is ReviewState.HIDDEN
    assert replace(gone, state=ReviewState.PUBLISHED) == shown


# Replies


def test_the_subject_replies_once_to_a_published_review():
    shown = review(PAYER)  # about PAYEE, published at T0 + 2 h
    now = at(T0, days=3)
    replied = reply(shown, PAYEE, "Thank you", WINDOW, now)
    assert (replied.reply, replied.replied_at) == ("Thank you", now)
    assert replace(replied, reply=None, replied_at=None) == shown
    assert_refused(lambda: reply(replied, PAYEE, "Again", WINDOW, now), errors.Conflict, 409, "already-replied")


@pytest.mark.parametrize("who", [PAYER, STRANGER])
def test_only_the_subject_replies(who):
    assert_refused(
        lambda: reply(review(PAYER), who, "Me too", WINDOW, at(T0, days=1)), errors.Forbidden, 403, "forbidden"
    )


@pytest.mark.parametrize("state", [ReviewState.SEALED, ReviewState.HIDDEN])
def test_only_a_published_review_gets_a_reply(state):
    error = assert_refused(
        lambda: reply(review(PAYER, state=state), PAYEE, "No", WINDOW, at(T0, days=1)),
        errors.Conflict,
        409,
        "review-not-published",
    )
    assert error.extra["state"] == state.value


def test_a_reply_after_the_window_following_publication_is_refused():
    shown = review(PAYER, published_at=at(T0, days=10))  # published late: the reply window counts from then
    deadline = at(T0, days=24)
    assert reply(shown, PAYEE, "Just in time", WINDOW, at(deadline, microseconds=-1)).reply == "Just in time"
    for now in (deadline, at(deadline, days=1)):
        assert_refused(
            lambda now=now: reply(shown, PAYEE, "Late", WINDOW, now), errors.Conflict, 409, "reply-window-closed"
        )


def test_the_refusals_of_a_reply_come_in_order():
    """A stranger is refused before the state is looked at; a second reply before its lateness."""
    assert (
        refused(lambda: reply(review(PAYER, state=ReviewState.SEALED), STRANGER, "x", WINDOW, T0)).code == "forbidden"
    )
    replied = review(PAYER, reply="Thanks", replied_at=at(T0, hours=3))
    assert refused(lambda: reply(replied, PAYEE, "x", WINDOW, at(T0, days=100))).code == "already-replied"


# What each viewer sees


@pytest.mark.parametrize("state", list(ReviewState))
def test_a_third_member_sees_nothing_and_the_author_sees_everything(state):
    mine = review(PAYER, state=state, private_note="For you")
    assert as_seen_by(mine, STRANGER) is None
    assert as_seen_by(mine, PAYER) == mine


def test_the_subject_sees_a_review_only_once_published():
    sealed = review(PAYER, state=ReviewState.SEALED, private_note="For you")
    assert as_seen_by(sealed, PAYEE) is None
    shown = published(sealed, at(T0, hours=2))
    assert as_seen_by(shown, PAYEE) == shown  # with the private note addressed to them
    assert as_seen_by(shown, PAYEE).private_note == "For you"
    assert as_seen_by(hidden(shown), PAYEE) is None


def test_the_public_never_sees_the_private_note():
    shown = review(PAYER, private_note="Call me next time", reply="Sure", replied_at=at(T0, days=1))
    seen = public(shown)
    assert seen.private_note == ""
    assert replace(seen, private_note=shown.private_note) == shown
    assert public(review(PAYER)).private_note == ""


# Tally and reputation


def test_an_empty_tally():
    empty = Tally()
    assert (empty.count, empty.stars, empty.histogram, empty.kind_words) == (0, 0, (0, 0, 0, 0, 0), {})
    assert empty.average() is None
    assert empty.bayesian(4.0, 5) == 4.0
    assert empty.bayesian(3.3, 0.5) == 3.3


def test_a_tally_counts_stars_histogram_and_kind_words():
    tally = Tally()
    for rating, words in [
        (5, (KindWord.PUNCTUAL, KindWord.FRIENDLY)),
        (4, (KindWord.PUNCTUAL,)),
        (4, ()),
        (1, (KindWord.CAREFUL,)),
    ]:
        tally = tally.counted(review(rating=rating, kind_words=words), 1)
    assert (tally.count, tally.stars, tally.histogram) == (4, 14, (1, 0, 0, 2, 1))
    assert tally.kind_words == {"careful": 1, "friendly": 1, "punctual": 2}
    assert list(tally.kind_words) == ["careful", "friendly", "punctual"]
    assert tally.average() == 3.5  # 14 / 4
    # (5 * 4.0 + 14) / (5 + 4) = 34 / 9 = 3.777...
    assert tally.bayesian(4.0, 5) == 3.78
    # (2 * 3.0 + 14) / (2 + 4) = 20 / 6 = 3.333...
    assert tally.bayesian(3.0, 2) == 3.33
    # with no prior weight, the plain average
    assert tally.bayesian(4.0, 0) == 3.5


def test_a_tally_rounds_its_average_to_two_decimals():
    tally = Tally()
    for rating in (5, 4, 4):
        tally = tally.counted(review(rating=rating), 1)
    assert tally.average() == 4.33  # 13 / 3
    assert tally.bayesian(4.0, 5) == 4.12  # (20 + 13) / 8 = 4.125, rounded half to even on the float
    tally = tally.counted(review(rating=5), 1)
    assert tally.average() == 4.5  # 18 / 4
    assert tally.bayesian(4.0, 5) == 4.22  # (20 + 18) / 9 = 4.222...


def test_one_five_star_does_not_outrank_fifty_four_point_nine():
    one = Tally().counted(review(rating=5), 1)
    many = Tally(count=50, stars=245)  # an average of 4.9
    assert one.average() == 5.0 and many.average() == 4.9
    assert one.bayesian(4.0, 5) == round((20 + 5) / 6, 2) == 4.17
    assert many.bayesian(4.0, 5) == round((20 + 245) / 55, 2) == 4.82
    assert many.bayesian(4.0, 5) > one.bayesian(4.0, 5)


def test_uncounting_a_review_restores_the_tally():
    first = review(rating=5, kind_words=(KindWord.PUNCTUAL,))
    second = review(rating=2, kind_words=(KindWord.PUNCTUAL, KindWord.GENEROUS))
    one = Tally().counted(first, 1)
    both = one.counted(second, 1)
    assert both.kind_words == {"generous": 1, "punctual": 2}
    assert both.counted(second, -1) == one
    assert one.counted(first, -1) == Tally()  # no kind word left at zero


def test_a_reputation_counts_each_review_overall_and_in_the_subjects_role():
    as_provider = review(PAYER, rating=5, kind_words=(KindWord.RELIABLE,))  # about PAYEE as provider
    as_receiver = replace(review(PAYER, rating=3), exchange_id="x2", subject_role=Role.RECEIVER)
    reputation = Reputation(PAYEE).counted(as_provider).counted(as_receiver).counted(replace(as_provider, rating=4))
    assert reputation.version == 3
    assert (reputation.overall.count, reputation.overall.stars, reputation.overall.histogram) == (
        3,
        12,
        (0, 0, 1, 1, 1),
    )
    assert (reputation.provider.count, reputation.provider.stars, reputation.provider.histogram) == (
        2,
        9,
        (0, 0, 0, 1, 1),
    )
    assert (reputation.receiver.count, reputation.receiver.stars, reputation.receiver.histogram) == (
        1,
        3,
        (0, 0, 1, 0, 0),
    )
    assert reputation.overall.kind_words == {"reliable": 2} == reputation.provider.kind_words
    assert reputation.receiver.kind_words == {}
    assert (reputation.overall.average(), reputation.provider.average(), reputation.receiver.average()) == (
        4.0,
        4.5,
        3.0,
    )
    hidden_once = reputation.counted(as_receiver, -1)
    assert (hidden_once.version, hidden_once.overall.count, hidden_once.receiver) == (4, 2, Tally())
    assert hidden_once.provider == reputation.provider


def test_a_summary_shows_the_overall_tally_with_the_prior():
    empty = summarize(Reputation("nobody"), Prior(4.0, 5))
    assert (empty.count, empty.average, empty.bayesian_average) == (0, None, 4.0)
    reputation = Reputation(PAYEE)
    for rating in (5, 5, 2):
        reputation = reputation.counted(review(PAYER, rating=rating))
    shown = summarize(reputation, Prior(3.5, 2))
    # average 12 / 3 = 4.0; Bayesian (2 * 3.5 + 12) / (2 + 3) = 19 / 5 = 3.8
    assert (shown.count, shown.average, shown.bayesian_average) == (3, 4.0, 3.8)


def test_a_recount_takes_only_the_members_published_reviews():
    about_payee = review(PAYER, rating=5)
    reviews = [
        about_payee,
        replace(about_payee, exchange_id="x2", rating=3, state=ReviewState.SEALED, published_at=None),
        replace(about_payee, exchange_id="x3", rating=1, state=ReviewState.HIDDEN),
        review(PAYEE, rating=2),  # about PAYER
        replace(about_payee, exchange_id="x4", rating=4, subject_role=Role.RECEIVER),
    ]
    recounted = recount(PAYEE, reviews)
    assert (recounted.member_id, recounted.version) == (PAYEE, 0)
    assert (recounted.overall.count, recounted.overall.stars) == (2, 9)
    assert (recounted.provider.count, recounted.receiver.count) == (1, 1)
    assert recount(PAYER, reviews).overall.histogram == (0, 1, 0, 0, 0)
    assert recount("nobody", reviews) == Reputation("nobody")


def test_same_counts_ignores_the_version_only():
    counted = Reputation(PAYEE).counted(review(PAYER, rating=5)).counted(review(PAYER, rating=3))
    recounted = recount(PAYEE, [review(PAYER, rating=3), review(PAYER, rating=5)])
    assert counted.version == 2 and recounted.version == 0
    assert same_counts(counted, recounted)
    assert not same_counts(counted, recount(PAYEE, [review(PAYER, rating=5)]))
    assert not same_counts(counted, recount(PAYEE, [review(PAYER, rating=4), review(PAYER, rating=4)]))
    assert not same_counts(counted, replace(recounted, receiver=recounted.provider, provider=recounted.receiver))


# The property: a reputation kept incrementally equals its recount, whatever happens


MEMBERS = ("ana", "ben", "cyd", "dan")
SHORT = timedelta(days=1)

exchanges_ = st.lists(
    st.tuples(
        st.permutations(MEMBERS).map(lambda members: (members[0], members[1])),  # provider, receiver
        st.booleans(),  # resolved after a dispute
        st.integers(0, 40),  # completed this many hours after T0
    ),
    min_size=1,
    max_size=3,
)
submits = st.tuples(
    st.just("submit"),
    st.integers(0, 2),  # which exchange
    st.sampled_from(("receiver", "provider", "receiver", "provider", "stranger")),
    st.integers(1, MAX_RATING),
    st.lists(st.sampled_from(list(KindWord)), max_size=3),
)
hides = st.tuples(st.just("hide"), st.integers(0, 2), st.sampled_from(("provider", "receiver")))
closes = st.tuples(st.just("close"))  # the scheduled closer runs now
waits = st.tuples(st.just("wait"), st.integers(1, 30))  # hours pass
operations = st.lists(
    st.sampled_from((submits, submits, submits, hides, closes, waits)).flatmap(lambda operation: operation),
    min_size=8,
    max_size=40,
)


class Model:
    """The service's behaviour (services/reviews.py), with the domain's functions only: rounds and
    their reviews, and every member's stored reputation, changed exactly where the service writes it."""

    def __init__(self, setup: list[tuple[tuple[str, str], bool, int]]) -> None:
        self.now = T0
        self.rounds: list[ReviewRound] = []
        self.reviews: list[dict[str, Review]] = []
        for index, ((provider, receiver), resolved, hours) in enumerate(setup):
            done = exchange(
                State.RESOLVED if resolved else State.COMPLETED,
                exchange_id=f"x{index}",
                payee_id=provider,
                payer_id=receiver,
                owner_id=provider,
                proposer_id=receiver,
                updated_at=at(T0, hours=hours),
            )
            self.rounds.append(open_round(done, SHORT))
            self.reviews.append({})
        self.reputations = {member: Reputation(member) for member in MEMBERS}
        self.published = 0

    def tick(self, **delta: float) -> str:
        self.now = at(self.now, **delta)
        return self.now

    def _count(self, shown: list[Review], sign: int = 1) -> None:
        for one in shown:
            self.reputations[one.subject_id] = self.reputations[one.subject_id].counted(one, sign)

    def submit(self, index: int, who: str, rating: int, words: list[KindWord]) -> None:
        """`reviews.submit_review`: the author's review sealed, or both published and counted."""
        review_round, reviews = self.rounds[index], self.reviews[index]
        author = {"provider": review_round.provider_id, "receiver": review_round.receiver_id}.get(who)
        if author is None:
            author = next(m for m in MEMBERS if m not in review_round.parties)
        existing = reviews.get(author)
        now = self.tick(minutes=1)
        try:
            submission = submit(review_round, author, Draft(rating, f"{who} {rating}", tuple(words)), existing, now)
        except errors.AppError as error:
            if author not in review_round.parties:
                expected = "not-found"
            elif existing is not None and existing.state is not ReviewState.SEALED:
                expected = "review-published"
            else:
                assert not review_round.open or now >= review_round.closes_at
                expected = "review-window-closed"
            assert error.code == expected, (error, review_round, existing, now)
            return
        assert author in review_round.parties and review_round.open and now < review_round.closes_at
        assert existing is None or existing.state is ReviewState.SEALED
        self.rounds[index] = submission.round
        if not submission.publish:
            reviews[author] = submission.review
            return
        mine = published(submission.review, now)
        theirs = published(reviews[review_round.other(author)], now)
        reviews[author], reviews[theirs.author_id] = mine, theirs
        self._count([mine, theirs])
        self.published += 2

    def close_windows(self) -> None:
        """`reviews.close_windows(now)`: every open round past its deadline publishes what was submitted."""
        now = self.tick(minutes=1)
        for index, review_round in enumerate(self.rounds):
            if not review_round.open or now < review_round.closes_at:
                continue
            self.rounds[index] = close(review_round, now)
            reviews = self.reviews[index]
            shown = [published(one, now) for one in reviews.values() if one.state is ReviewState.SEALED]
            for one in shown:
                reviews[one.author_id] = one
            self._count(shown)
            self.published += len(shown)

    def hide(self, index: int, who: str) -> None:
        """`reviews.moderate(hide=True)`: a published review leaves its subject's reputation; a hidden one
        stays as it is."""
        review_round = self.rounds[index]
        author = review_round.provider_id if who == "provider" else review_round.receiver_id
        found = self.reviews[index].get(author)
        if found is None or found.state is not ReviewState.PUBLISHED:
            return  # the service answers 404 (absent or sealed) or keeps it hidden
        self.reviews[index][author] = hidden(found)
        self._count([found], -1)

    def check(self) -> None:
        everything = [one for reviews in self.reviews for one in reviews.values()]
        for member, stored in self.reputations.items():
            recounted = recount(member, everything)
            assert same_counts(stored, recounted), (member, stored, recounted)
            shown = [r for r in everything if r.subject_id == member and r.state is ReviewState.PUBLISHED]
            assert stored.overall.count == len(shown) == sum(stored.overall.histogram)
            assert stored.overall.stars == sum(r.rating for r in shown)
            assert stored.provider.count + stored.receiver.count == stored.overall.count
            assert stored.provider.count == sum(r.subject_role is Role.PROVIDER for r in shown)
        for review_round, reviews in zip(self.rounds, self.reviews, strict=True):
            assert set(reviews) <= set(review_round.parties) and set(reviews) == review_round.submitted
            for author, one in reviews.items():
                assert (one.author_id, one.subject_id) == (author, review_round.other(author))
                assert one.subject_role is review_round.role_of(one.subject_id)
                assert one.after_dispute is review_round.after_dispute
                if review_round.open:  # the blind reveal: nothing shows before the round is published
                    assert one.state is ReviewState.SEALED and one.published_at is None
                    assert as_seen_by(one, one.subject_id) is None
                else:  # published together, at the round's moment
                    assert one.state is not ReviewState.SEALED
                    assert one.published_at == review_round.published_at


@settings(derandomize=True, max_examples=200, deadline=None, database=None)
@given(setup=exchanges_, steps=operations)
def test_a_reputation_kept_incrementally_equals_its_recount(setup, steps):
    model = Model(setup)
    for step in steps:
        match step:
            case ("submit", index, who, rating, words):
                model.submit(index % len(model.rounds), who, rating, words)
            case ("close",):
                model.close_windows()
            case ("hide", index, who):
                model.hide(index % len(model.rounds), who)
            case ("wait", hours):
                model.tick(hours=hours)
        model.check()
    total = sum(r.overall.count for r in model.reputations.values())
    hidden_count = sum(one.state is ReviewState.HIDDEN for reviews in model.reviews for one in reviews.values())
    assert total == model.published - hidden_count

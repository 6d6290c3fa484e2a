"""Review use cases: the round an exchange opens when it completes, sealed reviews published together,
replies, reports and moderation, reputations kept exact in the same unit of work, and their recount."""

from __future__ import annotations

import time
from functools import partial

from aws_lambda_powertools.metrics import MetricUnit

from chalicelib import clock, errors
from chalicelib.adapters.dynamodb import exchange_repository, listing_repository, member_repository
from chalicelib.adapters.dynamodb import review_repository as repository
from chalicelib.adapters.dynamodb.unit_of_work import UnitOfWork, already_done
from chalicelib.auth import Principal
from chalicelib.config import settings
from chalicelib.domain.audit import AuditAction
from chalicelib.domain.economy import ContributionKind, RewardRule
from chalicelib.domain.exchanges import Exchange
from chalicelib.domain.reviews import (
    Draft,
    Prior,
    Reputation,
    Review,
    ReviewReport,
    ReviewRound,
    ReviewState,
    Summary,
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
from chalicelib.observability import logger, metrics
from chalicelib.services import audit, auto_rewards, communities, governance, transaction, value_sharing

SUMMARY_SECONDS = 60.0  # how long a container reuses an owner's reputation shown beside listings
_summaries: dict[str, tuple[float, Reputation]] = {}


def add_round(uow: UnitOfWork, before: Exchange | None, after: Exchange) -> None:
    """An exchange that completes (or is resolved after a dispute) opens its review round, in the same
    unit of work as its completion."""
    if starts_round(before, after):
        repository.add_round(uow, open_round(after, governance.review_window()))


def submit_review(member_id: str, exchange_id: str, draft: Draft) -> Review:
    """The member's review, sealed; with the second review, both are published and counted."""

    def build(uow: UnitOfWork) -> Review:
        review_round, reviews = _round_of(member_id, exchange_id)
        existing = reviews.get(member_id)
        now = clock.now_iso()
        submission = submit(review_round, member_id, draft, existing, now)
        repository.add_round_change(uow, review_round, submission.round)
        if existing is None:  # a review written: a contribution (value sharing); an edit is not
            value_sharing.add_contribution(uow, member_id, ContributionKind.REVIEW_WRITTEN)
        if not submission.publish:
            repository.add_review(uow, submission.review, existing)
            return submission.review
        mine = published(submission.review, now)
        theirs = reviews[review_round.other(member_id)]
        repository.add_review(uow, mine, existing)
        repository.add_review(uow, published(theirs, now), theirs)
        _count(uow, [mine, published(theirs, now)], now)
        return mine

    review = transaction.run(build, keeps_changing=_changing())
    if review.submitted_at == review.updated_at:  # a first submission, not an edit
        auto_rewards.grant(RewardRule.REVIEW_WRITTEN, member_id, exchange_id)
    return review


def close_windows(now: str | None = None) -> int:
    """Scheduled: every round whose window has closed publishes what was submitted, one unit of work
    per exchange, each at its own deadline."""
    moment = now or clock.now_iso()
    closed = 0
    for due in repository.due(moment, 100):

        def build(uow: UnitOfWork, exchange_id: str = due.exchange_id) -> bool:
            review_round, reviews = repository.load(exchange_id)
            if review_round is None or not review_round.open or moment < review_round.closes_at:
                return False  # published by its second review meanwhile
            repository.add_round_change(uow, review_round, close(review_round, moment))
            shown = [published(review, moment) for review in reviews.values() if review.state is ReviewState.SEALED]
            for review in shown:
                repository.add_review(uow, review, reviews[review.author_id])
            _count(uow, shown, moment)
            return True

        try:
            closed += transaction.run(build)
        except errors.AppError:
            continue  # busy: the next run looks again
    return closed


def reply_to(member_id: str, exchange_id: str, author_id: str, text: str) -> Review:
    def build(uow: UnitOfWork) -> Review:
        review = _review(member_id, exchange_id, author_id)
        replied = reply(review, member_id, text, governance.review_window(), clock.now_iso())
        repository.add_review(uow, replied, review)
        return replied

    return transaction.run(build, keeps_changing=_changing())


def report(reporter_id: str, exchange_id: str, author_id: str, reason: str) -> None:
    """Any member reports a published review to its community's moderators."""
    review_round, reviews = repository.load(exchange_id)
    review = reviews.get(author_id)
    if review_round is None or review is None or review.state is not ReviewState.PUBLISHED:
        raise errors.NotFound("not-found.review")
    community_id = _community_of(review_round)
    at = clock.now_iso()
    transaction.run(lambda uow: repository.add_report(uow, community_id, review, reporter_id, reason, at))


def moderate(moderator: Principal, exchange_id: str, author_id: str, hide: bool, reason: str) -> Review:
    """The community's ambassadors and operators hide a published review (it leaves the reputation in
    the same unit of work) or keep it; either clears its reports and is audited."""

    def build(uow: UnitOfWork) -> Review:
        review_round, reviews = repository.load(exchange_id)
        review = reviews.get(author_id)
        if review_round is None or review is None or review.state is ReviewState.SEALED:
            raise errors.NotFound("not-found.review")
        community_id = _community_of(review_round)
        if not communities.moderates(moderator, community_id):
            raise errors.Forbidden("reviews.moderated-by-ambassadors")
        after = review
        if hide and review.state is ReviewState.PUBLISHED:
            after = hidden(review)
            repository.add_review(uow, after, review)
            _count(uow, [review], clock.now_iso(), sign=-1)
        repository.add_reports_cleared(uow, community_id, review)
        action = AuditAction.HIDE_REVIEW if hide else AuditAction.KEEP_REVIEW
        audit.record(uow, moderator.member_id, action, f"{exchange_id}/{author_id}", reason)
        value_sharing.add_contribution(uow, moderator.member_id, ContributionKind.MODERATION_DECISION)
        return after

    return transaction.run(build, keeps_changing=_changing())


def hide_about(member_id: str, exchange_ids: list[str]) -> None:
    """An erased member's reviews leave public view: each review about them in these exchanges' rounds,
    sealed or published, is hidden (a published one leaves their reputation). A round still open closes
    now, as its window's end would: what is sealed is published (the reviews the member wrote stay,
    under the pseudonym) and nobody reviews a former member later. One unit of work per round;
    idempotent."""
    for exchange_id in exchange_ids:

        def build(uow: UnitOfWork, exchange_id: str = exchange_id) -> None:
            review_round, reviews = repository.load(exchange_id)
            if review_round is None:
                return
            now = clock.now_iso()
            closing = review_round.open
            if closing:
                repository.add_round_change(uow, review_round, close(review_round, now))
            shown: list[Review] = []
            for review in reviews.values():
                if review.subject_id == member_id and review.state is not ReviewState.HIDDEN:
                    repository.add_review(uow, hidden(review), review)
                elif closing and review.state is ReviewState.SEALED:
                    shown.append(published(review, now))
                    repository.add_review(uow, shown[-1], review)
            gone = [r for r in reviews.values() if r.subject_id == member_id and r.state is ReviewState.PUBLISHED]
            _count(uow, shown, now)
            _count(uow, gone, now, sign=-1)

        transaction.run(build, keeps_changing=_changing())


def reports_queue(
    moderator: Principal, community_id: str, cursor: str | None, limit: int
) -> tuple[list[ReviewReport], str | None]:
    if not communities.moderates(moderator, community_id):
        raise errors.Forbidden("moderation.reports-for-moderators")
    return repository.reports(community_id, cursor, limit)


# Reads


def exchange_reviews(viewer_id: str, exchange_id: str) -> tuple[ReviewRound, list[Review]]:
    """An exchange's round and the reviews this party may see (a third member: not found)."""
    review_round, reviews = _round_of(viewer_id, exchange_id)
    seen = [as_seen_by(review, viewer_id) for review in reviews.values()]
    return review_round, sorted((r for r in seen if r is not None), key=lambda r: r.author_id)


def pending(member_id: str, limit: int) -> list[ReviewRound]:
    return repository.pending_for(member_id, limit)


def published_about(member_id: str, cursor: str | None, limit: int) -> tuple[list[Review], str | None]:
    found, next_cursor = repository.published_about(member_id, cursor, limit)
    if not found and cursor is None:
        _ensure_member(member_id)
    return [public(review) for review in found], next_cursor


def prior() -> Prior:
    config = settings()
    return Prior(config.reputation_prior_mean, config.reputation_prior_weight)


def reputation(member_id: str) -> tuple[Reputation, Prior]:
    found = repository.get_reputations({member_id})[member_id]
    if found.version == 0:  # never reviewed: a member without reviews, or no member at all
        _ensure_member(member_id)
    return found, prior()


def _ensure_member(member_id: str) -> None:
    if member_repository.get(member_id) is None:
        raise errors.NotFound("not-found.member")


def summaries(member_ids: set[str]) -> dict[str, Summary]:
    """The reputations shown beside listings and on profiles: one batch read for the members not seen
    in the last minute (a container reuses what it read)."""
    return {member_id: summarize(found, prior()) for member_id, found in _reputations(member_ids).items()}


def reset() -> None:
    """Forget the reputations this container reuses."""
    _summaries.clear()


def _reputations(member_ids: set[str]) -> dict[str, Reputation]:
    now = time.monotonic()
    cached = {member_id: _summaries.get(member_id) for member_id in member_ids}
    known = {member_id: hit[1] for member_id, hit in cached.items() if hit is not None and hit[0] > now}
    missing = member_ids - known.keys()
    if missing:
        fetched = repository.get_reputations(missing)
        _summaries.update({member_id: (now + SUMMARY_SECONDS, value) for member_id, value in fetched.items()})
        known.update(fetched)
    return known


def recount_touched() -> int:
    """Scheduled: every reputation changed since its last check is recounted from the member's
    published reviews (never all reviews); a difference is logged and counted as `ReputationMismatches`."""
    mismatches = 0
    checked = 0
    for stored in repository.touched(100):
        recounted = recount(stored.member_id, repository.all_published_about(stored.member_id))
        if not same_counts(stored, recounted):
            mismatches += 1
            logger.error("reputation mismatch", extra={"member_id": stored.member_id})
        transaction.run(partial(repository.add_checked, reputation=stored, refused=already_done()))
        checked += 1
    metrics.add_metric(name="ReputationMismatches", unit=MetricUnit.Count, value=mismatches)
    metrics.flush_metrics()
    return checked


# Helpers


def _count(uow: UnitOfWork, reviews: list[Review], at: str, sign: int = 1) -> None:
    """Each review's subject's reputation, over the version read: exact, in the same unit of work."""
    if not reviews:
        return
    before = repository.get_reputations({review.subject_id for review in reviews}, consistent=True)
    after = dict(before)
    for review in reviews:
        after[review.subject_id] = after[review.subject_id].counted(review, sign)
    for member_id, reputation_after in after.items():
        repository.add_reputation(uow, before[member_id], reputation_after, at)
        _summaries.pop(member_id, None)


def _round_of(member_id: str, exchange_id: str) -> tuple[ReviewRound, dict[str, Review]]:
    review_round, reviews = repository.load(exchange_id)
    if review_round is not None and member_id in review_round.parties:
        return review_round, reviews
    exchange = exchange_repository.get(exchange_id)
    if exchange is None or exchange.role_of(member_id) is None:
        raise errors.NotFound("not-found.exchange")
    raise errors.Conflict(
        "reviews.exchange-reviewed-once-completed", code="exchange-not-completed", state=exchange.state.value
    )


def _review(member_id: str, exchange_id: str, author_id: str) -> Review:
    _, reviews = _round_of(member_id, exchange_id)
    review = reviews.get(author_id)
    seen = as_seen_by(review, member_id) if review is not None else None
    if seen is None:
        raise errors.NotFound("not-found.review")
    return seen


def _community_of(review_round: ReviewRound) -> str:
    listing = listing_repository.get(review_round.listing_id)
    if listing is None:
        raise errors.NotFound("not-found.exchange-listing")
    return listing.community_id


def _changing() -> errors.Conflict:
    return errors.Conflict("reviews.reviews-exchange-keep-changing", code="reviews-changed")

"""Review rounds, reviews, reputations and review reports.

A round and its two reviews live in the exchange's partition, so one Query reads them. The round is
indexed under each party who still has to review (GSI1 provider, GSI2 receiver) and, while open, by its
closing time (GSI3, for the window closer). A published review is indexed under its subject (GSI1). A
reputation is indexed (GSI3) while a recount has not checked it since it changed."""

from __future__ import annotations

from typing import Any

import msgspec
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib.adapters.dynamodb import keys, pages, reads
from chalicelib.adapters.dynamodb.mapping import from_item, to_attributes, to_domain
from chalicelib.adapters.dynamodb.models import (
    ReputationItem,
    ReviewItem,
    ReviewPartItem,
    ReviewReportItem,
    ReviewRoundItem,
)
from chalicelib.adapters.dynamodb.unit_of_work import Refusal, UnitOfWork, stale
from chalicelib.domain.reviews import Reputation, Review, ReviewReport, ReviewRound, ReviewState

REVIEW_PREFIX = str(keys.Prefix.REVIEW)


def _round_keys(review_round: ReviewRound) -> dict[str, Any]:
    """Who still has to review (GSI1 provider, GSI2 receiver), and the closing time while open (GSI3)."""
    sort_key = keys.newest_sk(review_round.closes_at, review_round.exchange_id)
    waiting = review_round.open
    provider_waits = waiting and review_round.provider_id not in review_round.submitted
    receiver_waits = waiting and review_round.receiver_id not in review_round.submitted
    bucket = keys.bucket_of(review_round.exchange_id, keys.REVIEW_BUCKETS)
    return {
        "GSI1PK": keys.pending_reviews_pk(review_round.provider_id) if provider_waits else None,
        "GSI1SK": sort_key if provider_waits else None,
        "GSI2PK": keys.pending_reviews_pk(review_round.receiver_id) if receiver_waits else None,
        "GSI2SK": sort_key if receiver_waits else None,
        "GSI3PK": keys.reviews_due_pk(bucket) if waiting else None,
        "GSI3SK": sort_key if waiting else None,
    }


def _round_item(review_round: ReviewRound) -> ReviewRoundItem:
    return ReviewRoundItem(
        keys.exchange_pk(review_round.exchange_id),
        keys.REVIEW_ROUND_SK,
        **_round_keys(review_round),
        **to_attributes(review_round),
    )


def add_round(uow: UnitOfWork, review_round: ReviewRound) -> None:
    uow.put(_round_item(review_round), condition=ReviewRoundItem.PK.does_not_exist())


def add_round_change(uow: UnitOfWork, before: ReviewRound, after: ReviewRound) -> None:
    """Only over the version read: of two reviews submitted at once, the second sees the first."""
    uow.put(_round_item(after), condition=ReviewRoundItem.version == before.version)


def _review_item(review: Review) -> ReviewItem:
    shown = review.state is ReviewState.PUBLISHED and review.published_at is not None
    return ReviewItem(
        keys.exchange_pk(review.exchange_id),
        keys.review_sk(review.author_id),
        GSI1PK=keys.member_reviews_pk(review.subject_id) if shown else None,
        GSI1SK=keys.newest_sk(review.published_at or "", review.exchange_id) if shown else None,
        **to_attributes(review),
    )


def add_review(uow: UnitOfWork, review: Review, before: Review | None, refused: Refusal = stale) -> None:
    """A review written over the one read (absent, or in the state read)."""
    condition: Condition = ReviewItem.PK.does_not_exist()
    if before is not None:
        condition = (ReviewItem.state == before.state.value) & (ReviewItem.updated_at == before.updated_at)
        if before.reply is None:
            condition &= ReviewItem.reply.does_not_exist()
    uow.put(_review_item(review), condition=condition, refused=refused)


def load(exchange_id: str) -> tuple[ReviewRound | None, dict[str, Review]]:
    """An exchange's round and its reviews by author, in one Query."""
    review_round: ReviewRound | None = None
    reviews: dict[str, Review] = {}
    for item in ReviewPartItem.query(
        keys.exchange_pk(exchange_id), ReviewPartItem.SK.startswith(REVIEW_PREFIX), consistent_read=True
    ):
        if isinstance(item, ReviewRoundItem):
            review_round = to_domain(item, ReviewRound)
        else:
            review = to_domain(item, Review)
            reviews[review.author_id] = review
    return review_round, reviews


def pending_for(member_id: str, limit: int) -> list[ReviewRound]:
    """The open rounds where the member has not reviewed yet, soonest deadline first (as provider and
    as receiver, merged)."""
    pk = keys.pending_reviews_pk(member_id)
    found = [*ReviewRoundItem.gsi1.query(pk, limit=limit), *ReviewRoundItem.gsi2.query(pk, limit=limit)]
    rounds = sorted((to_domain(item, ReviewRound) for item in found), key=lambda r: (r.closes_at, r.exchange_id))
    return rounds[:limit]


def due(now: str, limit_per_bucket: int) -> list[ReviewRound]:
    found: list[ReviewRound] = []
    for bucket in range(keys.REVIEW_BUCKETS):
        results = ReviewRoundItem.gsi3.query(
            keys.reviews_due_pk(bucket), now >= ReviewRoundItem.GSI3SK, limit=limit_per_bucket
        )
        found.extend(to_domain(item, ReviewRound) for item in results)
    return found


def closing_between(after: str, until: str) -> list[ReviewRound]:
    """Open rounds whose window closes after `after` and at or before `until` (every page of each bucket)."""
    window = ReviewRoundItem.GSI3SK.between(after + keys.WINDOW_END, until + keys.WINDOW_END)
    return [
        to_domain(item, ReviewRound)
        for bucket in range(keys.REVIEW_BUCKETS)
        for item in ReviewRoundItem.gsi3.query(keys.reviews_due_pk(bucket), window)
    ]


def published_about(member_id: str, cursor: str | None, limit: int) -> tuple[list[Review], str | None]:
    def run(start: dict[str, Any] | None) -> Any:
        return reads.query(  # only reviews are indexed under their subject
            keys.member_reviews_pk(member_id), index=ReviewItem.gsi1, forward=False, limit=limit, start=start
        )

    def convert(item: reads.RawItem) -> Review:
        return from_item(ReviewItem, item, Review)

    return pages.collect(run, scope=f"member-reviews:{member_id}", cursor=cursor, convert=convert)


def all_published_about(member_id: str) -> list[Review]:
    """Every published review of a member (the recount of one member's reputation)."""
    return [to_domain(item, Review) for item in ReviewItem.gsi1.query(keys.member_reviews_pk(member_id))]


# Reputations


def _reputation(item: reads.RawItem) -> Reputation:
    """ReputationItem.tallies, decoded straight from the raw item."""
    return msgspec.json.decode(item["tallies"]["S"], type=Reputation)


def get_reputations(member_ids: set[str], *, consistent: bool = False) -> dict[str, Reputation]:
    wanted = [(keys.member_pk(member_id), keys.REPUTATION_SK) for member_id in member_ids]
    found = [_reputation(item) for item in reads.batch_get_items(wanted, consistent_read=consistent)]
    by_member = {reputation.member_id: reputation for reputation in found}
    return {member_id: by_member.get(member_id, Reputation(member_id)) for member_id in member_ids}


def add_reputation(uow: UnitOfWork, before: Reputation, after: Reputation, at: str) -> None:
    """The reputation over the version read, marked for the next recount."""
    unchanged = ReputationItem.version == before.version
    if before.version == 0:
        unchanged = ReputationItem.PK.does_not_exist() | unchanged
    bucket = keys.bucket_of(after.member_id, keys.REVIEW_BUCKETS)
    item = ReputationItem(
        keys.member_pk(after.member_id),
        keys.REPUTATION_SK,
        GSI3PK=keys.reputation_touched_pk(bucket),
        GSI3SK=keys.newest_sk(at, after.member_id),
        member_id=after.member_id,
        tallies=msgspec.json.encode(after).decode(),
        version=after.version,
    )
    uow.put(item, condition=unchanged)


def touched(limit_per_bucket: int) -> list[Reputation]:
    """Reputations changed since a recount last checked them."""
    found: list[Reputation] = []
    for bucket in range(keys.REVIEW_BUCKETS):
        results = reads.query(keys.reputation_touched_pk(bucket), index=ReputationItem.gsi3, limit=limit_per_bucket)
        found.extend(_reputation(item) for item in results)
    return found


def add_checked(uow: UnitOfWork, reputation: Reputation, refused: Refusal) -> None:
    """Checked by a recount: out of the index, unless it changed meanwhile (it stays for the next run)."""
    actions: list[Action] = [ReputationItem.GSI3PK.remove(), ReputationItem.GSI3SK.remove()]
    uow.update(
        ReputationItem(keys.member_pk(reputation.member_id), keys.REPUTATION_SK),
        actions,
        condition=ReputationItem.version == reputation.version,
        refused=refused,
    )


# Reports of published reviews, in the community's moderation queue


def add_report(uow: UnitOfWork, community_id: str, review: Review, reporter_id: str, reason: str, at: str) -> None:
    uow.put(
        ReviewReportItem(
            keys.review_reports_pk(community_id),
            keys.review_report_sk(review.exchange_id, review.author_id, reporter_id),
            exchange_id=review.exchange_id,
            author_id=review.author_id,
            reporter_id=reporter_id,
            reason=reason,
            at=at,
        )
    )


def reports(community_id: str, cursor: str | None, limit: int) -> tuple[list[ReviewReport], str | None]:
    def run(start: dict[str, Any] | None) -> Any:
        return ReviewReportItem.query(
            keys.review_reports_pk(community_id), limit=limit, page_size=limit, last_evaluated_key=start
        )

    def convert(item: ReviewReportItem) -> ReviewReport:
        return to_domain(item, ReviewReport)

    return pages.collect(run, scope=f"review-reports:{community_id}", cursor=cursor, convert=convert)


def add_reports_cleared(uow: UnitOfWork, community_id: str, review: Review) -> None:
    prefix = keys.key(review.exchange_id, review.author_id) + keys.SEP
    for item in ReviewReportItem.query(keys.review_reports_pk(community_id), ReviewReportItem.SK.startswith(prefix)):
        uow.delete(item)

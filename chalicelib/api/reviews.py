"""Routes of reviews: what to review, sealed reviews, replies, reports, moderation and reputations."""

from __future__ import annotations

from chalicelib.api.http import Call, Router
from chalicelib.api.schemas import (
    ExchangeReviewsOut,
    KindWordOut,
    Page,
    PageQuery,
    PendingReviewOut,
    PublicReviewOut,
    Reason,
    ReplyIn,
    ReputationOut,
    ReviewIn,
    ReviewOut,
    ReviewReportOut,
    TallyOut,
    project,
)
from chalicelib.domain.reviews import Draft, KindWord, Prior, Review, Tally
from chalicelib.i18n import labelled
from chalicelib.services import reviews

router = Router("reviews")

REVIEW_PATH = "/exchanges/{exchange_id}/reviews/{author_id}"


def review_out(review: Review) -> ReviewOut:
    return project(review, ReviewOut)


def tally_out(tally: Tally, prior: Prior) -> TallyOut:
    return TallyOut(
        tally.count, tally.average(), tally.bayesian(prior.mean, prior.weight), list(tally.histogram), tally.kind_words
    )


@router.route(
    "GET",
    "/review-kind-words",
    summary="The kind words a review may carry, with their label in your language and in each language",
    tag="reviews",
    access="public",
    response=list[KindWordOut],
)
def list_kind_words(call: Call[None, None]) -> list[KindWordOut]:
    return [KindWordOut(word.value, *labelled(f"kind-word.{word.value}", call.language)) for word in KindWord]


@router.route(
    "GET",
    "/me/reviews/pending",
    summary="Your exchanges awaiting your review, soonest deadline first",
    tag="reviews",
    response=list[PendingReviewOut],
)
def list_pending_reviews(call: Call[None, None]) -> list[PendingReviewOut]:
    me = call.member.member_id
    return [
        PendingReviewOut(
            exchange_id=found.exchange_id,
            exchange_type=found.exchange_type.value,
            listing_id=found.listing_id,
            other_member_id=found.other(me),
            your_role=found.role_of(me).value,
            closes_at=found.closes_at,
            other_has_reviewed=found.other(me) in found.submitted,
            after_dispute=found.after_dispute,
        )
        for found in reviews.pending(me, 100)
    ]


@router.route(
    "PUT",
    "/exchanges/{exchange_id}/review",
    summary="Submit or edit your review of the other member of a completed exchange (sealed until both are in)",
    description="Only the two members of a completed (or resolved) exchange review it, once each, about the "
    "other. A review stays sealed, readable and editable by its author alone, until the other member's review "
    "is in (both are then published together) or the review window closes (`closes_at`): then it is published "
    "as it is and can no longer change (409 `review-published`, or `review-window-closed`). An exchange not yet "
    "completed is a 409 `exchange-not-completed`; another member's exchange is a 404.",
    tag="reviews",
    body=ReviewIn,
    response=ReviewOut,
    problems=(404, 409, 422),
)
def submit_review(call: Call[ReviewIn, None]) -> ReviewOut:
    body = call.body
    draft = Draft(body.rating, body.comment, tuple(KindWord(word) for word in body.kind_words), body.private_note)
    return review_out(reviews.submit_review(call.member.member_id, call.params["exchange_id"], draft))


@router.route(
    "GET",
    "/exchanges/{exchange_id}/reviews",
    summary="The reviews of one of your exchanges, as you may see them",
    description="Your own review always (hidden ones marked hidden); the other member's once published, with "
    "the private note addressed to you. Not a member of the exchange: 404.",
    tag="reviews",
    response=ExchangeReviewsOut,
    problems=(404, 409),
)
def get_exchange_reviews(call: Call[None, None]) -> ExchangeReviewsOut:
    found, seen = reviews.exchange_reviews(call.member.member_id, call.params["exchange_id"])
    return ExchangeReviewsOut(
        found.exchange_id, found.closes_at, found.published_at, found.after_dispute, [review_out(r) for r in seen]
    )


@router.route(
    "GET",
    "/members/{member_id}/reviews",
    summary="A member's published reviews, newest first",
    tag="reviews",
    query=PageQuery,
    response=Page[PublicReviewOut],
    problems=(400, 404),
)
def list_member_reviews(call: Call[None, PageQuery]) -> Page[PublicReviewOut]:
    found, cursor = reviews.published_about(call.params["member_id"], call.query.cursor, call.query.limit)
    return Page([project(review, PublicReviewOut) for review in found], cursor)


@router.route(
    "GET",
    "/members/{member_id}/reputation",
    summary="A member's reputation: count, average, Bayesian average, stars and kind words, overall and by role",
    description="The Bayesian average is (prior_weight x prior_mean + sum of stars) / (prior_weight + count): "
    "a few reviews move it little from the prior, many bring it to their own average.",
    tag="reviews",
    response=ReputationOut,
    problems=(404,),
)
def get_reputation(call: Call[None, None]) -> ReputationOut:
    found, prior = reviews.reputation(call.params["member_id"])
    return ReputationOut(
        found.member_id,
        tally_out(found.overall, prior),
        tally_out(found.provider, prior),
        tally_out(found.receiver, prior),
        prior.mean,
        prior.weight,
    )


@router.route(
    "POST",
    f"{REVIEW_PATH}/reply",
    summary="Reply once to a published review of you",
    description="Only the reviewed member replies, once per review, within the review window after its "
    "publication (409 `already-replied`, `reply-window-closed`, `review-not-published`).",
    tag="reviews",
    body=ReplyIn,
    response=ReviewOut,
    problems=(403, 404, 409),
)
def reply_to_review(call: Call[ReplyIn, None]) -> ReviewOut:
    params = call.params
    return review_out(
        reviews.reply_to(call.member.member_id, params["exchange_id"], params["author_id"], call.body.text)
    )


@router.route(
    "POST",
    f"{REVIEW_PATH}/report",
    summary="Report a published review to its community's moderators",
    tag="reviews",
    body=Reason,
    status=202,
    problems=(404,),
    limit="reports",
)
def report_review(call: Call[Reason, None]) -> None:
    params = call.params
    reviews.report(call.member.member_id, params["exchange_id"], params["author_id"], call.body.reason)


@router.route(
    "POST",
    f"{REVIEW_PATH}/hide",
    summary="Hide a published review: it leaves the member's reputation (the community's ambassadors, operators)",
    tag="moderation",
    body=Reason,
    response=ReviewOut,
    problems=(403, 404),
)
def hide_review(call: Call[Reason, None]) -> ReviewOut:
    exchange_id, author_id = call.params["exchange_id"], call.params["author_id"]
    return review_out(reviews.moderate(call.member, exchange_id, author_id, True, call.body.reason))


@router.route(
    "POST",
    f"{REVIEW_PATH}/keep",
    summary="Keep a reported review as it is and clear its reports (the community's ambassadors, operators)",
    tag="moderation",
    body=Reason,
    response=ReviewOut,
    problems=(403, 404),
)
def keep_review(call: Call[Reason, None]) -> ReviewOut:
    params = call.params
    return review_out(
        reviews.moderate(call.member, params["exchange_id"], params["author_id"], False, call.body.reason)
    )


@router.route(
    "GET",
    "/communities/{community_id}/review-reports",
    summary="The community's reported reviews (ambassadors, operators)",
    tag="moderation",
    query=PageQuery,
    response=Page[ReviewReportOut],
    problems=(400, 403),
)
def list_review_reports(call: Call[None, PageQuery]) -> Page[ReviewReportOut]:
    query = call.query
    found, cursor = reviews.reports_queue(call.member, call.params["community_id"], query.cursor, query.limit)
    return Page([project(report, ReviewReportOut) for report in found], cursor)

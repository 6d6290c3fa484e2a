"""Reviews after an exchange, and the reputation they build. No I/O.

Both parties of a completed exchange review each other once. A review stays sealed (its author alone
reads and edits it) until both are in, or until the review window closes: then both are published
together, so nobody answers a review they have read. The reviewed member may reply once. A published
review counts in its subject's reputation, overall and in the role the subject had (provider: who
gave the good, the service or the seat; receiver: who got it), until a moderator hides it."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from msgspec import Struct, field
from msgspec.structs import replace

from chalicelib import clock, errors
from chalicelib.domain.exchanges import Exchange, ExchangeType, State


class KindWord(StrEnum):
    """ "Un mot sympa": a few fixed kind words a reviewer may add."""

    PUNCTUAL = "punctual"
    FRIENDLY = "friendly"
    AS_DESCRIBED = "as_described"
    GREAT_TEACHER = "great_teacher"
    RELIABLE = "reliable"
    GENEROUS = "generous"
    CAREFUL = "careful"


class Role(StrEnum):
    PROVIDER = "provider"  # gave the good, the service, the loan, the seat or the slot (the exchange's payee)
    RECEIVER = "receiver"


class ReviewState(StrEnum):
    SEALED = "sealed"
    PUBLISHED = "published"
    HIDDEN = "hidden"  # by a moderator: out of the reputation; its author still sees it, marked hidden


REVIEWABLE = frozenset({State.COMPLETED, State.RESOLVED})
MAX_RATING = 5


class ReviewRound(Struct, frozen=True):
    """The reviews of one exchange: who reviews whom, until when, and who has submitted."""

    exchange_id: str
    exchange_type: ExchangeType
    listing_id: str
    provider_id: str
    receiver_id: str
    completed_at: str
    closes_at: str
    after_dispute: bool = False
    submitted: frozenset[str] = field(default_factory=frozenset)
    published_at: str | None = None
    version: int = 0

    @property
    def parties(self) -> tuple[str, str]:
        return self.provider_id, self.receiver_id

    def other(self, member_id: str) -> str:
        return self.receiver_id if member_id == self.provider_id else self.provider_id

    def role_of(self, member_id: str) -> Role:
        return Role.PROVIDER if member_id == self.provider_id else Role.RECEIVER

    @property
    def open(self) -> bool:
        return self.published_at is None


class Review(Struct, frozen=True):
    exchange_id: str
    author_id: str
    subject_id: str
    subject_role: Role
    rating: int
    comment: str
    submitted_at: str
    updated_at: str
    state: ReviewState = ReviewState.SEALED
    kind_words: tuple[KindWord, ...] = ()
    private_note: str = ""
    after_dispute: bool = False
    published_at: str | None = None
    reply: str | None = None
    replied_at: str | None = None


class Draft(Struct, frozen=True):
    """What the author writes."""

    rating: int
    comment: str = ""
    kind_words: tuple[KindWord, ...] = ()
    private_note: str = ""


def open_round(exchange: Exchange, window: timedelta) -> ReviewRound:
    """The review round of an exchange that just completed (or was resolved after a dispute)."""
    completed_at = exchange.updated_at
    return ReviewRound(
        exchange_id=exchange.exchange_id,
        exchange_type=exchange.type,
        listing_id=exchange.listing_id,
        provider_id=exchange.payee_id,
        receiver_id=exchange.payer_id,
        completed_at=completed_at,
        closes_at=clock.iso(clock.parse(completed_at) + window),
        after_dispute=exchange.state is State.RESOLVED,
    )


def starts_round(before: Exchange | None, after: Exchange) -> bool:
    return after.state in REVIEWABLE and (before is None or before.state not in REVIEWABLE)


class Submission(Struct, frozen=True):
    """A submitted or edited review, and what it does to its round: when the second review is in,
    both are published now (`publish`)."""

    review: Review
    round: ReviewRound
    publish: bool


def submit(review_round: ReviewRound, author_id: str, draft: Draft, existing: Review | None, now: str) -> Submission:
    """The author's review, new or edited while sealed; a third member is refused (as not found)."""
    if author_id not in review_round.parties:
        raise errors.NotFound("not-found.exchange-reviews")
    if existing is not None and existing.state is not ReviewState.SEALED:
        raise errors.Conflict(
            "reviews.published-review-longer-change", code="review-published", state=existing.state.value
        )
    if not review_round.open or now >= review_round.closes_at:
        raise errors.Conflict("reviews.review-window-closed", code="review-window-closed", state="closed")
    subject = review_round.other(author_id)
    review = Review(
        exchange_id=review_round.exchange_id,
        author_id=author_id,
        subject_id=subject,
        subject_role=review_round.role_of(subject),
        rating=draft.rating,
        comment=draft.comment,
        kind_words=tuple(dict.fromkeys(draft.kind_words)),
        private_note=draft.private_note,
        after_dispute=review_round.after_dispute,
        submitted_at=existing.submitted_at if existing else now,
        updated_at=now,
    )
    submitted = review_round.submitted | {author_id}
    publish = submitted >= set(review_round.parties)
    after = replace(review_round, submitted=submitted, version=review_round.version + 1)
    if publish:
        after = replace(after, published_at=now)
    return Submission(review, after, publish)


def published(review: Review, now: str) -> Review:
    return replace(review, state=ReviewState.PUBLISHED, published_at=now)


def hidden(review: Review) -> Review:
    return replace(review, state=ReviewState.HIDDEN)


def close(review_round: ReviewRound, now: str) -> ReviewRound:
    """The window closed: whatever was submitted is published."""
    return replace(review_round, published_at=now, version=review_round.version + 1)


def reply(review: Review, member_id: str, text: str, window: timedelta, now: str) -> Review:
    """The reviewed member answers a published review once, within the window after publication."""
    if member_id != review.subject_id:
        raise errors.Forbidden("reviews.only-reviewed-member-replies")
    if review.state is not ReviewState.PUBLISHED or review.published_at is None:
        raise errors.Conflict("reviews.only-published-review-gets", code="review-not-published", state=review.state)
    if review.reply is not None:
        raise errors.Conflict("reviews.review-already-reply", code="already-replied", state=review.state)
    if now >= clock.iso(clock.parse(review.published_at) + window):
        raise errors.Conflict("reviews.time-reply-passed", code="reply-window-closed", state=review.state)
    return replace(review, reply=text, replied_at=now)


def as_seen_by(review: Review, viewer_id: str) -> Review | None:
    """What a party of the exchange sees of a review: the author always sees their own (hidden ones
    marked hidden); the subject sees it once published, with the private note addressed to them."""
    if viewer_id == review.author_id:
        return review
    if viewer_id == review.subject_id and review.state is ReviewState.PUBLISHED:
        return review
    return None


def public(review: Review) -> Review:
    """A published review as anyone sees it: the private note stays between the two members."""
    return replace(review, private_note="")


class ReviewReport(Struct, frozen=True):
    exchange_id: str
    author_id: str
    reporter_id: str
    reason: str
    at: str


# Reputation


class Tally(Struct, frozen=True):
    """Published reviews of one member in one scope: their number, the sum and histogram of their
    stars, and how often each kind word was given."""

    count: int = 0
    stars: int = 0
    histogram: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)
    kind_words: dict[str, int] = field(default_factory=dict)

    def average(self) -> float | None:
        return round(self.stars / self.count, 2) if self.count else None

    def bayesian(self, prior_mean: float, prior_weight: float) -> float:
        """(prior_weight * prior_mean + sum of stars) / (prior_weight + count): a few reviews move it
        little, many move it to their own average, so one 5★ does not outrank fifty 4.9★."""
        return round((prior_weight * prior_mean + self.stars) / (prior_weight + self.count), 2)

    def counted(self, review: Review, sign: int) -> Tally:
        histogram = list(self.histogram)
        histogram[review.rating - 1] += sign
        words = dict(self.kind_words)
        for word in review.kind_words:
            words[word.value] = words.get(word.value, 0) + sign
        return Tally(
            self.count + sign,
            self.stars + sign * review.rating,
            (histogram[0], histogram[1], histogram[2], histogram[3], histogram[4]),
            {word: count for word, count in sorted(words.items()) if count},
        )


class Reputation(Struct, frozen=True):
    member_id: str
    overall: Tally = field(default_factory=Tally)
    provider: Tally = field(default_factory=Tally)
    receiver: Tally = field(default_factory=Tally)
    version: int = 0

    def counted(self, review: Review, sign: int = 1) -> Reputation:
        """With a review published (+1) or hidden (-1)."""
        scope = "provider" if review.subject_role is Role.PROVIDER else "receiver"
        changes = {"overall": self.overall.counted(review, sign), scope: getattr(self, scope).counted(review, sign)}
        return replace(self, version=self.version + 1, **changes)


class Prior(Struct, frozen=True):
    """The Bayesian prior: what a member without reviews is assumed to be worth, and how many reviews' weight it has."""

    mean: float
    weight: float


class Summary(Struct, frozen=True):
    """What shows beside a member's listings and on their profile."""

    count: int
    average: float | None
    bayesian_average: float


def summarize(reputation: Reputation, prior: Prior) -> Summary:
    overall = reputation.overall
    return Summary(overall.count, overall.average(), overall.bayesian(prior.mean, prior.weight))


def recount(member_id: str, reviews: list[Review]) -> Reputation:
    """The reputation from a member's published (not hidden) reviews alone: what the stored one must equal."""
    reputation = Reputation(member_id)
    for review in reviews:
        if review.state is ReviewState.PUBLISHED and review.subject_id == member_id:
            reputation = reputation.counted(review)
    return replace(reputation, version=0)


def same_counts(stored: Reputation, recounted: Reputation) -> bool:
    return (stored.overall, stored.provider, stored.receiver) == (
        recounted.overall,
        recounted.provider,
        recounted.receiver,
    )

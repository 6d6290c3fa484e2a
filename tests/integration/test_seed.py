"""The demo seed (`scripts/run`) on a fresh table: a second run fails on nothing and adds nothing, demo
members find published reviews on profiles and one exchange waiting for their own review, and the
cooperative has its colleges, cooperators, an open ballot, a budget that funded its winners and elected
spokespeople, each community two open missions (one with a claim waiting for approval), and a fee schedule
that applies after the notice (the seed's own listings were published free), with a ledger that still
reconciles."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chalicelib import clock
from chalicelib.adapters.dynamodb import books_repository
from chalicelib.domain import books as book_rules
from chalicelib.domain.economy import Operation
from chalicelib.domain.governance import BallotKind, BallotState, CooperatorStatus
from chalicelib.domain.ledger import TransferKind, earmark_account
from chalicelib.domain.missions import ClaimState
from chalicelib.domain.reviews import ReviewState
from chalicelib.services import (
    ballots,
    communities,
    fees,
    governance,
    ledger,
    missions,
    reviews,
    value_sharing,
)
from tests import books
from tools.seed import (
    DEMO_BUDGET,
    DEMO_COLLEGE_REQUEST,
    DEMO_COLLEGES,
    DEMO_COMMUNITIES,
    DEMO_COOPERATORS,
    DEMO_ELECTION,
    DEMO_FEES,
    DEMO_FREE_LISTINGS,
    DEMO_MISSION_CLAIMS,
    DEMO_MISSIONS,
    DEMO_OPEN_BALLOT,
    DEMO_PROXY,
    DEMO_REVIEWED,
    HISTORY_DAYS,
    HISTORY_MONTHS,
    LAST_MONTH_FEE,
    LAST_MONTH_LISTINGS,
    OPERATOR_ID,
    mission_poster,
    seed,
)


def stored_keys(admin: Any, table_name: str) -> set[tuple[str, str]]:
    """Every item's key but the audit trail's (each run audits the ambassador it grants again)."""
    found: set[tuple[str, str]] = set()
    start: dict[str, Any] | None = None
    while True:
        page = admin.scan(
            TableName=table_name, ProjectionExpression="PK, SK", **({"ExclusiveStartKey": start} if start else {})
        )
        found.update((item["PK"]["S"], item["SK"]["S"]) for item in page["Items"])
        start = page.get("LastEvaluatedKey")
        if not start:
            return {key for key in found if not key[0].startswith("AUDIT#")}


def test_seeding_twice_duplicates_nothing_publishes_reviews_and_governs(table_name, dynamodb_admin):
    started = clock.now()
    seed()
    first = stored_keys(dynamodb_admin, table_name)
    seed()
    assert stored_keys(dynamodb_admin, table_name) == first, "a second run must add nothing"
    check_reviews()
    check_governance()
    check_missions()
    check_fees(started)
    check_last_month(started)
    books.assert_reconciled()
    check_public_books(started)


def check_public_books(started: datetime) -> None:
    """The reconciliation published the history's days and months at once (catching up over several units
    of work), chained, with rewards and payments in every month."""
    first = (started.replace(day=1) - timedelta(days=31 * HISTORY_MONTHS)).replace(day=HISTORY_DAYS[0]).date()
    yesterday = (started - timedelta(days=1)).date()
    days = books_repository.periods(books_repository.DAY, first.isoformat(), yesterday.isoformat())
    assert [day.period for day in days] == [
        (first + timedelta(days=n)).isoformat() for n in range((yesterday - first).days + 1)
    ]
    assert book_rules.broken_links(days) == []
    months = books_repository.periods(books_repository.MONTH, first.isoformat()[:7], yesterday.isoformat()[:7])
    assert len(months) >= HISTORY_MONTHS and book_rules.broken_links(months) == []
    assert all(
        month.figures["credits_rewards"] > 0 and month.figures["credits_exchanged"] > 0
        for month in months[:HISTORY_MONTHS]
    )
    stocks = [month.figures["credits_in_wallets"] for month in months[: HISTORY_MONTHS - 1]]
    assert stocks == sorted(stocks) and stocks[0] > 0, "credits in circulation grow with the rewards"  # then fees


def check_reviews() -> None:
    both_sides = [demo for demo in DEMO_REVIEWED if len(demo.reviews) == 2]
    assert len(both_sides) >= 5
    for demo in both_sides:
        for review in demo.reviews:
            subject = next(other.author_id for other in demo.reviews if other.author_id != review.author_id)
            found, _ = reviews.published_about(subject, None, 20)
            mine = [r for r in found if r.author_id == review.author_id and r.comment == review.comment]
            assert len(mine) == 1, (subject, review.author_id)
            assert mine[0].state is ReviewState.PUBLISHED and mine[0].private_note == ""
            assert mine[0].kind_words == review.kind_words
    assert reviews.reputation("demo-bastien")[0].overall.count == 1
    assert reviews.summaries({"demo-amelie"})["demo-amelie"].count == 1

    sealed = next(demo for demo in DEMO_REVIEWED if len(demo.reviews) == 1)
    (author,) = sealed.reviews
    waiting = [r for r in reviews.pending(sealed.proposer_id, 100) if author.author_id in r.submitted]
    assert len(waiting) == 1 and waiting[0].other(sealed.proposer_id) == author.author_id
    assert waiting[0].open
    assert not any(r.exchange_id == waiting[0].exchange_id for r in reviews.pending(author.author_id, 100))
    shown, _ = reviews.published_about(sealed.proposer_id, None, 20)
    assert waiting[0].exchange_id not in {r.exchange_id for r in shown}, "sealed until the other review is in"


def check_governance() -> None:
    assert governance.colleges() == list(DEMO_COLLEGES)
    active, _ = governance.cooperators(CooperatorStatus.ACTIVE, None, 100)
    assert {c.member_id: c.college_id for c in active} == DEMO_COOPERATORS
    requested, _ = governance.cooperators(CooperatorStatus.REQUESTED, None, 100)
    assert [(c.member_id, c.college_id) for c in requested] == [DEMO_COLLEGE_REQUEST]
    principal, holder = DEMO_PROXY
    given, _ = governance.proxies(principal)
    assert [(p.holder_id, p.ballot_id) for p in given] == [(holder, None)]

    (opened,) = ballots.listing(BallotState.OPEN, None, 100)[0]
    assert (opened.title, opened.rules.kind) == (DEMO_OPEN_BALLOT.title, BallotKind.YES_NO)
    assert ballots.my_vote(principal, opened.ballot_id).voted_by == holder
    assert sum(ballots.participation(opened.ballot_id)[1].values()) == len(DEMO_OPEN_BALLOT.votes)
    assert not ballots.my_vote("demo-amelie", opened.ballot_id).voted, "left for the demo member's token"

    closed, _ = ballots.listing(BallotState.CLOSED, None, 100)
    assert sorted(b.title for b in closed) == sorted([DEMO_BUDGET.title, DEMO_ELECTION.title])
    assert not ballots.listing(BallotState.SCHEDULED, None, 100)[0]
    budget = next(b for b in closed if b.rules.kind is BallotKind.BUDGET)
    funded = ballots.result(budget.ballot_id)
    assert funded.voted == len(DEMO_BUDGET.votes) and funded.winners == ("compost", "velo")
    for project in budget.rules.options:
        posted = ledger.balance(earmark_account(budget.ballot_id, project.option_id)).posted
        assert posted == (project.cost if project.option_id in funded.winners else 0), project.option_id

    election = next(b for b in closed if b.rules.kind is BallotKind.ELECTION)
    assert {o.option_id for o in election.rules.options} == set(DEMO_ELECTION.candidates)
    elected = ballots.result(election.ballot_id).winners
    assert set(elected) == {"demo-amelie", "demo-farid"}
    assert {(member, ballot) for member, ballot, _ in ballots.spokespeople()} == {
        (member, election.ballot_id) for member in elected
    }


def check_missions() -> None:
    assert mission_poster("geneve-plainpalais").member_id == "demo-amelie", "its ambassador posts there"
    for _, slug, _, _ in DEMO_COMMUNITIES:
        community = communities.find_by_slug(slug)
        assert community is not None
        found = missions.open_missions(community.community_id, None, 100)[0]
        assert sorted(m.title for m in found) == sorted(d.title for d in DEMO_MISSIONS), slug
        poster = mission_poster(slug)
        assert {m.poster_id for m in found} == {poster.member_id}, slug
        member_id, text = DEMO_MISSION_CLAIMS[slug]
        waiting = [m for m in found if m.taken]
        assert [m.title for m in waiting] == [DEMO_MISSIONS[0].title], slug
        claims = missions.claims(poster, waiting[0].mission_id)
        assert [(c.member_id, c.state, c.submission) for c in claims] == [(member_id, ClaimState.SUBMITTED, text)], slug


def check_fees(started: Any) -> None:
    """Two stored versions, both from last month: its paid prices, then the demo's schedule, in force now.
    The seed's own listings of this month were published before any version existed: free."""
    versions = fees.schedule()
    assert [v.prices for v in versions[1:]] == [{Operation.PUBLISH_LISTING: LAST_MONTH_FEE}, DEMO_FEES], versions
    demo = versions[-1]
    assert (demo.free_listings_per_month, demo.changed_by) == (DEMO_FREE_LISTINGS, OPERATOR_ID)
    assert demo.effective_at < clock.iso(started) and fees.current() == demo
    paid = [t for t in books.transfers() if t.request.kind is TransferKind.FEE]
    assert sorted(t.request.amount for t in paid) == [LAST_MONTH_FEE] * len(LAST_MONTH_LISTINGS)
    assert {t.created_at[:7] for t in paid} == {last_month(started)}


def last_month(now: Any) -> str:
    return clock.iso(now.replace(day=1) - timedelta(days=1))[:7]


def check_last_month(started: Any) -> None:
    """Last month's value sharing: 20 % of its 30 credits of fees to Amélie (two moderation decisions: 4
    points) and David (an approved mission: 5 points), by largest remainder: 3 and 3."""
    statement = value_sharing.statement(last_month(started))
    assert (statement.revenue, statement.distributed) == (3 * LAST_MONTH_FEE, 6)
    assert {(s.member_id, s.points, s.credits) for s in statement.shares} == {
        ("demo-amelie", 4, 3),
        ("demo-david", 5, 3),
    }

"""The demo seed (`scripts/run`) on a fresh table: a second run fails on nothing and adds nothing, and
demo members find published reviews on profiles and one exchange waiting for their own review."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.reviews import ReviewState
from chalicelib.services import reviews
from tools.seed import DEMO_REVIEWED, seed


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


def test_seeding_twice_publishes_reviews_leaves_one_pending_and_duplicates_nothing(table_name, dynamodb_admin):
    seed()
    first = stored_keys(dynamodb_admin, table_name)
    seed()
    assert stored_keys(dynamodb_admin, table_name) == first, "a second run must add nothing"

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

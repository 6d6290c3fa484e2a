"""Fewer, smaller writes and calls: the billed write units of the daily activity mark, of a listing's
typical edits and of reading a conversation, and what an app's opening costs in one call (GET /me/home)
against the routes it replaces.

Runs the real services and application against DynamoDB Local, in a table of its own created from
infra/template.json, and prints one JSON object on stdout:

a. The activity mark: a member's first call of each active day (`members.ensure_member`, the clock set
   to that day) over four weeks of five active days (20 active days, the reference profile's), for a
   member of one community and of three. Write and read units per active day and per month.
b. A listing's edits (`listings.update_listing`): an active listing with two tags and a location (seven
   browse entries) has its title changed, its price, a tag added, is paused, resumed, moved to another
   area cell, and sent an edit that changes nothing; then its featuring ends (`listings.end_featuring`,
   the scheduled job). Items written and write units per edit.
c. Reading a conversation (`conversations.read_messages`) with an unread message, then again with
   nothing unread. Write units per read.
d. An app's opening over HTTP: GET /me/home against, in the same run, the eight calls it replaces
   (GET /me for the home community, /me/wallet, /me/conversations, /me/exchanges as proposer and as
   owner, /me/reviews/pending, /ballots?state=open, /listings?community=). API requests, DynamoDB
   requests and read units per opening.

Write and read units are what AWS bills, computed by the harness from the requests sent.

Usage: python -m bench.writes [--quick] [--endpoint URL]
(--cpu-calls, --cpu-rounds and --profile do not apply.)
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bench._harness import (
    Api,
    Meter,
    Sample,
    app_log_to,
    bench_parser,
    bench_table,
    clock_at,
    secrets_root,
    shared_client,
)
from bench._harness import summary as harness_summary

WEEKS = 4  # --quick: 1
ACTIVE_DAYS_PER_WEEK = 5  # 20 active days a month: the reference profile's
FIRST_MONDAY = date(2031, 3, 3)
HOME = "u0k8w"
ELSEWHERE = "u0hqg"  # another 4-character cell: the geo entry moves
GOAL_MARK_UNITS_PER_ACTIVE_DAY = 1.0  # with one community; was 4 (a transaction of the profile and the membership)
GOAL_UNCHANGED_EDIT_UNITS = 0
GOAL_READ_THREAD_UNITS = 0  # when nothing was unread
GOAL_HOME_API_REQUESTS = 1


def measure(meter: Meter, call: Callable[[], Any]) -> Sample:
    return meter.measure(call)[0]


def summary(samples: Sequence[Sample], unit: str, admin: Any) -> dict[str, Any]:
    figure = harness_summary(samples, unit, admin)
    return {
        "requests": figure[f"requests_per_{unit}"],
        "requests_by_operation": figure["requests_by_operation"],
        "write_requests": figure.get("write_requests", 0.0),
        "transact_items": figure.get("transact_items"),
        "write_units": figure.get("write_units_with_index_deletes", 0.0),  # billed: index moves and deletes too
        "read_units": figure.get("read_units", 0.0),
    }


# a: the activity mark.


def member_of(communities: Sequence[str], label: str) -> str:
    from chalicelib.auth import Principal
    from chalicelib.services import communities as community_service
    from chalicelib.services import members

    member_id = str(uuid.uuid4())
    members.ensure_member(Principal(member_id, frozenset(), label))
    for community_id in communities:
        community_service.join(member_id, community_id)
    return member_id


def measure_marks(meter: Meter, admin: Any, communities: Sequence[str], weeks: int) -> dict[str, Any]:
    from chalicelib.auth import Principal
    from chalicelib.services import members

    member_id = member_of(communities, f"Active in {len(communities)}")
    samples = []
    for week in range(weeks):
        for weekday in range(ACTIVE_DAYS_PER_WEEK):
            moment = datetime.combine(FIRST_MONDAY + timedelta(weeks=week, days=weekday), datetime.min.time(), UTC)
            with clock_at(moment + timedelta(hours=8)):
                samples.append(
                    measure(meter, functools.partial(members.ensure_member, Principal(member_id, frozenset())))
                )
    figure = summary(samples, "active_day", admin)
    return figure | {
        "write_units_per_month": figure["write_units"] * len(samples),
        "active_days": len(samples),
        "communities": len(communities),
    }


# b: a listing's edits.


def measure_edits(meter: Meter, admin: Any, community_id: str) -> dict[str, Any]:
    from chalicelib.auth import Principal
    from chalicelib.domain.listings import Kind, ListingDraft, Mode, Status
    from chalicelib.services import listings

    owner = member_of([community_id], "Publisher")
    draft = ListingDraft(
        Kind.OFFER,
        "services.gardening",
        Mode.CREDITS,
        "Coup de main au jardin",
        "Taille de haies, désherbage et plantations, le samedi matin. Outils fournis.",
        community_id,
        Status.ACTIVE,
        price=20,
        tags=("jardin", "haies"),
        location=HOME,
    )
    listing_id = listings.create_listing(owner, draft).listing_id
    edits: list[tuple[str, dict[str, object]]] = [
        ("title", {"title": "Coup de main au jardin, le samedi"}),
        ("price", {"price": 25}),
        ("tag_added", {"tags": ("jardin", "haies", "outils")}),
        ("paused", {"status": Status.PAUSED}),
        ("resumed", {"status": Status.ACTIVE}),
        ("moved", {"location": ELSEWHERE}),
        ("unchanged", {"price": 25, "title": "Coup de main au jardin, le samedi"}),
    ]
    figures: dict[str, Any] = {}
    for name, changes in edits:
        call = functools.partial(listings.update_listing, Principal(owner, frozenset()), listing_id, changes)
        figures[name] = summary([measure(meter, call)], "edit", admin)
    featured_two_days_ago(listing_id)
    figures["featuring_ended"] = summary([measure(meter, listings.end_featuring)], "edit", admin)
    return figures


def featured_two_days_ago(listing_id: str) -> None:
    """Featured for a day, two days ago (as the paid feature writes it): the scheduled job's to end."""
    from msgspec.structs import replace

    from chalicelib import clock
    from chalicelib.adapters.dynamodb import listing_repository
    from chalicelib.services import transaction

    before = listing_repository.get(listing_id)
    assert before is not None
    then = clock.now() - timedelta(days=2)
    after = replace(before, featured_until=clock.iso(then + timedelta(days=1)), version=before.version + 1)
    with clock_at(then):
        transaction.run(lambda uow: listing_repository.add_replacement(uow, before, after))


# c: reading a conversation.


def measure_thread_reads(meter: Meter, admin: Any, community_id: str) -> dict[str, Any]:
    from chalicelib.domain.listings import Kind, ListingDraft, Mode, Status
    from chalicelib.services import conversations, listings

    owner, asker = member_of([community_id], "Owner"), member_of([community_id], "Asker")
    draft = ListingDraft(
        Kind.OFFER, "goods.tools", Mode.LOAN, "Perceuse", "Avec mèches.", community_id, Status.ACTIVE, deposit=50
    )
    listing_id = listings.create_listing(owner, draft).listing_id
    conversation, _ = conversations.message_listing_owner(asker, listing_id, "Encore disponible ?")
    read = functools.partial(conversations.read_messages, owner, conversation.conversation_id, None, 20)
    return {
        "something_unread": summary([measure(meter, read)], "read", admin),
        "nothing_unread": summary([measure(meter, read)], "read", admin),
    }


# e: keyword search.

SEARCH_TITLES = (
    "Perceuse à percussion",
    "Vélo d'enfant 20 pouces",
    "Cours de guitare pour débutants",
    "Scie sauteuse et ponceuse",
    "Tondeuse à gazon électrique",
    "Poussette et siège auto",
)


def measure_search(meter: Meter, admin: Any, community_id: str, listings_count: int) -> dict[str, Any]:
    """A listing's publication with its keyword entries against the same publication without them (in the same
    run), then keyword searches over `listings_count` listings: in the community (two words, the last one a
    prefix) and near the place (one word)."""
    from unittest import mock

    from chalicelib.domain import listings as listing_rules
    from chalicelib.domain.listings import Kind, ListingDraft, Mode, Status
    from chalicelib.services import listings

    owner = member_of([community_id], "Searched")

    def draft(sequence: int) -> ListingDraft:
        title = f"{SEARCH_TITLES[sequence % len(SEARCH_TITLES)]} n°{sequence}"
        return ListingDraft(
            Kind.OFFER, "goods.tools", Mode.CREDITS, title, "Disponible le samedi.", community_id, Status.ACTIVE,
            price=5, tags=("bricolage", "jardin"), location=HOME,
        )  # fmt: skip

    publish = [functools.partial(listings.create_listing, owner, draft(n)) for n in range(listings_count)]
    with_words = [measure(meter, call) for call in publish[: listings_count // 2]]
    with mock.patch.object(listing_rules, "listing_words", lambda *_: ()):
        without_words = [measure(meter, call) for call in publish[listings_count // 2 :]]
    searches = {
        "community_two_words": ("perceuse ponc", {"community": community_id}),
        "near_one_word": ("perceuse", {"near": HOME}),
    }
    found: dict[str, Any] = {}
    for name, (typed, where) in searches.items():
        where_to = where.get("community"), where.get("near")
        call = functools.partial(
            listings.search, typed, community=where_to[0], near=where_to[1], narrowing=None, cursor=None, limit=20
        )
        samples = [measure(meter, call) for _ in range(3)]
        found[name] = summary(samples, "search", admin) | {
            "queries": harness_summary(samples, "search", admin)["requests_by_operation"].get("Query", 0.0),
            "listings_found": len(call().listings),
        }
    published, plain = summary(with_words, "publication", admin), summary(without_words, "publication", admin)
    return {
        "publication_with_keywords": published,
        "publication_without_keywords": plain,
        "keyword_write_units_per_publication": published["write_units"] - plain["write_units"],
        "searches": found,
    }


# d: an app's opening.

REPLACED = (  # and the home community's page
    "/me",
    "/me/wallet",
    "/me/conversations",
    "/me/exchanges?role=proposer",
    "/me/exchanges?role=owner",
    "/me/reviews/pending",
    "/ballots?state=open",
    "/me/notifications?limit=1",  # for the unread count
)


def opening_member(api: Api, community_id: str, listings_count: int) -> str:
    """A member whose app opens on a community page with listings of two owners, six exchanges proposed
    (waiting for the other side) and six conversations with an unread message."""
    from chalicelib.domain.listings import Kind, ListingDraft, Mode, Status
    from chalicelib.services import conversations, exchanges, listings

    member_id, neighbour = member_of([community_id], "Opener"), member_of([community_id], "Neighbour")
    api.add_member(member_id, "Opener")
    for sequence in range(listings_count):
        owner = (member_id, neighbour)[sequence % 2]
        draft = ListingDraft(
            Kind.OFFER, "services.gardening", Mode.CREDITS, f"Jardin {sequence}", "Le samedi.", community_id,
            Status.ACTIVE, price=5, tags=("jardin",), location=HOME,
        )  # fmt: skip
        listing_id = listings.create_listing(owner, draft).listing_id
        if owner == neighbour:
            exchanges.propose(member_id, listing_id, None, None, "Samedi ?", None)
        else:
            conversations.message_listing_owner(neighbour, listing_id, "Bonjour")
    return member_id


def opening_calls(api: Api, member_id: str, community_id: str) -> tuple[Callable[[], Any], list[Callable[[], Any]]]:
    """GET /me/home, and the calls it replaces."""

    def call(path: str) -> tuple[int, Any]:
        status, body = api.call("GET", path, member_id)
        assert status == 200, (path, status, body)
        return status, body

    paths = (*REPLACED, f"/listings?community={community_id}")
    return functools.partial(call, "/me/home"), [functools.partial(call, path) for path in paths]


def measure_opening(
    meter: Meter, admin: Any, api: Api, member_id: str, community_id: str, rounds: int
) -> dict[str, Any]:
    home, replaced = opening_calls(api, member_id, community_id)
    separate: list[Sample] = []
    together: list[Sample] = []
    for sequence in range(rounds + 1):  # the first round warms both paths, uncounted
        calls = [measure(meter, call) for call in replaced]
        one = measure(meter, home)
        if sequence:
            separate.append(Sample([c for sample in calls for c in sample.calls], None, 200))
            together.append(one)
    return {
        "home": summary(together, "opening", admin) | {"api_requests": 1},
        "separate_calls": summary(separate, "opening", admin) | {"api_requests": len(replaced)},
    }


def time_opening(api: Api, member_id: str, community_id: str, rounds: int) -> dict[str, Any]:
    """Wall time through the test client (handler and DynamoDB Local), interleaved, medians: GET /me/home
    against the replaced calls made one after another, as an app without it would."""
    home, replaced = opening_calls(api, member_id, community_id)
    together: list[float] = []
    separate: list[float] = []
    for sequence in range(rounds):
        for first in ((home,), replaced) if sequence % 2 else (replaced, (home,)):
            started = time.perf_counter()
            for call in first:
                call()
            (together if len(first) == 1 else separate).append(time.perf_counter() - started)
    return {
        "home_ms": round(1000 * statistics.median(together), 2),
        "separate_calls_ms": round(1000 * statistics.median(separate), 2),
        "ratio_home_vs_separate_calls": round(statistics.median(together) / statistics.median(separate), 3),
        "rounds": rounds,
    }


def run_all(quick: bool, admin: Any, table_name: str) -> dict[str, Any]:
    from chalice.test import Client

    from app import app
    from chalicelib.auth import Principal
    from chalicelib.services import communities, members

    operator = str(uuid.uuid4())
    members.ensure_member(Principal(operator, frozenset({"operators"}), "Operator"))
    created = [
        communities.create_community(operator, f"Bench {n}", f"bench-{uuid.uuid4().hex[:8]}", [HOME], []).community_id
        for n in range(3)
    ]
    with (
        open(os.devnull, "w", encoding="utf-8") as sink,
        app_log_to(sink),
        Client(app, stage_name="local") as test_client,
    ):
        meter = Meter(shared_client(), admin, table_name)
        with meter.metering():
            marks = {
                "one_community": measure_marks(meter, admin, created[:1], 1 if quick else WEEKS),
                "three_communities": measure_marks(meter, admin, created, 1 if quick else WEEKS),
            }
            edits = measure_edits(meter, admin, created[0])
            reads = measure_thread_reads(meter, admin, created[0])
            search = measure_search(meter, admin, created[1], 12 if quick else 60)
            api = Api(test_client, secrets_root())
            opener = opening_member(api, created[0], 4 if quick else 12)
            opening = measure_opening(meter, admin, api, opener, created[0], 1 if quick else 5)
        opening["time"] = time_opening(api, opener, created[0], 2 if quick else 21)
    return report(marks, edits, reads, opening, search)


def report(
    marks: dict[str, Any], edits: dict[str, Any], reads: dict[str, Any], opening: dict[str, Any], search: dict[str, Any]
) -> dict[str, Any]:
    home, separate = opening["home"], opening["separate_calls"]
    return {
        "mark_write_units_per_active_day": {name: figure["write_units"] for name, figure in marks.items()},
        "mark_write_units_per_month": {name: figure["write_units_per_month"] for name, figure in marks.items()},
        "edit_write_units": {name: figure["write_units"] for name, figure in edits.items()},
        "edit_items_written": {
            name: figure["transact_items"] or figure["write_requests"] for name, figure in edits.items()
        },
        "read_thread_write_units": {name: figure["write_units"] for name, figure in reads.items()},
        "opening_api_requests": {"home": home["api_requests"], "separate_calls": separate["api_requests"]},
        "opening_dynamodb_requests": {"home": home["requests"], "separate_calls": separate["requests"]},
        "opening_read_units": {"home": home["read_units"], "separate_calls": separate["read_units"]},
        "opening_time_ratio_home_vs_separate_calls": opening["time"]["ratio_home_vs_separate_calls"],
        "publication_write_units": {
            "with_keyword_entries": search["publication_with_keywords"]["write_units"],
            "without_keyword_entries": search["publication_without_keywords"]["write_units"],
        },
        "keyword_write_units_per_publication": search["keyword_write_units_per_publication"],
        "search_queries": {name: figure["queries"] for name, figure in search["searches"].items()},
        "search_read_units": {name: figure["read_units"] for name, figure in search["searches"].items()},
        "goals": {
            "mark_write_units_per_active_day_one_community": GOAL_MARK_UNITS_PER_ACTIVE_DAY,
            "unchanged_edit_write_units": GOAL_UNCHANGED_EDIT_UNITS,
            "read_thread_write_units_nothing_unread": GOAL_READ_THREAD_UNITS,
            "opening_api_requests": GOAL_HOME_API_REQUESTS,
            "opening_read_units": "at most the separate calls'",
        },
        "within_goals": {
            "mark_write_units_per_active_day_one_community": marks["one_community"]["write_units"]
            <= GOAL_MARK_UNITS_PER_ACTIVE_DAY,
            "unchanged_edit_write_units": edits["unchanged"]["write_units"] == GOAL_UNCHANGED_EDIT_UNITS,
            "read_thread_write_units_nothing_unread": reads["nothing_unread"]["write_units"] == GOAL_READ_THREAD_UNITS,
            "opening_api_requests": home["api_requests"] == GOAL_HOME_API_REQUESTS,
            "opening_read_units": home["read_units"] <= separate["read_units"],
        },
        "marks": marks,
        "edits": edits,
        "thread_reads": reads,
        "opening": opening,
        "search": search,
        "dynamodb": "DynamoDB Local (one JVM on this machine)",
        "python": sys.version.split()[0],
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = bench_parser("writes", __doc__ or "", profiled="(does not apply)", cpu_calls=0)
    args = parser.parse_args(argv)
    with bench_table(args.endpoint, "bench-writes") as (admin, table_name), contextlib.redirect_stdout(sys.stderr):
        result = run_all(bool(args.quick), admin, table_name)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

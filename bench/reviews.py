"""Reviews: DynamoDB requests, billed write units and read units per review submission, publication,
window close, profile view and reputation recount, and handler CPU per submission.

Runs the real application (`app.app` through `chalice.test.Client` for what members call, the services
for the scheduled jobs) against DynamoDB Local, in a table of its own created from infra/template.json,
and prints one JSON object on stdout:

a. Per review submission over HTTP (PUT /exchanges/{id}/review), in steady state: the first review of an
   exchange (sealed), its author's edit while sealed, and the other member's review, which publishes both
   and updates both reputations in one unit of work. DynamoDB requests by operation (counted by botocore
   event handlers on the client every model shares), items per TransactWriteItems, billed write units
   (the harness' formula, from the requests sent) and read units of the reads made.
b. Per window close (`reviews.close_windows`, the scheduled job): one unit of work per exchange, for
   rounds holding one sealed review and rounds holding none; the closer's index Queries apart.
c. Read units per profile view: GET /members/{id}/reputation and GET /members/{id}/reviews (first page),
   for a member with one review and a member with many. Read units are computed as AWS bills them (one
   per started 4 KB a strongly consistent read returns, half for an eventually consistent one; a Query
   sums its items before rounding, a batch read rounds each item); DynamoDB Local's own ConsumedCapacity
   is reported next to them for comparison.
d. Recount cost per member touched (`reviews.recount_touched`, the scheduled job): requests and read
   units for one member with 1, 10, ... published reviews, and again for a member with one review once
   the table holds many more: it grows with the member's reviews, not with the table.
e. Handler CPU per submission (time.process_time), sealed and publishing, through the Lambda handler and
   the service, with every DynamoDB operation answered by a canned response captured in a., against the
   bare DynamoDB calls the submission makes (the same parameters on the same stubbed client).

Usage: python -m bench.reviews [--quick] [--endpoint URL] [--profile]
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import os
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bench._harness import (
    READ_OPERATIONS,
    Api,
    Call,
    Meter,
    Sample,
    app_log_to,
    bench_parser,
    bench_table,
    cpu_rounds,
    profile_calls,
    read_units,
    secrets_root,
    shared_client,
    stubbed,
    summary,
)

GOAL_WRITES_PER_SUBMISSION = 1  # a sealed review and its round: one atomic write
GOAL_TRANSACTIONS_PER_PUBLICATION = 1  # both reviews published and both reputations counted together
GOAL_TRANSACTIONS_PER_CLOSE = 1  # one unit of work per exchange whose window closes
GOAL_REQUESTS_PER_PROFILE_CALL = 1  # a reputation is one read, a page of reviews one Query
GOAL_CPU_RATIO = 3.0  # handler CPU against the bare DynamoDB calls it makes (stubbed), as the other benchmarks
PAGE = 20  # the API's default page size
HOME = "u0k8w"  # Lausanne Sous-Gare
PRICE = 5
COMMENTS = (
    "Très bon échange : ponctuel, sympathique et le jardin est impeccable. Je recommande sans hésiter, merci !",
    "Tout s'est bien passé, paiement rapide et accueil chaleureux. Au plaisir de se recroiser au marché.",
    "Conforme à l'annonce, explications claires et beaucoup de patience. Un grand merci pour le coup de main.",
)
KIND_WORDS = (("punctual", "friendly"), ("reliable",), ("as_described", "generous"))


@dataclass(frozen=True)
class Options:
    rounds: int
    closes: int
    profile_views: int
    recount_reviews: tuple[int, ...]
    cpu_calls: int
    cpu_rounds: int
    endpoint: str | None
    profile: bool


def parse_options(argv: Sequence[str] | None) -> Options:
    parser = bench_parser("reviews", __doc__ or "", profiled="sealed submissions", cpu_calls=300)
    parser.add_argument("--rounds", type=int, help="exchanges reviewed by both members, counted (default 10)")
    parser.add_argument("--closes", type=int, help="windows closed per kind (one sealed review, none; default 10)")
    parser.add_argument("--profile-views", type=int, help="counted views of each profile (default 10)")
    parser.add_argument(
        "--recount-reviews",
        help="published reviews of the members whose recount is measured, comma-separated (default 1,10,30)",
    )
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    sizes = args.recount_reviews or ("1,10" if quick else "1,10,30")
    return Options(
        rounds=args.rounds or (3 if quick else 10),
        closes=args.closes or (2 if quick else 10),
        profile_views=args.profile_views or (2 if quick else 10),
        recount_reviews=tuple(sorted({int(size) for size in sizes.split(",")})),
        cpu_calls=args.cpu_calls or (60 if quick else 300),
        cpu_rounds=cpu_rounds(args),
        endpoint=args.endpoint,
        profile=bool(args.profile),
    )


# The world: a community, its members (with credits), an offer per provider.


@dataclass
class World:
    community_id: str
    operator: str
    members: dict[str, str] = field(default_factory=dict)  # label -> member id
    offers: dict[str, str] = field(default_factory=dict)  # owner label -> listing id


def new_world(api: Api, labels: Sequence[str]) -> World:
    from chalicelib.auth import Principal
    from chalicelib.services import communities, members, rewards

    operator = str(uuid.uuid4())
    community = communities.create_community(
        operator, "Bench Sous-Gare", f"bench-{uuid.uuid4().hex[:8]}", [HOME], ["fr"]
    )
    rewards.fund_rewards_pool(operator, 400_000, "benchmark", None)
    world = World(community.community_id, operator)
    for label in labels:
        add_member(api, world, label)
    members.ensure_member(Principal(operator, frozenset(), "Operator"))
    return world


def add_member(api: Api, world: World, label: str) -> str:
    import msgspec

    from chalicelib.auth import Principal
    from chalicelib.domain.listings import ListingDraft
    from chalicelib.services import communities, listings, members, rewards

    member_id = str(uuid.uuid4())  # shaped like a Cognito sub
    members.ensure_member(Principal(member_id, frozenset(), label))
    communities.join(member_id, world.community_id)
    rewards.reward_member(world.operator, member_id, 2_000, "other", "benchmark credits", None)
    offer = {
        "kind": "offer",
        "category": "services.gardening",
        "mode": "credits",
        "title": f"Coup de main au jardin ({label})",
        "description": "Taille de haies, désherbage et plantations, le samedi matin. Outils fournis.",
        "community_id": world.community_id,
        "status": "active",
        "price": PRICE,
        "tags": ["jardin"],
        "location": HOME,
    }
    world.offers[label] = listings.create_listing(member_id, msgspec.convert(offer, ListingDraft)).listing_id
    world.members[label] = member_id
    api.add_member(member_id, label)
    status, body = api.call("GET", "/me/reviews/pending", member_id)  # the first call of the day, uncounted
    assert status == 200, body
    return member_id


def completed_trade(world: World, buyer: str, provider: str) -> str:
    """`buyer` buys `provider`'s offer; accepted, confirmed by both: completed, its review round open."""
    from chalicelib.auth import Principal
    from chalicelib.domain.exchanges import Action, State
    from chalicelib.services import exchanges

    buyer_id, provider_id = world.members[buyer], world.members[provider]
    made = exchanges.propose(buyer_id, world.offers[provider], None, None, "Samedi matin, ça vous irait ?", None)
    exchanges.act(Principal(provider_id, frozenset()), made.exchange_id, Action.ACCEPT)
    exchanges.act(Principal(buyer_id, frozenset()), made.exchange_id, Action.CONFIRM)
    done = exchanges.act(Principal(provider_id, frozenset()), made.exchange_id, Action.CONFIRM)
    assert done.state is State.COMPLETED, done
    return made.exchange_id


def review_body(sequence: int, rating: int = 5) -> dict[str, Any]:
    return {
        "rating": rating,
        "comment": COMMENTS[sequence % len(COMMENTS)],
        "kind_words": list(KIND_WORDS[sequence % len(KIND_WORDS)]),
        "private_note": "Merci encore !" if sequence % 2 else "",
    }


def draft(sequence: int) -> Any:
    from chalicelib.domain.reviews import Draft, KindWord

    body = review_body(sequence)
    return Draft(body["rating"], body["comment"], tuple(KindWord(w) for w in body["kind_words"]), body["private_note"])


def later() -> str:
    """A moment past every open review window."""
    from chalicelib import clock
    from chalicelib.config import settings

    return clock.iso(clock.now() + settings().review_window + timedelta(days=1))


def ok(answer: tuple[int, Any], what: str) -> Any:
    status, body = answer
    assert status == 200, (what, status, body)
    return body


# a: submissions over HTTP.


@dataclass
class Captured:
    """One real submission's calls, for the stubbed CPU phase: what to answer, what to replay."""

    exchange_id: str
    member_id: str
    body: dict[str, Any]
    calls: list[Call]


def measure_submissions(
    options: Options, api: Api, world: World, meter: Meter, admin: Any
) -> tuple[dict[str, Any], dict[str, Captured]]:
    alice, bob = world.members["Alice"], world.members["Bob"]
    samples: dict[str, list[Sample]] = {"sealed": [], "edit_sealed": [], "publication": []}
    captured: dict[str, Captured] = {}
    for sequence in range(options.rounds + 1):  # the first round warms every path, uncounted
        exchange_id = completed_trade(world, "Alice", "Bob")
        path = f"/exchanges/{exchange_id}/review"
        steps = (("sealed", alice, 0), ("edit_sealed", alice, 1), ("publication", bob, 2))
        for name, member_id, offset in steps:
            body = review_body(sequence + offset, rating=4 + offset % 2)
            sample, answer = meter.measure(functools.partial(api.call, "PUT", path, member_id, body))
            review = ok(answer, name)
            assert review["state"] == ("published" if name == "publication" else "sealed"), (name, review)
            if sequence:
                samples[name].append(sample)
            if sequence == 1 and name != "edit_sealed":
                captured[name] = Captured(exchange_id, member_id, body, sample.calls)
    return {name: summary(found, "submission", admin) for name, found in samples.items()}, captured


# b: window closes (the scheduled job).


def measure_closes(options: Options, world: World, meter: Meter, admin: Any) -> dict[str, Any]:
    from chalicelib.adapters.dynamodb import keys
    from chalicelib.services import reviews

    figures: dict[str, Any] = {}
    reviews.close_windows(later())  # nothing else open
    for kind in ("one_sealed_review", "no_review"):
        exchange_ids = [completed_trade(world, "Carol", "Dave") for _ in range(options.closes)]
        if kind == "one_sealed_review":
            for sequence, exchange_id in enumerate(exchange_ids):
                reviews.submit_review(world.members["Carol"], exchange_id, draft(sequence))
        sample, closed = meter.measure(lambda: reviews.close_windows(later()))
        assert closed == len(exchange_ids), (kind, closed)
        due_prefix = keys.reviews_due_pk(0).rsplit(keys.SEP, 1)[0] + keys.SEP

        def scans_due(call: Call, prefix: str = due_prefix) -> bool:
            values = json.dumps(call.params.get("ExpressionAttributeValues", {}))
            return call.operation == "Query" and prefix in values

        due = [call for call in sample.calls if scans_due(call)]
        per_exchange: list[Sample] = []
        for call in sample.calls:
            if scans_due(call):
                continue
            if call.operation == "Query":  # each exchange's unit of work starts with its load
                per_exchange.append(Sample([]))
            per_exchange[-1].calls.append(call)
        figure = summary(per_exchange, "close", admin)
        figure["due_queries_per_run"] = len(due)
        figure["due_query_read_units_per_run"] = sum(read_units(call) for call in due)
        figure["http_attempts_per_run"] = sample.http_attempts
        figure["requests_per_run"] = len(sample.calls)
        figures[kind] = figure
    return figures


# c: profile views over HTTP.


def measure_profile_views(
    options: Options, api: Api, world: World, meter: Meter, admin: Any, subjects: Mapping[int, str]
) -> dict[str, Any]:
    viewer = world.members["Alice"]
    figures: dict[str, Any] = {}
    for reviews_count, subject in sorted(subjects.items()):
        paths = {
            "reputation": f"/members/{subject}/reputation",
            "reviews_first_page": f"/members/{subject}/reviews",
        }
        for path in paths.values():  # warm
            ok(api.call("GET", path, viewer), path)
        samples: dict[str, list[Sample]] = {name: [] for name in paths}
        shown: dict[str, Any] = {}
        for _ in range(options.profile_views):
            for name, path in paths.items():
                sample, answer = meter.measure(functools.partial(api.call, "GET", path, viewer))
                shown[name] = ok(answer, path)
                samples[name].append(sample)
        figure = {name: summary(found, "call", admin) for name, found in samples.items()}
        figure["reviews_first_page"]["reviews_in_response"] = len(shown["reviews_first_page"]["items"])
        figure["reputation"]["count_in_response"] = shown["reputation"]["overall"]["count"]
        figure["read_units_per_profile_view"] = sum(figure[name]["read_units"] for name in paths)
        figure["requests_per_profile_view"] = sum(figure[name]["requests_per_call"] for name in paths)
        figures[f"member_with_{reviews_count}_reviews"] = figure
    return figures


# d: recount per member touched (the scheduled job).


def table_census(admin: Any, table_name: str) -> dict[str, int]:
    """Items in the table, and published reviews among them (read with the admin client, uncounted)."""
    items = published = 0
    start: dict[str, Any] | None = None
    while True:
        page = admin.scan(
            TableName=table_name,
            ProjectionExpression="#part, #state",
            ExpressionAttributeNames={"#part": "part", "#state": "state"},
            **({"ExclusiveStartKey": start} if start else {}),
        )
        items += page["Count"]
        published += sum(
            1
            for item in page["Items"]
            if item.get("part", {}).get("S") == "review" and item.get("state", {}).get("S") == "published"
        )
        start = page.get("LastEvaluatedKey")
        if not start:
            return {"table_items": items, "published_reviews_in_table": published}


def reviewed_member(world: World, label: str, count: int) -> str:
    """A member with `count` reviews published by the window closer (no other reputation touched)."""
    from chalicelib.services import reviews

    member_id = world.members[label]
    for sequence in range(count):
        exchange_id = completed_trade(world, "Rita", label)
        reviews.submit_review(world.members["Rita"], exchange_id, draft(sequence))
    return member_id


def measure_recount(api: Api, world: World, meter: Meter, admin: Any, table_name: str, count: int) -> tuple[Any, str]:
    """A recount that finds one member touched: a new member with `count` reviews published just now."""
    from chalicelib.adapters.dynamodb import keys
    from chalicelib.services import reviews

    label = f"Subject {len(world.members)}"
    add_member(api, world, label)
    reviews.close_windows(later())  # nothing else open ...
    reviews.recount_touched()  # ... nor touched
    member_id = reviewed_member(world, label, count)
    assert reviews.close_windows(later()) == count
    census = table_census(admin, table_name)
    sample, checked = meter.measure(reviews.recount_touched)
    assert checked == 1, checked
    touched_prefix = keys.reputation_touched_pk(0).rsplit(keys.SEP, 1)[0] + keys.SEP
    fixed = [c for c in sample.calls if c.operation == "Query" and touched_prefix in json.dumps(c.params)]
    figure = summary([Sample([call for call in sample.calls if call not in fixed])], "member", admin)
    figure.update(census)
    figure["touched_queries_per_run"] = len(fixed)
    figure["touched_query_read_units_per_run"] = sum(read_units(call) for call in fixed)
    figure["http_attempts_per_run"] = sample.http_attempts
    figure["requests_per_run"] = len(sample.calls)
    return figure, member_id


def recount_verdicts(figures: Mapping[str, Any], sizes: Sequence[int]) -> dict[str, Any]:
    smallest = f"member_with_{sizes[0]}_reviews"
    first, again = figures[smallest], figures[smallest + "_in_larger_table"]
    measured = [figures[f"member_with_{size}_reviews"] for size in sizes]
    same_cost = all(
        first[key] == again[key] for key in ("requests_by_operation", "read_units", "items_read", "bytes_read")
    )
    grows = all(figure["items_read"] == size for figure, size in zip(measured, sizes, strict=True)) and all(
        a["read_units"] <= b["read_units"] and a["bytes_read"] < b["bytes_read"]
        for a, b in itertools.pairwise(measured)
    )
    return {
        "reads_the_members_reviews_alone": grows,
        "independent_of_table_size": same_cost and again["table_items"] > first["table_items"],
        "table_items_first_and_last": [first["table_items"], again["table_items"]],
    }


# e: handler CPU per submission, stubbed.


def _canned(parsed: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in parsed.items() if key not in ("ResponseMetadata", "ConsumedCapacity")}


def measure_cpu(options: Options, api: Api, captured: Mapping[str, Captured]) -> dict[str, Any]:
    import botocore
    from chalice.config import Config
    from chalice.local import LambdaContext, LocalGateway

    from app import app
    from chalicelib import auth
    from chalicelib.domain.reviews import Draft, KindWord
    from chalicelib.services import reviews

    client = shared_client()
    gateway = LocalGateway(app, Config(chalice_stage="local"))
    context = LambdaContext("api_handler", 512, 20_000)
    n = options.cpu_calls
    sides: dict[str, tuple[dict[str, Any], Callable[[], Any]]] = {}  # name -> (stub answers, one call)
    checks: dict[str, Any] = {}
    for kind, found in captured.items():
        answers: dict[str, Any] = {
            call.operation: _canned(call.parsed) for call in found.calls if call.operation in READ_OPERATIONS
        }
        answers["TransactWriteItems"] = {}
        replay = [(getattr(client, botocore.xform_name(call.operation)), call.params) for call in found.calls]
        headers = api.headers(found.member_id)
        path = f"/exchanges/{found.exchange_id}/review"
        event = gateway._generate_lambda_event("PUT", path, headers, json.dumps(found.body).encode())
        body = found.body
        words = tuple(KindWord(word) for word in body["kind_words"])
        review = Draft(body["rating"], body["comment"], words, body["private_note"])

        def bare_calls(calls: Sequence[tuple[Callable[..., Any], dict[str, Any]]] = replay) -> None:
            for method, params in calls:
                method(**params)

        def lambda_handler(event: dict[str, Any] = event) -> Any:
            return app(event, context)  # Chalice reads the event without changing it

        def service(member_id: str = found.member_id, exchange_id: str = found.exchange_id, d: Any = review) -> Any:
            return reviews.submit_review(member_id, exchange_id, d)

        sides[f"{kind}_bare_calls"] = (answers, bare_calls)
        sides[f"{kind}_lambda_handler"] = (answers, lambda_handler)
        sides[f"{kind}_service"] = (answers, service)
        checks[f"{kind}_bare_calls"] = dict(Counter(call.operation for call in found.calls))
    authorization = api.headers(captured["sealed"].member_id)["Authorization"]
    sides["verify_bearer"] = ({}, lambda: auth.verify_bearer(authorization))
    leaked: Counter[str] = Counter()

    @contextlib.contextmanager
    def stub(answers: Mapping[str, Any]) -> Iterator[None]:
        with stubbed(client, answers) as found:
            yield
        leaked.update(found)

    def timed(name: str) -> float:
        answers, call = sides[name]
        with stub(answers):
            start = time.process_time()
            for _ in range(n):
                call()
            return (time.process_time() - start) / n

    for answers, call in sides.values():  # warm every path
        with stub(answers):
            for _ in range(max(10, n // 10)):
                call()
    for kind in captured:
        answers, call = sides[f"{kind}_lambda_handler"]
        with stub(answers):
            response = call()
            checks[f"{kind}_lambda_handler_status"] = response["statusCode"]
            checks[f"{kind}_lambda_handler_state"] = json.loads(response["body"]).get("state")
    names = list(sides)
    timings: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(options.cpu_rounds):  # rotate which side goes first
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            timings[name].append(timed(name))
    if options.profile:
        answers, call = sides["sealed_lambda_handler"]
        with stub(answers):
            profile_calls("stubbed sealed submissions through the Lambda handler", range(n), lambda _: call())

    us = {name: statistics.median(values) * 1e6 for name, values in timings.items()}
    figure: dict[str, Any] = {"calls_per_round": n, "rounds": options.cpu_rounds}
    figure["cpu_us"] = {name: round(value, 1) for name, value in us.items()}
    for kind in captured:
        bare = us[f"{kind}_bare_calls"]
        for side in ("lambda_handler", "service"):
            figure[f"ratio_{kind}_{side}"] = round(us[f"{kind}_{side}"] / bare, 3)
            figure[f"round_ratios_{kind}_{side}"] = [
                round(h / b, 3) for h, b in zip(timings[f"{kind}_{side}"], timings[f"{kind}_bare_calls"], strict=True)
            ]
    figure["goal"] = GOAL_CPU_RATIO
    figure.update(checks)
    figure["network_requests_during_stub"] = dict(leaked)
    return figure


def run_all(options: Options, admin: Any, table_name: str) -> dict[str, Any]:
    """The smallest recount first, on a small table; then submissions, closes and the larger recounts; the
    smallest recount again on the larger table; then profile views of the smallest and largest subjects."""
    from chalice.test import Client

    from app import app

    sizes = options.recount_reviews
    recounts: dict[str, Any] = {}
    subjects: dict[int, str] = {}
    with (
        open(os.devnull, "w", encoding="utf-8") as sink,
        app_log_to(sink),
        Client(app, stage_name="local") as test_client,
    ):
        api = Api(test_client, secrets_root())
        world = new_world(api, ("Alice", "Bob", "Carol", "Dave", "Rita"))
        meter = Meter(shared_client(), admin, table_name)
        with meter.metering():
            recounts[f"member_with_{sizes[0]}_reviews"], subjects[sizes[0]] = measure_recount(
                api, world, meter, admin, table_name, sizes[0]
            )
            submissions, captured = measure_submissions(options, api, world, meter, admin)
            closes = measure_closes(options, world, meter, admin)
            for size in sizes[1:]:
                recounts[f"member_with_{size}_reviews"], subjects[size] = measure_recount(
                    api, world, meter, admin, table_name, size
                )
            recounts[f"member_with_{sizes[0]}_reviews_in_larger_table"], _ = measure_recount(
                api, world, meter, admin, table_name, sizes[0]
            )
            viewed = {size: subjects[size] for size in {sizes[0], sizes[-1]}}
            profiles = measure_profile_views(options, api, world, meter, admin, viewed)
        cpu = measure_cpu(options, api, captured)
    recounts["verdicts"] = recount_verdicts(recounts, sizes)
    return report(options, submissions, closes, profiles, recounts, cpu)


def report(
    options: Options,
    submissions: Mapping[str, Any],
    closes: Mapping[str, Any],
    profiles: Mapping[str, Any],
    recounts: Mapping[str, Any],
    cpu: Mapping[str, Any],
) -> dict[str, Any]:
    sealed, edit, publication = submissions["sealed"], submissions["edit_sealed"], submissions["publication"]
    with_review, without = closes["one_sealed_review"], closes["no_review"]
    sizes = options.recount_reviews
    views = {name: figure["read_units_per_profile_view"] for name, figure in profiles.items()}
    profile_requests = {
        f"{name}.{call}": figure[call]["requests_per_call"]
        for name, figure in profiles.items()
        for call in ("reputation", "reviews_first_page")
    }
    per_member = {
        name: {
            "requests": figure["requests_by_operation"],
            "read_units": figure["read_units"],
            "items_read": figure["items_read"],
            "table_items": figure["table_items"],
        }
        for name, figure in recounts.items()
        if name != "verdicts"
    }
    verdicts = recounts["verdicts"]
    cpu_figures = {
        f"cpu_ratio_{kind}_{side}": cpu[f"ratio_{kind}_{side}"]
        for kind in ("sealed", "publication")
        for side in ("lambda_handler", "service")
    }
    return {
        "write_requests_per_sealed_submission": sealed["write_requests"],
        "write_units_per_sealed_submission": sealed["write_units"],
        "write_requests_per_sealed_edit": edit["write_requests"],
        "transact_write_items_per_publication": publication["transact_write_items"],
        "write_requests_per_publication": publication["write_requests"],
        "publication_transact_items": publication["transact_items"],
        "write_units_per_publication": publication["write_units"],
        "transact_write_items_per_window_close": with_review["transact_write_items"],
        "write_requests_per_window_close": with_review["write_requests"],
        "write_requests_per_window_close_without_review": without["write_requests"],
        "read_units_per_profile_view": views,
        "recount_per_member": per_member,
        **cpu_figures,
        "goals": {
            "write_requests_per_sealed_submission": GOAL_WRITES_PER_SUBMISSION,
            "transact_write_items_per_publication": GOAL_TRANSACTIONS_PER_PUBLICATION,
            "transact_write_items_per_window_close": GOAL_TRANSACTIONS_PER_CLOSE,
            "requests_per_profile_call": GOAL_REQUESTS_PER_PROFILE_CALL,
            "recount_per_member": "grows with the member's published reviews, not with the table",
            "cpu_ratio": GOAL_CPU_RATIO,
        },
        "within_goals": {
            "write_requests_per_sealed_submission": sealed["write_requests"] == GOAL_WRITES_PER_SUBMISSION,
            "write_requests_per_sealed_edit": edit["write_requests"] == GOAL_WRITES_PER_SUBMISSION,
            "transact_write_items_per_publication": publication["transact_write_items"]
            == GOAL_TRANSACTIONS_PER_PUBLICATION
            and publication["write_requests"] == GOAL_TRANSACTIONS_PER_PUBLICATION,
            "transact_write_items_per_window_close": with_review["transact_write_items"] == GOAL_TRANSACTIONS_PER_CLOSE
            and with_review["write_requests"] == GOAL_TRANSACTIONS_PER_CLOSE,
            "write_requests_per_window_close_without_review": without["write_requests"] == GOAL_TRANSACTIONS_PER_CLOSE,
            "requests_per_profile_call": {
                name: count == GOAL_REQUESTS_PER_PROFILE_CALL for name, count in profile_requests.items()
            },
            "recount_reads_the_members_reviews_alone": verdicts["reads_the_members_reviews_alone"],
            "recount_independent_of_table_size": verdicts["independent_of_table_size"],
            **{name: value <= GOAL_CPU_RATIO for name, value in cpu_figures.items()},
        },
        "submissions": dict(submissions),
        "window_closes": dict(closes),
        "profile_views": dict(profiles),
        "recounts": dict(recounts),
        "cpu": dict(cpu),
        "recount_reviews": list(sizes),
        "dynamodb": "DynamoDB Local (one JVM on this machine)",
        "python": sys.version.split()[0],
    }


def main(argv: Sequence[str] | None = None) -> None:
    options = parse_options(argv)
    # The recount's EMF metrics go to stderr: stdout holds one JSON object.
    with bench_table(options.endpoint, "bench-reviews") as (admin, table_name), contextlib.redirect_stdout(sys.stderr):
        result = run_all(options, admin, table_name)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

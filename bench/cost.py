"""What an active member costs a year on AWS, from the units the real API consumes.

Plays a reference profile of one active member-month (PROFILE) for a sample of members of two
communities, through the real Lambda handler (`app.app` called with API Gateway's event, as Lambda calls
it) against DynamoDB Local, in a table of its own created from infra/template.json, then runs every
scheduled job and the table's stream handler wired in app.py, and prints one JSON object on stdout:

a. Per call kind: API requests (each one Lambda invocation), DynamoDB requests by operation, billed read
   units (eventually or strongly consistent, as sent) and write units (the harness' formula: 2 per KB of
   each transactional item, index entries with their deletes and moves), handler CPU
   (`time.process_time` around the handler, without the meter's own hooks), log bytes written (the
   Powertools logger's lines and EMF blobs), response bytes, and the bytes it adds to the table.
b. The scheduled jobs, priced per month from their schedules in app.py: each run measured when nothing
   changed at two sizes of history (after seeding, after the play), fitted to history (a job whose runs
   grow with the table shows it), plus the work the play left them (holds, windows, missions, ballots,
   value sharing: the jobs run with the clock moved past every deadline, minus as long a wait with
   nothing due and an idle run). The stream handler gets the play's stream records, in the batches the
   goal's population makes.
c. The bill (prices in bench/cost_prices.json, region eu-central-2): CHF per active member-year by
   component at the goal's population, and the active members 1,500 CHF a year carries, with and without
   identity (the user pool's tier read from infra/template.json). Lambda duration is the handler's CPU
   scaled to the share of a vCPU the configured memory gets, plus the time it waits for DynamoDB (stated
   latencies per request and per MB read): CPU time, not local wall time, because DynamoDB Local's
   latency is not AWS's and this machine is shared.
d. `hot_partitions` (bench.hot_keys): every partition the profile writes or reads for many members, at
   1 million active members.

Usage: python -m bench.cost [--quick] [--members N] [--endpoint URL]
(--cpu-calls, --cpu-rounds and --profile do not apply.)
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gzip
import io
import json
import math
import statistics
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

from bench._harness import (
    Api,
    Call,
    Index,
    Meter,
    Recorder,
    StoredItem,
    app_log_to,
    bench_parser,
    bench_table,
    call_write_units,
    clock_at,
    index_entries,
    item_size,
    items_read,
    read_units,
    secrets_root,
    shared_client,
    stored_items,
    table_indexes,
    write_actions,
)
from bench.hot_keys import Played, hot_partitions
from tools.package import DEFAULT_FRONT_DOOR

ROOT = Path(__file__).resolve().parent.parent
PRICES = Path(__file__).with_name("cost_prices.json")

# The reference activity of one active member-month (issue 14). A kind is one call, or one piece of work
# inside a call (the day's activity mark); each is measured, and the month is these counts times the means.
APP_OPENS = 30
ACTIVE_DAYS = 20
PROFILE: dict[str, float] = {
    "app_open": APP_OPENS,  # what the app shows on opening: see app_open_requests
    "listing_view": 120,
    "browse_page": 20 * 2 / 3,  # a community's pages by category, tag, kind, mode or keywords
    "near_page": 20 / 3,  # half of them by keywords
    "profile_view": 2,
    "statement_view": 2,
    "exchange_transition": 8,  # 2 exchanges: proposed, accepted, confirmed by each side
    "exchange_view": 8,  # each exchange viewed twice, the member's exchanges listed twice
    "message_send": 10,
    "thread_read": 10,
    "tip": 1,
    "reward": 1,  # an operator rewards the member
    "listing_publish": 0.5,
    "listing_edit": 0.5,
    "credit_pack": 1 / 3,  # a pack every 3 months: the purchase started...
    "stripe_webhook": 1 / 3,  # ...and Stripe's payment_intent.succeeded
    "review": 2,
    "vote": 1,
    "mission_claim": 1,
    "mission_submission": 1,
    "mission_approval": 1,  # by an operator
    "active_day": ACTIVE_DAYS,  # the first authenticated call of a day: the member's activity mark
    "fresh_container": APP_OPENS - ACTIVE_DAYS,  # later app opens on a container that has not seen them today
}
EXCHANGE_TRANSITIONS = 4  # per exchange: propose, accept, confirm, confirm

# The cost model's assumptions (not prices: bench/cost_prices.json has those). docs/cost.md explains each.
MEMBERS_GOAL = 100_000  # active members the budget must carry, identity aside
BUDGET_CHF_PER_YEAR = 1_500
STAGE = "prod"
ONE_VCPU_MB = 1769  # Lambda gives a function one vCPU at 1,769 MB, a proportional share below
DYNAMODB_LATENCY_MS = {  # in-region, from Lambda (estimates); Query and Scan also wait SCAN_MS_PER_MB
    "GetItem": 4.0,
    "BatchGetItem": 6.0,
    "Query": 6.0,
    "Scan": 6.0,
    "TransactGetItems": 8.0,
    "PutItem": 7.0,
    "UpdateItem": 7.0,
    "DeleteItem": 7.0,
    "TransactWriteItems": 15.0,
}
SCAN_MS_PER_MB = 25.0
STRIPE_LATENCY_MS = 400.0  # creating a PaymentIntent
COLD_START_SHARE = 0.005  # invocations that start a container (pessimistic at steady traffic)
INIT_SECONDS = 0.8  # a cold start's billed INIT phase (bench.cold_start measures the import)
LOG_EVENT_OVERHEAD_BYTES = 26  # what CloudWatch Logs counts per event on top of its message
LOG_COMPRESSION = 0.15  # compressed / raw bytes of JSON log lines, for archived storage
RESPONSE_HEADER_BYTES = 400  # API Gateway's response headers (request ids, trace id, CORS, length, date)
ITEM_OVERHEAD_BYTES = 100  # DynamoDB storage adds this per item and per index entry
DAYS_PER_MONTH = 30.4375
YEAR_ONE_MONTHS_OF_HISTORY = 6.0  # the table's average age in months over its first year
HOT_KEYS_ACTIVE_MEMBERS = 1_000_000
HOT_KEYS_LARGEST_COMMUNITY = 100_000
QUICK_REPETITIONS = 1  # --quick plays each kind once


@dataclass(frozen=True)
class FrontDoor:
    price_line: str  # per request
    compresses: bool  # gzips responses of at least the stage's minimum_compression_size


FRONT_DOORS = {  # the packaged stage's (tools.package.DEFAULT_FRONT_DOOR), and what-ifs (docs/cost.md)
    "http_api": FrontDoor("api_gateway_http_request", compresses=False),
    "rest_api": FrontDoor("api_gateway_rest_request", compresses=True),  # `chalice deploy`'s
    "lambda_function_url": FrontDoor("lambda_function_url_request", compresses=False),
}
HISTORY_READ_SHARE = 0.1  # a job whose idle run reads this share of new history is priced as growing with it
STREAM_SHARDS = 4  # a new on-demand table's partitions, each a stream shard (estimate)
STREAM_POLLS_PER_SECOND = 4  # Lambda polls each shard about four times a second

CATEGORIES = ("goods.tools", "goods.books", "services.gardening", "goods.toys", "knowledge.language")
TAGS = ("velo", "jardin", "enfants", "bricolage", "livres")
CELLS = ("u0hqe", "u0k8w")  # Carouge (Geneva), Sous-Gare (Lausanne): one community each
DESCRIPTION = (
    "Disponible le soir et le week-end, a recuperer pres de la place du Marche. Bon etat, utilise "
    "quelques fois seulement; je peux montrer comment s'en servir. Ecrivez-moi pour convenir d'un moment. "
)


@dataclass(frozen=True)
class Options:
    members: int
    listings: int
    quick: bool
    endpoint: str | None

    def repetitions(self, kind: str, index: int, count: float | None = None) -> int:
        """How often member `index` of the sample plays `kind` (fractional counts spread over members)."""
        per_month = PROFILE[kind] if count is None else count
        times = math.ceil((index + 1) * per_month - 1e-9) - math.ceil(index * per_month - 1e-9)
        return min(times, QUICK_REPETITIONS) if self.quick else times


def parse_options(argv: Sequence[str] | None) -> Options:
    parser = bench_parser("cost", __doc__ or "", profiled="(does not apply)", cpu_calls=0)
    parser.add_argument("--members", type=int, help="members who play the profile (default 12; 1 with --quick)")
    parser.add_argument("--listings", type=int, help="listings seeded in each community (default 300; 8 with --quick)")
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    return Options(
        members=args.members or (1 if quick else 12),
        listings=args.listings or (8 if quick else 300),
        quick=quick,
        endpoint=args.endpoint,
    )


# What was measured: per occurrence of a kind, its DynamoDB calls and what the invocation used.


@dataclass
class Quantities:
    """What an occurrence (or a month) consumes, in billing units."""

    api_requests: float = 0.0
    invocations: float = 0.0
    dynamodb_requests: float = 0.0
    read_units: float = 0.0
    write_units: float = 0.0
    cpu_seconds: float = 0.0
    wait_ms: float = 0.0  # DynamoDB and Stripe, as estimated on AWS
    log_bytes: float = 0.0  # the app's own lines
    log_events: float = 0.0
    response_bytes: float = 0.0
    response_bytes_compressed: float = 0.0  # what a front door that compresses sends
    bytes_read: float = 0.0
    items_read: float = 0.0
    history_bytes: float = 0.0  # base-table bytes it adds (what a Scan would read)
    storage_bytes: float = 0.0  # billed storage it adds: items and index entries, 100 bytes each on top
    stream_records: float = 0.0  # item changes: one stream record each

    def plus(self, other: Quantities, times: float = 1.0) -> Quantities:
        return Quantities(**{f.name: getattr(self, f.name) + times * getattr(other, f.name) for f in fields(self)})

    def times(self, factor: float) -> Quantities:
        return Quantities().plus(self, factor)


@dataclass(frozen=True)
class Measured:
    kind: str
    member_id: str | None
    calls: list[Call]
    usage: Quantities  # what the invocation used besides its DynamoDB calls
    overlap: float = 1.0  # the time some DynamoDB request was in flight / the sum of their times


class LogSink(io.TextIOBase):
    """Where the app's logger and EMF metrics write: counts bytes and lines, and keeps each distinct
    custom metric (namespace, dimensions, name) an EMF blob declares."""

    def __init__(self) -> None:
        self.bytes = 0
        self.events = 0
        self.metrics: set[str] = set()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.bytes += len(text.encode())
        self.events += text.count("\n")
        if '"_aws"' in text:
            for line in text.splitlines():
                self._declare(line)
        return len(text)

    def _declare(self, line: str) -> None:
        with contextlib.suppress(ValueError, KeyError, TypeError):
            for directive in json.loads(line)["_aws"]["CloudWatchMetrics"]:
                for dimensions in directive["Dimensions"]:
                    for metric in directive["Metrics"]:
                        self.metrics.add(f"{directive['Namespace']}/{metric['Name']}/{','.join(dimensions)}")


class _TimedRecorder(Recorder):
    def __init__(self, client: Any) -> None:
        super().__init__(client, consumed_capacity=True, keep_all=True)
        self.hook_seconds = 0.0

    def _params(self, *args: Any, **kwargs: Any) -> None:
        started = time.process_time()
        super()._params(*args, **kwargs)
        self.hook_seconds += time.process_time() - started


class TimedMeter(Meter):
    """The harness Meter, keeping the CPU its own hooks spend (copies, reads of replaced items) apart, so
    that it can be taken out of the handler's CPU, and when each request was in flight (requests a
    handler sends side by side wait together)."""

    def __init__(self, client: Any, admin: Any, table_name: str) -> None:
        super().__init__(client, admin, table_name)
        self._timed_recorder = self.recorder = _TimedRecorder(client)
        self._own_seconds = 0.0
        self.in_flight: list[tuple[float, float]] = []
        self._lock = threading.Lock()

    @property
    def hook_seconds(self) -> float:
        return self._own_seconds + self._timed_recorder.hook_seconds

    def _params(self, params: dict[str, Any], model: Any, context: dict[str, Any], **kwargs: Any) -> None:
        started = time.process_time()
        super()._params(params, model, context, **kwargs)
        self._own_seconds += time.process_time() - started
        context[f"{self._id}-sent"] = time.perf_counter()

    def _after(self, parsed: Mapping[str, Any], model: Any, context: Mapping[str, Any], **kwargs: Any) -> None:
        answered = time.perf_counter()
        with self._lock:
            self.in_flight.append((context.get(f"{self._id}-sent", answered), answered))
        started = time.process_time()
        super()._after(parsed, model, context, **kwargs)
        self._own_seconds += time.process_time() - started


def overlap(intervals: Sequence[tuple[float, float]]) -> float:
    """The time some interval was open, over the sum of their lengths (1 when none overlap)."""
    total = sum(end - start for start, end in intervals)
    covered, reached = 0.0, -math.inf
    for start, end in sorted(intervals):
        covered += max(0.0, end - max(start, reached))
        reached = max(reached, end)
    return covered / total if total > 0 else 1.0


class Bench:
    """Runs calls and work as Lambda runs them and records each occurrence under its kind."""

    def __init__(self, api: Api, meter: TimedMeter, logs: LogSink, stage: LambdaModel) -> None:
        from chalice.config import Config
        from chalice.local import LocalGateway

        from app import app

        self.api = api
        self.meter = meter
        self.logs = logs
        self.app = app
        self.gateway = LocalGateway(app, Config(chalice_stage="local"))
        self.stage = stage
        self.measured: list[Measured] = []
        self._usage: Quantities | None = None

    @contextlib.contextmanager
    def step(self, kind: str, member_id: str | None) -> Iterator[Quantities]:
        """Everything run inside is one occurrence of `kind` (on behalf of `member_id`)."""
        first, sent = len(self.meter.calls), len(self.meter.in_flight)
        self._usage = usage = Quantities()
        try:
            yield usage
        finally:
            self._usage = None
        shared = overlap(self.meter.in_flight[sent:])
        self.measured.append(Measured(kind, member_id, self.meter.calls[first:], usage, shared))

    @contextlib.contextmanager
    def _timed(self) -> Iterator[None]:
        usage = self._usage
        hooks, logged, lines = self.meter.hook_seconds, self.logs.bytes, self.logs.events
        started = time.process_time()
        yield
        spent = time.process_time() - started - (self.meter.hook_seconds - hooks)
        if usage is not None:
            usage.cpu_seconds += spent
            usage.log_bytes += self.logs.bytes - logged
            usage.log_events += self.logs.events - lines

    def call(
        self,
        method: str,
        path: str,
        member_id: str | None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        raw: bytes | None = None,
    ) -> tuple[int, Any]:
        """One API request: API Gateway's event, then the handler as Lambda calls it."""
        from chalice.local import LambdaContext

        sent = {**(self.api.headers(member_id) if member_id else {}), **(headers or {})}
        payload = raw if raw is not None else json.dumps(body).encode() if body is not None else b""
        event = self.gateway._generate_lambda_event(method, path, sent, payload)
        event["requestContext"]["requestId"] = str(uuid.uuid4())  # API Gateway's, in every log line
        context = LambdaContext("api_handler", self.stage.memory_mb, self.stage.timeout_s * 1000)
        with self._timed():
            response = self.app(event, context)
        text = response.get("body") or ""
        if self._usage is not None:
            body = text.encode()
            self._usage.api_requests += 1
            self._usage.invocations += 1
            self._usage.response_bytes += len(body)
            self._usage.response_bytes_compressed += self.stage.bytes_sent(body)
        return int(response["statusCode"]), json.loads(text) if text else None

    def work(self, run: Callable[[], Any], *, invocation: bool) -> Any:
        """Work measured like a call: its own Lambda invocation (a job), or part of one (`invocation=False`)."""
        with self._timed():
            result = run()
        if invocation and self._usage is not None:
            self._usage.invocations += 1
        return result

    def ok(self, kind: str, member_id: str | None, method: str, path: str, caller: str | None, **sent: Any) -> Any:
        """One call as its own occurrence of `kind`, which must succeed."""
        with self.step(kind, member_id):
            status, body = self.call(method, path, caller, **sent)
        assert status in (200, 201), (kind, method, path, status, body)
        return body


# The world: two communities, a seller in each (listings, exchanges, replies), the members who play.


@dataclass
class Player:
    member_id: str
    community_id: str
    seller: str
    listings: list[str]
    trade: str  # the seller's listing exchanges are made on
    own_listing: str
    conversation: str
    mission: str


@dataclass
class World:
    operator: str
    ballot: str
    players: list[Player]
    sellers: list[str] = field(default_factory=list)


def _draft(community_id: str, index: int, cell: str) -> Any:
    import msgspec

    from chalicelib.domain.listings import ListingDraft

    category = CATEGORIES[index % len(CATEGORIES)]
    fields_ = {
        "kind": "offer" if index % 3 else "request",
        "category": category,
        "mode": "credits",
        "title": f"Annonce {index}: {category.split('.')[1]} a partager",
        "description": DESCRIPTION,
        "community_id": community_id,
        "status": "active",
        "price": 5 + index % 30,
        "tags": tuple(dict.fromkeys(("velo", TAGS[index % len(TAGS)]))),
        "location": cell,
    }
    return msgspec.convert(fields_, ListingDraft)


def _member(api: Api, label: str, community_id: str, operator: str, credits: int) -> str:
    from chalicelib.auth import Principal
    from chalicelib.services import communities, members, rewards

    member_id = str(uuid.uuid4())  # shaped like a Cognito sub
    members.ensure_member(Principal(member_id, frozenset(), label))
    communities.join(member_id, community_id)
    rewards.reward_member(operator, member_id, credits, "other", "benchmark credits", None)
    api.add_member(member_id, label)
    return member_id


def seed(options: Options, api: Api) -> World:
    from bench.governance import college_of, open_ballot, set_colleges
    from chalicelib import clock
    from chalicelib.auth import Principal
    from chalicelib.domain.missions import MissionDraft
    from chalicelib.services import communities, conversations, governance, listings, members, missions, rewards

    operator = str(uuid.uuid4())
    operators = frozenset({"operators"})
    members.ensure_member(Principal(operator, operators, "Operator"))
    api.add_member(operator, "Operator", groups=("operators",))
    rewards.fund_rewards_pool(operator, 800_000, "benchmark", None)
    set_colleges()
    deadline = clock.iso(clock.now() + timedelta(days=7))
    players: list[Player] = []
    sellers: list[str] = []
    by_community: list[tuple[str, str, list[str], str]] = []
    for number, cell in enumerate(CELLS):
        community = communities.create_community(operator, f"Bench {cell}", f"bench-{uuid.uuid4().hex[:8]}", [cell], [])
        seller = _member(api, f"Seller {number}", community.community_id, operator, 50_000)
        sellers.append(seller)
        found = [
            listings.create_listing(seller, _draft(community.community_id, index, cell)).listing_id
            for index in range(options.listings)
        ]
        trade = listings.create_listing(seller, _draft(community.community_id, 1, cell)).listing_id
        by_community.append((community.community_id, seller, found, trade))
    for index in range(options.members):
        community_id, seller, found, trade = by_community[index % len(by_community)]
        member_id = _member(api, f"Member {index}", community_id, operator, 5_000)
        governance.place("bench-operator", member_id, college_of(index), "benchmark assembly")
        cell = CELLS[index % len(CELLS)]
        own = listings.create_listing(member_id, _draft(community_id, 1000 + index, cell)).listing_id
        conversation, _ = conversations.message_listing_owner(member_id, found[index % len(found)], "Bonjour !")
        draft = MissionDraft(
            f"Accueillir un nouveau membre ({index})",
            "Faire visiter le quartier et presenter la plateforme.",
            15,
            1,
            deadline,
            community_id,
        )
        mission = missions.post(Principal(operator, operators), draft).mission_id
        players.append(
            Player(member_id, community_id, seller, found, trade, own, conversation.conversation_id, mission)
        )
    ballot = open_ballot(False, "Ouvrir le jardin le dimanche").ballot_id
    return World(operator, ballot, players, sellers)


# The profile, played.


def app_open_requests(player: Player) -> list[str]:
    """The one place that says what an app open calls: GET /me/home where the API has it, else the
    wallet, the conversations (unread counts) and the home community's first page."""
    from chalicelib.api.http import OPERATIONS

    if any(operation.method == "GET" and operation.path == "/me/home" for operation in OPERATIONS):
        return ["/me/home"]
    return ["/me/wallet", "/me/conversations", f"/listings?community={player.community_id}"]


def browse_paths(player: Player) -> list[str]:
    community = f"/listings?community={player.community_id}"
    return [
        f"{community}&category=goods.tools",
        f"{community}&tag=jardin",
        f"{community}&kind=request",
        f"{community}&q=outils%20jar",  # keywords: a whole word and one being typed
    ]


@contextlib.contextmanager
def stubbed_stripe() -> Iterator[None]:
    """PaymentIntents created without Stripe: the call's latency is added to the invocation's duration."""
    from chalicelib.adapters import stripe_gateway

    def create(amount_cents: int, currency: str, metadata: dict[str, str], idempotency_key: str) -> Any:
        return stripe_gateway.CreatedIntent(f"pi_{uuid.uuid4().hex[:24]}", f"secret_{uuid.uuid4().hex}")

    with mock.patch.object(stripe_gateway, "create_payment_intent", create):
        yield


def play_member(options: Options, bench: Bench, world: World, player: Player, index: int) -> None:
    member, seller = player.member_id, player.seller

    def times(kind: str) -> range:
        return range(options.repetitions(kind, index))

    for _ in times("app_open"):
        with bench.step("app_open", member):
            for path in app_open_requests(player):
                status, body = bench.call("GET", path, member)
                assert status == 200, (path, status, body)
    for n in times("listing_view"):
        bench.ok(
            "listing_view",
            member,
            "GET",
            f"/listings/{player.listings[(index * 7 + n) % len(player.listings)]}",
            member,
        )
    paths = browse_paths(player)
    for n in times("browse_page"):
        bench.ok("browse_page", member, "GET", paths[n % len(paths)], member)
    for n in times("near_page"):
        words = "&q=partager" if n % 2 else ""  # every other one a keyword search
        bench.ok("near_page", member, "GET", f"/listings?near={CELLS[index % len(CELLS)]}{words}", member)
    for _ in times("profile_view"):
        bench.ok("profile_view", member, "GET", f"/members/{seller}", member)
    for _ in times("statement_view"):
        bench.ok("statement_view", member, "GET", "/me/wallet/entries", member)
    play_exchanges(options, bench, player, index)
    play_messages(options, bench, player, index)
    for _ in times("tip"):
        body = {"to_member_id": seller, "amount": 2, "kind": "tip", "memo": "Merci pour le coup de main"}
        bench.ok("tip", member, "POST", "/transfers", member, body=body)
    for _ in times("reward"):
        body = {"member_id": member, "amount": 5, "reason_code": "community_help", "note": "Merci pour la fete"}
        bench.ok("reward", member, "POST", "/operator/rewards", world.operator, body=body)
    for n in times("listing_publish"):
        draft = {
            "kind": "offer",
            "category": "services.gardening",
            "mode": "credits",
            "title": f"Coup de main au jardin {n}",
            "description": DESCRIPTION,
            "community_id": player.community_id,
            "price": 12,
            "tags": ["jardin"],
            "location": CELLS[index % len(CELLS)],
        }
        bench.ok("listing_publish", member, "POST", "/listings", member, body=draft)
    for n in times("listing_edit"):
        changes = {"title": f"Perceuse a preter, revision {n}", "price": 6 + n}
        bench.ok("listing_edit", member, "PATCH", f"/listings/{player.own_listing}", member, body=changes)
    for _ in times("credit_pack"):
        buy_credits(bench, member)
    for _ in times("vote"):
        bench.ok("vote", member, "PUT", f"/ballots/{world.ballot}/vote", member, body={"options": ["yes"]})
    for _ in times("mission_claim"):
        mission = f"/missions/{player.mission}"
        bench.ok("mission_claim", member, "POST", f"{mission}/claims", member)
        text = {"text": "Visite faite samedi, cafe compris."}
        bench.ok("mission_submission", member, "POST", f"{mission}/claims/me/submission", member, body=text)
        bench.ok("mission_approval", member, "POST", f"{mission}/claims/{member}/approve", world.operator)


def play_exchanges(options: Options, bench: Bench, player: Player, index: int) -> None:
    """An exchange for credits, proposed, accepted, confirmed by each side, viewed and listed, reviewed."""
    member, seller = player.member_id, player.seller
    exchanges = options.repetitions("exchange_transition", index, PROFILE["exchange_transition"] / EXCHANGE_TRANSITIONS)
    for _ in range(exchanges):
        offer = {"message": "Samedi matin, ca vous irait ?"}
        made = bench.ok(
            "exchange_transition", member, "POST", f"/listings/{player.trade}/exchanges", member, body=offer
        )
        xid = str(made["id"])
        for actor, action in ((seller, "accept"), (member, "confirm"), (seller, "confirm")):
            body = {"action": action}
            bench.ok("exchange_transition", member, "POST", f"/exchanges/{xid}/actions", actor, body=body)
        for path in (f"/exchanges/{xid}", "/me/exchanges", f"/exchanges/{xid}", "/me/exchanges"):
            bench.ok("exchange_view", member, "GET", path, member)
        review = {"rating": 5, "comment": "Tres sympathique, merci !", "kind_words": ["friendly", "punctual"]}
        bench.ok("review", member, "PUT", f"/exchanges/{xid}/review", member, body=review)


def play_messages(options: Options, bench: Bench, player: Player, index: int) -> None:
    """Messages in the member's conversation with the seller; every other read follows a reply (unread)."""
    from chalicelib.services import conversations

    member, path = player.member_id, f"/conversations/{player.conversation}/messages"
    for n in range(options.repetitions("message_send", index)):
        bench.ok("message_send", member, "POST", path, member, body={"body": f"Est-ce toujours disponible ? ({n})"})
    for n in range(options.repetitions("thread_read", index)):
        if n % 2 == 0:
            conversations.post_message(player.seller, player.conversation, "Oui, passez quand vous voulez.")
        bench.ok("thread_read", member, "GET", path, member)


def buy_credits(bench: Bench, member_id: str, kinds: tuple[str, str] = ("credit_pack", "stripe_webhook")) -> None:
    """A credit pack: the purchase started (Stripe stubbed, its latency counted), then Stripe's webhook."""
    from bench.purchases import sign, succeeded_event, webhook_secret
    from chalicelib.services import purchases

    pack = next(pack for pack in purchases.packs() if pack.active)
    with bench.step(kinds[0], member_id) as usage, stubbed_stripe():
        status, started = bench.call("POST", "/purchases", member_id, body={"pack_id": pack.pack_id})
        usage.wait_ms += STRIPE_LATENCY_MS
    assert status == 201, started
    purchase = purchases.my_purchase(member_id, started["purchase"]["id"])
    raw = succeeded_event(purchase)
    headers = {"Stripe-Signature": sign(raw, webhook_secret()), "Content-Type": "application/json"}
    with bench.step(kinds[1], member_id):
        status, answer = bench.call("POST", "/webhooks/stripe", None, headers=headers, raw=raw)
    assert status == 200, answer


def play_days(options: Options, bench: Bench, player: Player, index: int) -> None:
    """A later app open of the day on a container that has not seen the member reads the profile again;
    the first call of each active day marks it (the month's active days, each a later day)."""
    from chalicelib import clock
    from chalicelib.auth import Principal
    from chalicelib.services import members

    principal = Principal(player.member_id, frozenset(), f"Member {index}")
    for _ in range(options.repetitions("fresh_container", index)):
        members.reset()
        with bench.step("fresh_container", player.member_id):
            bench.work(lambda: members.ensure_member(principal), invocation=False)
    today = clock.now()
    for day in range(options.repetitions("active_day", index)):  # spread over the month, as they would be
        later = today + timedelta(days=math.floor((day + 1) * DAYS_PER_MONTH / ACTIVE_DAYS))
        with clock_at(later), bench.step("active_day", player.member_id):
            bench.work(lambda: members.ensure_member(principal), invocation=False)


def warm(bench: Bench, world: World) -> None:
    """Each member's first call of the day, and every path's first run, uncounted; the schedule of fees
    and the governed parameters read once (a container rereads them once a minute: amortised)."""
    from chalicelib.services import fees, governance

    fees.reset()
    fees.SCHEDULE_SECONDS = math.inf
    fees.current()
    governance.reset()
    governance.PARAMETERS_SECONDS = math.inf
    governance.parameters()
    for player in world.players:
        for path in [*app_open_requests(player), f"/listings/{player.listings[0]}", "/me/wallet/entries"]:
            status, body = bench.call("GET", path, player.member_id)
            assert status == 200, (path, status, body)
    for seller in world.sellers:
        bench.call("GET", "/me/exchanges", seller)
    bench.call("GET", "/me", world.operator)
    buy_credits(bench, world.sellers[0], ("warm", "warm"))  # imports stripe, as a container's first payment


# Scheduled jobs.


@dataclass(frozen=True)
class Job:
    name: str
    runs_per_month: float


@dataclass(frozen=True)
class StreamSource:
    name: str
    batch_size: int
    window_seconds: float


@dataclass(frozen=True)
class EventSources:
    jobs: list[Job]
    stream: StreamSource | None


def event_sources() -> EventSources:
    """Every schedule app.py wires, with its runs per month, and its table stream handler; another kind of
    event source stops the run."""
    from chalice.app import DynamoDBEventConfig, Rate, ScheduledEventConfig

    from app import app

    minutes = {Rate.MINUTES: 1, Rate.HOURS: 60, Rate.DAYS: 24 * 60}
    jobs: list[Job] = []
    streams: list[StreamSource] = []
    for source in app.event_sources:
        if isinstance(source, ScheduledEventConfig) and isinstance(source.schedule_expression, Rate):
            rate = source.schedule_expression
            jobs.append(Job(source.name, DAYS_PER_MONTH * 24 * 60 / (rate.value * minutes[rate.unit])))
        elif isinstance(source, DynamoDBEventConfig) and not streams:
            streams.append(StreamSource(source.name, source.batch_size, source.maximum_batching_window_in_seconds))
        else:
            raise SystemExit(f"app.py wires {source.name} ({type(source).__name__}): bench.cost cannot price it yet.")
    return EventSources(jobs, streams[0] if streams else None)


def stream_batch(records_per_month: float, source: StreamSource) -> float:
    """Records per invocation of the stream handler: records arrive spread over the month and over
    STREAM_SHARDS shards; Lambda polls each shard STREAM_POLLS_PER_SECOND times a second, or waits for the
    configured batching window."""
    per_shard_per_second = records_per_month / STREAM_SHARDS / (DAYS_PER_MONTH * 86_400)
    window = max(source.window_seconds, 1 / STREAM_POLLS_PER_SECOND)
    return min(float(source.batch_size), max(1.0, per_shard_per_second * window))


class TableStream:
    """The scratch table's stream on DynamoDB Local (`tools.streams`), its records handed to the app's
    stream handler as Lambda hands them, one invocation per batch."""

    def __init__(self, admin: Any, table_name: str, source: StreamSource, test_client: Any) -> None:
        from tools.streams import StreamReader

        self.source = source
        self.records_fed = 0
        self.batch_fed = 0
        self._reader = StreamReader(admin.meta.endpoint_url, table_name)
        self._test_client = test_client

    def _records(self) -> list[dict[str, Any]]:
        return [record for event in self._reader.batches() for record in event["Records"]]

    def feed(self, bench: Bench, kind: str, batch: int) -> None:
        """Every record not yet read, in invocations of `batch` records, each an occurrence of `kind`."""
        records = self._records()
        for start in range(0, len(records), batch):
            chunk = {"Records": records[start : start + batch]}
            with bench.step(kind, None):
                invoke = functools.partial(self._test_client.lambda_.invoke, self.source.name, chunk)
                bench.work(invoke, invocation=True)
        if kind == "stream":
            self.records_fed += len(records)
            self.batch_fed = batch


def run_jobs(bench: Bench, test_client: Any, jobs: Sequence[Job], label: str) -> None:
    """Each job once, as EventBridge invokes it, each run an occurrence of `<label>:<job>`."""
    event = test_client.events.generate_cw_event("aws.events", "Scheduled Event", {}, [])
    for job in jobs:
        with bench.step(f"{label}:{job.name}", None):
            bench.work(functools.partial(test_client.lambda_.invoke, job.name, event), invocation=True)


def history_bytes(admin: Any, table_name: str) -> int:
    """The base table's items, as a Scan reads them (what a job that scans pays for)."""
    total = 0
    for page in admin.get_paginator("scan").paginate(TableName=table_name):
        total += sum(item_size(item) for item in page["Items"])
    return total


# Figures of what was measured.


def _stored_sizes(item: Mapping[str, Any] | None, indexes: Sequence[Index]) -> tuple[int, int]:
    """(base-table bytes, billed bytes with its index entries) of an item as stored."""
    if item is None:
        return 0, 0
    size = item_size(item)
    entries = 1 + sum(1 for index in indexes if index.holds(item))
    return size, entries * (size + ITEM_OVERHEAD_BYTES)


def call_quantities(call: Call, indexes: Sequence[Index], stored_item: StoredItem) -> Quantities:
    found, returned = items_read(call)
    size = returned if call.scanned_bytes is None else call.scanned_bytes  # a filter reads what it drops
    units = call_write_units(call, indexes, stored_item)
    index_units = sum(entry.units for entry in index_entries(call, indexes, stored_item))
    quantities = Quantities(
        dynamodb_requests=1,
        read_units=read_units(call),
        write_units=units.transactional + units.standard + index_units,
        wait_ms=DYNAMODB_LATENCY_MS.get(call.operation, 6.0)
        + (SCAN_MS_PER_MB * size / 2**20 if call.operation in ("Query", "Scan") else 0.0),
        bytes_read=size,
        items_read=found,
    )
    for (kind, body), old in zip(write_actions(call), call.replaced, strict=True):
        if kind == "ConditionCheck":
            continue
        new = (
            body["Item"] if kind == "Put" else None if kind == "Delete" else stored_item(body["TableName"], body["Key"])
        )
        (base_new, billed_new), (base_old, billed_old) = _stored_sizes(new, indexes), _stored_sizes(old, indexes)
        quantities.history_bytes += base_new - base_old
        quantities.storage_bytes += billed_new - billed_old
        quantities.stream_records += 1
    return quantities


def measured_quantities(measured: Measured, indexes: Sequence[Index], stored_item: StoredItem) -> Quantities:
    """Its calls' units, and their wait shortened by as much as they overlapped on DynamoDB Local."""
    total = Quantities()
    for call in measured.calls:
        total = total.plus(call_quantities(call, indexes, stored_item))
    total.wait_ms *= measured.overlap
    return total.plus(measured.usage)


@dataclass(frozen=True)
class KindFigures:
    mean: Quantities
    occurrences: int
    operations: dict[str, float]  # DynamoDB requests by operation, per occurrence

    def as_json(self, lambda_model: LambdaModel) -> dict[str, Any]:
        mean = self.mean
        return {
            "occurrences": self.occurrences,
            "api_requests": mean.api_requests,
            "dynamodb_requests": round(mean.dynamodb_requests, 3),
            "requests_by_operation": self.operations,
            "read_units": round(mean.read_units, 3),
            "write_units": round(mean.write_units, 3),
            "cpu_ms": round(mean.cpu_seconds * 1000, 3),
            "estimated_duration_ms": round(lambda_model.duration_ms(mean), 2),
            "log_bytes": round(mean.log_bytes, 1),
            "response_bytes": round(mean.response_bytes, 1),
            "storage_bytes_added": round(mean.storage_bytes, 1),
            "stream_records": round(mean.stream_records, 3),
        }


def kind_figures(found: Sequence[Measured], indexes: Sequence[Index], stored_item: StoredItem) -> KindFigures:
    """Means per occurrence, but the median CPU: a path's first run in the process (imports, caches) and
    the shared machine's noise stay out."""
    n = len(found)
    total = Quantities()
    operations: dict[str, float] = defaultdict(float)
    for measured in found:
        total = total.plus(measured_quantities(measured, indexes, stored_item))
        for call in measured.calls:
            operations[call.operation] += 1 / n
    mean = total.times(1 / n)
    mean.cpu_seconds = statistics.median(measured.usage.cpu_seconds for measured in found)
    return KindFigures(mean, n, {op: round(count, 3) for op, count in sorted(operations.items())})


# The bill.


@dataclass(frozen=True)
class LambdaModel:
    """What the stage deploys: the function's size and timeout, and API Gateway's compression threshold."""

    memory_mb: int
    timeout_s: int
    architecture: str
    compression_min_bytes: int | None

    def bytes_sent(self, body: bytes) -> int:
        """A response body's size on the wire: API Gateway gzips one at least the threshold long (clients
        send `Accept-Encoding: gzip`, as mobile HTTP stacks and browsers do by default)."""
        if self.compression_min_bytes is None or len(body) < self.compression_min_bytes:
            return len(body)
        return len(gzip.compress(body, compresslevel=6))

    @property
    def cpu_factor(self) -> float:
        """Wall seconds per CPU second on Lambda: the function gets memory / 1,769 MB of a vCPU."""
        return max(1.0, ONE_VCPU_MB / self.memory_mb)

    def duration_ms(self, quantities: Quantities) -> float:
        """Per invocation (or, for work inside another call, what it adds to that call)."""
        total = quantities.cpu_seconds * self.cpu_factor * 1000 + quantities.wait_ms
        return total / quantities.invocations if quantities.invocations >= 1 else total

    def gb_seconds(self, quantities: Quantities) -> float:
        """Billed per 1 ms, per invocation; capped at the function's timeout."""
        per_invocation = min(self.duration_ms(quantities), self.timeout_s * 1000.0)
        count = quantities.invocations
        billed_ms = math.ceil(per_invocation) * count if count >= 1 else per_invocation
        return (
            billed_ms / 1000 * self.memory_mb / 1024 + count * COLD_START_SHARE * INIT_SECONDS * self.memory_mb / 1024
        )


@functools.cache
def stage_config() -> Any:
    """Chalice's configuration of the stage priced."""
    from chalice.config import Config

    disk = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return Config(chalice_stage=STAGE, config_from_disk=disk)


def lambda_model() -> LambdaModel:
    config = stage_config()
    return LambdaModel(
        int(config.lambda_memory_size),
        int(config.lambda_timeout),
        str(config.lambda_architecture),
        config.minimum_compression_size,
    )


def log_retention_months() -> float | None:
    days = stage_config().log_retention_in_days
    return days / DAYS_PER_MONTH if days else None


def platform_log_bytes() -> int:
    """Lambda's own START, END and REPORT lines per invocation, as it writes them."""
    request = str(uuid.uuid4())
    lines = [
        f"START RequestId: {request} Version: $LATEST",
        f"END RequestId: {request}",
        f"REPORT RequestId: {request}\tDuration: 41.27 ms\tBilled Duration: 42 ms\tMemory Size: 512 MB\t"
        "Max Memory Used: 121 MB\t",
    ]
    return sum(len(line) + 1 + LOG_EVENT_OVERHEAD_BYTES for line in lines)


def user_pool_tier() -> str:
    template = json.loads((ROOT / "infra" / "template.json").read_text())
    pools = [r for r in template["Resources"].values() if r["Type"] == "AWS::Cognito::UserPool"]
    tier = pools[0]["Properties"].get("UserPoolTier", "ESSENTIALS") if pools else "ESSENTIALS"
    return str(tier if isinstance(tier, str) else "ESSENTIALS")  # a parameter reference: the default tier


class Prices:
    def __init__(self, table: Mapping[str, Any]) -> None:
        self.table = table
        self.lines: Mapping[str, Any] = table["lines"]
        self.usd_to_chf = float(table["usd_to_chf"]["rate"])

    def usd(self, line: str) -> float:
        return float(self.lines[line]["usd"])

    def tiered(self, line: str, quantity: float) -> float:
        total, below = 0.0, 0.0
        for upto, price in self.lines[line]["usd_tiers"]:
            top = quantity if upto is None else min(quantity, float(upto))
            if top > below:
                total += (top - below) * float(price)
            if upto is None or quantity <= upto:
                break
            below = float(upto)
        return total


COMPONENTS = (
    "api_gateway",
    "lambda_requests",
    "lambda_duration",
    "dynamodb_reads",
    "dynamodb_writes",
    "dynamodb_storage",
    "dynamodb_pitr",
    "logs_ingestion",
    "logs_storage",
    "custom_metrics",
    "data_transfer_out",
    "parameters",
)


def usage_usd(q: Quantities, model: Model) -> dict[str, float]:
    """The per-use components of `q` (storage and fixed lines are priced apart)."""
    prices, lambda_ = model.prices, model.lambda_
    log_bytes = q.log_bytes + q.log_events * LOG_EVENT_OVERHEAD_BYTES + q.invocations * model.platform_bytes
    sent = q.response_bytes_compressed if model.front_door.compresses else q.response_bytes
    return {
        "api_gateway": q.api_requests * prices.usd(model.front_door.price_line),
        "lambda_requests": q.invocations * prices.usd("lambda_request"),
        "lambda_duration": lambda_.gb_seconds(q) * prices.usd(f"lambda_gb_second_{lambda_.architecture}"),
        "dynamodb_reads": q.read_units * prices.usd("dynamodb_read_request_unit"),
        "dynamodb_writes": q.write_units * prices.usd("dynamodb_write_request_unit"),
        "logs_ingestion": log_bytes / 2**30 * prices.usd("cloudwatch_logs_ingestion"),
        "data_transfer_out": (sent + q.api_requests * RESPONSE_HEADER_BYTES) / 2**30 * prices.usd("data_transfer_out"),
    }


@dataclass(frozen=True)
class JobFigures:
    job: Job
    idle_small: Quantities  # a run when nothing changed, history `small`
    idle_large: Quantities  # the same at history `large`
    small: float
    large: float
    deferred: Quantities  # the work the play left it, per member-month

    @property
    def reads_history(self) -> bool:
        """Whether an idle run reads the table's history: at least HISTORY_READ_SHARE of the bytes the play
        added to it (a full Scan reads them all; a checkpointed run a few items, whatever the table)."""
        added = self.large - self.small
        return added > 0 and self.idle_large.bytes_read - self.idle_small.bytes_read >= HISTORY_READ_SHARE * added

    def run_at(self, history: float) -> Quantities:
        """A run when nothing is due, at `history` bytes. A run that reads the history grows with it: each
        figure linear in history from the two measured runs, CPU in proportion to the bytes read, and the
        wait per MB read; any other run costs what it cost after the play."""
        if not self.reads_history:
            return self.idle_large.times(1.0)
        growth = (history - self.large) / (self.large - self.small)
        fitted = {}
        for f in fields(Quantities):
            low, high = getattr(self.idle_small, f.name), getattr(self.idle_large, f.name)
            fitted[f.name] = max(high, high + (high - low) * growth)
        read = self.idle_large.bytes_read
        fitted["cpu_seconds"] = self.idle_large.cpu_seconds * fitted["bytes_read"] / read
        fitted["wait_ms"] = self.idle_large.wait_ms + SCAN_MS_PER_MB * (fitted["bytes_read"] - read) / 2**20
        fitted["invocations"] = 1.0
        return Quantities(**fitted)


@dataclass(frozen=True)
class StreamFigures:
    """What the stream handler spends per item change (stream record), fed in batches of `batch_fed`."""

    source: StreamSource
    per_record: Quantities
    records_fed: int
    batch_fed: int


@dataclass(frozen=True)
class Model:
    per_member_month: Quantities  # the profile's calls and work, and the jobs' deferred work
    jobs: list[JobFigures]
    stream: StreamFigures | None
    custom_metrics: int
    lambda_: LambdaModel
    prices: Prices
    platform_bytes: int
    retention_months: float | None
    identity_tier: str
    front_door: FrontDoor

    def monthly_usd(self, members: float, *, identity: bool) -> dict[str, float]:
        """Every component's USD a month with `members` active members, averaged over the first year."""
        cost = dict.fromkeys(COMPONENTS, 0.0)
        history = YEAR_ONE_MONTHS_OF_HISTORY * members * self.per_member_month.history_bytes
        stored = YEAR_ONE_MONTHS_OF_HISTORY * members * self.per_member_month.storage_bytes
        usage = self.per_member_month.times(members)
        for job in self.jobs:
            usage = usage.plus(job.run_at(history).times(job.job.runs_per_month))
        if self.stream is not None:
            usage = usage.plus(self.stream_usage(members))
        for name, usd in usage_usd(usage, self).items():
            cost[name] += usd
        cost["lambda_duration"] = self._gb_seconds(members, history) * self.prices.usd(
            f"lambda_gb_second_{self.lambda_.architecture}"
        )
        cost["dynamodb_storage"] = stored / 2**30 * self.prices.usd("dynamodb_storage")
        cost["dynamodb_pitr"] = stored / 2**30 * self.prices.usd("dynamodb_pitr")
        logged = usage.log_bytes + usage.log_events * LOG_EVENT_OVERHEAD_BYTES + usage.invocations * self.platform_bytes
        months_kept = min(self.retention_months or math.inf, YEAR_ONE_MONTHS_OF_HISTORY)
        cost["logs_storage"] = (
            logged * months_kept * LOG_COMPRESSION / 2**30 * self.prices.usd("cloudwatch_logs_storage")
        )
        cost["custom_metrics"] = self.custom_metrics * self.prices.usd("cloudwatch_custom_metric")
        if identity:
            cost["identity"] = self.prices.tiered(f"cognito_{self.identity_tier.lower()}_mau", members)
        return cost

    def _gb_seconds(self, members: float, history: float) -> float:
        """API calls and their work, then each job run and stream invocation on its own (billed per run)."""
        total = self.lambda_.gb_seconds(self.per_member_month.times(members))
        for job in self.jobs:
            total += self.lambda_.gb_seconds(job.run_at(history)) * job.job.runs_per_month
        if self.stream is not None:
            total += self.lambda_.gb_seconds(self.stream_usage(members))
        return total

    def stream_usage(self, members: float) -> Quantities:
        """The stream handler's month: its work per record, in invocations of the batch `members` make."""
        assert self.stream is not None
        records = members * self.per_member_month.stream_records
        usage = self.stream.per_record.times(records)
        usage.invocations = records / stream_batch(records, self.stream.source)
        return usage

    def yearly_chf(self, members: float, *, identity: bool) -> float:
        return 12 * sum(self.monthly_usd(members, identity=identity).values()) * self.prices.usd_to_chf

    def members_carried(self, budget_chf: float, *, identity: bool) -> int:
        """The largest population whose first year costs at most the budget (the bill grows with members)."""
        low, high = 1.0, 1e9
        if self.yearly_chf(low, identity=identity) > budget_chf:
            return 0
        while high - low > 1:
            middle = (low + high) / 2
            low, high = (middle, high) if self.yearly_chf(middle, identity=identity) <= budget_chf else (low, middle)
        return int(low)


def chf_per_member_year(model: Model, members: int) -> dict[str, Any]:
    rate = model.prices.usd_to_chf
    monthly = model.monthly_usd(members, identity=True)
    components = {name: round(12 * usd * rate / members, 5) for name, usd in monthly.items() if name != "identity"}
    without = sum(components.values())
    identity = 12 * monthly["identity"] * rate / members
    return {
        "active_members": members,
        "components": components,
        "total_without_identity": round(without, 5),
        "identity": round(identity, 5),
        "identity_tier": model.identity_tier,
        "total_with_identity": round(without + identity, 5),
    }


def by_source(model: Model, kinds: Mapping[str, KindFigures], members: int) -> dict[str, float]:
    """CHF per member-year of each call kind's profile share, of each job and of the stream handler."""
    rate = model.prices.usd_to_chf
    history = YEAR_ONE_MONTHS_OF_HISTORY * members * model.per_member_month.history_bytes
    found: dict[str, float] = {}

    def priced(quantities: Quantities, per_member: float) -> float:
        return 12 * rate * per_member * sum(usage_usd(quantities, model).values())

    for kind, figures in kinds.items():
        found[kind] = priced(figures.mean.times(PROFILE[kind]), 1.0)
    for job in model.jobs:
        runs = job.run_at(history).times(job.job.runs_per_month)
        found[f"job:{job.job.name}"] = priced(runs, 1 / members) + priced(job.deferred, 1.0)
    if model.stream is not None:
        found["stream_handler"] = priced(model.stream_usage(members), 1 / members)
    return {name: round(chf, 5) for name, chf in sorted(found.items(), key=lambda pair: -pair[1])}


# The run.


def due_moment(now: datetime) -> datetime:
    """Noon on the last day of next month: past every deadline the play sets (a week at most) and in the
    month after the play's, so the daily value sharing shares the play's month."""
    next_month = (now.replace(day=1) + timedelta(days=32)).replace(day=1)
    month_after = (next_month + timedelta(days=32)).replace(day=1)
    return month_after.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(hours=12)


def play(
    options: Options, bench: Bench, world: World, test_client: Any, admin: Any, table_name: str
) -> tuple[float, float, TableStream | None]:
    """Jobs idle at the seeded history; the profile, member by member; its stream records handed to the
    stream handler; the jobs with everything due (twice: work a run leaves for another job is done by the
    second pass), then as long a wait later with nothing due (a job that works through time buckets pays
    for the wait, not for the play); the jobs idle at the larger history. Returns the two histories
    (bytes) and the stream."""
    from chalicelib import clock

    sources = event_sources()
    stream = TableStream(admin, table_name, sources.stream, test_client) if sources.stream else None
    if stream is not None:
        stream.feed(bench, "settle", stream.source.batch_size)  # the seeding's records, uncounted
    run_jobs(bench, test_client, sources.jobs, "settle")  # whatever seeding left due, uncounted
    small = history_bytes(admin, table_name)
    with bench.meter.metering():
        run_jobs(bench, test_client, sources.jobs, "idle_small")
        for index, player in enumerate(world.players):
            play_member(options, bench, world, player, index)
            print(f"member {index + 1}/{len(world.players)} played", file=sys.stderr)
        for index, player in enumerate(world.players):
            play_days(options, bench, player, index)
        batch = 1
        if stream is not None:  # in batches of the size the goal's population makes
            batch = round(stream_batch(MEMBERS_GOAL * records_per_member_month(bench.measured), stream.source))
            stream.feed(bench, "stream", batch)
        now = clock.now()
        due = due_moment(now)
        with clock_at(due):
            for label in ("due_first", "due_second"):
                run_jobs(bench, test_client, sources.jobs, label)
                if stream is not None:
                    stream.feed(bench, "stream", batch)
        with clock_at(due + (due - now)):  # as long a wait with nothing due: what the wait alone costs a job
            run_jobs(bench, test_client, sources.jobs, "wait")
            large = history_bytes(admin, table_name)
            run_jobs(bench, test_client, sources.jobs, "idle_large")
    return small, large, stream


def records_per_member_month(measured: Sequence[Measured]) -> float:
    """Item changes (stream records) the profile's calls make in a member-month."""
    changes: dict[str, list[int]] = defaultdict(list)
    for found in measured:
        if found.kind in PROFILE:
            actions = [kind for call in found.calls for kind, _ in write_actions(call) if kind != "ConditionCheck"]
            changes[found.kind].append(len(actions))
    return sum(PROFILE[kind] * statistics.fmean(counts) for kind, counts in changes.items())


def run_all(options: Options, admin: Any, table_name: str, logs: LogSink) -> dict[str, Any]:
    from chalice.test import Client

    from app import app

    lambda_ = lambda_model()
    with app_log_to(logs), Client(app, stage_name="local") as test_client:
        api = Api(test_client, secrets_root())
        world = seed(options, api)
        meter = TimedMeter(shared_client(), admin, table_name)
        bench = Bench(api, meter, logs, lambda_)
        warm(bench, world)
        small, large, stream = play(options, bench, world, test_client, admin, table_name)
        app_open = app_open_requests(world.players[0])
    indexes, stored_item = table_indexes(), stored_items(admin)
    grouped: dict[str, list[Measured]] = defaultdict(list)
    for measured in bench.measured:
        grouped[measured.kind].append(measured)
    kinds = {kind: kind_figures(grouped[kind], indexes, stored_item) for kind in PROFILE}
    sources = event_sources()
    jobs = [job_figures(job, grouped, indexes, stored_item, small, large, options.members) for job in sources.jobs]
    per_member_month = Quantities()
    for kind, figures in kinds.items():
        per_member_month = per_member_month.plus(figures.mean, PROFILE[kind])
    for job in jobs:
        per_member_month = per_member_month.plus(job.deferred)
    model = Model(
        per_member_month=per_member_month,
        jobs=jobs,
        stream=stream_figures(stream, grouped["stream"], indexes, stored_item) if stream else None,
        custom_metrics=len(logs.metrics),
        lambda_=lambda_,
        prices=Prices(json.loads(PRICES.read_text())),
        platform_bytes=platform_log_bytes(),
        retention_months=log_retention_months(),
        identity_tier=user_pool_tier(),
        front_door=FRONT_DOORS[DEFAULT_FRONT_DOOR],
    )
    played = played_by_member(bench.measured, world, options.members)
    return report(options, model, kinds, app_open, sorted(logs.metrics), played, indexes, stored_item)


def stream_figures(
    stream: TableStream, found: Sequence[Measured], indexes: Sequence[Index], stored_item: StoredItem
) -> StreamFigures:
    total = Quantities()
    for measured in found:
        total = total.plus(measured_quantities(measured, indexes, stored_item))
    per_record = total.times(1 / max(1, stream.records_fed))
    per_record.invocations = 0.0  # the batch at a given population decides them (Model.stream_usage)
    return StreamFigures(stream.source, per_record, stream.records_fed, stream.batch_fed)


def job_figures(
    job: Job,
    grouped: Mapping[str, Sequence[Measured]],
    indexes: Sequence[Index],
    stored_item: StoredItem,
    small: float,
    large: float,
    members: int,
) -> JobFigures:
    def run(label: str) -> Quantities:
        (found,) = grouped[f"{label}:{job.name}"]
        return measured_quantities(found, indexes, stored_item)

    idle = run("idle_large")
    due = run("due_first").plus(run("due_second")).plus(run("wait"), -1.0).plus(idle, -1.0)
    deferred = Quantities(**{f.name: max(0.0, getattr(due, f.name)) / members for f in fields(Quantities)})
    deferred.invocations = 0.0  # the work happens in the job's scheduled runs, already counted
    return JobFigures(job, run("idle_small"), idle, small, large, deferred)


def played_by_member(measured: Sequence[Measured], world: World, members: int) -> list[Played]:
    """Each member's calls of each kind, weighted so that the sample's calls add up to its members' months."""
    occurrences: dict[str, int] = defaultdict(int)
    for found in measured:
        if found.kind in PROFILE:
            occurrences[found.kind] += 1
    calls: dict[tuple[str, str], list[Call]] = defaultdict(list)
    for found in measured:
        if found.kind in PROFILE and found.member_id is not None:
            calls[(found.member_id, found.kind)].extend(found.calls)
    community = {player.member_id: player.community_id for player in world.players}
    return [
        Played(member_id, community[member_id], members * PROFILE[kind] / occurrences[kind], found)
        for (member_id, kind), found in calls.items()
    ]


def report(
    options: Options,
    model: Model,
    kinds: Mapping[str, KindFigures],
    app_open: Sequence[str],
    metrics: Sequence[str],
    played: Sequence[Played],
    indexes: Sequence[Index],
    stored_item: StoredItem,
) -> dict[str, Any]:
    carried = {
        "budget_chf_per_year": BUDGET_CHF_PER_YEAR,
        "without_identity": model.members_carried(BUDGET_CHF_PER_YEAR, identity=False),
        "with_identity": model.members_carried(BUDGET_CHF_PER_YEAR, identity=True),
    }
    month = model.per_member_month
    history_end_of_year = 12 * MEMBERS_GOAL * month.history_bytes
    jobs = {
        job.job.name: {
            "runs_per_month": round(job.job.runs_per_month, 2),
            "idle_run_seeded_history": _figures(job.idle_small, model.lambda_),
            "idle_run_after_play": _figures(job.idle_large, model.lambda_),
            "history_bytes": [round(job.small), round(job.large)],
            "reads_history": job.reads_history,
            "deferred_work_per_member_month": _figures(job.deferred, model.lambda_),
            "run_at_goal_end_of_year": _figures(job.run_at(history_end_of_year), model.lambda_),
            "exceeds_timeout_at_goal_end_of_year": model.lambda_.duration_ms(job.run_at(history_end_of_year))
            > model.lambda_.timeout_s * 1000,
        }
        for job in model.jobs
    }
    return {
        "chf_per_active_member_year": chf_per_member_year(model, MEMBERS_GOAL),
        "members_carried_by_budget": carried,
        "members_carried_with_another_front_door": {
            name: dataclasses.replace(model, front_door=door).members_carried(BUDGET_CHF_PER_YEAR, identity=False)
            for name, door in FRONT_DOORS.items()
            if door != model.front_door
        },
        "goals": {"members_carried_without_identity": MEMBERS_GOAL},
        "within_goals": {"members_carried_without_identity": carried["without_identity"] >= MEMBERS_GOAL},
        "calls_per_member_month": {
            "api_requests": round(month.api_requests, 2),
            "by_kind": {kind: round(PROFILE[kind] * figures.mean.api_requests, 3) for kind, figures in kinds.items()},
        },
        "app_open": {"requests": list(app_open), "api_requests_per_open": kinds["app_open"].mean.api_requests},
        "chf_per_active_member_year_by_source": by_source(model, kinds, MEMBERS_GOAL),
        "per_member_month": _figures(month, model.lambda_),
        "call_kinds": {kind: figures.as_json(model.lambda_) for kind, figures in kinds.items()},
        "jobs": jobs,
        "stream_handler": _stream_report(model),
        "custom_metrics": list(metrics),
        "profile": {kind: round(count, 4) for kind, count in PROFILE.items()},
        "model": {
            "stage": STAGE,
            "front_door": next(name for name, door in FRONT_DOORS.items() if door == model.front_door),
            "lambda_memory_mb": model.lambda_.memory_mb,
            "lambda_architecture": model.lambda_.architecture,
            "lambda_cpu_factor": round(model.lambda_.cpu_factor, 3),
            "dynamodb_latency_ms": DYNAMODB_LATENCY_MS,
            "scan_ms_per_mb": SCAN_MS_PER_MB,
            "stripe_latency_ms": STRIPE_LATENCY_MS,
            "cold_start_share": COLD_START_SHARE,
            "init_seconds": INIT_SECONDS,
            "platform_log_bytes_per_invocation": model.platform_bytes,
            "log_compression": LOG_COMPRESSION,
            "log_retention_months": model.retention_months,
            "response_header_bytes": RESPONSE_HEADER_BYTES,
            "response_compression_min_bytes": model.lambda_.compression_min_bytes,
            "year_one_months_of_history": YEAR_ONE_MONTHS_OF_HISTORY,
            "usd_to_chf": model.prices.table["usd_to_chf"],
        },
        "prices": {
            name: {key: line[key] for key in ("unit", "usd", "usd_tiers", "estimate") if key in line}
            for name, line in model.prices.lines.items()
        },
        "hot_partitions": hot_partitions(
            played,
            indexes,
            stored_item,
            active_members=HOT_KEYS_ACTIVE_MEMBERS,
            largest_community=HOT_KEYS_LARGEST_COMMUNITY,
        ),
        "members_played": options.members,
        "listings_per_community": options.listings,
        "quick": options.quick,
        "dynamodb": "DynamoDB Local (one JVM on this machine)",
        "python": sys.version.split()[0],
    }


def _stream_report(model: Model) -> dict[str, Any] | None:
    stream = model.stream
    if stream is None:
        return None
    month = model.stream_usage(MEMBERS_GOAL)
    return {
        "handler": stream.source.name,
        "batch_size": stream.source.batch_size,
        "batching_window_seconds": stream.source.window_seconds,
        "records_fed": stream.records_fed,
        "records_per_invocation_fed": stream.batch_fed,
        "per_record": _figures(stream.per_record, model.lambda_),
        "records_per_member_month": round(model.per_member_month.stream_records, 3),
        "invocations_per_month_at_goal": round(month.invocations, 1),
        "records_per_invocation_at_goal": round(
            MEMBERS_GOAL * model.per_member_month.stream_records / month.invocations, 2
        ),
    }


def _figures(quantities: Quantities, model: LambdaModel) -> dict[str, float]:
    figures = {f.name: round(getattr(quantities, f.name), 4) for f in fields(Quantities)}
    figures["gb_seconds"] = round(model.gb_seconds(quantities), 6)
    return figures


def main(argv: Sequence[str] | None = None) -> None:
    options = parse_options(argv)
    logs = LogSink()
    # Diagnostics go to stderr, the app's logs and EMF blobs to the counting sink: stdout holds one JSON object.
    with bench_table(options.endpoint, "bench-cost") as (admin, table_name), contextlib.redirect_stdout(logs):
        result = run_all(options, admin, table_name, logs)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

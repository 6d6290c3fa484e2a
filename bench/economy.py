"""The cooperative economy: DynamoDB requests and billed write units of a free publication, a paid
publication (beyond the month's free quota, and a professional listing) and a mission approval.

Runs the real application (`app.app` through `chalice.test.Client`) against DynamoDB Local, in a table
of its own created from infra/template.json, with a fee schedule in force (configuration's version 0:
a free quota of N + 1 listings a month, `publish_listing` and `publish_professional_listing` priced),
and prints one JSON object on stdout:

a. Per publication over HTTP (POST /listings, with the `expected_fee` the quote gave), in steady state:
   a member's first N + 1 listings of the month (free: the listing, its browse entries and the month's
   counter under the quota's condition), then N + 1 more (paid: the same, plus the fee's transfer record,
   the two balances it moves and a shard of the month's revenue counter, which value sharing reads), then
   N + 1 professional listings (pro.*: their own fee, no quota counter).
   The first of each kind warms the path, uncounted. DynamoDB requests by operation (botocore event
   handlers on the client every model shares), items per TransactWriteItems by kind, billed write units
   (the harness' formula, from the requests sent), and the reads made first.
b. Per mission approval over HTTP (POST /missions/{id}/claims/{member}/approve, by an operator): the
   claim, the mission's approved count, the reward's transfer from the rewards pool, the member's
   contribution of the month (value sharing) and the audit entry.
c. The baseline, in the same run: a plain member-to-member transfer (`ledger.transfer`), whose write
   units the fee and the reward are compared with.

The fee schedule is read once a minute per container; the benchmark reads it once before measuring so
that amortised read stays out of the per-publication counts however long the run takes.

Usage: python -m bench.economy [--quick] [--endpoint URL] [--publications N] [--approvals N]
(--cpu-calls, --cpu-rounds and --profile do not apply.)
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import sys
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench._harness import (
    Api,
    Meter,
    Sample,
    app_log_to,
    bench_parser,
    bench_table,
    clock_at,
    items_read,
    ledger_balanced,
    secrets_root,
    shared_client,
    summary,
    transact_actions,
)

MB = 1024 * 1024  # a Query page's limit
GOAL_TRANSACTIONS = 1  # every measured operation is one TransactWriteItems, and nothing else is written
# but, for a publication (POST /listings), the rate limit's counter (docs/operations.md#limits)
RATE_LIMIT_WRITES = {"free_publication": 1, "paid_publication": 1, "professional_publication": 1}
FEE_ITEMS = 4  # a fee adds its transfer record, the two balances it moves and the month's revenue shard
GOAL_FEE_RATIO = 1.25  # what a fee adds to a publication / a plain transfer: its 8 units and the revenue's 2
APPROVAL_ITEMS = 7  # the claim, the mission's count, the reward's record, two balances, a contribution, audit
PUBLISH_FEE = 2
PROFESSIONAL_FEE = 10
REWARD = 15
CREDITS = 5_000
HOME = "u0k8w"  # Lausanne Sous-Gare
DISTRIBUTION_MONTH = "2099-01"  # a month of its own: nothing else in the run touches it
AUDITED_AT = datetime(2099, 2, 1, tzinfo=UTC)  # after every fee dated in DISTRIBUTION_MONTH
PUBLICATIONS = ("free", "paid", "professional")


@dataclass(frozen=True)
class Options:
    publications: int
    approvals: int
    contributors: int
    endpoint: str | None


def parse_options(argv: Sequence[str] | None) -> Options:
    parser = bench_parser("economy", __doc__ or "", profiled="(does not apply)", cpu_calls=0)
    parser.add_argument("--publications", type=int, help="counted publications of each kind (default 10)")
    parser.add_argument("--approvals", type=int, help="counted mission approvals (default 10)")
    parser.add_argument("--contributors", type=int, help="contributors of the distributed month (default 200)")
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    return Options(
        publications=args.publications or (3 if quick else 10),
        approvals=args.approvals or (3 if quick else 10),
        contributors=args.contributors or (20 if quick else 200),
        endpoint=args.endpoint,
    )


def schedule_env(options: Options) -> dict[str, str]:
    """Version 0 of the schedule: the member's first N + 1 publications of the month are free."""
    return {
        "PWIIC_FREE_LISTINGS_PER_MONTH": str(options.publications + 1),
        "PWIIC_FEE_PUBLISH_LISTING": str(PUBLISH_FEE),
        "PWIIC_FEE_PUBLISH_PROFESSIONAL": str(PROFESSIONAL_FEE),
    }


# The world: an operator, a community, a publisher and a claimant with credits.


@dataclass(frozen=True)
class World:
    community_id: str
    operator: str
    publisher: str
    claimant: str


def new_world(api: Api) -> World:
    from chalicelib.auth import Principal
    from chalicelib.services import communities, members, rewards

    operator = str(uuid.uuid4())
    members.ensure_member(Principal(operator, frozenset({"operators"}), "Operator"))
    api.add_member(operator, "Operator", groups=("operators",))
    community = communities.create_community(operator, "Bench Sous-Gare", f"bench-{uuid.uuid4().hex[:8]}", [HOME], [])
    rewards.fund_rewards_pool(operator, 100_000, "benchmark", None)
    people = []
    for label in ("Publisher", "Claimant"):
        member_id = str(uuid.uuid4())  # shaped like a Cognito sub
        members.ensure_member(Principal(member_id, frozenset(), label))
        communities.join(member_id, community.community_id)
        rewards.reward_member(operator, member_id, CREDITS, "other", "benchmark credits", None)
        api.add_member(member_id, label)
        status, body = api.call("GET", "/me", member_id)  # the first call of the day, uncounted
        assert status == 200, body
        people.append(member_id)
    return World(community.community_id, operator, *people)


def balance(member_id: str) -> int:
    from chalicelib.domain.ledger import wallet_account
    from chalicelib.services import ledger

    return ledger.balance(wallet_account(member_id)).posted


def action_counts(samples: Sequence[Sample]) -> dict[str, float]:
    """Per operation: the transaction's actions by kind and by what they write (the key's prefixes)."""
    from chalicelib.adapters.dynamodb import keys

    def label(pk: str, sk: str) -> str:
        sk_prefix = sk.split(keys.SEP)[0]
        shown = sk_prefix if not sk_prefix[:1].isdigit() else "<shard>" if sk_prefix.isdigit() else "<time>"
        return f"{pk.split(keys.SEP)[0]}/{shown}"

    return transact_actions(samples, label)


def figures_of(samples: Sequence[Sample], unit: str, admin: Any) -> dict[str, Any]:
    figure = summary(samples, unit, admin)
    figure["transact_items_by_action"] = action_counts(samples)
    return figure


# a: publications.


def measure_publications(options: Options, api: Api, world: World, meter: Meter, admin: Any) -> dict[str, Any]:
    from chalicelib.services import fees

    # The schedule is read once a minute per container: amortised, not a publication's. Read it now and
    # keep it for the run.
    fees.reset()
    fees.SCHEDULE_SECONDS = math.inf
    in_force = fees.current()
    assert in_force.free_listings_per_month == options.publications + 1, in_force
    samples: dict[str, list[Sample]] = {kind: [] for kind in PUBLICATIONS}
    checks: Counter[str] = Counter()
    prices = {"free": 0, "paid": PUBLISH_FEE, "professional": PROFESSIONAL_FEE}
    categories = {"free": "services.gardening", "paid": "services.gardening", "professional": "pro.crafts"}
    for kind in PUBLICATIONS:  # free first: the quota is used up by them, then the others pay
        for sequence in range(options.publications + 1):
            body = {
                "kind": "offer",
                "category": categories[kind],
                "mode": "credits",
                "title": f"Coup de main au jardin {kind} {sequence}",
                "description": "Taille de haies, désherbage et plantations, le samedi matin. Outils fournis.",
                "community_id": world.community_id,
                "status": "active",
                "price": 20,
                "tags": ["jardin"],
                "location": HOME,
                "expected_fee": prices[kind],
            }
            before = balance(world.publisher)
            sample, (status, answer) = meter.measure(
                functools.partial(api.call, "POST", "/listings", world.publisher, body)
            )
            assert status == 201, (kind, sequence, status, answer)
            checks[f"{kind}_charged_its_price"] += before - balance(world.publisher) == prices[kind]
            if sequence:
                samples[kind].append(sample)
    figures = {kind: figures_of(found, "publication", admin) for kind, found in samples.items()}
    figures["checks"] = {name: count == options.publications + 1 for name, count in sorted(checks.items())}
    return figures


# b: mission approvals.


def measure_approvals(options: Options, api: Api, world: World, meter: Meter, admin: Any) -> dict[str, Any]:
    """Each approval of its own one-place mission, claimed and submitted by the claimant (uncounted)."""
    from chalicelib import clock
    from chalicelib.auth import Principal
    from chalicelib.domain.missions import MissionDraft
    from chalicelib.services import missions

    operator = Principal(world.operator, frozenset({"operators"}))
    deadline = clock.iso(clock.now() + timedelta(days=7))
    samples: list[Sample] = []
    paid = 0
    for sequence in range(options.approvals + 1):
        draft = MissionDraft(
            f"Accueillir un nouveau membre ({sequence})",
            "Faire visiter le quartier et présenter la plateforme.",
            REWARD,
            1,
            deadline,
            world.community_id,
        )
        mission_id = missions.post(operator, draft).mission_id
        missions.claim(world.claimant, mission_id)
        missions.submit(world.claimant, mission_id, "Visite faite samedi, café compris.")
        before = balance(world.claimant)
        path = f"/missions/{mission_id}/claims/{world.claimant}/approve"
        sample, (status, answer) = meter.measure(functools.partial(api.call, "POST", path, world.operator))
        assert status == 200 and answer["state"] == "approved", (status, answer)
        paid += balance(world.claimant) - before == REWARD
        if sequence:
            samples.append(sample)
    figure = figures_of(samples, "approval", admin)
    figure["checks"] = {"reward_paid_once_each": paid == options.approvals + 1}
    return figure


# c: the baseline, a plain transfer.


def measure_transfers(options: Options, world: World, meter: Meter, admin: Any) -> dict[str, Any]:
    from chalicelib.domain.ledger import TransferKind, TransferRequest, wallet_account
    from chalicelib.services import ledger

    samples: list[Sample] = []
    for sequence in range(options.publications + 1):
        request = TransferRequest(
            f"bench-{uuid.uuid4().hex}",
            wallet_account(world.publisher),
            wallet_account(world.claimant),
            3,
            TransferKind.PAYMENT,
            memo="Merci pour le coup de main",
        )
        sample, _ = meter.measure(functools.partial(ledger.transfer, request))
        if sequence:
            samples.append(sample)
    return figures_of(samples, "transfer", admin)


# d: the monthly distribution.


@dataclass(frozen=True)
class Distribution:
    month: str
    contributors: tuple[str, ...]
    points: dict[str, int]
    revenue: int
    listings: int


def _facts(sequence: int) -> tuple[Any, int]:
    """A contributor's kind of fact and how many (points vary: 5, 10, 2 or 4 with the default weights)."""
    from chalicelib.domain.economy import ContributionKind

    kind = (ContributionKind.MISSION_APPROVED, ContributionKind.MODERATION_DECISION)[(sequence // 2) % 2]
    return kind, 1 + sequence % 2


def _clock_in(month: str) -> contextlib.AbstractContextManager[None]:
    """`chalicelib.clock.now` at noon on the 15th of `month`: every fee and its revenue shard carry it."""
    return clock_at(datetime(int(month[:4]), int(month[5:7]), 15, 12, tzinfo=UTC))


def new_distribution(options: Options, world: World) -> Distribution:
    """N contributors of a month nobody else touches, each with a wallet and facts recorded through the
    repository in units of work, and the month's revenue from real fees: professional listings published
    through the service with the clock in that month, so each fee's transfer and the revenue counter both
    carry it (reconciliation compares them). Enough revenue that the smallest contributor's share is ≥ 1."""
    from chalicelib.adapters.dynamodb import economy_repository
    from chalicelib.auth import Principal
    from chalicelib.domain.listings import Kind, ListingDraft, Mode, Status
    from chalicelib.services import communities, listings, members, rewards, transaction, value_sharing

    month = DISTRIBUTION_MONTH
    weights = value_sharing.weights()
    contributors: list[str] = []
    points: dict[str, int] = {}
    for sequence in range(options.contributors):
        member_id = str(uuid.uuid4())
        members.ensure_member(Principal(member_id, frozenset(), f"Contributor {sequence}"))  # opens the wallet
        kind, count = _facts(sequence)
        for _ in range(count):
            transaction.run(
                lambda uow, m=member_id, k=kind: economy_repository.add_contribution(uow, m, month, k)  # type: ignore[misc]
            )
        contributors.append(member_id)
        points[member_id] = count * weights[kind]
    from chalicelib.config import settings

    needed = math.ceil(sum(points.values()) / min(points.values()))  # credits distributed: each share ≥ 1
    revenue = math.ceil(needed * 100 / settings().value_share_percent)
    count = math.ceil(revenue / PROFESSIONAL_FEE)
    publisher = str(uuid.uuid4())
    members.ensure_member(Principal(publisher, frozenset(), "Distribution publisher"))
    communities.join(publisher, world.community_id)
    rewards.reward_member(world.operator, publisher, count * PROFESSIONAL_FEE, "other", "benchmark credits", None)
    with _clock_in(month):
        for sequence in range(count):
            draft = ListingDraft(
                Kind.OFFER,
                "pro.crafts",
                Mode.CREDITS,
                f"Réparation de vélos {sequence}",
                "Révision complète, pièces en sus, à l'atelier du quartier.",
                world.community_id,
                Status.ACTIVE,
                price=40,
                location=HOME,
            )
            listings.create_listing(publisher, draft, PROFESSIONAL_FEE)
    return Distribution(month, tuple(contributors), points, count * PROFESSIONAL_FEE, count)


def measure_distribution(distribution: Distribution, meter: Meter, admin: Any) -> dict[str, Any]:
    """`share_month` once (statement written, a transfer per share), then again (nothing moves)."""
    import time

    from chalicelib.adapters.dynamodb import economy_repository
    from chalicelib.services import value_sharing

    month = distribution.month
    before = {member_id: balance(member_id) for member_id in distribution.contributors}
    started = time.perf_counter()
    first, statement = meter.measure(functools.partial(value_sharing.share_month, month))
    seconds = time.perf_counter() - started
    after = {member_id: balance(member_id) for member_id in distribution.contributors}
    started = time.perf_counter()
    second, again = meter.measure(functools.partial(value_sharing.share_month, month))
    seconds_again = time.perf_counter() - started
    final = {member_id: balance(member_id) for member_id in distribution.contributors}
    paid = len(statement.shares)
    run = summary([first], "distribution", admin)
    replay = summary([second], "distribution", admin)
    received = {member_id: after[member_id] - before[member_id] for member_id in distribution.contributors}
    credits = {share.member_id: share.credits for share in statement.shares}
    pages = [call for call in first.calls if call.operation == "Query" and call.params.get("IndexName") == "GSI1"]
    return {
        "month": month,
        "contributors": len(distribution.contributors),
        "contributors_paid": paid,
        "revenue": statement.revenue,
        "percent": statement.percent,
        "distributed": statement.distributed,
        "fee_listings_published": distribution.listings,
        "first_run": run,
        "first_run_seconds": round(seconds, 4),
        "contributors_query_pages": len(pages),
        "contributors_query_bytes": sum(items_read(call)[1] for call in pages),
        "per_contributor_paid": {
            "requests": run["requests_per_distribution"] / paid,
            "read_units": run.get("read_units", 0.0) / paid,
            "write_units": run.get("write_units", 0.0) / paid,
            "milliseconds": round(1000 * seconds / paid, 3),
        },
        "second_run": replay,
        "second_run_seconds": round(seconds_again, 4),
        "checks": {
            "distribution_revenue_is_the_fees": statement.revenue == distribution.revenue
            and economy_repository.revenue(month) == distribution.revenue,
            "distribution_every_contributor_paid": paid == len(distribution.contributors)
            and all(statement_points == distribution.points[m] for m, statement_points in _points(statement)),
            "distribution_shares_sum_exactly": sum(credits.values()) == statement.distributed > 0,
            "distribution_wallets_received_shares": received == credits,
            "distribution_second_run_moves_nothing": final == after and again == statement,
        },
    }


def _points(statement: Any) -> list[tuple[str, int]]:
    return [(share.member_id, share.points) for share in statement.shares]


def reconciled() -> bool:
    """The scheduled reconciliation, economy included (each month's revenue counter equals its fees;
    each month's value-sharing transfers equal its statement), over everything the table's stream
    received, fed to the stream handler."""
    import app
    from chalicelib.services import reconciliation
    from tools.jobs import deliver
    from tools.streams import StreamReader

    deliver(StreamReader(os.environ["PWIIC_DYNAMODB_ENDPOINT"], os.environ["PWIIC_TABLE_NAME"]), app.table_changes)
    report = reconciliation.run(settle=timedelta(0), write_margin=timedelta(0))
    if report.mismatches:
        print(f"reconciliation mismatches: {report.mismatches[:10]}", file=sys.stderr)
    return report.balanced and report.transfers > 0


def run_all(options: Options, admin: Any, table_name: str) -> dict[str, Any]:
    from chalice.test import Client

    from app import app

    with (
        open(os.devnull, "w", encoding="utf-8") as sink,
        app_log_to(sink),
        Client(app, stage_name="local") as test_client,
    ):
        api = Api(test_client, secrets_root())
        world = new_world(api)
        distribution = new_distribution(options, world)  # set up unmetered
        meter = Meter(shared_client(), admin, table_name)
        with meter.metering():
            publications = measure_publications(options, api, world, meter, admin)
            approvals = measure_approvals(options, api, world, meter, admin)
            transfers = measure_transfers(options, world, meter, admin)
            shared = measure_distribution(distribution, meter, admin)
        shared["checks"]["reconciled"] = reconciled()
    return report(options, publications, approvals, transfers, shared)


def _ratio(value: float, baseline: float) -> float | None:
    return round(value / baseline, 3) if baseline else None


def report(
    options: Options,
    publications: Mapping[str, Any],
    approval: Mapping[str, Any],
    transfer: Mapping[str, Any],
    distribution: Mapping[str, Any],
) -> dict[str, Any]:
    free, paid, professional = (publications[kind] for kind in PUBLICATIONS)
    measured = {**{f"{kind}_publication": publications[kind] for kind in PUBLICATIONS}, "mission_approval": approval}
    one_transaction = {
        name: figure["write_requests"] - RATE_LIMIT_WRITES.get(name, 0)
        == figure["transact_write_items"]
        == GOAL_TRANSACTIONS
        for name, figure in measured.items()
    }
    fee_units = paid["write_units"] - free["write_units"]
    per_paid = distribution["per_contributor_paid"]
    first, second = distribution["first_run"], distribution["second_run"]
    paid_shares = distribution["contributors_paid"]
    expected_requests = distribution["contributors_query_pages"] + 1 + 1 + 1 + 1 + paid_shares + 1  # + paid mark
    return {
        "requests_per_operation": {
            name: figure[f"requests_per_{name.split('_')[-1]}"] for name, figure in measured.items()
        },
        "write_units_per_operation": {name: figure["write_units"] for name, figure in measured.items()},
        "transact_items_per_operation": {name: figure["transact_items"] for name, figure in measured.items()},
        "write_units_per_transfer_baseline": transfer["write_units"],
        "write_units_ratio_fee_vs_transfer": _ratio(fee_units, transfer["write_units"]),
        "write_units_ratio_paid_vs_free_publication": _ratio(paid["write_units"], free["write_units"]),
        "write_units_ratio_approval_vs_transfer": _ratio(approval["write_units"], transfer["write_units"]),
        "distribution_requests_per_contributor": per_paid["requests"],
        "distribution_write_units_per_contributor": per_paid["write_units"],
        "distribution_read_units_per_contributor": per_paid["read_units"],
        "distribution_milliseconds_per_contributor": per_paid["milliseconds"],
        "distribution_second_run_requests": second["requests_per_distribution"],
        "distribution_second_run_requests_per_contributor": second["requests_per_distribution"] / paid_shares,
        "goals": {
            "transact_write_items_per_operation": GOAL_TRANSACTIONS,
            "paid_publication_items": f"the free publication's items + {FEE_ITEMS} (the fee's record, two "
            "balances, the month's revenue shard)",
            "professional_publication_items": "the paid publication's items - 1 (no counter)",
            "mission_approval_items": APPROVAL_ITEMS,
            "write_units_ratio_fee_vs_transfer": GOAL_FEE_RATIO,
            "distribution_requests": "grows with contributors, not history: the statement's read, the "
            "revenue's Query, one GSI1 Query page per 1 MB of contributors, the statement's write and its "
            "read back, one transfer per share, the statement marked paid",
            "distribution_second_run_requests": "the statement's read alone (it is marked paid)",
        },
        "within_goals": {
            "one_transaction": one_transaction,
            "paid_publication_items": paid["transact_items"] == free["transact_items"] + FEE_ITEMS,
            "professional_publication_items": professional["transact_items"] == paid["transact_items"] - 1,
            "mission_approval_items": approval["transact_items"] == APPROVAL_ITEMS,
            "write_units_ratio_fee_vs_transfer": 0 < fee_units <= GOAL_FEE_RATIO * transfer["write_units"],
            "distribution_contributors_pages": distribution["contributors_query_pages"]
            == max(1, math.ceil(distribution["contributors_query_bytes"] / MB)),
            "distribution_requests": expected_requests <= first["requests_per_distribution"] <= 2 * expected_requests,
            "distribution_second_run_requests": second["requests_per_distribution"] == 1,
        },
        "checks": {
            **publications["checks"],
            **approval["checks"],
            **distribution["checks"],
            "ledger_balanced": ledger_balanced(at=AUDITED_AT),
        },
        "publications": {kind: publications[kind] for kind in PUBLICATIONS},
        "mission_approvals": dict(approval),
        "transfers": dict(transfer),
        "distribution": dict(distribution),
        "fees": {"publish_listing": PUBLISH_FEE, "publish_professional_listing": PROFESSIONAL_FEE},
        "counted": {
            "publications_per_kind": options.publications,
            "approvals": options.approvals,
            "contributors": options.contributors,
        },
        "dynamodb": "DynamoDB Local (one JVM on this machine)",
        "python": sys.version.split()[0],
    }


def main(argv: Sequence[str] | None = None) -> None:
    options = parse_options(argv)
    # Diagnostics go to stderr: stdout holds one JSON object.
    with (
        bench_table(options.endpoint, "bench-economy", schedule_env(options)) as (admin, table_name),
        contextlib.redirect_stdout(sys.stderr),
    ):
        result = run_all(options, admin, table_name)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

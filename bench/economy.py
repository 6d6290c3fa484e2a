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
from datetime import timedelta
from typing import Any

from bench._harness import (
    Api,
    Meter,
    Sample,
    bench_parser,
    bench_table,
    ledger_balanced,
    quiet_access_log,
    secrets_root,
    shared_client,
    summary,
)

GOAL_TRANSACTIONS = 1  # every measured operation is one TransactWriteItems, and nothing else is written
FEE_ITEMS = 4  # a fee adds its transfer record, the two balances it moves and the month's revenue shard
GOAL_FEE_RATIO = 1.25  # what a fee adds to a publication / a plain transfer: its 8 units and the revenue's 2
APPROVAL_ITEMS = 7  # the claim, the mission's count, the reward's record, two balances, a contribution, audit
PUBLISH_FEE = 2
PROFESSIONAL_FEE = 10
REWARD = 15
CREDITS = 5_000
HOME = "u0k8w"  # Lausanne Sous-Gare
PUBLICATIONS = ("free", "paid", "professional")


@dataclass(frozen=True)
class Options:
    publications: int
    approvals: int
    endpoint: str | None


def parse_options(argv: Sequence[str] | None) -> Options:
    parser = bench_parser("economy", __doc__ or "", profiled="(does not apply)", cpu_calls=0)
    parser.add_argument("--publications", type=int, help="counted publications of each kind (default 10)")
    parser.add_argument("--approvals", type=int, help="counted mission approvals (default 10)")
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    return Options(
        publications=args.publications or (3 if quick else 10),
        approvals=args.approvals or (3 if quick else 10),
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

    found: Counter[str] = Counter()
    for sample in samples:
        for call in sample.calls:
            if call.operation != "TransactWriteItems":
                continue
            for action in call.params["TransactItems"]:
                ((kind, body),) = action.items()
                key = body["Item"] if "Item" in body else body["Key"]
                pk, sk = (str(key[name]["S"]).split(keys.SEP)[0] for name in ("PK", "SK"))
                shown = sk if not sk[:1].isdigit() else "<shard>" if sk.isdigit() else "<time>"
                found[f"{kind} {pk}/{shown}"] += 1
    return {name: count / len(samples) for name, count in sorted(found.items())} if samples else {}


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


def run_all(options: Options, admin: Any, table_name: str) -> dict[str, Any]:
    from chalice.test import Client

    from app import app

    with open(os.devnull, "w", encoding="utf-8") as sink, Client(app, stage_name="local") as test_client:
        quiet_access_log(sink)
        api = Api(test_client, secrets_root())
        world = new_world(api)
        meter = Meter(shared_client(), admin, table_name)
        with meter.metering():
            publications = measure_publications(options, api, world, meter, admin)
            approvals = measure_approvals(options, api, world, meter, admin)
            transfers = measure_transfers(options, world, meter, admin)
    return report(options, publications, approvals, transfers)


def _ratio(value: float, baseline: float) -> float | None:
    return round(value / baseline, 3) if baseline else None


def report(
    options: Options, publications: Mapping[str, Any], approval: Mapping[str, Any], transfer: Mapping[str, Any]
) -> dict[str, Any]:
    free, paid, professional = (publications[kind] for kind in PUBLICATIONS)
    measured = {**{f"{kind}_publication": publications[kind] for kind in PUBLICATIONS}, "mission_approval": approval}
    one_transaction = {
        name: figure["write_requests"] == figure["transact_write_items"] == GOAL_TRANSACTIONS
        for name, figure in measured.items()
    }
    fee_units = paid["write_units"] - free["write_units"]
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
        "goals": {
            "transact_write_items_per_operation": GOAL_TRANSACTIONS,
            "paid_publication_items": f"the free publication's items + {FEE_ITEMS} (the fee's record, two "
            "balances, the month's revenue shard)",
            "professional_publication_items": "the paid publication's items - 1 (no counter)",
            "mission_approval_items": APPROVAL_ITEMS,
            "write_units_ratio_fee_vs_transfer": GOAL_FEE_RATIO,
        },
        "within_goals": {
            "one_transaction": one_transaction,
            "paid_publication_items": paid["transact_items"] == free["transact_items"] + FEE_ITEMS,
            "professional_publication_items": professional["transact_items"] == paid["transact_items"] - 1,
            "mission_approval_items": approval["transact_items"] == APPROVAL_ITEMS,
            "write_units_ratio_fee_vs_transfer": 0 < fee_units <= GOAL_FEE_RATIO * transfer["write_units"],
        },
        "checks": {**publications["checks"], **approval["checks"], "ledger_balanced": ledger_balanced()},
        "publications": {kind: publications[kind] for kind in PUBLICATIONS},
        "mission_approvals": dict(approval),
        "transfers": dict(transfer),
        "fees": {"publish_listing": PUBLISH_FEE, "publish_professional_listing": PROFESSIONAL_FEE},
        "counted": {"publications_per_kind": options.publications, "approvals": options.approvals},
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

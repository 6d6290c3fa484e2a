"""Credit purchases: DynamoDB requests and billed write units per fulfilled Stripe webhook, webhook
handler CPU, and fulfilled webhooks per second with concurrent deliveries.

Runs the real webhook path (`chalicelib.services.stripe_events.handle(raw_body, signature)`: signature
check, dedupe by event id, fulfil, remember the event) against DynamoDB Local, in a table of its own
created from infra/template.json, and prints one JSON object on stdout:

a. DynamoDB requests per fulfilled `payment_intent.succeeded` webhook, by operation, counted by botocore
   event handlers on the client every model shares (and HTTP attempts, so retries would show).
b. Write units per fulfilled webhook as AWS bills them (bench/README.md has the formula): the fulfilment
   transaction at the transactional rate, index entries, and the remembered event at the standard rate.
c. Handler CPU per webhook (time.process_time) with every DynamoDB operation answered by a canned
   response built from real items, against a bare `stripe.WebhookSignature.verify_header` on the same
   payloads (and against the bare DynamoDB calls the handler makes, on the same stubbed client).
d. Fulfilled webhooks per second with 8 threads delivering distinct purchases against 1 (ABBA order),
   with TransactWriteItems attempts, cancellation reasons and the issuance shards the credits came from.

Purchases are made as `purchases.start_purchase` makes them, without Stripe: `add_new_purchase`, then
`add_payment_intent`; the events are signed here like Stripe signs them.

Usage: python -m bench.purchases [--quick] [--endpoint URL] [--profile]
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import statistics
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import msgspec

from bench._harness import (
    Item,
    Recorder,
    WriteUnits,
    bench_parser,
    bench_table,
    compare_threads,
    cpu_rounds,
    item_size,
    ledger_balanced,
    new_member,
    profile_calls,
    run_threads,
    shared_client,
    stored_items,
    stubbed,
    table_indexes,
    transact_write_units,
    write_units,
)

GOAL_TRANSACTIONS = 1  # the ledger's "one DynamoDB round trip per transfer": the credit is one TransactWriteItems
GOAL_WRITE_UNITS = 8  # the ledger's budget per transfer, held by the webhook's credit transfer
TRANSFER_ITEMS = ("transfer record", "issuance shard", "wallet")  # the rest: the purchase's status, the event id
GOAL_CPU_RATIO = 3.0  # handler CPU against the bare DynamoDB calls it makes (stubbed)
DAILY_LIMIT_CENTS = 10**12  # the benchmark buys far more than a member may in a day
STRIPE_API_VERSION = "2025-03-31.basil"


@dataclass(frozen=True)
class Options:
    webhooks: int
    cpu_calls: int
    cpu_rounds: int
    deliveries: int
    threads: int
    endpoint: str | None
    profile: bool


def parse_options(argv: Sequence[str] | None) -> Options:
    parser = bench_parser("purchases", __doc__ or "", profiled="webhooks", cpu_calls=300)
    parser.add_argument("--webhooks", type=int, help="webhooks counted for requests and write units (default 100)")
    parser.add_argument(
        "--deliveries", type=int, help="webhooks per throughput configuration, split over its threads (default 320)"
    )
    parser.add_argument("--threads", type=int, default=8, help="threads in the concurrent configuration (default 8)")
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    return Options(
        webhooks=args.webhooks or (10 if quick else 100),
        cpu_calls=args.cpu_calls or (60 if quick else 300),
        cpu_rounds=cpu_rounds(args),
        deliveries=args.deliveries or (32 if quick else 320),
        threads=args.threads,
        endpoint=args.endpoint,
        profile=bool(args.profile),
    )


# Purchases and their signed webhooks.


def webhook_secret() -> str:
    from chalicelib.config import secret

    return secret("stripe_webhook_secret")


def sign(body: bytes, secret: str, timestamp: int | None = None) -> str:
    """A `Stripe-Signature` header, as Stripe computes it: HMAC-SHA256 over "<t>.<raw body>"."""
    at = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), str(at).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def succeeded_event(purchase: Any) -> bytes:
    """A `payment_intent.succeeded` event shaped like Stripe's (a full PaymentIntent object)."""
    now = int(time.time())
    intent_id = purchase.payment_intent_id
    intent = {
        "id": intent_id,
        "object": "payment_intent",
        "amount": purchase.amount_cents,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": purchase.amount_cents,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": {"allow_redirects": "always", "enabled": True},
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic_async",
        "client_secret": f"{intent_id}_secret_{uuid.uuid4().hex[:24]}",
        "confirmation_method": "automatic",
        "created": now - 30,
        "currency": purchase.currency.value,
        "customer": None,
        "description": None,
        "last_payment_error": None,
        "latest_charge": f"ch_{uuid.uuid4().hex[:24]}",
        "livemode": False,
        "metadata": {
            "member_id": purchase.member_id,
            "pack_id": purchase.pack_id,
            "purchase_id": purchase.purchase_id,
        },
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": f"pm_{uuid.uuid4().hex[:24]}",
        "payment_method_configuration_details": {"id": f"pmc_{uuid.uuid4().hex[:24]}", "parent": None},
        "payment_method_options": {
            "card": {
                "installments": None,
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            },
            "link": {"persistent_token": None},
        },
        "payment_method_types": ["card", "link"],
        "processing": None,
        "receipt_email": None,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "source": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "succeeded",
        "transfer_data": None,
        "transfer_group": None,
    }
    event = {
        "id": f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "api_version": STRIPE_API_VERSION,
        "created": now,
        "data": {"object": intent},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": f"pwiic-purchase-{purchase.purchase_id}"},
        "type": "payment_intent.succeeded",
    }
    return json.dumps(event, indent=2).encode()  # Stripe sends pretty-printed JSON


@dataclass(frozen=True)
class Delivery:
    purchase: Any
    body: bytes
    signature: str

    def resigned(self, secret: str) -> Delivery:
        """Signed now: stored deliveries would grow older than the signature tolerance (300 s)."""
        return replace(self, signature=sign(self.body, secret))


def new_purchase(wallet: str) -> Any:
    """A pending purchase with its PaymentIntent, written as `purchases.start_purchase` writes them."""
    from chalicelib import clock
    from chalicelib.adapters.dynamodb import purchase_repository
    from chalicelib.adapters.dynamodb.unit_of_work import stale
    from chalicelib.config import settings
    from chalicelib.domain.purchases import Purchase, PurchaseStatus
    from chalicelib.services import transaction

    config = settings()
    pack = next(pack for pack in config.credit_packs if pack.active)
    purchase = Purchase(
        purchase_id=uuid.uuid4().hex,
        member_id=wallet.removeprefix("member:"),
        pack_id=pack.pack_id,
        credits=pack.credits,
        amount_cents=pack.price_cents,
        currency=pack.currency,
        status=PurchaseStatus.PENDING,
        created_at=clock.now_iso(),
    )
    limit = config.daily_purchase_limit_cents
    transaction.run(lambda uow: purchase_repository.add_new_purchase(uow, purchase, limit, over_limit=stale))
    intent_id = f"pi_{uuid.uuid4().hex[:24]}"
    at = clock.now_iso()
    transaction.run(lambda uow: purchase_repository.add_payment_intent(uow, purchase.purchase_id, intent_id, at))
    return msgspec.structs.replace(purchase, payment_intent_id=intent_id)


def new_delivery(wallet: str, secret: str) -> Delivery:
    purchase = new_purchase(wallet)
    body = succeeded_event(purchase)
    return Delivery(purchase, body, sign(body, secret))


def deliver(delivery: Delivery) -> None:
    from chalicelib.services import stripe_events

    stripe_events.handle(delivery.body, delivery.signature)


@dataclass
class Credited:
    """Credits every wallet should hold after the webhooks the benchmark delivered to DynamoDB Local."""

    expected: Counter[str] = field(default_factory=Counter)
    purchases: list[Any] = field(default_factory=list)

    def add(self, delivery: Delivery) -> None:
        self.expected["member:" + delivery.purchase.member_id] += delivery.purchase.credits
        self.purchases.append(delivery.purchase)


def item_role(key: Item) -> str:
    """What a table item is, from its key."""
    pk, sk = str(key["PK"]["S"]), str(key["SK"]["S"])
    if sk == "BALANCE":
        return "issuance shard" if pk.startswith("ACCOUNT#platform:issuance") else "wallet" if "member:" in pk else sk
    return {
        "TRANSFER": "transfer record",
        "PURCHASE": "purchase",
        "PAYMENT-INTENT": "payment intent",
        "STRIPE-EVENT": "stripe event",
    }.get(sk, sk)


def call_role(operation: str, params: Mapping[str, Any]) -> str:
    if "Key" in params:
        return f"{operation} {item_role(params['Key'])}"
    if "Item" in params:
        return f"{operation} {item_role(params['Item'])}"
    return operation


# a + b: requests and write units on DynamoDB Local.


def measure_requests_and_units(
    options: Options, wallets: Sequence[str], admin: Any, credited: Credited
) -> tuple[dict[str, Any], dict[str, Any]]:
    client = shared_client()
    secret = webhook_secret()
    for sequence in range(3):  # warm: platform accounts made, connections open, stripe imported
        warm = new_delivery(wallets[sequence % len(wallets)], secret)
        deliver(warm)
        credited.add(warm)
    deliveries = [new_delivery(wallets[sequence % len(wallets)], secret) for sequence in range(options.webhooks)]

    recorder = Recorder(client, consumed_capacity=True, keep_all=True)
    per_webhook: Counter[int] = Counter()
    spans: list[tuple[int, int, int, int]] = []  # per webhook: [transactions), [non-transactional writes)
    with recorder.recording():
        for delivery in deliveries:
            before, transactions, writes = recorder.total_calls, len(recorder.requests), len(recorder.writes)
            deliver(delivery)
            credited.add(delivery)
            per_webhook[recorder.total_calls - before] += 1
            spans.append((transactions, len(recorder.requests), writes, len(recorder.writes)))

    stored_item = stored_items(admin)

    indexes = table_indexes()
    per_item: Counter[str] = Counter()
    units: list[WriteUnits] = []
    for first_tx, end_tx, first_write, end_write in spans:
        webhook = WriteUnits()
        for request in recorder.requests[first_tx:end_tx]:
            webhook.add(transact_write_units(request, indexes, stored_item))
            for action in request["TransactItems"]:
                ((kind, body),) = action.items()
                one = transact_write_units({"TransactItems": [action]}, indexes, stored_item)
                per_item[f"{kind} {item_role(body.get('Item') or body['Key'])}"] += one.total
        for operation, params in recorder.writes[first_write:end_write]:
            one = write_units(operation, params, indexes, stored_item)
            webhook.add(one)
            per_item[call_role(operation, params)] += one.total
        units.append(webhook)

    n = len(deliveries)
    calls = Counter(recorder.calls)
    by_item = Counter(call_role(operation, params) for operation, params in recorder.all_calls)
    requests_figure: dict[str, Any] = {
        "webhooks": n,
        "requests_per_webhook": sum(calls.values()) / n,
        "requests_by_operation": {operation: count / n for operation, count in sorted(calls.items())},
        "requests_by_item": {role: count / n for role, count in sorted(by_item.items())},
        "requests_per_webhook_histogram": {str(k): v for k, v in sorted(per_webhook.items())},
        "http_attempts_per_webhook": recorder.http_attempts / n,
        "transact_write_items_per_webhook": calls["TransactWriteItems"] / n,
        "goal_transact_write_items": GOAL_TRANSACTIONS,
    }
    requests_figure["within_goal"] = requests_figure["transact_write_items_per_webhook"] == GOAL_TRANSACTIONS

    actions: Counter[str] = Counter()
    for unit in units:
        actions.update(unit.actions)
    local = [sum(float(c.get("CapacityUnits", 0)) for c in consumed) for consumed in recorder.consumed]
    event_item = next(params["Item"] for operation, params in recorder.writes if operation == "PutItem")
    units_figure: dict[str, Any] = {
        "write_units_per_webhook": statistics.fmean(unit.total for unit in units),
        "write_units_per_webhook_max": max(unit.total for unit in units),
        "transactional_units_per_webhook": statistics.fmean(unit.transactional for unit in units),
        "index_units_per_webhook": statistics.fmean(unit.index for unit in units),
        "standard_units_per_webhook": statistics.fmean(unit.standard for unit in units),
        "write_units_by_item": {role: total / n for role, total in sorted(per_item.items())},
        "actions_per_webhook": {kind: count / n for kind, count in sorted(actions.items())},
        "largest_item_bytes": max(unit.largest_item_bytes for unit in units),
        "stripe_event_item_bytes": item_size(event_item),
        "write_units_per_webhook_if_index_writes_doubled": statistics.fmean(u.total_if_index_doubled for u in units),
        "dynamodb_local_consumed_capacity_per_transaction": statistics.fmean(local) if local else None,
        "goal": GOAL_WRITE_UNITS,
    }
    units_figure["transfer_write_units_per_webhook"] = sum(
        total / n for role, total in per_item.items() if role.split(" ", 1)[1] in TRANSFER_ITEMS
    )
    units_figure["within_goal"] = units_figure["transfer_write_units_per_webhook"] <= GOAL_WRITE_UNITS
    return requests_figure, units_figure


# c: handler CPU against a bare signature check (and the bare DynamoDB calls), all stubbed.


def canned_items(admin: Any, table_name: str, purchases: Sequence[Any]) -> dict[str, dict[str, Any]]:
    """The real stored items a webhook reads, each read once: the pending purchase, its PaymentIntent
    reference and the member's wallet. Keyed by their JSON key; anything else reads as absent."""
    from chalicelib.adapters.dynamodb import keys

    found: dict[str, dict[str, Any]] = {}
    for purchase in purchases:
        for pk, sk in (
            (keys.purchase_pk(purchase.purchase_id), keys.PURCHASE_SK),
            (keys.payment_intent_pk(purchase.payment_intent_id), keys.PAYMENT_INTENT_SK),
            (keys.account_pk("member:" + purchase.member_id), keys.BALANCE_SK),
        ):
            key = {"PK": {"S": pk}, "SK": {"S": sk}}
            item = admin.get_item(TableName=table_name, Key=key, ConsistentRead=True)["Item"]
            found[_key_id(key)] = item
    return found


def _key_id(key: Mapping[str, Any]) -> str:
    return f"{key['PK']['S']}|{key['SK']['S']}"


def canned_answers(items: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """A canned success per operation the webhook makes; GetItem answers with the real item for its key
    (a Stripe event id reads as unseen)."""

    def get_item(params: Mapping[str, Any]) -> Mapping[str, Any]:
        item = items.get(_key_id(params["Key"]))
        return {"Item": item} if item is not None else {}

    return {"GetItem": get_item, "TransactWriteItems": {}, "PutItem": {}}


def measure_cpu(options: Options, wallets: Sequence[str], admin: Any, table_name: str) -> dict[str, Any]:
    import botocore
    import stripe

    from chalicelib.adapters.stripe_gateway import SIGNATURE_TOLERANCE_SECONDS

    client = shared_client()
    secret = webhook_secret()
    templates = [new_delivery(wallet, secret) for wallet in wallets]  # real pending purchases, never fulfilled
    items = canned_items(admin, table_name, [template.purchase for template in templates])
    pristine = copy.deepcopy(items)
    n = options.cpu_calls
    timings: dict[str, list[float]] = {"handler": [], "signature": [], "dynamodb": []}

    def batch() -> list[Delivery]:
        """Distinct events (new event ids) for the canned purchases, signed just now, outside the timing."""
        made = []
        for index in range(n):
            template = templates[index % len(templates)]
            body = succeeded_event(template.purchase)
            made.append(Delivery(template.purchase, body, sign(body, secret)))
        return made

    def time_handler() -> float:
        deliveries = batch()
        start = time.process_time()
        for delivery in deliveries:
            deliver(delivery)
        return (time.process_time() - start) / n

    def time_signature() -> float:
        deliveries = batch()
        verify = stripe.WebhookSignature.verify_header
        start = time.process_time()
        for delivery in deliveries:
            verify(delivery.body.decode("utf-8"), delivery.signature, secret, SIGNATURE_TOLERANCE_SECONDS)
        return (time.process_time() - start) / n

    with stubbed(client, canned_answers(items)) as leaked:
        for delivery in batch()[: max(10, n // 10)]:  # warm the handler path
            deliver(delivery)
        recorder = Recorder(client, consumed_capacity=False, keep_all=True)
        with recorder.recording():
            deliver(batch()[0])
        calls = [(getattr(client, botocore.xform_name(operation)), params) for operation, params in recorder.all_calls]

        def time_dynamodb() -> float:
            start = time.process_time()
            for _ in range(n):
                for method, params in calls:
                    method(**params)
            return (time.process_time() - start) / n

        sides: list[tuple[str, Callable[[], float]]] = [
            ("handler", time_handler),
            ("signature", time_signature),
            ("dynamodb", time_dynamodb),
        ]
        time_signature()
        time_dynamodb()
        for round_ in range(options.cpu_rounds):
            shift = round_ % len(sides)
            for name, measure in sides[shift:] + sides[:shift]:
                timings[name].append(measure())
        if options.profile:
            profile_calls("stubbed webhooks", batch(), deliver)
    if items != pristine:
        raise AssertionError("the handler changed the canned responses: the stub would not be realistic")

    handler_us, signature_us, dynamodb_us = (statistics.median(timings[side]) * 1e6 for side in timings)
    ratio_signature = handler_us / signature_us
    ratio_dynamodb = handler_us / dynamodb_us
    return {
        "handler_cpu_us_per_webhook": round(handler_us, 1),
        "bare_verify_header_cpu_us": round(signature_us, 1),
        "ratio_vs_signature_check": round(ratio_signature, 1),
        "round_ratios_vs_signature_check": [
            round(h / s, 1) for h, s in zip(timings["handler"], timings["signature"], strict=True)
        ],
        "bare_dynamodb_calls_cpu_us": round(dynamodb_us, 1),
        "bare_dynamodb_calls": dict(Counter(operation for operation, _ in recorder.all_calls)),
        "ratio_vs_bare_dynamodb_calls": round(ratio_dynamodb, 3),
        "round_ratios_vs_bare_dynamodb_calls": [
            round(h / d, 3) for h, d in zip(timings["handler"], timings["dynamodb"], strict=True)
        ],
        "handler_cpu_beyond_signature_and_calls_us": round(handler_us - signature_us - dynamodb_us, 1),
        "goal_vs_bare_dynamodb_calls": GOAL_CPU_RATIO,
        "within_goal": ratio_dynamodb <= GOAL_CPU_RATIO,
        "calls_per_round": n,
        "rounds": options.cpu_rounds,
        "payload_bytes": len(templates[0].body),
        "network_requests_during_stub": dict(leaked),
    }


# d: throughput on DynamoDB Local.


def measure_throughput(options: Options, wallets: Sequence[str], credited: Credited) -> dict[str, Any]:
    """Each configuration delivers `deliveries` webhooks (half per ABBA pass), split over its threads;
    thread i delivers purchases of member i, made beforehand (outside the timing)."""
    from chalicelib.adapters.dynamodb import ledger_repository

    client = shared_client()
    secret = webhook_secret()
    threads = options.threads
    per_thread = max(1, options.deliveries // 2 // threads)  # per ABBA pass, in the concurrent configuration
    delivered: dict[int, list[Delivery]] = defaultdict(list)  # by thread count
    recorder = Recorder(client, consumed_capacity=False)

    def run(count: int) -> Any:
        per_worker = per_thread * threads // count
        batches = [[new_delivery(wallets[w], secret) for _ in range(per_worker)] for w in range(count)]
        with recorder.recording():
            result = run_threads(count, lambda w, s: deliver(batches[w][s]), per_worker=per_worker)
        for worker_batch in batches:
            delivered[count].extend(worker_batch)
        return result

    figure = compare_threads(threads, run, "webhooks")

    shards: dict[int, Counter[str]] = {}
    for count, deliveries in delivered.items():
        shards[count] = Counter()
        for delivery in deliveries:
            found = ledger_repository.get_transfer(f"purchase:{delivery.purchase.payment_intent_id}")
            if found is not None:
                shards[count][found[0].payer_account] += 1
                credited.add(delivery)
    fulfilled = sum(len(deliveries) for deliveries in delivered.values())
    transactions = recorder.calls["TransactWriteItems"]
    conflicts = recorder.cancellation_reasons["TransactionConflict"]
    retried = transactions - fulfilled + (recorder.http_attempts - recorder.total_calls)
    many = shards.get(threads, Counter())
    from chalicelib.config import settings

    return {
        **figure,
        "transact_write_items_per_webhook": round(transactions / fulfilled, 3) if fulfilled else None,
        "http_attempts_per_request": round(recorder.http_attempts / recorder.total_calls, 3)
        if recorder.total_calls
        else None,
        "transaction_conflicts": conflicts,
        "cancellation_reasons": dict(recorder.cancellation_reasons),
        "error_codes": dict(recorder.errors),
        "retries": retried,
        "issuance_shards": settings().platform_shards,
        "issuance_shards_used_1_thread": dict(sorted(shards.get(1, Counter()).items())),
        f"issuance_shards_used_{threads}_threads": dict(sorted(many.items())),
        f"distinct_issuance_shards_{threads}_threads": len(many),
        "issuance_serialised": conflicts > 0 or retried > 0 or (len(many) <= 1 and many.total() > 1),
    }


def credited_exactly_once(credited: Credited) -> bool:
    """Every delivered purchase succeeded and every wallet holds exactly the credits of its purchases."""
    from chalicelib.adapters.dynamodb import ledger_repository, purchase_repository
    from chalicelib.domain.purchases import PurchaseStatus

    for purchase in credited.purchases:
        stored = purchase_repository.get(purchase.purchase_id)
        if stored is None or stored.status is not PurchaseStatus.SUCCEEDED:
            return False
    for wallet, credits in credited.expected.items():
        balance = ledger_repository.get_balance(wallet)
        if balance is None or balance.posted != credits:
            return False
    return True


def run_all(options: Options, admin: Any, table_name: str) -> dict[str, Any]:
    threads = options.threads
    wallets = [new_member(f"Buyer {i}") for i in range(threads)]
    credited = Credited()
    requests_figure, units_figure = measure_requests_and_units(options, wallets, admin, credited)
    throughput = measure_throughput(options, wallets, credited)
    cpu = measure_cpu(options, wallets, admin, table_name)
    return {
        "requests_per_webhook": requests_figure["requests_per_webhook"],
        "transact_write_items_per_webhook": requests_figure["transact_write_items_per_webhook"],
        "write_units_per_webhook": units_figure["write_units_per_webhook"],
        "transfer_write_units_per_webhook": units_figure["transfer_write_units_per_webhook"],
        "cpu_ratio_vs_signature_check": cpu["ratio_vs_signature_check"],
        "cpu_ratio_vs_bare_dynamodb_calls": cpu["ratio_vs_bare_dynamodb_calls"],
        "webhooks_per_second_ratio": throughput["ratio"],
        "issuance_serialised": throughput["issuance_serialised"],
        "goals": {
            "transact_write_items_per_webhook": GOAL_TRANSACTIONS,
            "transfer_write_units_per_webhook": GOAL_WRITE_UNITS,
            "cpu_ratio_vs_bare_dynamodb_calls": GOAL_CPU_RATIO,
        },
        "within_goals": {
            "transact_write_items_per_webhook": requests_figure["within_goal"],
            "transfer_write_units_per_webhook": units_figure["within_goal"],
            "cpu_ratio_vs_bare_dynamodb_calls": cpu["within_goal"],
        },
        "requests": requests_figure,
        "write_units": units_figure,
        "cpu": cpu,
        "throughput": throughput,
        "credited_exactly_once": credited_exactly_once(credited),
        "ledger_balanced": ledger_balanced(),
        "dynamodb": "DynamoDB Local (one JVM on this machine): throughput figures are local only",
        "python": sys.version.split()[0],
    }


def main(argv: Sequence[str] | None = None) -> None:
    options = parse_options(argv)
    limit = {"PWIIC_DAILY_PURCHASE_LIMIT_CENTS": str(DAILY_LIMIT_CENTS)}
    with bench_table(options.endpoint, "bench-purchases", limit) as (admin, table_name):
        result = run_all(options, admin, table_name)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

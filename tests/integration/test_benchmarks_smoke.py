"""The benchmarks run, print one JSON object, and the budgets that do not depend on machine noise hold:
one DynamoDB request per transfer, at most 8 billed write units, stripe not imported at cold start, one
TransactWriteItems per fulfilled Stripe webhook and no serialisation on the sharded issuance account,
one atomic write per exchange transition and one Query per search (one per cell for `near`), one atomic
write per vote with the participation counters spread over their shards, a recount that counts every
ballot, one TransactWriteItems per publication (free or paid: its fee inside) and per mission approval, and a
reconciliation whose cost follows the new transfers, not the history.
Timing ratios are only checked for sanity here (shared CI machines are noisy); bench/README.md says how
to read them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TRANSITIONS = (
    "propose",
    "accept",
    "confirm",
    "confirm_completes",
    "cancel",
    "decline",
    "join_seat",
    "book",
    "loan_return",
)
RATE_LIMITED = ("propose", "join_seat", "book")  # their routes count the call: bench.exchanges.RATE_LIMITED
ONE_QUERY_SEARCHES = ("community", "category", "kind", "mode", "tag", "owner")
HOT_READS = (
    "listings_community",
    "listings_category",
    "listings_tag",
    "listings_near",
    "listings_owner",
    "listing",
    "wallet",
    "statement",
    "exchange",
    "exchanges",
    "inbox",
    "thread",
    "profile",
    "reputation",
    "reviews",
    "home",
)


def run_bench(*args: str, timeout: float) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=REPO_ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, f"expected one JSON line on stdout, got: {result.stdout[-2000:]}"
    figures: dict[str, Any] = json.loads(lines[0])
    return figures


def test_cold_start_benchmark():
    figures = run_bench("bench.cold_start", "--quick", timeout=90)

    assert figures["runs"] >= 5
    assert figures["goal"] == 1.3
    for key in ("import_app_ms_median", "baseline_ms_median", "ratio", "baseline_with_msgspec_ms_median"):
        assert figures[key] > 0, key
    assert len(figures["samples_ms"]["app"]) == figures["runs"]
    assert isinstance(figures["within_goal"], bool)
    assert isinstance(figures["jwt_imported"], bool)
    assert figures["stripe_imported"] is False, "stripe must only be imported on payment paths"


@pytest.mark.skipif(not os.environ.get("PWIIC_ARTIFACT"), reason="PWIIC_ARTIFACT names no scripts/package output")
def test_artifact_benchmark():
    figures = run_bench("bench.artifact", "--quick", "--artifact", os.environ["PWIIC_ARTIFACT"], timeout=300)

    assert figures["import_app_ms_median"] > 0 and figures["baseline_ms_median"] > 0 and figures["ratio"] > 0
    assert figures["size_within_goal"] is True, figures["zipped_bytes"]
    shipped, source = figures["checks"]["shipped"], figures["checks"]["source"]
    assert shipped["import_app_compiled_from_source"] == 0, "the shipped bytecode must be used"
    assert shipped["code_paths_compiled_from_source"] == 0
    assert source["import_app_compiled_from_source"] > 0, "without it the app compiles"
    assert shipped["module_files_outside_lambda_path"] == source["module_files_outside_lambda_path"] == []
    assert figures["checks"]["nothing_written_to_the_artifact"] is True
    assert figures["stripe_imported"] is False


def test_ledger_benchmark(dynamodb_endpoint):
    figures = run_bench("bench.ledger", "--quick", "--endpoint", dynamodb_endpoint, timeout=120)

    requests = figures["requests"]
    assert figures["requests_per_transfer"] == 1
    assert requests["requests_by_operation"] == {"TransactWriteItems": requests["transfers"]}
    assert requests["requests_per_transfer_histogram"] == {"1": requests["transfers"]}

    units = figures["write_units"]
    assert 0 < figures["write_units_per_transfer"] <= 8
    assert units["write_units_per_transfer_max"] <= 8
    assert figures["within_goals"]["requests_per_transfer"] is True
    assert figures["within_goals"]["write_units_per_transfer"] is True

    cpu = figures["cpu"]
    assert cpu["network_requests_during_stub"] == {}, "the stubbed phase must not reach DynamoDB"
    assert cpu["handler_cpu_us_per_transfer"] > 0 and cpu["bare_transact_write_items_cpu_us"] > 0
    assert figures["cpu_ratio"] > 1, "a transfer cannot cost less CPU than the call it makes"

    for name in ("throughput_distinct_wallets", "throughput_rewards_pool"):
        phase = figures[name]
        assert phase["errors"] == 0, phase["error_samples"]
        assert phase["transfers_per_second_1_thread"] > 0 and phase["ratio"] > 0
    assert figures["ledger_balanced"] is True


def test_purchases_benchmark(dynamodb_endpoint):
    figures = run_bench("bench.purchases", "--quick", "--endpoint", dynamodb_endpoint, timeout=120)

    requests = figures["requests"]
    assert figures["transact_write_items_per_webhook"] == 1, "the credit and the purchase flip are one transaction"
    assert requests["requests_by_operation"]["TransactWriteItems"] == 1
    assert len(requests["requests_per_webhook_histogram"]) == 1, "every webhook makes the same calls"
    assert 1 <= figures["requests_per_webhook"] <= 10
    assert requests["http_attempts_per_webhook"] == figures["requests_per_webhook"], "no botocore retries"
    assert figures["within_goals"]["transact_write_items_per_webhook"] is True

    units = figures["write_units"]
    assert 8 <= figures["write_units_per_webhook"] <= 16, "a transfer (8) plus the purchase and the event"
    assert sum(units["write_units_by_item"].values()) == figures["write_units_per_webhook"]
    assert figures["within_goals"]["transfer_write_units_per_webhook"], units["write_units_by_item"]
    assert units["actions_per_webhook"]["Put"] == 1 and units["actions_per_webhook"]["Update"] == 3

    cpu = figures["cpu"]
    assert cpu["network_requests_during_stub"] == {}, "the stubbed phase must not reach DynamoDB"
    assert cpu["bare_dynamodb_calls"]["TransactWriteItems"] == 1
    assert cpu["handler_cpu_us_per_webhook"] > 0 and cpu["bare_verify_header_cpu_us"] > 0
    assert figures["cpu_ratio_vs_signature_check"] > 1, "the handler verifies the signature and then works"
    assert figures["cpu_ratio_vs_bare_dynamodb_calls"] > 1, "a webhook cannot cost less CPU than its calls"

    throughput = figures["throughput"]
    assert throughput["errors"] == 0, throughput["error_samples"]
    assert throughput["webhooks_per_second_1_thread"] > 0 and throughput["ratio"] > 0
    assert throughput["transact_write_items_per_webhook"] == 1
    assert throughput["transaction_conflicts"] == 0 and throughput["retries"] == 0
    assert throughput["distinct_issuance_shards_8_threads"] > 1, "concurrent credits must spread over the shards"
    assert figures["issuance_serialised"] is False
    assert figures["credited_exactly_once"] is True
    assert figures["ledger_balanced"] is True


def test_exchanges_benchmark(dynamodb_endpoint):
    figures = run_bench("bench.exchanges", "--quick", "--endpoint", dynamodb_endpoint, timeout=180)

    for route in ONE_QUERY_SEARCHES:
        search = figures["searches"][route]
        assert search["reads_by_operation"] == {"Query": 1}, (route, search)
        assert search["writes_by_operation"] == {}, (route, search)
        assert search["requests_histogram"] == {"1": search["searches"]}, (route, search)
        assert search["statuses"] == [200], (route, search)
    assert figures["searches"]["community"]["listings_in_response"] == 20, "a full first page"
    near = figures["searches"]["near"]
    assert near["reads_by_operation"] == {"Query": figures["near_cells_searched"]} and near["writes_by_operation"] == {}
    assert figures["near_cells_searched"] == 9

    for name in TRANSITIONS:
        transition = figures["transitions"][name]
        counter = name in RATE_LIMITED  # the rate limit's UpdateItem, apart from the transition's one write
        assert sum(transition["writes_by_operation"].values()) == 1 + counter, (name, transition)
        assert set(transition["writes_by_operation"]) <= {"TransactWriteItems", "UpdateItem"}, (name, transition)
        assert transition["requests_histogram"] == {
            str(int(transition["requests_per_transition"])): transition["transitions"]
        }, (name, transition)
        assert set(transition["reads_by_operation"]) <= {"GetItem"}, (name, transition)
        assert transition["statuses"] in ([200], [201]), (name, transition)
        assert figures["within_goals"]["one_write_per_transition"][name] is True

    assert figures["first_call_of_day"]["steady_state_call"] == {"Query": 1}

    cpu = figures["cpu"]
    assert cpu["network_requests_during_stub"] == {}, "the stubbed phase must not reach DynamoDB"
    assert cpu["unmatched_stub_answers"] == {}, "every stubbed call is one the route made on DynamoDB Local"
    assert set(figures["cpu_ratio"]) == set(HOT_READS) == set(cpu["responses_as_captured"])
    assert all(cpu["responses_as_captured"].values()), cpu["responses_as_captured"]
    assert all(cpu["calls_as_captured"].values()), cpu["calls_as_captured"]
    assert cpu["routes"]["listings_near"]["bare_calls"] == {"Query": figures["near_cells_searched"]}
    for route, figure in cpu["routes"].items():
        assert figure["bare_calls"] and figure["bare_calls_us"] > 0, (route, figure)
        assert figure["ratio"] > 1, (route, "a route cannot cost less CPU than the calls it makes")


def test_reviews_benchmark(dynamodb_endpoint):
    figures = run_bench("bench.reviews", "--quick", "--endpoint", dynamodb_endpoint, timeout=180)

    assert figures["write_requests_per_sealed_submission"] == 1
    assert figures["write_requests_per_sealed_edit"] == 1
    assert figures["transact_write_items_per_publication"] == 1 and figures["write_requests_per_publication"] == 1
    assert figures["publication_transact_items"] == 6, "the round, both reviews, both reputations, a contribution"
    assert figures["transact_write_items_per_window_close"] == 1
    assert figures["write_requests_per_window_close_without_review"] == 1
    for member, views in figures["profile_views"].items():
        assert views["reputation"]["requests_by_operation"] == {"BatchGetItem": 1.0}, member
        assert views["reviews_first_page"]["requests_by_operation"] == {"Query": 1.0}, member
        assert views["reputation"]["statuses"] == views["reviews_first_page"]["statuses"] == [200], member
    within = figures["within_goals"]
    assert within["recount_reads_the_members_reviews_alone"] is True
    assert within["recount_independent_of_table_size"] is True
    recounts = figures["recount_per_member"]
    assert (
        recounts["member_with_1_reviews"]["read_units"]
        == recounts["member_with_1_reviews_in_larger_table"]["read_units"]
    )
    cpu = figures["cpu"]
    assert cpu["network_requests_during_stub"] == {}, "the stubbed phase must not reach DynamoDB"
    assert cpu["sealed_lambda_handler_state"] == "sealed" and cpu["publication_lambda_handler_state"] == "published"
    assert figures["cpu_ratio_sealed_service"] > 1 and figures["cpu_ratio_publication_service"] > 1


def test_governance_benchmark(dynamodb_endpoint):
    figures = run_bench(
        "bench.governance",
        "--quick",
        "--ballots",
        "200",
        "--throughput-votes",
        "24",
        "--endpoint",
        dynamodb_endpoint,
        timeout=180,
    )

    for kind in ("first_named", "changed_named", "secret", "proxy"):
        vote = figures["votes"][kind]
        assert figures["write_requests_per_vote"][kind] == 1, (kind, vote["requests_by_operation"])
        assert vote["requests_histogram"] == {str(int(vote["requests_per_vote"])): vote["votes"]}, (kind, vote)
        assert vote["statuses"] == [200] and vote["http_attempts_per_request"] == 1, (kind, vote)
        assert figures["write_units_per_vote"][kind] > 0
    for kind in ("first_named", "secret", "proxy"):
        assert figures["transact_write_items_per_vote"][kind] == 1, "a first vote is one TransactWriteItems"
    assert figures["votes"]["changed_named"]["requests_by_operation"]["PutItem"] == 1, "a change writes one item"
    assert figures["votes"]["secret"]["transact_items_by_action"] == {"Put BOX": 1, "Put ROLL": 1, "Update COUNT": 1}
    assert all(figures["votes"]["checks"].values()), figures["votes"]["checks"]

    throughput = figures["throughput"]
    assert throughput["errors"] == 0, throughput["error_samples"]
    assert throughput["votes_per_second_1_thread"] > 0 and throughput["ratio"] > 0
    assert figures["distinct_counter_items_8_threads"] > 1, "concurrent votes must spread over the counter shards"
    assert throughput["participation_counts_every_vote"] is True

    for kind, recount in figures["recounts"].items():
        assert recount["counted_every_ballot"] is True, (kind, recount["result_voted"], recount["ballots"])
        assert recount["digest_matches_ballots_loaded"] is True, kind
        assert recount["queries_consistent"] is True, kind
        assert recount["close"]["transact_write_items"] == 1, kind
        assert recount["ratio_vs_bare_reads"] > 0, kind
    assert figures["within_goals"]["recount_counted_every_ballot"] == {"named": True, "secret": True}


def test_economy_benchmark(dynamodb_endpoint):
    figures = run_bench(
        "bench.economy",
        "--quick",
        "--publications",
        "2",
        "--approvals",
        "2",
        "--contributors",
        "10",
        "--endpoint",
        dynamodb_endpoint,
        timeout=120,
    )

    assert all(figures["within_goals"]["one_transaction"].values()), figures["within_goals"]
    assert figures["within_goals"]["paid_publication_items"] is True, figures["transact_items_per_operation"]
    assert figures["within_goals"]["professional_publication_items"] is True
    assert figures["within_goals"]["mission_approval_items"] is True
    assert all(figures["checks"].values()), figures["checks"]
    publications = figures["publications"]
    fee = {"Put TRANSFER/TRANSFER": 1, "Update ACCOUNT/BALANCE": 2, "Update REVENUE/<shard>": 1}
    counter = {"Update MEMBER/LISTING-QUOTA": 1}
    free = publications["free"]["transact_items_by_action"]
    assert free.items() >= counter.items() and not set(free) & set(fee), free
    assert publications["paid"]["transact_items_by_action"] == {**free, **fee}
    assert publications["professional"]["transact_items_by_action"] == {
        name: count for name, count in {**free, **fee}.items() if name not in counter
    }
    for name, figure in (*publications.items(), ("approval", figures["mission_approvals"])):
        counter = name != "approval"  # POST /listings counts against the rate limit: its counter's UpdateItem
        assert figure["requests_by_operation"]["TransactWriteItems"] == figure["write_requests"] - counter == 1, (
            name,
            figure,
        )
        assert len(figure["requests_histogram"]) == 1 and figure["http_attempts_per_request"] == 1, (name, figure)
    assert figures["within_goals"]["write_units_ratio_fee_vs_transfer"] is True, "a transfer and a revenue counter"
    assert figures["write_units_per_transfer_baseline"] <= 8
    distribution = figures["distribution"]
    shares = distribution["checks"]
    assert shares["distribution_shares_sum_exactly"] is True, distribution
    assert shares["distribution_wallets_received_shares"] is True, distribution
    assert shares["distribution_second_run_moves_nothing"] is True, distribution
    assert shares["reconciled"] is True, "each month's revenue counter equals its fees"
    assert distribution["contributors_paid"] == distribution["contributors"] == 10
    assert distribution["contributors_query_pages"] == 1
    assert figures["distribution_second_run_requests"] == 1, "a paid month stops at its statement"
    assert figures["within_goals"]["distribution_contributors_pages"] is True


def test_cost_benchmark(dynamodb_endpoint):
    from bench.cost import COMPONENTS, PROFILE

    figures = run_bench("bench.cost", "--quick", "--endpoint", dynamodb_endpoint, timeout=300)

    kinds = figures["call_kinds"]
    assert set(kinds) == set(PROFILE) and all(kind["occurrences"] >= 1 for kind in kinds.values())
    # Units come from the requests the real routes sent.
    tip = {"TransactWriteItems": 1, "UpdateItem": 1}  # the transfer; the rate limit's counter
    assert kinds["tip"]["requests_by_operation"] == tip and kinds["tip"]["write_units"] >= 9
    assert kinds["listing_view"]["read_units"] > 0 and kinds["listing_view"]["write_units"] == 0
    assert kinds["listing_publish"]["storage_bytes_added"] > 0 and kinds["stripe_webhook"]["write_units"] > 0
    for name, kind in kinds.items():
        if kind["api_requests"]:
            assert kind["cpu_ms"] > 0 and kind["log_bytes"] > 0 and kind["response_bytes"] > 0, name
    assert kinds["app_open"]["api_requests"] == len(figures["app_open"]["requests"])
    month = figures["calls_per_member_month"]
    assert month["api_requests"] == pytest.approx(sum(month["by_kind"].values()), abs=0.01)
    assert month["api_requests"] >= 200, "the profile's calls, each app open counted by its requests"

    jobs = figures["jobs"]
    assert {"reconcile_ledger", "void_expired_holds", "run_ballots"} <= set(jobs)
    assert all(job["runs_per_month"] > 0 and job["idle_run_after_play"]["invocations"] == 1 for job in jobs.values())

    cost = figures["chf_per_active_member_year"]
    assert set(cost["components"]) == set(COMPONENTS)
    assert cost["total_without_identity"] == pytest.approx(sum(cost["components"].values()), abs=1e-4)
    assert cost["components"]["api_gateway"] > 0 and cost["components"]["dynamodb_writes"] > 0
    assert cost["total_with_identity"] > cost["total_without_identity"] > 0
    carried = figures["members_carried_by_budget"]
    assert 0 < carried["with_identity"] < carried["without_identity"]
    assert figures["within_goals"]["members_carried_without_identity"] == (carried["without_identity"] >= 100_000)
    front_doors = figures["members_carried_with_another_front_door"]
    assert figures["model"]["front_door"] == "http_api", "the packaged stage's (tools.package)"
    assert front_doors["rest_api"] < carried["without_identity"] < front_doors["lambda_function_url"]
    assert figures["profile"] == pytest.approx(PROFILE, abs=1e-4)


def test_reconciliation_benchmark(dynamodb_endpoint):
    # A budget far below the quick audit's work, so it spreads over invocations however fast the machine.
    figures = run_bench(
        "bench.reconciliation", "--quick", "--audit-budget", "0.05", "--endpoint", dynamodb_endpoint, timeout=180
    )

    sizes = figures["sizes"]
    assert len(sizes) == 2
    for size in sizes.values():
        audit, incremental = size["audit"], size["incremental"]
        assert audit["balanced"] is True and audit["transfers_before_base"] == size["history_records"]
        assert audit["invocations"] > 1, "a small budget spreads the audit over invocations"
        assert audit["requests_by_operation"]["Scan"] >= 1 and audit["read_units"] > 0
        assert incremental["report_balanced"] is True and incremental["report_transfers"] == figures["new_transfers"]
        # Its consumers write (residues, notifications) and read the recipients' preferences by key: never
        # a Query or a Scan, whose cost could follow history.
        assert set(incremental["handler"]["requests_by_operation"]) <= {"PutItem", "BatchGetItem"}
        assert incremental["handler"]["requests_by_operation"]["PutItem"] >= 1
        assert incremental["job"]["requests_by_operation"]["TransactWriteItems"] == 1
        assert incremental["write_units"] > 0 and size["old_full_reconciliation_read_units"] > 0
    smallest, largest = sorted(sizes.values(), key=lambda size: size["history_records"])
    assert largest["history_bytes"] > smallest["history_bytes"]
    assert largest["incremental"]["requests"] == smallest["incremental"]["requests"], "what changed, not history"
    assert figures["incremental_cost_ratio"] == pytest.approx(1.0, abs=0.1)
    assert figures["within_goals"] == {
        "incremental_cost_ratio": True,
        "books_cost_ratio": True,
        "books_published_the_day": True,
        "audits_balanced": True,
        "incremental_balanced": True,
    }
    for size in sizes.values():
        closing = size["incremental"]["books"]["close_day"]
        assert closing["requests_by_operation"]["TransactWriteItems"] == 1, "the day published with the checkpoint"


def test_writes_benchmark(dynamodb_endpoint):
    figures = run_bench("bench.writes", "--quick", "--endpoint", dynamodb_endpoint, timeout=180)

    within = figures["within_goals"]
    assert within["unchanged_edit_write_units"] and within["mark_write_units_per_active_day_one_community"]
    assert within["read_thread_write_units_nothing_unread"] and within["opening_api_requests"]
    assert within["opening_read_units"], figures["opening_read_units"]
    # A price edit rewrites the listing and its seven browse copies, not its keyword entries; a title edit does.
    items = figures["edit_items_written"]
    assert items["price"] == 1 + 7 < items["title"]
    publication = figures["publication_write_units"]
    assert 0 < publication["without_keyword_entries"] < publication["with_keyword_entries"]
    assert figures["keyword_write_units_per_publication"] == (
        publication["with_keyword_entries"] - publication["without_keyword_entries"]
    )
    # One Query per word in a community (two words), one per area cell near a place (nine), and found.
    assert figures["search_queries"] == {"community_two_words": 2, "near_one_word": 9}
    assert {name: search["listings_found"] for name, search in figures["search"]["searches"].items()} == {
        "community_two_words": 2,
        "near_one_word": 1,
    }
    assert all(units > 0 for units in figures["search_read_units"].values())

"""The cost model turns measured units into a bill: fractional counts spread over the sample, tiered
prices, billed Lambda milliseconds, jobs that do or do not grow with the table, filtered reads billed on
what they read, and the population a budget carries."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace
from typing import Any

import pytest

from bench._harness import Call, _unfiltered, read_units
from bench.cost import (
    FRONT_DOORS,
    PRICES,
    Job,
    JobFigures,
    LambdaModel,
    Model,
    Options,
    Prices,
    Quantities,
    StreamSource,
    overlap,
    stream_batch,
    usage_usd,
)


def options(quick: bool = False) -> Options:
    return Options(members=12, listings=10, quick=quick, endpoint=None)


def test_fractional_counts_spread_over_the_sample_and_quick_plays_each_kind_once() -> None:
    assert [options().repetitions("listing_publish", i) for i in range(6)] == [1, 0, 1, 0, 1, 0]
    assert [options().repetitions("credit_pack", i) for i in range(6)] == [1, 0, 0, 1, 0, 0]
    assert options().repetitions("listing_view", 3) == 120
    assert options(quick=True).repetitions("listing_view", 3) == 1
    assert sum(options().repetitions("browse_page", i) for i in range(3)) == 40  # 13.33 a member-month


def test_cognito_tiers_include_the_free_users_and_step_down() -> None:
    prices = Prices(json.loads(PRICES.read_text()))
    assert prices.tiered("cognito_lite_mau", 10_000) == 0
    assert prices.tiered("cognito_lite_mau", 20_000) == pytest.approx(10_000 * 0.0055)
    assert prices.tiered("cognito_lite_mau", 200_000) == pytest.approx(90_000 * 0.0055 + 100_000 * 0.0046)
    assert prices.tiered("cognito_essentials_mau", 110_000) == pytest.approx(100_000 * 0.015)


def test_every_price_line_names_its_unit_and_source() -> None:
    table = json.loads(PRICES.read_text())
    assert table["region"] == "eu-central-2" and table["usd_to_chf"]["date"]
    for name, line in table["lines"].items():
        assert line["unit"] and line["source"].startswith("https://aws.amazon.com/"), name
        assert isinstance(line["estimate"], bool) and ("usd" in line or "usd_tiers" in line), name


def test_lambda_bills_each_invocation_by_the_started_millisecond_at_its_share_of_a_vcpu() -> None:
    model = LambdaModel(memory_mb=512, timeout_s=20, architecture="x86_64", compression_min_bytes=None)
    one = Quantities(invocations=1, cpu_seconds=0.010, wait_ms=4.2)  # 34.55 ms of CPU at 512 MB
    assert model.duration_ms(one) == pytest.approx(10 * 1769 / 512 + 4.2)
    cold_start = 0.005 * 0.8 * 0.5
    assert model.gb_seconds(one) == pytest.approx(39 / 1000 * 0.5 + cold_start)
    assert model.gb_seconds(one.times(3)) == pytest.approx(3 * (39 / 1000 * 0.5 + cold_start))
    stuck = Quantities(invocations=1, cpu_seconds=60.0)
    assert model.gb_seconds(stuck) == pytest.approx(20 * 0.5 + cold_start), "a run is cut at the timeout"


def test_a_response_at_least_the_compression_threshold_long_is_counted_as_api_gateway_gzips_it() -> None:
    page = json.dumps({"items": [{"id": f"listing-{n}", "title": "Perceuse à prêter"} for n in range(40)]}).encode()
    compressing = LambdaModel(512, 20, "x86_64", compression_min_bytes=len(page))
    assert compressing.bytes_sent(page) == len(gzip.compress(page, compresslevel=6)) < len(page) / 4
    assert compressing.bytes_sent(page[:-1]) == len(page) - 1, "below the threshold: sent as is"
    assert LambdaModel(512, 20, "x86_64", None).bytes_sent(page) == len(page), "no threshold: never compressed"


def job(idle_small: Quantities, idle_large: Quantities) -> JobFigures:
    return JobFigures(Job("reconcile", 730.5), idle_small, idle_large, 100_000, 200_000, Quantities())


def test_a_job_that_scans_the_table_grows_with_history_and_a_checkpointed_one_does_not() -> None:
    scan = job(
        Quantities(invocations=1, bytes_read=400_000, read_units=50, cpu_seconds=0.1),
        Quantities(invocations=1, bytes_read=800_000, read_units=100, cpu_seconds=0.2),
    )
    assert scan.reads_history
    at = scan.run_at(2_000_000)
    assert at.bytes_read == pytest.approx(8_000_000) and at.read_units == pytest.approx(1000)
    assert at.cpu_seconds == pytest.approx(2.0)

    checkpointed = job(
        Quantities(invocations=1, bytes_read=100, read_units=1, cpu_seconds=0.01),
        Quantities(invocations=1, bytes_read=300, read_units=1, cpu_seconds=0.01),
    )
    assert not checkpointed.reads_history
    assert checkpointed.run_at(10**12).bytes_read == 300


def test_stream_batches_grow_with_traffic_up_to_the_batch_size() -> None:
    source = StreamSource("table_changes", batch_size=500, window_seconds=10)
    assert stream_batch(1_000, source) == 1  # a record now and then: one per invocation
    month = 30.4375 * 86_400
    assert stream_batch(4 * 3 * month, source) == pytest.approx(30)  # 3 a second per shard, 10 s window
    assert stream_batch(10**12, source) == 500


def test_a_filtered_read_is_billed_on_what_it_read_not_on_what_it_returned() -> None:
    params: dict[str, Any] = {
        "TableName": "t",
        "IndexName": "GSI1",
        "KeyConditionExpression": "#0 = :0",
        "FilterExpression": "#1 = :1",
        "ExpressionAttributeNames": {"#0": "GSI1PK", "#1": "status"},
        "ExpressionAttributeValues": {":0": {"S": "BROWSE#c"}, ":1": {"S": "active"}},
        "ProjectionExpression": "#0",
        "Limit": 20,
    }
    assert _unfiltered(params) == {
        "TableName": "t",
        "IndexName": "GSI1",
        "KeyConditionExpression": "#0 = :0",
        "ExpressionAttributeNames": {"#0": "GSI1PK"},
        "ExpressionAttributeValues": {":0": {"S": "BROWSE#c"}},
        "Limit": 20,
    }
    returned = {"Items": [{"PK": {"S": "x"}}]}
    assert read_units(Call("Query", params, returned, [])) == 0.5
    assert read_units(Call("Query", params, returned, [], scanned_bytes=40_000)) == 5.0  # 10 x 4 KB, halved


def model(per_member_month: Quantities) -> Model:
    return Model(
        per_member_month=per_member_month,
        jobs=[],
        stream=None,
        custom_metrics=0,
        lambda_=LambdaModel(512, 20, "x86_64", None),
        prices=Prices(json.loads(PRICES.read_text())),
        platform_bytes=0,
        retention_months=None,
        identity_tier="LITE",
        front_door=FRONT_DOORS["rest_api"],
    )


def test_the_budget_carries_the_population_whose_year_it_pays() -> None:
    requests_only = model(Quantities(api_requests=100))  # the front door (and its response headers) alone
    prices = requests_only.prices
    per_request_usd = prices.usd("api_gateway_rest_request") + 400 / 2**30 * prices.usd("data_transfer_out")
    per_member_year_chf = 12 * 100 * per_request_usd * prices.usd_to_chf
    carried = requests_only.members_carried(1_500, identity=False)
    assert carried == pytest.approx(1_500 / per_member_year_chf, abs=2)
    yearly = requests_only.yearly_chf
    assert yearly(carried, identity=False) <= 1_500 < yearly(carried + 2, identity=False)
    assert requests_only.members_carried(1_500, identity=True) < carried


def test_requests_sent_side_by_side_wait_together() -> None:
    assert overlap([(0.0, 1.0), (1.0, 2.0), (2.0, 4.0)]) == 1  # one after another
    assert overlap([(0.0, 1.0), (0.0, 1.0), (0.0, 1.0), (0.5, 2.0)]) == pytest.approx(2 / 4.5)  # near's cells at once
    assert overlap([]) == 1


def test_a_cheaper_front_door_carries_more_members() -> None:
    calls = model(Quantities(api_requests=220, invocations=220, read_units=300, write_units=200))
    rest = calls.members_carried(1_500, identity=False)
    http_api = replace(calls, front_door=FRONT_DOORS["http_api"])
    function_url = replace(calls, front_door=FRONT_DOORS["lambda_function_url"])
    assert rest < http_api.members_carried(1_500, identity=False) < function_url.members_carried(1_500, identity=False)


def test_only_a_front_door_that_compresses_sends_the_compressed_bytes() -> None:
    sent = Quantities(api_requests=1_000, response_bytes=10_000_000, response_bytes_compressed=2_000_000)
    rest = model(sent)
    http_api = replace(rest, front_door=FRONT_DOORS["http_api"])
    per_gb = rest.prices.usd("data_transfer_out") / 2**30
    headers = 1_000 * 400
    assert usage_usd(sent, rest)["data_transfer_out"] == pytest.approx((2_000_000 + headers) * per_gb)
    assert usage_usd(sent, http_api)["data_transfer_out"] == pytest.approx((10_000_000 + headers) * per_gb)
    assert usage_usd(sent, http_api)["api_gateway"] < usage_usd(sent, rest)["api_gateway"]

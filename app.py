"""Chalice wiring: CORS, blueprints, schedules and the table's stream. Nothing else lives here."""

from chalice.app import Chalice, CloudWatchEvent, CORSConfig, DynamoDBEvent, Rate

from chalicelib.api import (
    books,
    communities,
    conversations,
    economy,
    exchanges,
    export,
    governance,
    home,
    listings,
    members,
    meta,
    missions,
    notifications,
    operator,
    purchases,
    reviews,
    statistics,
    transparency,
    wallet,
)
from chalicelib.config import table_stream_arn
from chalicelib.domain.jobs import EVERY
from chalicelib.jobs import scheduled

app = Chalice(app_name="pwiic")
# JSON in, JSON out: no media type is binary. Chalice otherwise checks every response (and request) against
# its default list of binary types, a fifth of its CPU per request.
app.api.binary_types = []
app.api.cors = CORSConfig(
    allow_origin="*",  # bearer tokens, no cookies: any web client origin may call the API
    allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
    expose_headers=["Retry-After"],  # a rate limit's 429 says when to retry
    max_age=600,
)
ROUTERS = (
    meta.router,
    books.router,
    transparency.router,
    statistics.router,
    members.router,
    export.router,
    home.router,
    communities.router,
    listings.router,
    exchanges.router,
    conversations.router,
    wallet.router,
    purchases.router,
    operator.router,
    reviews.router,
    governance.router,
    economy.router,
    missions.router,
    notifications.router,
)
for router in ROUTERS:
    app.register_blueprint(router.blueprint)


def every(job: str) -> Rate:
    return Rate(int(EVERY[job].total_seconds() // 60), unit=Rate.MINUTES)


@app.schedule(every("void_expired_holds"))
def void_expired_holds(event: CloudWatchEvent) -> None:
    scheduled.void_expired_holds(event.context)


@app.schedule(every("exchange_deadlines"))
def exchange_deadlines(event: CloudWatchEvent) -> None:
    scheduled.exchange_deadlines(event.context)


@app.schedule(every("reconcile_ledger"))
def reconcile_ledger(event: CloudWatchEvent) -> None:
    scheduled.reconcile_ledger(event.context)


@app.schedule(every("continue_ledger_audit"))
def continue_ledger_audit(event: CloudWatchEvent) -> None:
    scheduled.continue_ledger_audit(event.context)


# The stream's ARN is read when Chalice imports this module to deploy or package it (the one environment
# read at import: Chalice needs it to wire the event source); see docs/configuration.md.
@app.on_dynamodb_record(
    stream_arn=table_stream_arn(),
    batch_size=500,
    starting_position="TRIM_HORIZON",
    maximum_batching_window_in_seconds=10,
)
def table_changes(event: DynamoDBEvent) -> None:
    scheduled.table_changes(event.to_dict()["Records"], event.context)


@app.schedule(every("close_review_windows"))
def close_review_windows(event: CloudWatchEvent) -> None:
    scheduled.close_review_windows(event.context)


@app.schedule(every("run_ballots"))
def run_ballots(event: CloudWatchEvent) -> None:
    scheduled.run_ballots(event.context)


@app.schedule(every("end_featuring"))
def end_featuring(event: CloudWatchEvent) -> None:
    scheduled.end_featuring(event.context)


@app.schedule(every("share_value"))
def share_value(event: CloudWatchEvent) -> None:
    scheduled.share_value(event.context)


@app.schedule(every("recount_reputations"))
def recount_reputations(event: CloudWatchEvent) -> None:
    scheduled.recount_reputations(event.context)


@app.schedule(every("expire_missions"))
def expire_missions(event: CloudWatchEvent) -> None:
    scheduled.expire_missions(event.context)


@app.schedule(every("send_reminders"))
def send_reminders(event: CloudWatchEvent) -> None:
    scheduled.send_reminders(event.context)

"""The table's stream: each batch of records Lambda delivers is decoded once into typed changes, then
handed to every consumer in turn: the reconciliation, then the notifications. A consumer must be
idempotent: Lambda delivers a batch at least once."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from chalicelib.adapters.dynamodb import changes as stream
from chalicelib.domain.changes import Change
from chalicelib.observability import logger, metrics
from chalicelib.services import notifications, reconciliation

Consumer = Callable[[Sequence[Change]], None]
CONSUMERS: tuple[Consumer, ...] = (reconciliation.observe, notifications.observe)


def handle(records: Sequence[Mapping[str, Any]]) -> list[Change]:
    """Decodes the batch and hands its changes to the consumers. A record that cannot be decoded is
    counted and logged (ids only) and left out, never raised: with Chalice's stream wiring, a raising
    handler blocks its shard until the records expire. A consumer may raise when it cannot store its
    result (throttling): Lambda then retries the whole batch, which idempotent consumers absorb."""
    decoded: list[Change] = []
    rejected = 0
    for record in records:
        try:
            change = stream.decode(record)
        except (KeyError, ValueError, TypeError, AttributeError) as error:
            rejected += 1
            logger.error(
                "stream record rejected",
                extra={"event_id": str(record.get("eventID")), "error": type(error).__name__},
            )
            continue
        if change is not None:
            decoded.append(change)
    if rejected:
        metrics.add_metric(name="StreamRecordsRejected", unit=MetricUnit.Count, value=rejected)
        metrics.flush_metrics()
    for consume in CONSUMERS:
        consume(decoded)
    return decoded

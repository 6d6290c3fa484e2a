"""One TransactWriteItems per use case, with the failure of each action told apart by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.dynamodb.models import connection

RETRYABLE_REASONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})
RETRYABLE_CODES = frozenset(
    {
        "TransactionConflictException",
        "TransactionInProgressException",
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    }
)


class Rejected(Exception):
    """Conditions failed: the named actions' rules refused the change. Nothing was written."""

    def __init__(self, failed: set[str]) -> None:
        super().__init__(", ".join(sorted(failed)))
        self.failed = failed


class Retryable(Exception):
    """Contention, throttling, or an unknown outcome (the write may have committed): retry with the same ids."""


class UnitOfWork:
    def __init__(self) -> None:
        # PynamoDB sends condition checks, deletes, puts, then updates: cancellation reasons follow that order.
        self._groups: dict[str, list[tuple[str, Callable[[TransactWrite], None]]]] = {
            "check": [],
            "delete": [],
            "put": [],
            "update": [],
        }

    def check(self, label: str, model: type[Model], hash_key: str, range_key: str, condition: Condition) -> None:
        self._groups["check"].append((label, lambda tx: tx.condition_check(model, hash_key, range_key, condition)))

    def put(self, label: str, item: Model, condition: Condition | None = None) -> None:
        self._groups["put"].append((label, lambda tx: tx.save(item, condition=condition)))

    def update(self, label: str, item: Model, actions: list[Any], condition: Condition | None = None) -> None:
        self._groups["update"].append((label, lambda tx: tx.update(item, actions, condition=condition)))

    def delete(self, label: str, item: Model, condition: Condition | None = None) -> None:
        self._groups["delete"].append((label, lambda tx: tx.delete(item, condition=condition)))

    def __len__(self) -> int:
        return sum(len(group) for group in self._groups.values())

    def commit(self) -> None:
        ordered = [entry for group in self._groups.values() for entry in group]
        try:
            with TransactWrite(connection=connection()) as transaction:
                for _, add in ordered:
                    add(transaction)
        except TransactWriteError as error:
            reasons = error.cancellation_reasons
            codes = [reason.code if reason else None for reason in reasons]
            failed = {
                label for (label, _), code in zip(ordered, codes, strict=False) if code == "ConditionalCheckFailed"
            }
            if failed and not RETRYABLE_REASONS.intersection(c for c in codes if c):
                raise Rejected(failed) from error
            # A lost response (timeout, dropped connection) first: its cause has no response to read a code from.
            if isinstance(error.cause, BotoCoreError) or RETRYABLE_REASONS.intersection(codes):
                raise Retryable(str(error)) from error
            if error.cause_response_code in RETRYABLE_CODES:
                raise Retryable(str(error)) from error
            raise  # e.g. a ValidationError reason: no retry can cure it

"""A unit of work: every write of one use case, committed atomically, as one TransactWriteItems (or as
one conditional write when it holds a single action: same guarantees, half the write units).

Each action says what the failure of its condition means (`refused`): by default that what the use case
read has changed since (`Stale`: build again from fresh reads); otherwise a typed error, or `AlreadyDone`
when the refusal proves an earlier try committed. When several conditions fail, the action added first
decides, so a use case adds its own state change before the ledger's contribution. Only the runner
(`chalicelib.services.transaction`) commits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, NoReturn

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.dynamodb.models import connection

Refusal = Callable[[], NoReturn]

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
CONDITION_FAILED = "ConditionalCheckFailedException"


class Stale(Exception):
    """What the use case read has changed since: build the unit of work again from fresh reads."""


class AlreadyDone(Exception):
    """The refusal proves the work was done before (an earlier try committed): `result` is the answer."""

    def __init__(self, result: object = None) -> None:
        super().__init__("already done")
        self.result = result


class Contention(Exception):
    """A transaction conflict, throttling, or an unknown outcome (the write may have committed):
    try again with the same ids."""


def stale() -> NoReturn:
    raise Stale()


def already_done(result: object = None) -> Refusal:
    def refuse() -> NoReturn:
        raise AlreadyDone(result)

    return refuse


def raises(error: Exception) -> Refusal:
    """A refusal that means exactly `error` (a seat already taken, a slot already booked)."""

    def refuse() -> NoReturn:
        raise error

    return refuse


def is_contention(error: BaseException) -> bool:
    """Whether a store error is contention, throttling or a lost response (worth retrying): raised through
    PynamoDB, or by botocore itself (`reads`)."""
    if isinstance(error, PynamoDBException):
        return isinstance(error.cause, BotoCoreError) or error.cause_response_code in RETRYABLE_CODES
    if isinstance(error, ClientError):
        return error.response.get("Error", {}).get("Code") in RETRYABLE_CODES
    return isinstance(error, BotoCoreError)


class _Action(NamedTuple):
    kind: str  # PynamoDB sends condition checks, deletes, puts, then updates: cancellation reasons follow that order
    item: Any  # the model instance written, or for a check its (model, hash key, range key)
    condition: Condition | None
    refused: Refusal
    actions: list[Any] | None = None  # an update's actions

    def add_to(self, transaction: TransactWrite) -> None:
        if self.kind == "check":
            model, hash_key, range_key = self.item
            transaction.condition_check(model, hash_key, range_key, self.condition)
        elif self.kind == "put":
            transaction.save(self.item, condition=self.condition)
        elif self.kind == "update":
            transaction.update(self.item, self.actions or [], condition=self.condition)
        else:
            transaction.delete(self.item, condition=self.condition)

    def write_alone(self) -> None:
        if self.kind == "put":
            self.item.save(condition=self.condition)
        elif self.kind == "update":
            self.item.update(self.actions or [], condition=self.condition)
        else:
            self.item.delete(condition=self.condition)


ORDER = {"check": 0, "delete": 1, "put": 2, "update": 3}


class UnitOfWork:
    def __init__(self, attempt: int = 0, notes: dict[str, Any] | None = None) -> None:
        self.attempt = attempt  # 0 on the first try: a use case may reuse what its caller already read
        self.notes: dict[str, Any] = {} if notes is None else notes  # kept across the tries of one run
        self._actions: list[_Action] = []

    def check(
        self, model: type[Model], hash_key: str, range_key: str, condition: Condition, refused: Refusal = stale
    ) -> None:
        self._actions.append(_Action("check", (model, hash_key, range_key), condition, refused))

    def put(self, item: Model, condition: Condition | None = None, refused: Refusal = stale) -> None:
        self._actions.append(_Action("put", item, condition, refused))

    def update(
        self, item: Model, actions: list[Any], condition: Condition | None = None, refused: Refusal = stale
    ) -> None:
        self._actions.append(_Action("update", item, condition, refused, actions))

    def delete(self, item: Model, condition: Condition | None = None, refused: Refusal = stale) -> None:
        self._actions.append(_Action("delete", item, condition, refused))

    def __len__(self) -> int:
        return len(self._actions)

    def commit(self) -> None:
        """Writes everything or nothing. Raises the first refused action's outcome, `Contention`, or the
        store's own error when no retry can cure it (a validation error is a bug)."""
        if all(action.kind == "check" for action in self._actions):
            return  # nothing to write
        if len(self._actions) == 1:
            self._write_alone(self._actions[0])
            return
        sent = sorted(range(len(self._actions)), key=lambda index: ORDER[self._actions[index].kind])
        try:
            with TransactWrite(connection=connection()) as transaction:
                for index in sent:
                    self._actions[index].add_to(transaction)
        except TransactWriteError as error:
            codes = [reason.code if reason else None for reason in error.cancellation_reasons]
            if RETRYABLE_REASONS.intersection(code for code in codes if code):
                raise Contention(str(error)) from error
            failed = [index for index, code in zip(sent, codes, strict=False) if code == "ConditionalCheckFailed"]
            if failed:
                self._actions[min(failed)].refused()
            if is_contention(error):
                raise Contention(str(error)) from error
            raise

    @staticmethod
    def _write_alone(action: _Action) -> None:
        try:
            action.write_alone()
        except PynamoDBException as error:
            if error.cause_response_code == CONDITION_FAILED:
                action.refused()
            if is_contention(error):
                raise Contention(str(error)) from error
            raise

"""Helpers shared by the ledger's integration tests (DynamoDB Local, through the services layer)."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest

from chalicelib import clock, errors
from chalicelib.adapters.dynamodb import keys, purchase_repository, store
from chalicelib.adapters.dynamodb.models import AccountItem, connection
from chalicelib.adapters.dynamodb.unit_of_work import UnitOfWork, stale
from chalicelib.api.problems import status_of
from chalicelib.domain.ledger import (
    PlatformAccount,
    Transfer,
    TransferKind,
    TransferRequest,
    member_of,
    wallet_account,
)
from chalicelib.domain.members import Member
from chalicelib.domain.purchases import Currency, Purchase, PurchaseStatus
from chalicelib.services import ledger, members, transaction
from tests import books
from tests.conftest import reset_caches
from tools import devkeys, table

ISSUANCE = PlatformAccount.ISSUANCE.value


@contextmanager
def own_table(admin: Any, endpoint: str, local: devkeys.LocalSecrets, **extra_env: str) -> Iterator[str]:
    """A fresh table (created with the `admin` client) and the environment pointing at it, for code that
    cannot use the `table_name` fixture (a hypothesis state machine builds one per run). The
    environment is restored after, and the table dropped."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    table.ensure_table(admin, name)
    wanted = {**devkeys.local_env(local, dynamodb_endpoint=endpoint, table_name=name), **extra_env}
    saved = {key: os.environ.get(key) for key in wanted}
    os.environ.update(wanted)
    reset_caches()
    store.bind()
    try:
        yield name
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reset_caches()
        admin.delete_table(TableName=name)


def open_wallet(member_id: str) -> str:
    """A member and their wallet, created together as on the member's first call."""
    store.bind()
    members.provision(Member(member_id, f"Member {member_id}", clock.now_iso()))
    return wallet_account(member_id)


Also = Callable[[UnitOfWork], None]


def purchase(account: str, amount: int, transfer_id: str | None = None) -> tuple[TransferRequest, Also]:
    """A purchase of `amount` credits from issuance (which may run negative), and the succeeded purchase
    record written in the same transaction, as a verified payment does: reconciliation proves that
    every purchase transfer has one."""
    purchase_id = transfer_id or f"buy:{uuid.uuid4().hex}"
    request = TransferRequest(
        purchase_id,
        ISSUANCE,
        account,
        amount,
        TransferKind.PURCHASE,
        reason="test-pack",
        refs={"purchase_id": purchase_id},
    )
    record = Purchase(
        purchase_id=purchase_id,
        member_id=member_of(account) or account,
        pack_id="test-pack",
        credits=amount,
        amount_cents=amount * 10,
        currency=Currency.EUR,
        status=PurchaseStatus.SUCCEEDED,
        created_at=clock.now_iso(),
        payment_intent_id=f"pi_{purchase_id}",
    )
    return request, lambda uow: purchase_repository.add_new_purchase(uow, record, 10**12, over_limit=stale)


def transfer_with(request: TransferRequest, also: Also | None = None) -> Transfer:
    """A transfer and, in the same unit of work, the caller's own writes (`also`)."""

    def build(uow: UnitOfWork) -> Transfer:
        if also is not None:
            also(uow)
        return ledger.add_transfer(uow, request)

    return transaction.run(build)


def fund(account: str, amount: int, transfer_id: str | None = None) -> Transfer:
    """Credits bought from issuance."""
    return transfer_with(*purchase(account, amount, transfer_id))


def set_frozen(account: str, frozen: bool) -> None:
    """What a dispute or a debt does to a wallet's spending, set directly."""
    AccountItem(keys.account_pk(account), keys.BALANCE_SK).update(actions=[AccountItem.frozen.set(frozen)])


def problem(call: Callable[[], Any]) -> errors.AppError:
    """The AppError `call` raises (fails the test if it returns)."""
    with pytest.raises(errors.AppError) as caught:
        call()
    return caught.value


def assert_problem(call: Callable[[], Any], status: int, code: str) -> errors.AppError:
    error = problem(call)
    assert (status_of(error), error.code) == (status, code), error
    return error


def statement_ids(account: str) -> list[str]:
    """Every transfer id on the account's statement, newest first, through the paginated service."""
    ids: list[str] = []
    cursor = None
    while True:
        lines, _, cursor = ledger.statement(account, cursor, 50)
        ids += [line.transfer_id for line in lines]
        if cursor is None:
            return ids


def assert_statement_adds_up(account: str) -> list[str]:
    """Walks the whole statement: each line's balance after follows from the next older one, and the
    oldest starts from zero. Returns the transfer ids, newest first."""
    lines_all = []
    cursor = None
    while True:
        lines, _, cursor = ledger.statement(account, cursor, 7)
        lines_all += lines
        if cursor is None:
            break
    posted = ledger.balance(account).posted
    expected_after = posted
    for line in lines_all:
        assert line.balance_after == expected_after, (account, line)
        expected_after -= line.amount
    assert expected_after == 0, (account, [(line.transfer_id, line.amount) for line in lines_all])
    return [line.transfer_id for line in lines_all]


def assert_reconciled() -> None:
    books.assert_reconciled()


def dynamodb_client() -> Any:
    """The botocore client every PynamoDB model (and every transaction) goes through."""
    store.bind()
    return connection().client


def at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Runs the calls in as many threads, released together; each result or the exception raised."""
    dynamodb_client()  # bind the models and build the shared client before the threads start
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait()
        try:
            return call()
        except Exception as error:
            return error

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))

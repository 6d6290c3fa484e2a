"""Proving the books of a test's table as production does: the table's stream, read from DynamoDB Local,
fed to the Lambda stream handler (`app.table_changes`), then the scheduled reconciliation with no settle
window (a quiet table: every part of every transaction is in). A test's table is new, so this is the
proof by induction from an empty table. Also full reads of the ledger's items, for tests that look at
all of them."""

from __future__ import annotations

import os
from datetime import timedelta

from chalicelib.adapters.dynamodb import keys, ledger_repository, purchase_repository
from chalicelib.adapters.dynamodb.models import AccountItem, HoldItem, PurchaseItem, TransferItem
from chalicelib.domain.ledger import Balance, Hold, Transfer
from chalicelib.domain.purchases import Purchase
from chalicelib.domain.reconciliation import Report
from chalicelib.services import reconciliation
from tools.jobs import deliver
from tools.streams import StreamReader

_readers: dict[tuple[str, str], StreamReader] = {}


def _reader() -> StreamReader:
    table = (os.environ["PWIIC_DYNAMODB_ENDPOINT"], os.environ["PWIIC_TABLE_NAME"])
    if table not in _readers:
        # One reader per table for the process's life, as Lambda keeps one position per shard: a module's
        # shared table, used again after other tests' tables, goes on where it stopped instead of being
        # read again from its first record.
        _readers[table] = StreamReader(*table)
    return _readers[table]


def feed_stream() -> int:
    """Every stream record written since the last call, handed to the Lambda handler batch by batch;
    returns how many."""
    import app

    return deliver(_reader(), app.table_changes)


def reconciled() -> Report:
    feed_stream()
    return reconciliation.run(settle=timedelta(0), write_margin=timedelta(0))


def assert_reconciled() -> Report:
    report = reconciled()
    assert report.balanced, report
    assert report.total_posted == 0
    return report


def balances() -> list[Balance]:
    return [ledger_repository.balance_of(item) for item in AccountItem.scan(AccountItem.SK == keys.BALANCE_SK)]


def transfers() -> list[Transfer]:
    return [ledger_repository.transfer_of(item) for item in TransferItem.scan(TransferItem.SK == keys.TRANSFER_SK)]


def holds() -> list[Hold]:
    return [ledger_repository.hold_of(item) for item in HoldItem.scan(HoldItem.SK == keys.HOLD_SK)]


def purchases() -> list[Purchase]:
    return [purchase_repository.purchase_of(item) for item in PurchaseItem.scan(PurchaseItem.SK == keys.PURCHASE_SK)]

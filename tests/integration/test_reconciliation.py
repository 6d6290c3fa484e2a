"""The reconciliation on DynamoDB Local: real ledger operations, the real stream records they leave, the
Lambda stream handler and the hourly job; the full audit worked through in slices."""

from __future__ import annotations

from datetime import timedelta

import pytest

import app
from chalicelib import clock, config, errors
from chalicelib.adapters.dynamodb import keys, ledger_repository, reconciliation_repository
from chalicelib.adapters.dynamodb.models import AccountItem
from chalicelib.domain.ledger import HoldRequest, TransferKind, TransferRequest
from chalicelib.domain.reconciliation import Check, Mismatch
from chalicelib.services import ledger, ledger_audit, reconciliation
from tests import books
from tests.integration import ledger_kit
from tools.jobs import LambdaContext


@pytest.fixture
def wallets(table_name: str) -> tuple[str, str, str]:
    alice, bob, carol = (ledger_kit.open_wallet(name) for name in ("alice", "bob", "carol"))
    ledger_kit.fund(alice, 100)
    ledger.transfer(TransferRequest("pay-1", alice, bob, 30, TransferKind.PAYMENT))
    held = ledger.place_hold(HoldRequest("h-1", alice, bob, 20, clock.iso(clock.now().replace(year=2099))))
    ledger.post_hold(held.request.hold_id, 15)
    ledger.place_hold(HoldRequest("h-2", bob, carol, 5, clock.iso(clock.now().replace(year=2099))))
    ledger.void_hold("h-2")
    ledger.place_hold(HoldRequest("h-3", alice, carol, 10, clock.iso(clock.now().replace(year=2099))))
    return alice, bob, carol


def forge(account: str, credits: int) -> None:
    """A balance credited by a direct write: no record, no ledger contribution."""
    item = AccountItem(keys.account_pk(account), keys.BALANCE_SK)
    item.update(actions=[AccountItem.posted.add(credits), AccountItem.available.add(credits)])


def later(monkeypatch: pytest.MonkeyPatch, minutes: int) -> None:
    """The clock moved on: what was done so far precedes an audit started now by more than its margin."""
    moved = clock.now() + timedelta(minutes=minutes)
    monkeypatch.setattr(clock, "now", lambda: moved)


def test_the_stream_proves_real_operations_and_catches_a_forged_balance(wallets, monkeypatch):
    _, bob, _ = wallets
    monkeypatch.setenv("PWIIC_AUDIT_RECHECK_SECONDS", "0")
    config.reset()
    events = books._reader().batches()
    first = events[0]["Records"]
    context = LambdaContext(aws_request_id="r")
    app.table_changes({"Records": first[: len(first) // 2]}, context)  # stored, then the invocation failed
    for event in events:  # retried with what arrived since, then delivered again (at least once)
        app.table_changes(event, context)
        app.table_changes(event, context)
    app.table_changes({"Records": [{"eventID": "broken"}, *first]}, context)  # a bad record never raises

    report = reconciliation.run(settle=timedelta(0), write_margin=timedelta(0))
    assert report.balanced, report
    assert (report.transfers, report.purchases) == (3, 1), report  # the purchase, the payment, the posted hold

    forge(bob, 5)
    books.feed_stream()
    assert reconciliation.run(write_margin=timedelta(0)).balanced, "within the settle window: not yet"
    settled = books.reconciled()
    assert settled.mismatches == [Mismatch(bob, Check.ENTRIES, 0, 5)]
    assert settled.total_posted == 5
    assert books.reconciled().mismatches == settled.mismatches, "a mismatch stays reported until an audit"

    later(monkeypatch, 5)
    assert ledger_audit.run_to_end().mismatches == [Mismatch(bob, Check.ENTRIES, 45, 50)]
    assert reconciliation_repository.checkpoint().base_at == ledger_audit.progress().base_at
    assert books.reconciled().balanced, "what precedes the audit's base is the audit's to report"


def test_the_audit_works_through_slices_and_rechecks_what_moves(wallets, monkeypatch):
    _, bob, carol = wallets
    monkeypatch.setenv("PWIIC_AUDIT_RECHECK_SECONDS", "0")
    config.reset()
    monkeypatch.setattr(ledger_audit, "PAGE_ITEMS", 7)
    monkeypatch.setattr(ledger_audit, "ENTRY_PAGE", 1)
    # a record whose balance change lands only after the audit's first read of carol: in flight, not wrong
    ghost = TransferRequest("in-flight", bob, carol, 4, TransferKind.PAYMENT)
    ledger_repository.record_item(ghost, bob, carol, clock.now_iso()).save()
    checked = ledger_audit.account_mismatches
    landed: list[str] = []

    def commit_after_first_look(balance, *args):  # the real signature, passed through
        found = checked(balance, *args)
        if balance.account_id in (bob, carol) and balance.account_id not in landed:
            landed.append(balance.account_id)
            forge(balance.account_id, -4 if balance.account_id == bob else 4)
        return found

    monkeypatch.setattr(ledger_audit, "account_mismatches", commit_after_first_look)
    later(monkeypatch, 5)
    ledger_audit.start("op")
    slices = 0
    while (state := ledger_audit.advance(0)) is not None and state.report is None:
        slices += 1
        assert slices < 500
    assert slices > 10, "a tiny budget spreads the audit over many invocations"
    assert state.report is not None and state.report.balanced, state.report
    assert (state.accounts, state.transfers, state.entries) == (29, 4, 8)  # every balance; records before the base
    assert sorted(landed) == sorted([bob, carol])


def test_an_account_that_stays_wrong_is_reported_after_its_attempts(wallets, monkeypatch):
    _, _, carol = wallets
    monkeypatch.setenv("PWIIC_AUDIT_RECHECK_SECONDS", "0")
    config.reset()
    forge(carol, 3)
    report = ledger_audit.run_to_end()
    assert report.mismatches == [Mismatch(carol, Check.ENTRIES, 0, 3)]
    assert not report.balanced


def test_one_audit_at_a_time(table_name):
    first = ledger_audit.start("op")
    with pytest.raises(errors.Conflict) as refused:
        ledger_audit.start("op")
    assert refused.value.code == "audit-running"
    assert ledger_audit.advance(60) is not None
    assert ledger_audit.progress().report is not None
    assert ledger_audit.advance(60) is None, "nothing running: one read, nothing done"
    assert ledger_audit.start("op").audit_id != first.audit_id  # the next one may start

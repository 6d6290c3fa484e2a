"""A stateful property test: random transfers, holds, posts and voids against the real store
(DynamoDB Local, through the services layer), each step checked against a tiny in-memory model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from chalicelib.api.problems import status_of
from chalicelib.domain.ledger import (
    HoldRequest,
    HoldStatus,
    PlatformAccount,
    TransferKind,
    TransferRequest,
    wallet_account,
)
from chalicelib.services import ledger
from tests.integration import ledger_kit

MEMBERS = ("ann", "ben", "cat")
WALLETS = tuple(wallet_account(member) for member in MEMBERS)
ISSUANCE = PlatformAccount.ISSUANCE.value
REVENUE = PlatformAccount.REVENUE.value
UNKNOWN = wallet_account("nobody")
PAST = "2000-01-01T00:00:00.000000Z"
FUTURE = "2999-01-01T00:00:00.000000Z"
SHARDS = 3  # platform accounts are sharded, over few items so that each run's setup stays quick
START = 100  # each wallet starts with this, bought from issuance


# The payee, relative to the payer: mostly another member, sometimes a platform account, an unknown
# account or the payer itself.
PAYEES = st.sampled_from(("next", "after-next", "next", "after-next", "revenue", "unknown", "self"))


def payee_for(payer: str, choice: str) -> str:
    index = WALLETS.index(payer)
    return {
        "next": WALLETS[(index + 1) % len(WALLETS)],
        "after-next": WALLETS[(index + 2) % len(WALLETS)],
        "revenue": REVENUE,
        "unknown": UNKNOWN,
        "self": payer,
    }[choice]


@dataclass
class Account:
    posted: int = 0
    held: int = 0
    frozen: bool = False

    @property
    def available(self) -> int:
        return self.posted - self.held


@dataclass
class HoldModel:
    request: HoldRequest
    status: HoldStatus | None = None  # None: never placed (refused)
    posted_amount: int = 0

    @property
    def expired(self) -> bool:
        return self.request.expires_at == PAST


@dataclass
class TransferModel:
    request: TransferRequest  # the last request sent with this id
    committed: object = None  # the Transfer the ledger returned when it was recorded
    accounts: tuple[str, str] = ("", "")


@dataclass
class Model:
    accounts: dict[str, Account] = field(default_factory=dict)
    transfers: dict[str, TransferModel] = field(default_factory=dict)
    holds: dict[str, HoldModel] = field(default_factory=dict)

    def refusals(self, payer: str, payee: str, amount: int) -> set[tuple[int, str]]:
        """What the ledger may answer instead of moving credits; empty when it must move them."""
        if payer == payee:
            return {(422, "self-transfer")}
        debit = self.debit_refusal(payer, amount)
        if payee not in self.accounts:
            # both conditions fail: either refusal is a right answer
            return {(404, "unknown-account")} | ({debit} if debit else set())
        return {debit} if debit else set()

    def debit_refusal(self, payer: str, amount: int) -> tuple[int, str] | None:
        account = self.accounts[payer]
        if payer == ISSUANCE:
            return None
        if account.frozen:
            return (409, "wallet-frozen")
        if account.available < amount:
            return (409, "insufficient-funds")
        return None

    def move(self, payer: str, payee: str, amount: int) -> None:
        self.accounts[payer].posted -= amount
        self.accounts[payee].posted += amount


class LedgerMachine(RuleBasedStateMachine):
    admin: Any  # the session's client for creating tables
    endpoint: str
    local: Any

    transfer_ids = Bundle("transfer_ids")
    hold_ids = Bundle("hold_ids")

    def __init__(self) -> None:
        super().__init__()
        self._table = ledger_kit.own_table(self.admin, self.endpoint, self.local, PWIIC_PLATFORM_SHARDS=str(SHARDS))
        self._table.__enter__()
        for member in MEMBERS:
            ledger_kit.open_wallet(member)
        ledger.ensure_platform_accounts()
        self.model = Model({account: Account() for account in (*WALLETS, ISSUANCE, REVENUE)})
        self.counter = 0
        for wallet in WALLETS:
            self.send(*ledger_kit.purchase(wallet, START, self.new_id("seed")))

    def teardown(self) -> None:
        try:
            if hasattr(self, "model"):
                self.check_statements()
                ledger_kit.assert_reconciled()
        finally:
            self._table.__exit__(None, None, None)

    def new_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    # transfers

    def send(self, request: TransferRequest, also: ledger_kit.Also | None = None) -> None:
        """Sends `request` and checks the answer against the model, then updates the model."""
        known = self.model.transfers.get(request.transfer_id)
        if known is not None and known.committed is not None:
            if known.request == request:
                event("transfer: replayed")
                replay = ledger.transfer(request)
                original = known.committed
                assert replay.replayed
                assert (replay.request, replay.created_at, replay.payer_account, replay.payee_account) == (
                    original.request,
                    original.created_at,
                    original.payer_account,
                    original.payee_account,
                )
            else:
                event("transfer: id reused")
                ledger_kit.assert_problem(lambda: ledger.transfer(request), 409, "transfer-id-reused")
            return
        expected = self.model.refusals(request.payer, request.payee, request.amount)
        self.model.transfers[request.transfer_id] = TransferModel(request)
        if expected:
            error = ledger_kit.problem(lambda: ledger.transfer(request))
            event(f"transfer: refused {error.code}")
            assert (status_of(error), error.code) in expected, (error, expected)
            return
        event("transfer: moved")
        done = ledger_kit.transfer_with(request, also)
        assert not done.replayed
        assert done.request == request
        self.model.transfers[request.transfer_id] = TransferModel(request, done, (request.payer, request.payee))
        self.model.move(request.payer, request.payee, request.amount)

    @rule(member=st.sampled_from(WALLETS), amount=st.integers(1, 300))
    def buy(self, member: str, amount: int) -> None:
        self.send(*ledger_kit.purchase(member, amount, self.new_id("buy")))

    @rule(
        target=transfer_ids,
        payer=st.sampled_from(WALLETS),
        payee=PAYEES,
        amount=st.integers(1, 200),
        kind=st.sampled_from((TransferKind.PAYMENT, TransferKind.TIP)),
    )
    def pay(self, payer: str, payee: str, amount: int, kind: TransferKind) -> str:
        payee = payee_for(payer, payee)
        request = TransferRequest(self.new_id("t"), payer, payee, amount, kind, memo="thanks", refs={"x": "1"})
        self.send(request)
        return request.transfer_id

    @rule(transfer_id=transfer_ids)
    def retry_same(self, transfer_id: str) -> None:
        self.send(self.model.transfers[transfer_id].request)

    @rule(
        transfer_id=transfer_ids,
        change=st.sampled_from(("amount", "memo", "payee", "kind", "refs")),
    )
    def retry_changed(self, transfer_id: str, change: str) -> None:
        old = self.model.transfers[transfer_id].request
        fields = {
            "amount": {"amount": old.amount % 200 + 1},
            "memo": {"memo": old.memo + "!"},
            "payee": {"payee": next(w for w in WALLETS if w not in (old.payer, old.payee))},
            "kind": {"kind": TransferKind.TIP if old.kind is TransferKind.PAYMENT else TransferKind.PAYMENT},
            "refs": {"refs": {}},
        }[change]
        self.send(msgspec.structs.replace(old, **fields))

    @rule(member=st.sampled_from(WALLETS), frozen=st.booleans())
    def freeze(self, member: str, frozen: bool) -> None:
        ledger_kit.set_frozen(member, frozen)
        self.model.accounts[member].frozen = frozen

    # holds

    def hold_request(self, hold: HoldRequest) -> None:
        known = self.model.holds.get(hold.hold_id)
        if known is not None and known.status is not None:
            if known.request == hold:
                again = ledger.place_hold(hold)
                assert (again.request, again.status, again.posted_amount) == (
                    hold,
                    known.status,
                    known.posted_amount,
                )
            else:
                ledger_kit.assert_problem(lambda: ledger.place_hold(hold), 409, "hold-id-reused")
            return
        expected = self.model.refusals(hold.payer, hold.payee, hold.amount)
        self.model.holds[hold.hold_id] = HoldModel(hold)
        if expected:
            error = ledger_kit.problem(lambda: ledger.place_hold(hold))
            event(f"hold: refused {error.code}")
            assert (status_of(error), error.code) in expected, (error, expected)
            return
        event("hold: placed")
        placed = ledger.place_hold(hold)
        assert (placed.request, placed.status) == (hold, HoldStatus.PENDING)
        self.model.holds[hold.hold_id].status = HoldStatus.PENDING
        self.model.accounts[hold.payer].held += hold.amount

    @rule(
        target=hold_ids,
        payer=st.sampled_from(WALLETS),
        payee=PAYEES,
        amount=st.integers(1, 150),
        expired=st.booleans(),
    )
    def place_hold(self, payer: str, payee: str, amount: int, expired: bool) -> str:
        payee = payee_for(payer, payee)
        if payee == REVENUE:  # holds pay members (a sharded platform account is not a hold's payee)
            payee = payee_for(payer, "next")
        hold = HoldRequest(self.new_id("h"), payer, payee, amount, PAST if expired else FUTURE, "deposit")
        self.hold_request(hold)
        return hold.hold_id

    @rule(hold_id=hold_ids, same=st.booleans())
    def place_hold_again(self, hold_id: str, same: bool) -> None:
        old = self.model.holds[hold_id].request
        self.hold_request(old if same else msgspec.structs.replace(old, amount=old.amount % 150 + 1))

    @rule(hold_id=hold_ids, part=st.one_of(st.none(), st.integers(1, 150)))
    def post_hold(self, hold_id: str, part: int | None) -> None:
        hold = self.model.holds[hold_id]
        request = hold.request
        amount = None if part is None else 1 + (part - 1) % request.amount
        to_post = request.amount if amount is None else amount
        event(f"post: {hold.status} expired={hold.expired} all={amount is None}")
        if hold.status is None:
            ledger_kit.assert_problem(lambda: ledger.post_hold(hold_id, amount), 404, "not-found")
        elif hold.status is HoldStatus.PENDING and hold.expired:
            ledger_kit.assert_problem(lambda: ledger.post_hold(hold_id, amount), 409, "hold-expired")
        elif hold.status is HoldStatus.PENDING:
            posted = ledger.post_hold(hold_id, amount)
            assert (posted.status, posted.posted_amount) == (HoldStatus.POSTED, to_post)
            hold.status, hold.posted_amount = HoldStatus.POSTED, to_post
            self.model.accounts[request.payer].held -= request.amount
            self.model.move(request.payer, request.payee, to_post)
            post_id = f"{hold_id}:post"
            self.model.transfers[post_id] = TransferModel(
                TransferRequest(post_id, request.payer, request.payee, to_post, TransferKind.HOLD_POST),
                posted,
                (request.payer, request.payee),
            )
        elif hold.status is HoldStatus.POSTED and hold.posted_amount == to_post:
            again = ledger.post_hold(hold_id, amount)
            assert (again.status, again.posted_amount) == (HoldStatus.POSTED, to_post)
        else:
            ledger_kit.assert_problem(lambda: ledger.post_hold(hold_id, amount), 409, "hold-settled")

    @rule(hold_id=hold_ids)
    def void_hold(self, hold_id: str) -> None:
        hold = self.model.holds[hold_id]
        event(f"void: {hold.status}")
        if hold.status is None:
            ledger_kit.assert_problem(lambda: ledger.void_hold(hold_id), 404, "not-found")
        elif hold.status is HoldStatus.POSTED:
            ledger_kit.assert_problem(lambda: ledger.void_hold(hold_id), 409, "hold-settled")
        else:
            voided = ledger.void_hold(hold_id)
            assert voided.status is HoldStatus.VOIDED
            if hold.status is HoldStatus.PENDING:
                self.model.accounts[hold.request.payer].held -= hold.request.amount
                hold.status = HoldStatus.VOIDED

    @precondition(lambda self: any(h.status is HoldStatus.PENDING and h.expired for h in self.model.holds.values()))
    @rule()
    def sweep_expired_holds(self) -> None:
        due = [hold for hold in self.model.holds.values() if hold.status is HoldStatus.PENDING and hold.expired]
        event(f"sweep: {bool(due)}")
        assert ledger.void_expired_holds() == len(due)
        for hold in due:
            hold.status = HoldStatus.VOIDED
            self.model.accounts[hold.request.payer].held -= hold.request.amount

    # checks

    @invariant()
    def balances_match_the_model(self) -> None:
        for account_id, expected in self.model.accounts.items():
            found = ledger.balance(account_id)
            assert (found.posted, found.held, found.available) == (
                expected.posted,
                expected.held,
                expected.available,
            ), account_id
            assert found.frozen == expected.frozen, account_id
        assert sum(account.posted for account in self.model.accounts.values()) == 0
        for account_id in WALLETS:
            assert self.model.accounts[account_id].available >= 0

    def check_statements(self) -> None:
        ledger_kit.assert_problem(lambda: ledger.balance(UNKNOWN), 404, "unknown-account")
        committed = [t for t in self.model.transfers.values() if t.committed is not None]
        for wallet in WALLETS:
            ids = ledger_kit.assert_statement_adds_up(wallet)
            assert len(ids) == len(set(ids))
            assert set(ids) == {t.request.transfer_id for t in committed if wallet in t.accounts}


SETTINGS = settings(
    max_examples=10,  # ~9 s each on DynamoDB Local under CI's load: the suite must stay inside 20 minutes
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def test_the_ledger_behaves_like_its_model(dynamodb_admin, dynamodb_endpoint, local_secrets):
    LedgerMachine.admin = dynamodb_admin
    LedgerMachine.endpoint = dynamodb_endpoint
    LedgerMachine.local = local_secrets
    run_state_machine_as_test(LedgerMachine, settings=SETTINGS)

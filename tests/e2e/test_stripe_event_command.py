"""`python -m tools.stripe_events` against the real local stack: a purchase paid at localstripe (whose
own webhook credits it), then refunds and disputes sent by the command, signed with the local secret,
as the member sees them through the API."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tools import devkeys, localstack, stripe_events, table

pytestmark = pytest.mark.e2e

STRIPE_AUTH = {"Authorization": f"Bearer {localstack.STRIPE_LOCAL_KEY}"}


@dataclass(frozen=True)
class Stack:
    api: str
    stripe: str
    secrets_dir: Path

    def call(self, method: str, path: str, member: str, **kwargs: Any) -> requests.Response:
        token = devkeys.mint_token(member, root=self.secrets_dir)
        headers = {"Authorization": f"Bearer {token}"}
        return requests.request(method, self.api + path, headers=headers, timeout=30, **kwargs)

    def wallet(self, member: str) -> dict[str, Any]:
        found: dict[str, Any] = self.call("GET", "/me/wallet", member).json()
        return found

    def start_purchase(self, member: str, pack_id: str = "starter-chf") -> str:
        started = self.call("POST", "/purchases", member, json={"pack_id": pack_id})
        assert started.status_code == 201, started.text
        payment_intent: str = started.json()["payment_intent_id"]
        return payment_intent

    def buy(self, member: str) -> str:
        """A starter pack (5.00 CHF, 50 credits) paid with a test card; returns its PaymentIntent."""
        payment_intent = self.start_purchase(member)
        card = {"card[number]": "4242424242424242", "card[exp_month]": "12", "card[exp_year]": "2030"}
        method = self.stripe_post("/v1/payment_methods", {"type": "card", **card, "card[cvc]": "123"})
        self.stripe_post(f"/v1/payment_intents/{payment_intent}", {"payment_method": method["id"]})
        self.stripe_post(f"/v1/payment_intents/{payment_intent}/confirm", {})
        deadline = time.monotonic() + 30
        while self.wallet(member)["posted"] != 50:  # localstripe's webhook credits it
            assert time.monotonic() < deadline, "localstripe's payment_intent.succeeded never credited the wallet"
            time.sleep(0.2)
        return payment_intent

    def stripe_post(self, path: str, data: dict[str, str]) -> dict[str, Any]:
        response = requests.post(self.stripe + path, data=data, headers=STRIPE_AUTH, timeout=30)
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found


@pytest.fixture(scope="module")
def stack(dynamodb_endpoint: str, local_secrets: devkeys.LocalSecrets, secrets_dir: Path) -> Iterator[Stack]:
    admin = table.dynamodb_client(dynamodb_endpoint)
    name = f"e2e-{uuid.uuid4().hex[:10]}"
    table.ensure_table(admin, name)
    port = localstack.free_port()
    with localstack.localstripe() as stripe_url:
        env = devkeys.local_env(
            local_secrets, dynamodb_endpoint=dynamodb_endpoint, table_name=name, stripe_api_base=stripe_url
        )
        webhook = f"http://127.0.0.1:{port}/webhooks/stripe"
        localstack.register_stripe_webhook(stripe_url, webhook, local_secrets.stripe_webhook_secret)
        with localstack.chalice_local(port, env) as api_url:
            yield Stack(api_url, stripe_url, secrets_dir)
    admin.delete_table(TableName=name)


@pytest.fixture
def command(stack: Stack, local_secrets: devkeys.LocalSecrets, monkeypatch: pytest.MonkeyPatch, capsys):
    """Runs the command as a shell would (with the stack's URLs); returns what it printed."""
    monkeypatch.setenv("PWIIC_STRIPE_WEBHOOK_SECRET", local_secrets.stripe_webhook_secret)

    def run(*args: str) -> str:
        stripe_events.main([*args, "--api", stack.api, "--stripe", stack.stripe])
        return str(capsys.readouterr().out)

    return run


def test_partial_then_full_refund(stack: Stack, command) -> None:
    member = "e2e-refunded"
    payment_intent = stack.buy(member)

    printed = command("refund", payment_intent, "--amount", "200")
    assert printed.startswith("charge.refunded evt_")
    assert "2.00 CHF of 5.00 CHF refunded" in printed and printed.rstrip().endswith('-> 200 {"received":true}')
    assert stack.wallet(member)["posted"] == 30  # 2.00 of 5.00 refunded: 20 of 50 credits taken back

    printed = command("refund", payment_intent)  # the rest
    assert "refund re_" in printed and "5.00 CHF of 5.00 CHF refunded" in printed
    assert stack.wallet(member) == {
        "account_id": f"member:{member}",
        "posted": 0,
        "held": 0,
        "available": 0,
        "frozen": False,
    }
    with pytest.raises(SystemExit, match="refunded in full already"):
        command("refund", payment_intent)


@pytest.mark.parametrize(("outcome", "posted_after"), [("lost", 0), ("won", 50)])
def test_a_dispute_freezes_the_wallet_until_it_closes(stack: Stack, command, outcome: str, posted_after: int) -> None:
    member = f"e2e-disputed-{outcome}"
    payment_intent = stack.buy(member)

    printed = command("dispute", payment_intent)
    assert printed.startswith("charge.dispute.created") and "needs_response" in printed
    assert (stack.wallet(member)["posted"], stack.wallet(member)["frozen"]) == (50, True)

    printed = command("dispute", payment_intent, "--status", outcome)
    assert printed.startswith("charge.dispute.closed") and outcome in printed
    assert (stack.wallet(member)["posted"], stack.wallet(member)["frozen"]) == (posted_after, False)


def test_payment_intents_without_a_charge_and_impossible_amounts_are_refused(stack: Stack, command) -> None:
    with pytest.raises(SystemExit, match="localstripe does not know /v1/payment_intents/pi_unknown"):
        command("refund", "pi_unknown")
    unpaid = stack.start_purchase("e2e-unpaid")
    with pytest.raises(SystemExit, match="only a paid PaymentIntent has a charge"):
        command("dispute", unpaid)
    paid = stack.buy("e2e-generous")
    with pytest.raises(SystemExit, match=re.escape("5.00 CHF of 5.00 CHF left to refund, not 501 cents")):
        command("refund", paid, "--amount", "501")
    with pytest.raises(SystemExit, match="a dispute is over 1 to 500 cents, not 0 cents"):
        command("dispute", paid, "--amount", "0")
    assert stack.wallet("e2e-generous")["posted"] == 50


def test_an_event_signed_with_another_secret_is_refused_and_the_command_fails(
    stack: Stack, command, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    member = "e2e-forged"
    payment_intent = stack.buy(member)
    monkeypatch.setenv("PWIIC_STRIPE_WEBHOOK_SECRET", "whsec_" + "0" * 48)
    with pytest.raises(SystemExit) as failed:
        command("dispute", payment_intent)
    assert failed.value.code == 1
    printed = capsys.readouterr().out
    assert "-> 400" in printed and "invalid-signature" in printed
    assert stack.wallet(member)["frozen"] is False

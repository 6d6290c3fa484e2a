"""Stripe events that localstripe does not send (refunds, disputes), signed with the local webhook
secret and posted to the local API's webhook, as Stripe posts them.

Usage: python -m tools.stripe_events refund PI [--amount CENTS]
       python -m tools.stripe_events dispute PI [--status needs_response|won|lost] [--amount CENTS]

`refund` refunds the PaymentIntent's charge at localstripe (by default all that is left to refund),
then sends `charge.refunded` with the charge as localstripe now has it: its amount, `amount_refunded`
and every refund so far with its id. `dispute` sends `charge.dispute.created` (status needs_response,
the default) or `charge.dispute.closed` (won or lost) for the charge's one dispute (`dp_…` named after
the charge), over the whole charge unless --amount says otherwise. The PaymentIntent must be a paid
one that this localstripe knows (it starts empty with each `scripts/run`).

The secret is PWIIC_STRIPE_WEBHOOK_SECRET when set, otherwise the one `scripts/run` uses, from
.local/secrets.json. The API and localstripe are those of `scripts/run` (PWIIC_API_PORT,
PWIIC_STRIPE_PORT), or --api URL and --stripe URL.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from tools import devkeys, localstack
from tools.run import API_PORT, STRIPE_PORT

WEBHOOK_PATH = "/webhooks/stripe"
API_VERSION = "2017-08-15"  # localstripe's: its charges list their refunds, as in that API version
DisputeStatus = Literal["needs_response", "won", "lost"]


@dataclass(frozen=True)
class Delivery:
    event_type: str
    event_id: str
    summary: str
    status: int
    body: str

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """Stripe's scheme: `t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<payload>">`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def refund(stripe_url: str, api_url: str, secret: str, payment_intent_id: str, amount: int | None = None) -> Delivery:
    charge = find_charge(stripe_url, payment_intent_id)
    left = charge["amount"] - charge["amount_refunded"]
    if left == 0:
        raise SystemExit(f"{payment_intent_id} is refunded in full already ({_money(charge, charge['amount'])}).")
    amount = left if amount is None else amount
    if not 0 < amount <= left:
        total = _money(charge, charge["amount"])
        raise SystemExit(f"{payment_intent_id}: {_money(charge, left)} of {total} left to refund, not {amount} cents.")
    made = _stripe(stripe_url, "/v1/refunds", {"payment_intent": payment_intent_id, "amount": str(amount)})
    charge = _stripe(stripe_url, f"/v1/charges/{charge['id']}")
    summary = (
        f"refund {made['id']} of {_money(charge, amount)}; "
        f"{_money(charge, charge['amount_refunded'])} of {_money(charge, charge['amount'])} refunded"
    )
    return deliver(api_url, secret, "charge.refunded", charge, summary)


def dispute(
    stripe_url: str,
    api_url: str,
    secret: str,
    payment_intent_id: str,
    status: DisputeStatus = "needs_response",
    amount: int | None = None,
) -> Delivery:
    charge = find_charge(stripe_url, payment_intent_id)
    amount = charge["amount"] if amount is None else amount
    if not 0 < amount <= charge["amount"]:
        raise SystemExit(f"{payment_intent_id}: a dispute is over 1 to {charge['amount']} cents, not {amount} cents.")
    obj = {
        "id": "dp_" + str(charge["id"]).removeprefix("ch_"),  # a charge has at most one dispute
        "object": "dispute",
        "amount": amount,
        "charge": charge["id"],
        "payment_intent": payment_intent_id,
        "currency": charge["currency"],
        "created": int(time.time()),
        "livemode": False,
        "reason": "fraudulent",
        "status": status,
    }
    event_type = "charge.dispute.created" if status == "needs_response" else "charge.dispute.closed"
    return deliver(api_url, secret, event_type, obj, f"dispute {obj['id']} over {_money(charge, amount)}: {status}")


def find_charge(stripe_url: str, payment_intent_id: str) -> dict[str, Any]:
    """The PaymentIntent's successful charge, as localstripe has it now."""
    intent = _stripe(stripe_url, f"/v1/payment_intents/{urllib.parse.quote(payment_intent_id)}")
    if intent["status"] != "succeeded":
        raise SystemExit(f"{payment_intent_id} is {intent['status']}: only a paid PaymentIntent has a charge.")
    latest = intent["latest_charge"]
    charge_id = latest["id"] if isinstance(latest, dict) else latest
    return _stripe(stripe_url, f"/v1/charges/{charge_id}")


def deliver(api_url: str, secret: str, event_type: str, obj: Mapping[str, Any], summary: str) -> Delivery:
    """Post a Stripe event wrapping `obj` to the API's webhook, signed as Stripe signs it."""
    event_id = "evt_" + secrets.token_hex(12)
    now = int(time.time())
    event = {
        "id": event_id,
        "object": "event",
        "api_version": API_VERSION,
        "created": now,
        "livemode": False,
        "pending_webhooks": 1,
        "type": event_type,
        "data": {"object": dict(obj)},
    }
    payload = json.dumps(event).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "Stripe-Signature": sign(payload, secret, now)}
    url = api_url.rstrip("/") + WEBHOOK_PATH
    request = urllib.request.Request(url, data=payload, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return Delivery(event_type, event_id, summary, response.status, response.read().decode())
    except urllib.error.HTTPError as error:
        return Delivery(event_type, event_id, summary, error.code, error.read().decode())
    except urllib.error.URLError as error:
        raise SystemExit(f"Nothing answers at {url} ({error.reason}): is scripts/run running?") from None


def _stripe(stripe_url: str, path: str, form: Mapping[str, str] | None = None) -> dict[str, Any]:
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    headers = {"Authorization": f"Bearer {localstack.STRIPE_LOCAL_KEY}"}
    request = urllib.request.Request(stripe_url.rstrip("/") + path, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            found: dict[str, Any] = json.load(response)
            return found
    except urllib.error.HTTPError as error:
        if error.code == 404:
            raise SystemExit(f"localstripe does not know {path} (it starts empty with each scripts/run).") from None
        answer = " ".join(error.read().decode().split())
        raise SystemExit(f"localstripe answered {error.code} to {path}: {answer}") from None
    except urllib.error.URLError as error:
        raise SystemExit(f"Nothing answers at {stripe_url} ({error.reason}): is scripts/run running?") from None


def _money(charge: Mapping[str, Any], cents: int) -> str:
    return f"{cents / 100:.2f} {str(charge['currency']).upper()}"


def webhook_secret() -> str:
    return os.environ.get("PWIIC_STRIPE_WEBHOOK_SECRET") or devkeys.ensure_local_secrets().stripe_webhook_secret


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tools.stripe_events",
        description="Send the local API the Stripe events localstripe does not send: refunds and disputes.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("payment_intent", help="a paid PaymentIntent id (pi_…)")
    common.add_argument(
        "--api", metavar="URL", default=f"http://127.0.0.1:{API_PORT}", help="the local API (default: %(default)s)"
    )
    common.add_argument(
        "--stripe", metavar="URL", default=f"http://127.0.0.1:{STRIPE_PORT}", help="localstripe (default: %(default)s)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    refunding = commands.add_parser("refund", parents=[common], help="refund at localstripe, send charge.refunded")
    refunding.add_argument("--amount", type=int, metavar="CENTS", help="in cents (default: all that is left to refund)")
    disputing = commands.add_parser("dispute", parents=[common], help="send charge.dispute.created, or .closed")
    disputing.add_argument(
        "--status",
        choices=get_args(DisputeStatus),
        default="needs_response",
        help="needs_response (default) opens the dispute, won or lost closes it",
    )
    disputing.add_argument("--amount", type=int, metavar="CENTS", help="in cents (default: the whole charge)")
    args = parser.parse_args(argv)

    secret = webhook_secret()
    if args.command == "refund":
        sent = refund(args.stripe, args.api, secret, args.payment_intent, args.amount)
    else:
        sent = dispute(args.stripe, args.api, secret, args.payment_intent, args.status, args.amount)
    print(f"{sent.event_type} {sent.event_id} ({sent.summary}) -> {sent.status} {sent.body}")
    if not sent.accepted:
        raise SystemExit(1)


if __name__ == "__main__":
    main()

"""The Stripe webhook counts its failures (the alarms in infra/template.json watch these metrics): a refused
event as `StripeWebhookRejected`, an event that raised while processed as `StripeWebhookFailed`, nothing
when it succeeds; the metric line carries no part of the body or the signature."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from chalicelib import config, errors
from chalicelib.services import stripe_events

SECRET = "whsec_unit_test_secret"


def emitted(text: str) -> list[dict]:
    return [line for line in map(json.loads, text.splitlines()) if "_aws" in line]


def signed(body: bytes) -> str:
    ts = int(time.time())
    return f"t={ts},v1={hmac.new(SECRET.encode(), f'{ts}.'.encode() + body, hashlib.sha256).hexdigest()}"


@pytest.fixture(autouse=True)
def webhook_env(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PWIIC_STRIPE_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("PWIIC_STRIPE_LIVEMODE", "false")
    for name, value in {
        "PWIIC_TABLE_NAME": "unused",
        "PWIIC_OIDC_ISSUER": "https://issuer.example",
        "PWIIC_OIDC_AUDIENCE": "unused",
    }.items():
        monkeypatch.setenv(name, value)
    config.reset()
    yield
    config.reset()


EVENT = json.dumps({"id": "evt_1", "type": "payment_intent.succeeded", "livemode": False, "data": {"object": {}}})


@pytest.mark.parametrize(
    ("signature", "body"),
    [
        (None, EVENT.encode()),
        ("t=1,v1=00", EVENT.encode()),
        ("livemode", EVENT.replace('"livemode": false', '"livemode": true').encode()),
    ],
)
def test_a_refused_event_is_counted_as_rejected(signature, body, capsys):
    header = signed(body) if signature == "livemode" else signature
    with pytest.raises(errors.Malformed):
        stripe_events.handle(body, header)
    out = capsys.readouterr().out
    (line,) = emitted(out)
    assert line["StripeWebhookRejected"] == [1.0]
    assert SECRET not in out and "evt_1" not in out and (header or "t=1") not in out


def test_an_event_that_fails_while_processed_is_counted_as_failed(monkeypatch, capsys):
    def unavailable(event_id: str) -> bool:
        raise errors.Busy("The table is throttling.")

    monkeypatch.setattr(stripe_events.purchases, "event_seen", unavailable)
    with pytest.raises(errors.Busy):
        stripe_events.handle(EVENT.encode(), signed(EVENT.encode()))
    (line,) = emitted(capsys.readouterr().out)
    assert line["StripeWebhookFailed"] == [1.0]
    assert "StripeWebhookRejected" not in line


def test_an_event_already_seen_counts_nothing(monkeypatch, capsys):
    monkeypatch.setattr(stripe_events.purchases, "event_seen", lambda event_id: True)
    stripe_events.handle(EVENT.encode(), signed(EVENT.encode()))
    assert emitted(capsys.readouterr().out) == []

"""The API as a client sees it: `chalice local` on the real local stack, over HTTP, with minted tokens."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tools import devkeys, localstack, table

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def base_url(dynamodb_endpoint: str, local_secrets: devkeys.LocalSecrets) -> Iterator[str]:
    name = f"e2e-{uuid.uuid4().hex[:10]}"
    table.ensure_table(table.dynamodb_client(dynamodb_endpoint), name)
    env = devkeys.local_env(local_secrets, dynamodb_endpoint=dynamodb_endpoint, table_name=name)
    with localstack.chalice_local(localstack.free_port(), env) as url:
        yield url


@pytest.fixture(scope="module")
def tokens(secrets_dir: Path) -> dict[str, str]:
    return {
        "alice": devkeys.mint_token("e2e-alice", name="Alice", root=secrets_dir),
        "bob": devkeys.mint_token("e2e-bob", name="Bob", root=secrets_dir),
        "operator": devkeys.mint_token("e2e-operator", groups=["operators"], root=secrets_dir),
    }


def call(base_url: str, method: str, path: str, token: str | None = None, **kwargs: object) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(method, base_url + path, headers=headers, timeout=30, **kwargs)  # type: ignore[arg-type]


def test_public_routes_and_authentication(base_url: str) -> None:
    assert call(base_url, "GET", "/health").json()["status"] == "ok"
    document = call(base_url, "GET", "/openapi.json").json()
    assert document["openapi"] == "3.1.0" and "/transfers" in document["paths"]
    refused = call(base_url, "GET", "/me", token="not-a-jwt")
    assert refused.status_code == 401
    assert refused.headers["Content-Type"] == "application/problem+json"


def test_members_communities_and_credits_flow(base_url: str, tokens: dict[str, str]) -> None:
    alice, bob, operator = tokens["alice"], tokens["bob"], tokens["operator"]
    assert call(base_url, "GET", "/me", alice).json()["display_name"] == "Alice"
    assert call(base_url, "GET", "/me", bob).status_code == 200

    community = call(
        base_url, "POST", "/communities", operator, json={"name": "Carouge", "slug": "carouge", "area": ["u0hqe"]}
    )
    assert community.status_code == 201, community.text
    community_id = community.json()["id"]
    assert call(base_url, "POST", f"/communities/{community_id}/join", alice).status_code == 200
    assert call(base_url, "GET", "/communities", params={"near": "u0hqe"}).json()["items"][0]["id"] == community_id

    funding = {"amount": 800, "note": "e2e pool", "funding_id": "e2e-pool"}
    assert call(base_url, "POST", "/operator/rewards-pool/fundings", operator, json=funding).status_code == 201
    reward = {"member_id": "e2e-alice", "amount": 40, "reason_code": "local_event", "note": "Repair café"}
    assert call(base_url, "POST", "/operator/rewards", operator, json=reward).status_code == 201

    payment = {"to_member_id": "e2e-bob", "amount": 15, "kind": "tip", "memo": "coffee"}
    headers = {"Idempotency-Key": "e2e-coffee"}
    first = requests.post(
        base_url + "/transfers", json=payment, headers={**headers, "Authorization": f"Bearer {alice}"}, timeout=30
    )
    replay = requests.post(
        base_url + "/transfers", json=payment, headers={**headers, "Authorization": f"Bearer {alice}"}, timeout=30
    )
    assert first.status_code == replay.status_code == 201
    assert first.json() == replay.json()

    assert call(base_url, "GET", "/me/wallet", alice).json()["available"] == 25
    assert call(base_url, "GET", "/me/wallet", bob).json()["available"] == 15
    entries = call(base_url, "GET", "/me/wallet/entries", bob).json()["items"]
    assert [(e["amount"], e["balance_after"], e["counterparty_name"]) for e in entries] == [(15, 15, "Alice")]


def test_buying_credits_through_localstripe(
    dynamodb_endpoint: str, local_secrets: devkeys.LocalSecrets, secrets_dir: Path
) -> None:
    """The real flow: a PaymentIntent at localstripe, confirmed with a test card; localstripe's signed
    webhook reaches chalice local and the wallet is credited exactly once."""
    name = f"e2e-{uuid.uuid4().hex[:10]}"
    table.ensure_table(table.dynamodb_client(dynamodb_endpoint), name)
    port = localstack.free_port()
    with localstack.localstripe() as stripe_url:
        env = devkeys.local_env(
            local_secrets, dynamodb_endpoint=dynamodb_endpoint, table_name=name, stripe_api_base=stripe_url
        )
        localstack.register_stripe_webhook(
            stripe_url, f"http://127.0.0.1:{port}/webhooks/stripe", local_secrets.stripe_webhook_secret
        )
        with localstack.chalice_local(port, env) as base_url:
            token = devkeys.mint_token("e2e-buyer", root=secrets_dir)
            packs = call(base_url, "GET", "/credit-packs").json()
            pack = next(p for p in packs if p["currency"] == "chf" and p["active"])
            started = call(base_url, "POST", "/purchases", token, json={"pack_id": pack["id"]})
            assert started.status_code == 201, started.text
            intent_id = started.json()["payment_intent_id"]
            assert started.json()["client_secret"].startswith(intent_id)

            stripe_auth = {"Authorization": "Bearer sk_test_local"}
            method = requests.post(
                f"{stripe_url}/v1/payment_methods",
                data={
                    "type": "card",
                    "card[number]": "4242424242424242",
                    "card[exp_month]": "12",
                    "card[exp_year]": "2030",
                    "card[cvc]": "123",
                },
                headers=stripe_auth,
                timeout=30,
            ).json()
            requests.post(
                f"{stripe_url}/v1/payment_intents/{intent_id}",
                data={"payment_method": method["id"]},
                headers=stripe_auth,
                timeout=30,
            ).raise_for_status()
            requests.post(
                f"{stripe_url}/v1/payment_intents/{intent_id}/confirm", headers=stripe_auth, timeout=30
            ).raise_for_status()

            purchase_id = started.json()["purchase"]["id"]
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if call(base_url, "GET", f"/purchases/{purchase_id}", token).json()["status"] == "succeeded":
                    break
                time.sleep(0.3)
            wallet = call(base_url, "GET", "/me/wallet", token).json()
            assert wallet["posted"] == pack["credits"], wallet
            purchases = call(base_url, "GET", "/me/purchases", token).json()["items"]
            assert [p["status"] for p in purchases] == ["succeeded"]

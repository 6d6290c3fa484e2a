"""Logs carry ids, never what members wrote or who they are: no message body, listing text, bio, e-mail
address or position finer than a community's cell reaches a log line — on success, on refused input,
on a forged webhook, or in the trace of an unhandled error."""

from __future__ import annotations

import io
from typing import Any

import pytest

from chalicelib import observability
from chalicelib.services import members
from tests.component.support import create_community
from tests.conftest import OPERATOR

EMAIL = "ann.private@example.org"
SECRETS = {
    "email": EMAIL,
    "bio": "I live at 12 rue des Lilas",
    "precise position": "u0hqe2k9v",
    "listing text": "Drill for my flat near the station",
    "message": "Call me on 079 555 12 34",
    "malformed body": "half-written address, 3rd floor",
    "webhook body": "card 4242 owner Ann Private",
    "error message": "ann's phone 079 555 12 34 in an error",
}


@pytest.fixture
def ann(api: Any, mint: Any) -> dict[str, str]:
    token = mint("ann", name="Ann", claims={"email": EMAIL, "email_verified": True})
    return {"Authorization": f"Bearer {token}"}


def test_no_log_line_carries_what_members_wrote_or_who_they_are(api, ann, capsys, monkeypatch):
    log = io.StringIO()
    monkeypatch.setattr(observability.logger.registered_handler, "stream", log)  # the app's log lines

    def call(method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        return api.call(method, path, body, as_=None, headers=ann, **kwargs)

    assert call("GET", "/me").status_code == 200
    assert call("PATCH", "/me", {"bio": SECRETS["bio"], "location": "u0hqe"}).status_code == 200
    assert call("PATCH", "/me", {"location": SECRETS["precise position"]}).status_code == 422
    community = create_community(api)["id"]
    assert call("POST", f"/communities/{community}/join").status_code == 200
    listing = {
        "kind": "offer",
        "category": "goods.tools",
        "mode": "gift",
        "title": SECRETS["listing text"],
        "community_id": community,
    }
    created = call("POST", "/listings", listing)
    assert created.status_code == 201, created.body
    assert api.post(f"/communities/{community}/join", as_="bob").status_code == 200
    sent = api.post(f"/listings/{created.json['id']}/messages", {"body": SECRETS["message"]}, as_="bob")
    assert sent.status_code in (200, 201), sent.body
    malformed = f'{{"title": "{SECRETS["malformed body"]}"'.encode()
    assert call("POST", "/listings", raw=malformed).status_code == 400
    forged = api.post(
        "/webhooks/stripe",
        as_=None,
        raw=f'{{"type": "payment_intent.succeeded", "note": "{SECRETS["webhook body"]}"}}'.encode(),
        headers={"Stripe-Signature": "t=1,v1=00"},
    )
    assert forged.status_code == 400

    def broken(member_id: str) -> Any:
        raise ValueError(SECRETS["error message"])

    monkeypatch.setattr(members, "get_own_profile", broken)
    assert call("GET", "/me").status_code == 500
    assert api.get("/operator/health", as_="op", groups=OPERATOR).status_code == 200

    logged = log.getvalue() + capsys.readouterr().out  # and the metrics' EMF lines
    assert '"member_id":"ann"' in logged and '"message":"unhandled error"' in logged  # the logs were captured
    assert '"exception_name":"ValueError"' in logged
    leaked = {what: text for what, text in SECRETS.items() if text in logged or text[:12] in logged}
    assert leaked == {}, f"found in the logs: {sorted(leaked)}"

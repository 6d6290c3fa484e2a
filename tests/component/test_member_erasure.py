"""DELETE /me: refused while something is open (each blocker listed), confirmed by `erase <id>`; a member
who used many features is erased (credits forfeited to the rewards pool, profile a pseudonym, listings,
message bodies and reviews about them gone from view, the reviews they wrote kept, proxies revoked), a fault between
steps is completed by the retried request, a repeated request answers the same, the books balance."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import errors
from chalicelib.adapters.dynamodb import member_repository
from chalicelib.domain.erasure import FORMER_MEMBER, Step, forfeit
from chalicelib.domain.ledger import Balance, PlatformAccount, TransferKind, TransferRequest
from chalicelib.services import erasure, ledger
from tests import books
from tests.component.support import assert_problem
from tests.component.test_governance_flow import cooperative  # noqa: F401
from tests.component.test_reviews_flow import review, setup_community, trade
from tests.component.test_stripe_webhooks import seed_purchase
from tests.conftest import OPERATOR

CONFIRMED = {"confirm": "erase ann"}


def erase(api: Any, body: Any = CONFIRMED) -> Any:
    return api.call("DELETE", "/me", body, as_="ann")


def pool() -> int:
    return ledger.balance(PlatformAccount.REWARDS_POOL.value).posted


def test_erasure_is_confirmed_and_refused_while_anything_is_open(api):
    community = setup_community(api, "ann", "ben")
    open_trade = trade(api, community, owner="ben", buyer="ann", complete=False)  # ann's 30 credits held
    purchase = seed_purchase(api, "ann")  # mission claims and the wallet's standing: tests/unit/test_domain_erasure.py

    for wrong in ({"confirm": "erase my account"}, {"confirm": "erase ben"}):
        assert_problem(erase(api, wrong), 422, "erasure-not-confirmed")
    assert_problem(erase(api, None), 400)
    refused = assert_problem(erase(api), 409, "erasure-blocked")
    assert sorted((b["kind"], b["id"]) for b in refused["blockers"]) == [
        ("exchange", open_trade),
        ("held_credits", "member:ann"),
        ("purchase", purchase.purchase_id),
    ]
    assert api.get("/me", as_="ann").json["display_name"] != FORMER_MEMBER  # nothing changed


def test_a_member_is_erased_in_one_request_that_a_retry_completes(api, monkeypatch, cooperative):  # noqa: F811
    community = setup_community(api, "ann", "ben", "cat")
    assert api.post("/me/proxies", {"holder_id": "ben"}, as_="ann").status_code == 201
    assert api.post("/me/proxies", {"holder_id": "ann"}, as_="cat").status_code == 201
    bought = trade(api, community, owner="ben", buyer="ann")
    sold = trade(api, community, owner="ann", buyer="ben")
    assert review(api, bought, "ann", 5, comment="Great hedge").status_code == 200
    assert review(api, bought, "ben", 4, comment="Paid on time").json["state"] == "published"
    assert review(api, sold, "ann", 4, comment="Quick payer").json["state"] == "sealed"  # ben has not reviewed yet
    assert api.patch("/me", {"bio": "I live by the lake"}, as_="ann").status_code == 200
    credits, pool_before = api.get("/me/wallet", as_="ann").json["posted"], pool()
    assert credits == 100

    def fails(member: Any) -> None:
        raise errors.Busy("injected")

    def credited_meanwhile(wallet: Balance, member_id: str) -> Any:
        """A reward lands between the erasure's read of the wallet and its write: the emptying forfeit is
        refused, read again, and takes it too."""
        if wallet.posted == credits:
            ledger.transfer(
                TransferRequest("reward:late", PlatformAccount.REWARDS_POOL, "member:ann", 5, TransferKind.REWARD)
            )
        return forfeit(wallet, member_id)

    with monkeypatch.context() as patched:
        patched.setattr(erasure, "forfeit", credited_meanwhile)
        patched.setitem(erasure.STEPS, Step.MESSAGES_ERASED, fails)
        assert_problem(erase(api), 503)
    # Interrupted after the reviews: credits and profile went together, the steps before it are done.
    assert member_repository.get("ann").erasure_step == Step.REVIEWS_HIDDEN
    assert api.get("/members/ann", as_="cat").json["display_name"] == FORMER_MEMBER
    french = api.get("/members/ann", as_="cat", headers={"Accept-Language": "fr"}).json
    assert french["display_name"] == "ancien membre"
    assert_problem(api.get("/me", as_="ann"), 403, "member-erased")

    receipt = erase(api)
    assert receipt.status_code == 200, receipt.body
    assert receipt.json == {
        "id": "ann",
        "erased_at": receipt.json["erased_at"],
        "forfeited_credits": credits + 5,
        "forfeit_transfer_id": "erasure:ann",
        "identity_account": "delete-at-provider",  # the tests' provider is not Cognito
    }
    assert erase(api).json == receipt.json  # once done, the same answer
    assert member_repository.get("ann").erasure_step == Step.IDENTITY_DELETED

    # Credits: none left, all in the rewards pool, recorded as forfeited; the books balance.
    assert (ledger.balance("member:ann").posted, pool()) == (0, pool_before + credits)  # the late 5 came from it
    books.assert_reconciled()

    # The profile is a pseudonym; the member's token opens nothing else, the export included.
    profile = api.get("/members/ann", as_="cat").json
    assert (profile["display_name"], profile["bio"], profile["reviews"]["count"]) == (FORMER_MEMBER, "", 0)
    for path in ("/me", "/me/export", "/me/wallet"):
        assert_problem(api.get(path, as_="ann"), 403, "member-erased")
    assert_problem(api.patch("/me", {"bio": "back"}, as_="ann"), 403, "member-erased")

    # Listings gone from browsing and from view; no community keeps the member.
    assert api.get("/listings?owner=ann", as_="cat").json["items"] == []
    members = api.get(f"/communities/{community}/members", as_="cat").json["items"]
    assert "ann" not in {m["member_id"] for m in members} and len(members) == 2

    # Message bodies erased, the other member's kept.
    def messages(exchange_id: str) -> set[tuple[str, str]]:
        found = api.get(f"/conversations/exchange-{exchange_id}/messages", as_="ben").json["items"]
        return {(m["sender_id"], m["body"]) for m in found}

    assert (messages(bought), messages(sold)) == ({("ann", "")}, {("ben", "Saturday?")})

    # No proxy given or held by a former member.
    assert (api.get("/me/proxies", as_="ben").json["held"], api.get("/me/proxies", as_="cat").json["given"]) == ([], [])

    # Reviews about the member hidden; the reviews they wrote stay, under the pseudonym.
    assert api.get("/members/ann/reviews", as_="cat").json["items"] == []
    # A round still open closed with the erasure: what ann sealed is published, nobody reviews her later.
    written = api.get("/members/ben/reviews", as_="cat").json["items"]
    assert sorted((r["author_id"], r["comment"]) for r in written) == [("ann", "Great hedge"), ("ann", "Quick payer")]
    assert_problem(review(api, sold, "ben", 1, comment="Late"), 409, "review-window-closed")


@pytest.mark.parametrize("body", [{"confirm": "erase ann", "extra": 1}, {"confirm": 3}])
def test_a_malformed_confirmation_is_a_422(api, body):
    assert_problem(erase(api, body), 422)


@pytest.mark.parametrize("credits", [100, 0], ids=["credits-forfeited", "nothing-to-forfeit"])
def test_an_erased_member_s_wallet_is_closed_to_credits(api, credits):
    setup_community(api, "ann", "cat")
    if not credits:
        assert (
            api.post("/transfers", {"to_member_id": "cat", "amount": 100, "kind": "payment"}, as_="ann").status_code
            == 201
        )
    assert erase(api).json["forfeited_credits"] == credits
    assert ledger.balance("member:ann").closed_at is not None

    tip = {"to_member_id": "ann", "amount": 3, "kind": "tip", "transfer_id": "after-erasure"}
    assert_problem(api.post("/transfers", tip, as_="cat"), 404, "unknown-account")
    reward = {"member_id": "ann", "amount": 5, "reason_code": "other", "note": "late"}
    assert_problem(api.post("/operator/rewards", reward, as_="op", groups=OPERATOR), 404, "unknown-account")
    assert ledger.balance("member:ann").posted == 0, "no credit is stranded where nobody can spend it"
    assert api.get("/me/wallet", as_="cat").json["posted"] == 100 + (100 - credits)
    books.assert_reconciled()

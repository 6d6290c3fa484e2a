from chalicelib import clock
from chalicelib.adapters.dynamodb import audit_repository, keys
from chalicelib.jobs import scheduled
from tests import books
from tests.conftest import OPERATOR


def test_reward_pay_statement_and_reconciliation(api):
    api.get("/me", as_="bob")
    funded = api.post("/operator/rewards-pool/fundings", {"amount": 1000, "note": "pilot"}, as_="op", groups=OPERATOR)
    assert funded.status_code == 201, funded.body
    reward = api.post(
        "/operator/rewards",
        {"member_id": "alice", "amount": 50, "reason_code": "welcome_newcomer", "note": "welcomed bob"},
        as_="op",
        groups=OPERATOR,
    )
    assert reward.status_code == 404, reward.body  # alice has not called yet: no wallet
    api.get("/me")
    reward = api.post(
        "/operator/rewards",
        {
            "member_id": "alice",
            "amount": 50,
            "reason_code": "welcome_newcomer",
            "note": "welcomed bob",
            "reward_id": "r1",
        },
        as_="op",
        groups=OPERATOR,
    )
    assert reward.status_code == 201, reward.body
    paid = api.post(
        "/transfers", {"to_member_id": "bob", "amount": 20, "kind": "tip", "memo": "coffee", "transfer_id": "t1"}
    )
    assert paid.status_code == 201, paid.body
    again = api.post(
        "/transfers", {"to_member_id": "bob", "amount": 20, "kind": "tip", "memo": "coffee", "transfer_id": "t1"}
    )
    assert again.status_code == 201 and again.json["replayed"] is True
    other = api.post(
        "/transfers", {"to_member_id": "bob", "amount": 21, "kind": "tip", "memo": "coffee", "transfer_id": "t1"}
    )
    assert other.status_code == 409, other.body
    broke = api.post("/transfers", {"to_member_id": "bob", "amount": 31})
    assert broke.status_code == 409 and broke.json["type"].endswith("insufficient-funds"), broke.body
    assert api.get("/me/wallet").json == {
        "account_id": "member:alice",
        "posted": 30,
        "held": 0,
        "available": 30,
        "frozen": False,
    }
    entries = api.get("/me/wallet/entries?limit=1")
    assert entries.status_code == 200, entries.body
    assert [(e["amount"], e["balance_after"], e["counterparty_name"]) for e in entries.json["items"]] == [
        (-20, 30, "Member bob")
    ]
    page2 = api.get("/me/wallet/entries?limit=1&cursor=" + entries.json["next_cursor"])
    assert [(e["amount"], e["balance_after"]) for e in page2.json["items"]] == [(50, 50)], page2.body
    assert page2.json["next_cursor"] is None
    assert scheduled.reconcile_ledger() is True  # the scheduled job: what the stream delivered a minute ago
    books.assert_reconciled()  # the same job over everything the stream delivered
    report = api.get("/operator/reconciliation", as_="op", groups=OPERATOR)
    assert report.json["balanced"] is True and report.json["total_posted"] == 0, report.body
    assert report.json["transfers"] >= 3, "the reward, the funding and the payment were read from the stream"
    audit = api.get("/operator/audit", as_="op", groups=OPERATOR)
    assert [e["action"] for e in audit.json["items"]] == ["reward", "fund_rewards_pool"], audit.body
    pool = api.get("/operator/accounts/platform:rewards", as_="op", groups=OPERATOR)
    assert pool.json["posted"] == 950, pool.body


def test_the_audit_log_pages_newest_first_across_its_shards(api):
    api.get("/me")
    funded = api.post("/operator/rewards-pool/fundings", {"amount": 1000, "note": "pilot"}, as_="op", groups=OPERATOR)
    assert funded.status_code == 201, funded.body
    for number in range(9):
        reward = {"member_id": "alice", "amount": 1, "reason_code": "welcome_newcomer", "note": f"reward {number}"}
        assert api.post("/operator/rewards", reward, as_="op", groups=OPERATOR).status_code == 201
    shards = {
        keys.audit_shard(entry.entry_id) for entry in audit_repository.list_month(clock.now_iso()[:7], None, 20)[0]
    }
    assert len(shards) > 1, "ten entries landed in one shard: the merge below would prove nothing"

    seen: list[dict[str, str]] = []
    cursor = ""
    while True:
        page = api.get(f"/operator/audit?limit=3{cursor}", as_="op", groups=OPERATOR)
        assert page.status_code == 200, page.body
        seen += page.json["items"]
        if page.json["next_cursor"] is None:
            break
        cursor = "&cursor=" + page.json["next_cursor"]

    assert [e["reason"] for e in seen] == [f"reward {n}" for n in reversed(range(9))] + ["pilot"]
    assert [e["at"] for e in seen] == sorted((e["at"] for e in seen), reverse=True)

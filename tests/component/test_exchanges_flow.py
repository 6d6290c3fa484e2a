from datetime import UTC, datetime, timedelta

from tests.conftest import OPERATOR


def _setup(api, *members):
    community = api.post(
        "/communities", {"name": "Carouge", "slug": "carouge", "area": ["u0hqe"]}, as_="op", groups=OPERATOR
    ).json["id"]
    api.post("/operator/rewards-pool/fundings", {"amount": 10_000, "note": "pool"}, as_="op", groups=OPERATOR)
    for member in members:
        api.post(f"/communities/{community}/join", as_=member)
        reward = {"member_id": member, "amount": 100, "reason_code": "other", "note": "start"}
        assert api.post("/operator/rewards", reward, as_="op", groups=OPERATOR).status_code == 201
    return community


def _wallet(api, member):
    return api.get("/me/wallet", as_=member).json


def test_trade_hold_then_post(api):
    community = _setup(api, "alice", "bob")
    listing = api.post(
        "/listings",
        {
            "kind": "offer",
            "category": "services.gardening",
            "mode": "credits",
            "title": "Garden help",
            "community_id": community,
            "price": 30,
            "tags": ["Jardin"],
            "location": "u0hqe",
        },
        as_="bob",
    )
    assert listing.status_code == 201, listing.body
    lid = listing.json["id"]
    assert [x["id"] for x in api.get(f"/listings?community={community}&tag=jardin", as_="alice").json["items"]] == [lid]
    assert [x["id"] for x in api.get("/listings?near=u0hqe", as_="alice").json["items"]] == [lid]
    proposal = api.post(f"/listings/{lid}/exchanges", {"message": "Saturday?"}, as_="alice")
    assert proposal.status_code == 201, proposal.body
    xid = proposal.json["id"]
    assert api.post(f"/exchanges/{xid}/actions", {"action": "accept"}, as_="alice").status_code == 403
    accepted = api.post(f"/exchanges/{xid}/actions", {"action": "accept"}, as_="bob")
    assert accepted.status_code == 200, accepted.body
    again = api.post(f"/exchanges/{xid}/actions", {"action": "accept"}, as_="bob")
    assert again.status_code == 409 and again.json["state"] == "accepted", again.body
    assert _wallet(api, "alice")["held"] == 30
    api.post(f"/exchanges/{xid}/actions", {"action": "confirm"}, as_="alice")
    done = api.post(f"/exchanges/{xid}/actions", {"action": "confirm"}, as_="bob")
    assert done.json["state"] == "completed", done.body
    assert _wallet(api, "alice")["posted"] == 70 and _wallet(api, "alice")["held"] == 0
    assert _wallet(api, "bob")["posted"] == 130
    thread = api.get(f"/conversations/{proposal.json['conversation_id']}/messages", as_="bob")
    assert [m["body"] for m in thread.json["items"]] == ["Saturday?"], thread.body


def test_loan_share_booking(api):
    community = _setup(api, "alice", "bob", "carol")
    soon = (datetime.now(UTC) + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    loan = api.post(
        "/listings",
        {
            "kind": "offer",
            "category": "goods.tools",
            "mode": "loan",
            "title": "Drill",
            "community_id": community,
            "price": 5,
            "deposit": 40,
        },
        as_="bob",
    ).json["id"]
    xid = api.post(f"/listings/{loan}/exchanges", {"return_by": soon.isoformat()}, as_="alice").json["id"]
    api.post(f"/exchanges/{xid}/actions", {"action": "accept"}, as_="bob")
    assert _wallet(api, "alice")["held"] == 45
    returned = api.post(f"/exchanges/{xid}/actions", {"action": "confirm_return"}, as_="bob")
    assert returned.json["state"] == "completed", returned.body
    assert _wallet(api, "alice") | {} == {**_wallet(api, "alice"), "posted": 95, "held": 0}

    trip = api.post(
        "/listings",
        {
            "kind": "offer",
            "category": "sharing.carpool",
            "mode": "credits",
            "title": "To Lausanne",
            "community_id": community,
            "price": 10,
            "seats": 1,
            "event_at": soon.isoformat(),
        },
        as_="bob",
    )
    assert trip.status_code == 201, trip.body
    first = api.post(f"/listings/{trip.json['id']}/seats", as_="alice")
    assert first.status_code == 201, first.body
    second = api.post(f"/listings/{trip.json['id']}/seats", as_="carol")
    assert second.status_code == 409 and second.json["type"].endswith("no-seat-left"), second.body

    car = api.post(
        "/listings",
        {
            "kind": "offer",
            "category": "pooled.vehicle",
            "mode": "credits",
            "title": "Shared car",
            "community_id": community,
            "price": 4,
        },
        as_="bob",
    ).json["id"]
    slot = {"starts_at": soon.isoformat(), "ends_at": (soon + timedelta(hours=2)).isoformat()}
    booked = api.post(f"/listings/{car}/bookings", slot, as_="alice")
    assert booked.status_code == 201 and booked.json["amount"] == 8, booked.body
    overlap = {"starts_at": (soon + timedelta(hours=1)).isoformat(), "ends_at": (soon + timedelta(hours=3)).isoformat()}
    clash = api.post(f"/listings/{car}/bookings", overlap, as_="carol")
    assert clash.status_code == 409 and clash.json["type"].endswith("slot-taken"), clash.body
    cancelled = api.post(f"/exchanges/{booked.json['id']}/actions", {"action": "cancel"}, as_="alice")
    assert cancelled.json["state"] == "cancelled", cancelled.body
    assert api.post(f"/listings/{car}/bookings", overlap, as_="carol").status_code == 201


def test_disputes_queue_for_operators(api):
    community = _setup(api, "alice", "bob")
    listing = api.post(
        "/listings",
        {
            "kind": "offer",
            "category": "services.other",
            "mode": "credits",
            "title": "Help moving",
            "community_id": community,
            "price": 40,
        },
        as_="bob",
    ).json["id"]
    xid = api.post(f"/listings/{listing}/exchanges", {}, as_="alice").json["id"]
    api.post(f"/exchanges/{xid}/actions", {"action": "accept"}, as_="bob")
    assert api.get("/operator/disputes", as_="op", groups=OPERATOR).json["items"] == []
    assert api.get("/operator/disputes", as_="alice").status_code == 403
    disputed = api.post(f"/exchanges/{xid}/actions", {"action": "dispute"}, as_="alice")
    assert disputed.json["state"] == "disputed", disputed.body
    queue = api.get("/operator/disputes", as_="op", groups=OPERATOR)
    assert [e["id"] for e in queue.json["items"]] == [xid], queue.body
    resolved = api.post(
        f"/operator/exchanges/{xid}/resolve",
        {"payee_share": 25, "reason": "half the job done"},
        as_="op",
        groups=OPERATOR,
    )
    assert resolved.json["state"] == "resolved", resolved.body
    assert api.get("/operator/disputes", as_="op", groups=OPERATOR).json["items"] == []
    assert _wallet(api, "alice")["posted"] == 75 and _wallet(api, "bob")["posted"] == 125

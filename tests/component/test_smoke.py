from tests.conftest import OPERATOR


def test_first_call_provisions_member_and_profile_roundtrip(api):
    me = api.get("/me")
    assert me.status_code == 200, me.body
    assert me.json["id"] == "alice"
    changed = api.patch("/me", {"display_name": "Alice", "location": "u0hqg", "languages": ["fr", "EN"]})
    assert changed.status_code == 422, changed.body
    changed = api.patch("/me", {"display_name": "Alice", "location": "u0hqg", "languages": ["fr", "en"]})
    assert changed.status_code == 200, changed.body
    assert api.get("/me").json["display_name"] == "Alice"


def test_communities_flow(api):
    created = api.post(
        "/communities", {"name": "Genève Plainpalais", "slug": "plainpalais", "area": ["u0hq"]}, groups=OPERATOR
    )
    assert created.status_code == 201, created.body
    cid = created.json["id"]
    assert api.post(
        "/communities", {"name": "X", "slug": "plainpalais", "area": ["u0hq"]}, groups=OPERATOR
    ).status_code in (409, 422)
    assert api.post("/communities/" + cid + "/join").status_code == 200
    assert api.get("/communities?name=gen", as_=None).json["items"][0]["id"] == cid
    assert api.get("/communities?near=u0hqg", as_=None).json["items"][0]["id"] == cid
    members = api.get(f"/communities/{cid}/members")
    assert members.status_code == 200, members.body
    assert [m["member_id"] for m in members.json["items"]] == ["alice"]
    stats = api.get(f"/communities/{cid}/stats", as_=None)
    assert stats.json == {"community_id": cid, "members": 1, "active_members_30d": 1}, stats.body

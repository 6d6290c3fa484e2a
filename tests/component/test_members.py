"""Members: provisioning on the first call (also concurrent ones), own profile, public profiles."""

from __future__ import annotations

import contextlib
import re
import threading

import pytest

from chalicelib import clock
from chalicelib.adapters.dynamodb import community_repository, ledger_repository, member_repository, store
from chalicelib.adapters.dynamodb.models import TableItem
from chalicelib.adapters.dynamodb.unit_of_work import Contention, UnitOfWork
from chalicelib.auth import Principal
from chalicelib.services import members
from tests.component import support
from tests.component.support import assert_422, assert_problem, create_community
from tests.conftest import OPERATOR

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")

# Fixtures shared with the other component modules (see tests/component/support.py).
shared_api = support.shared_api
mint = support.mint
commits = support.commits


def community(api, slug: str) -> str:
    return create_community(api, slug)["id"]


class TestProvisioning:
    def test_first_call_provisions_profile_and_wallet(self, api):
        store.bind()
        assert member_repository.get("alice", consistent=True) is None
        response = api.get("/me")
        assert response.status_code == 200, response.body
        me = response.json
        assert me["id"] == "alice"
        assert me["display_name"] == "Member alice"
        assert me["bio"] == ""
        assert me["languages"] == [] and me["skills"] == [] and me["community_ids"] == []
        assert me["home_community_id"] is None and me["location"] is None
        assert ISO_UTC.match(me["created_at"]), me["created_at"]
        wallet = ledger_repository.get_balance("member:alice")
        assert wallet is not None, "the wallet is created with the member"

    def test_later_calls_keep_the_profile(self, api):
        first = api.get("/me").json
        api.patch("/me", {"bio": "hello"})
        members.reset()  # as in a fresh container
        again = api.get("/me").json
        assert again["created_at"] == first["created_at"]
        assert again["bio"] == "hello"

    def test_any_authenticated_route_provisions(self, api):
        api.get("/members/nobody", as_="dora")
        store.bind()
        assert member_repository.get("dora", consistent=True) is not None
        assert ledger_repository.get_balance("member:dora") is not None

    def test_concurrent_first_calls_make_one_member_and_one_wallet(self, api):
        store.bind()
        members.reset()
        barrier = threading.Barrier(8)
        failures: list[BaseException] = []

        def first_call() -> None:
            try:
                barrier.wait()
                members.ensure_member(Principal("bob", frozenset(), "Bob"))
            except BaseException as error:
                failures.append(error)

        threads = [threading.Thread(target=first_call) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert not failures, failures
        stored = member_repository.get("bob", consistent=True)
        assert stored is not None
        assert stored.display_name == "Bob"
        assert ledger_repository.get_balance("member:bob") is not None
        items = list(TableItem.query("MEMBER#bob"))
        assert [item.SK for item in items] == ["PROFILE"], "exactly one member item"
        assert len(list(TableItem.query("ACCOUNT#member:bob"))) == 1, "exactly one wallet"
        # The winner's profile is what every later call sees.
        assert api.get("/me", as_="bob").json["created_at"] == stored.created_at

    def test_a_transaction_conflict_on_the_first_call_is_retried(self, api, monkeypatch):
        # DynamoDB Local never raises TransactionConflict; AWS does when first calls race.
        real_commit = UnitOfWork.commit
        calls = {"n": 0}

        def conflicting_once(self):
            calls["n"] += 1
            if calls["n"] == 1:
                raise Contention("TransactionConflict")
            return real_commit(self)

        monkeypatch.setattr(UnitOfWork, "commit", conflicting_once)
        response = api.get("/me", as_="erin")
        assert response.status_code == 200, response.body
        assert ledger_repository.get_balance("member:erin") is not None

    def test_an_unknown_outcome_that_did_commit_is_not_an_error(self, api, monkeypatch):
        real_commit = UnitOfWork.commit
        calls = {"n": 0}

        def committed_but_timed_out(self):
            calls["n"] += 1
            real_commit(self)
            if calls["n"] == 1:
                raise Contention("read timeout")

        monkeypatch.setattr(UnitOfWork, "commit", committed_but_timed_out)
        response = api.get("/me", as_="fred")
        assert response.status_code == 200, response.body
        assert response.json["id"] == "fred"

    def test_a_conflict_while_marking_activity_does_not_fail_the_request(self, api, monkeypatch):
        cid = community(api, "gina-place")
        with at(LAST_MONDAY):
            assert api.post(f"/communities/{cid}/join", as_="gina").status_code in (200, 201)

        def conflict(uow, **_):
            raise Contention("TransactionConflict")

        monkeypatch.setattr(member_repository, "add_active_membership", conflict)
        with at(MONDAY):
            response = api.get("/me", as_="gina")
        assert response.status_code == 200, response.body
        assert member_repository.get("gina", consistent=True).active_day == LAST_MONDAY[:10], "marked another day"


LAST_MONDAY, MONDAY = "2031-03-03T08:00:00Z", "2031-03-10T08:00:00Z"


@contextlib.contextmanager
def at(moment: str):
    fixed = clock.parse(moment)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(clock, "now", lambda: fixed)
        yield


class TestActivityMark:
    @pytest.fixture(autouse=True)
    def counts_shown_from_one(self, monkeypatch):
        monkeypatch.setenv("PWIIC_STATS_MIN_PEOPLE", "1")  # one member counted; suppression has its own tests

    def test_a_week_of_activity_writes_each_membership_and_the_profile_once(self, api, commits):
        first, second = community(api, "first-place"), community(api, "second-place")
        with at(LAST_MONDAY):
            for cid in (first, second):
                assert api.post(f"/communities/{cid}/join", as_="walt").status_code in (200, 201)
        for cid in (first, second):
            assert api.get(f"/communities/{cid}/stats", as_=None).json["active_members_30d"] == 1
        for day in range(5):  # Monday to Friday, each day's first call
            commits.clear()
            with at(f"2031-03-{10 + day:02d}T08:00:00Z"):
                assert api.get("/me", as_="walt").status_code == 200
            assert commits == ([1, 1, 1] if day == 0 else []), day  # two memberships, then the profile
        store.bind()
        assert member_repository.get("walt", consistent=True).active_day == "2031-03-10"
        with at("2031-04-07T08:00:00Z"):  # 28 days later: counted by the week marked
            for cid in (first, second):
                assert api.get(f"/communities/{cid}/stats", as_=None).json["active_members_30d"] == 1
        with at("2031-04-15T08:00:00Z"):  # the window starts after that week
            assert api.get(f"/communities/{first}/stats", as_=None).json["active_members_30d"] == 0

    def test_racing_first_calls_of_the_week_mark_it_once(self, api, commits):
        cid = community(api, "race-place")
        with at(LAST_MONDAY):
            assert api.post(f"/communities/{cid}/join", as_="rita").status_code in (200, 201)
        store.bind()
        stale = member_repository.get("rita", consistent=True)
        members._mark_active(stale, "2031-03-10")
        commits.clear()
        members._mark_active(stale, "2031-03-10")  # a container that read the profile before the first marked it
        assert commits == [], "both conditional writes refused: nothing written twice, no error"
        assert member_repository.get("rita", consistent=True).active_day == "2031-03-10"

    def test_a_member_who_left_is_not_marked_back_in(self, api):
        cid = community(api, "left-place")
        with at(LAST_MONDAY):
            api.post(f"/communities/{cid}/join", as_="lena")
        store.bind()
        stale = member_repository.get("lena", consistent=True)
        assert api.post(f"/communities/{cid}/leave", as_="lena").status_code == 204
        members._mark_active(stale, "2031-03-10")
        assert community_repository.get_membership(cid, "lena") is None


class TestOwnProfile:
    def test_patch_round_trip(self, api):
        response = api.patch(
            "/me",
            {
                "display_name": "Alice",
                "bio": "Gardener",
                "languages": ["fr", "de", "fr"],
                "skills": ["Gardening", "bike repair", "gardening"],
                "location": "u0hqg",
            },
        )
        assert response.status_code == 200, response.body
        expected = {
            "display_name": "Alice",
            "bio": "Gardener",
            "languages": ["fr", "de"],
            "skills": ["gardening", "bike repair"],
            "location": "u0hqg",
        }
        assert {k: response.json[k] for k in expected} == expected
        again = api.get("/me").json
        assert {k: again[k] for k in expected} == expected

    def test_patch_changes_only_the_given_fields(self, api):
        api.patch("/me", {"display_name": "Alice", "bio": "b", "location": "u0h"})
        response = api.patch("/me", {"bio": "new"})
        assert response.json["display_name"] == "Alice"
        assert response.json["location"] == "u0h"
        assert response.json["bio"] == "new"

    def test_empty_patch_changes_nothing(self, api):
        before = api.patch("/me", {"bio": "x"}).json
        response = api.patch("/me", {})
        assert response.status_code == 200, response.body
        assert response.json == before

    def test_null_clears_location(self, api):
        api.patch("/me", {"location": "u0hqg"})
        response = api.patch("/me", {"location": None})
        assert response.status_code == 200, response.body
        assert response.json["location"] is None
        assert api.get("/me").json["location"] is None


class TestProfileValidation:
    """Refusals only: one table for all of them."""

    @pytest.fixture
    def api(self, shared_api):
        return shared_api

    @pytest.mark.parametrize("field", ["display_name", "bio", "languages", "skills"])
    def test_null_does_not_clear_other_fields(self, api, field):
        assert_422(api.patch("/me", {field: None}), field)

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"display_name": ""}, "display_name"),
            ({"display_name": "   "}, "display_name"),
            ({"display_name": "A" * 61}, "display_name"),
            ({"display_name": 42}, "display_name"),
            ({"display_name": ["Alice"]}, "display_name"),
            ({"bio": "b" * 501}, "bio"),
            ({"bio": 1}, "bio"),
            ({"languages": "fr"}, "languages"),
            ({"languages": ["FR"]}, "languages"),
            ({"languages": ["fra"]}, "languages"),
            ({"languages": ["f"]}, "languages"),
            ({"languages": ["fr\n"]}, "languages"),
            ({"languages": [1]}, "languages"),
            ({"languages": ["fr"] * 11}, "languages"),
            ({"skills": ["x" * 31]}, "skills"),
            ({"skills": [""]}, "skills"),
            ({"skills": ["<script>"]}, "skills"),
            ({"skills": ["cooking\n"]}, "skills"),
            ({"skills": ["s"] * 21}, "skills"),
            ({"skills": "cooking"}, "skills"),
            ({"location": "u0hqgz"}, "location"),
            ({"location": "u0hqgzzz"}, "location"),
            ({"location": ""}, "location"),
            ({"location": "U0HQG"}, "location"),
            ({"location": "u0hqa"}, "location"),
            ({"location": "u0hq\n"}, "location"),
            ({"location": "46.2044,6.1432"}, "location"),
            ({"location": 46.2}, "location"),
            ({"location": [46.2, 6.14]}, "location"),
            ({"location": {"lat": 46.2, "lon": 6.14}}, "location"),
            ({"home_community_id": 5}, "home_community_id"),
            ({"home_community_id": ""}, "home_community_id"),
            ({"home_community_id": "x" * 65}, "home_community_id"),
        ],
    )
    def test_field_validation(self, api, body, field):
        assert_422(api.patch("/me", body), field)

    def test_boundaries_are_accepted(self, api):
        body = {
            "display_name": "A" * 60,
            "bio": "b" * 500,
            "languages": [f"{a}{b}" for a, b in zip("abcdefghij", "abcdefghij", strict=True)],
            "skills": [f"skill {i:02d}" + "x" * 22 for i in range(20)],
            "location": "u",
        }
        assert len(body["skills"][0]) == 30
        response = api.patch("/me", body)
        assert response.status_code == 200, response.body
        assert response.json["location"] == "u"

    @pytest.mark.parametrize(
        "body",
        [
            {"lat": 46.2044, "lon": 6.1432},
            {"latitude": 46.2044, "longitude": 6.1432},
            {"coordinates": [46.2, 6.1]},
            {"email": "alice@example.org"},
            {"id": "mallory"},
            {"community_ids": ["c1"]},
            {"created_at": "2020-01-01T00:00:00Z"},
        ],
    )
    def test_unknown_fields_are_refused_and_named(self, api, body):
        response = api.patch("/me", body)
        assert_422(response, *body)
        assert api.get("/me").json["id"] == "alice"

    def test_every_problem_is_reported_at_once(self, api):
        response = api.patch("/me", {"lat": 1, "lon": 2, "display_name": "", "location": "u0hqgzz", "bio": 3})
        assert_422(response, "lat", "lon", "display_name", "location", "bio")


class TestProfileRules:
    def test_a_refused_patch_changes_nothing(self, api):
        before = api.patch("/me", {"bio": "kept", "location": "u0h"}).json
        assert api.patch("/me", {"bio": "changed", "location": "u0hqgzz"}).status_code == 422
        assert api.get("/me").json == before

    def test_home_community_must_be_joined(self, api):
        joined = community(api, "joined")
        other = community(api, "other")
        assert api.post(f"/communities/{joined}/join").status_code == 200
        assert_422(api.patch("/me", {"home_community_id": other}), "home_community_id")
        assert_422(api.patch("/me", {"home_community_id": "does-not-exist"}), "home_community_id")
        response = api.patch("/me", {"home_community_id": joined})
        assert response.status_code == 200, response.body
        assert response.json["home_community_id"] == joined
        cleared = api.patch("/me", {"home_community_id": None})
        assert cleared.status_code == 200, cleared.body
        assert cleared.json["home_community_id"] is None

    def test_home_community_of_another_member_is_refused(self, api):
        cid = community(api, "bobs")
        api.post(f"/communities/{cid}/join", as_="bob")
        api.get("/me")
        assert_422(api.patch("/me", {"home_community_id": cid}), "home_community_id")


class TestPublicProfile:
    def test_shows_the_public_fields_only(self, api, mint):
        token = mint("bob", name="Bob", email="bob@example.org", phone_number="+41790000000")
        api.call("GET", "/me", as_=None, headers={"Authorization": f"Bearer {token}"})
        cid = community(api, "plainpalais")
        api.post(f"/communities/{cid}/join", as_="bob")
        changed = api.patch(
            "/me",
            {
                "bio": "Cyclist",
                "languages": ["fr"],
                "skills": ["bikes"],
                "location": "u0hqg",
                "home_community_id": cid,
                "profile_visibility": "members",
            },
            as_="bob",
        )
        assert changed.status_code == 200, changed.body

        response = api.get("/members/bob", as_="alice")
        assert response.status_code == 200, response.body
        profile = response.json
        assert set(profile) == {
            "id",
            "display_name",
            "bio",
            "languages",
            "skills",
            "home_community_id",
            "created_at",
            "reviews",  # the reputation's summary
            "limited",
        }
        assert profile["limited"] is False
        assert profile["reviews"] == {"count": 0, "average": None, "bayesian_average": 4.0}
        assert profile["id"] == "bob"
        assert profile["display_name"] == "Bob"
        assert profile["home_community_id"] == cid
        assert profile["skills"] == ["bikes"]
        text = response.body.decode()
        assert "u0hqg" not in text and "u0h" not in text, "no location finer than the community"
        assert "@" not in text and "example.org" not in text, "no e-mail"
        assert "+4179" not in text
        assert "community_ids" not in text

    def test_by_default_only_the_members_communities_see_the_whole_profile(self, api):
        cid = community(api, "jonction")
        for member in ("cleo", "dan"):
            assert api.post(f"/communities/{cid}/join", as_=member).status_code in (200, 201)
        api.get("/me", as_="erin")
        assert api.get("/me", as_="cleo").json["profile_visibility"] == "communities"
        assert (
            api.patch("/me", {"bio": "Baker", "skills": ["bread"], "home_community_id": cid}, as_="cleo").status_code
            == 200
        )

        neighbour = api.get("/members/cleo", as_="dan").json
        assert (neighbour["limited"], neighbour["bio"], neighbour["skills"]) == (False, "Baker", ["bread"])
        stranger = api.get("/members/cleo", as_="erin").json
        assert stranger == {
            "id": "cleo",
            "display_name": neighbour["display_name"],
            "bio": "",
            "languages": [],
            "skills": [],
            "home_community_id": None,
            "created_at": neighbour["created_at"],
            "reviews": neighbour["reviews"],  # the reputation stays: it is what trust is built on
            "limited": True,
        }
        assert api.get("/members/cleo", as_="ops", groups=OPERATOR).json["limited"] is False
        assert api.get("/members/cleo", as_="cleo").json["limited"] is False

        assert api.patch("/me", {"profile_visibility": "members"}, as_="cleo").json["profile_visibility"] == "members"
        assert api.get("/members/cleo", as_="erin").json["bio"] == "Baker"
        assert_422(api.patch("/me", {"profile_visibility": "everyone"}, as_="cleo"), "profile_visibility")

    def test_own_profile_through_the_public_route_is_public_too(self, api):
        api.patch("/me", {"location": "u0hqg"})
        response = api.get("/members/alice")
        assert response.status_code == 200, response.body
        assert "location" not in response.json
        assert "u0hqg" not in response.body.decode()

    @pytest.mark.parametrize("member_id", ["nobody", "MEMBER%23alice", "alice%20", "Alice", "x" * 300])
    def test_unknown_member_is_404(self, shared_api, member_id):
        shared_api.get("/me")
        assert_problem(shared_api.get(f"/members/{member_id}"), 404, "not-found")

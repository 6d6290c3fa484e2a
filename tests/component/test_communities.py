"""Communities: creation by operators, discovery by name and place, membership, roles, stats."""

from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from datetime import timedelta
from urllib.parse import quote

import pytest

from chalicelib import clock
from chalicelib.api.problems import status_of
from chalicelib.errors import AppError
from chalicelib.services import communities
from tests.component import support
from tests.component.support import assert_422, assert_problem, create_community, unique
from tests.conftest import OPERATOR

# Fixtures shared with the other component modules (see tests/component/support.py).
shared_api = support.shared_api
mint = support.mint

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def ids(response) -> list[str]:
    assert response.status_code == 200, response.body
    return [item["id"] for item in response.json["items"]]


def member_ids(response) -> list[str]:
    assert response.status_code == 200, response.body
    return [item["member_id"] for item in response.json["items"]]


@contextmanager
def days_ago(count: int):
    """Run requests as if it were `count` days ago."""
    moment = clock.now() - timedelta(days=count)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(clock, "now", lambda: moment)
        yield


class TestCreate:
    def test_operator_creates_a_community(self, api):
        response = api.post(
            "/communities",
            {
                "name": "  Genève   Plainpalais ",
                "slug": "plainpalais",
                "area": ["u0hq", "u0hr", "u0hq"],
                "languages": ["fr", "en", "fr"],
            },
            groups=OPERATOR,
        )
        assert response.status_code == 201, response.body
        assert response.headers["Content-Type"] == "application/json"
        created = response.json
        assert re.fullmatch(r"[0-9a-f]{32}", created["id"])
        assert created["name"] == "Genève Plainpalais"
        assert created["slug"] == "plainpalais"
        assert created["area"] == ["u0hq", "u0hr"]
        assert created["languages"] == ["fr", "en"]
        assert created["member_count"] == 0
        assert ISO_UTC.match(created["created_at"])
        assert api.get(f"/communities/{created['id']}", as_=None).json == created

    def test_languages_are_optional(self, api):
        response = api.post("/communities", {"name": "Carouge", "slug": "carouge", "area": ["u0hn"]}, groups=OPERATOR)
        assert response.status_code == 201, response.body
        assert response.json["languages"] == []

    def test_duplicate_slug_is_409_and_creates_nothing(self, api):
        first = create_community(api, "plainpalais", name="Plainpalais")
        response = api.post(
            "/communities", {"name": "Imposter", "slug": "plainpalais", "area": ["9q8y"]}, groups=OPERATOR
        )
        assert_problem(response, 409, "slug-taken")
        assert "plainpalais" in response.json["detail"]
        assert ids(api.get("/communities?name=imposter", as_=None)) == []
        assert ids(api.get("/communities?near=9q8yy", as_=None)) == [], "no area cell of the refused community"
        assert api.get(f"/communities/{first['id']}", as_=None).json["name"] == "Plainpalais"

    def test_concurrent_creations_with_one_slug_make_one_community(self, api):
        api.get("/health", as_=None)  # bind the models to this test's table
        barrier = threading.Barrier(6)
        outcomes: list[object] = []

        def create(index: int) -> None:
            barrier.wait()
            try:
                outcomes.append(communities.create_community("op", f"Racer {index}", "race", ["u0hq"], []))
            except AppError as error:
                outcomes.append(error)

        threads = [threading.Thread(target=create, args=(i,)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        created = [o for o in outcomes if not isinstance(o, AppError)]
        refused = [o for o in outcomes if isinstance(o, AppError)]
        assert len(created) == 1, outcomes
        assert len(refused) == 5 and all(e.code == "slug-taken" and status_of(e) == 409 for e in refused), refused
        assert ids(api.get("/communities?name=racer", as_=None)) == [created[0].community_id]


VALID = {"name": "Genève", "slug": "geneve", "area": ["u0hq"], "languages": ["fr"]}


class TestCreateValidation:
    @pytest.fixture
    def api(self, shared_api):
        return shared_api

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"slug": "Geneve"}, "slug"),
            ({"slug": "g"}, "slug"),
            ({"slug": "-geneve"}, "slug"),
            ({"slug": "geneve-"}, "slug"),
            ({"slug": "gen--eve"}, "slug"),
            ({"slug": "gen_eve"}, "slug"),
            ({"slug": "gen eve"}, "slug"),
            ({"slug": "genève"}, "slug"),
            ({"slug": "geneve\n"}, "slug"),
            ({"slug": "a" * 51}, "slug"),
            ({"slug": ""}, "slug"),
            ({"slug": 12}, "slug"),
            ({"slug": None}, "slug"),
            ({"area": []}, "area"),
            ({"area": "u0hq"}, "area"),
            ({"area": ["u0"]}, "area"),
            ({"area": ["u0hqgz"]}, "area"),
            ({"area": ["u0ha"]}, "area"),
            ({"area": ["U0HQ"]}, "area"),
            ({"area": ["u0hq\n"]}, "area"),
            ({"area": ["46.2,6.1"]}, "area"),
            ({"area": [46.2]}, "area"),
            ({"area": ["u0hq"] * 51}, "area"),
            ({"name": "G"}, "name"),
            ({"name": "  "}, "name"),
            ({"name": "\u0301\u0301"}, "name"),
            ({"name": "G" * 81}, "name"),
            ({"name": 7}, "name"),
            ({"languages": ["FR"]}, "languages"),
            ({"languages": ["fra"]}, "languages"),
            ({"languages": "fr"}, "languages"),
            ({"owner": "mallory"}, "owner"),
            ({"member_count": 1000}, "member_count"),
            ({"id": "chosen"}, "id"),
        ],
    )
    def test_invalid_fields(self, api, changes, field):
        body = {**VALID, **changes, "slug": changes.get("slug", unique("v"))}
        response = api.post("/communities", body, groups=OPERATOR)
        assert_422(response, field)

    @pytest.mark.parametrize("missing", ["name", "slug", "area"])
    def test_required_fields(self, api, missing):
        body = {key: value for key, value in {**VALID, "slug": unique("v")}.items() if key != missing}
        assert_422(api.post("/communities", body, groups=OPERATOR), missing)

    def test_boundaries_are_accepted(self, api):
        alphabet = "0123456789bcdefghjkmnpqrstuvwxyz"
        area = [f"u0h{c}" for c in alphabet] + [f"u0j{c}" for c in alphabet[:18]]
        body = {"name": "Gé", "slug": "a" * 50, "area": area}
        assert len(body["area"]) == 50
        response = api.post("/communities", body, groups=OPERATOR)
        assert response.status_code == 201, response.body
        assert len(response.json["area"]) == 50

    @pytest.mark.parametrize(
        "community_id", ["does-not-exist", "0" * 32, "x" * 300, "%00", "COMMUNITY%23x", "..%2F..%2Fetc"]
    )
    def test_unknown_community_is_404(self, api, community_id):
        assert_problem(api.get(f"/communities/{community_id}", as_=None), 404, "not-found")
        assert_problem(api.get(f"/communities/{community_id}/stats", as_=None), 404, "not-found")
        assert_problem(api.get(f"/communities/{community_id}/members"), 404, "not-found")
        assert_problem(api.post(f"/communities/{community_id}/join"), 404, "not-found")
        assert_problem(api.post(f"/communities/{community_id}/leave"), 404, "not-found")
        assert_problem(api.put(f"/communities/{community_id}/ambassadors/alice", groups=OPERATOR), 404)


class TestFindByName:
    def test_prefix_search_ignores_accents_case_and_spacing(self, api):
        geneve = create_community(api, "plainpalais", name="Genève Plainpalais")["id"]
        zurich = create_community(api, "zurich", name="Zürich Kreis 4")["id"]
        create_community(api, "bern", name="Bern")
        for query in ["gen", "GEN", "Genè", "genève", "GENEVE", "geneve p", "Genève  Plain", " gen"]:
            assert ids(api.get(f"/communities?name={quote(query)}", as_=None)) == [geneve], query
        for query in ["zur", "Zür", "ZÜRICH K"]:
            assert ids(api.get(f"/communities?name={quote(query)}", as_=None)) == [zurich], query

    def test_it_is_a_prefix_not_a_substring_search(self, api):
        create_community(api, "plainpalais", name="Genève Plainpalais")
        assert ids(api.get("/communities?name=plain", as_=None)) == []
        assert ids(api.get("/communities?name=geneves", as_=None)) == []

    def test_names_sharing_a_first_letter_do_not_leak_into_each_other(self, api):
        a = create_community(api, "geneva", name="Geneva")["id"]
        create_community(api, "gland", name="Gland")
        assert ids(api.get("/communities?name=gen", as_=None)) == [a]

    def test_paginates_without_duplicates(self, api):
        made = {create_community(api, f"gen-{i}", name=f"Genève {i}")["id"] for i in range(5)}
        seen: list[str] = []
        cursor = None
        for _ in range(10):
            path = "/communities?name=gen&limit=2" + (f"&cursor={cursor}" if cursor else "")
            response = api.get(path, as_=None)
            page = ids(response)
            assert len(page) <= 2
            seen += page
            cursor = response.json["next_cursor"]
            if not cursor:
                break
        assert sorted(seen) == sorted(made)
        assert len(seen) == len(set(seen))

    def test_a_cursor_of_another_search_is_refused(self, api):
        for i in range(3):
            create_community(api, f"gen-{i}", name=f"Genève {i}")
        cursor = api.get("/communities?name=gen&limit=1", as_=None).json["next_cursor"]
        assert cursor
        assert_problem(api.get(f"/communities?name=ge&limit=1&cursor={cursor}", as_=None), 400, "invalid-cursor")
        tampered = cursor[:-3] + ("AAA" if cursor[-3:] != "AAA" else "BBB")
        assert_problem(api.get(f"/communities?name=gen&cursor={tampered}", as_=None), 400, "invalid-cursor")


class TestFindNear:
    def test_finds_a_community_in_a_neighbour_cell_across_a_prefix_border(self, api):
        # u0hzz is the north-east corner cell of u0h; its east neighbour u0jpb is under another prefix.
        east = create_community(api, "east", area=["u0jpb"])["id"]
        north = create_community(api, "north", area=["u0kbp"])["id"]
        north_east = create_community(api, "north-east", area=["u0m00"])["id"]
        coarse = create_community(api, "coarse", area=["u0j"])["id"]
        inside = create_community(api, "inside", area=["u0hzz"])["id"]
        two_cells_away = create_community(api, "two-away", area=["u0jpc"])["id"]
        far = create_community(api, "far", area=["9q8yy"])["id"]
        found = set(ids(api.get("/communities?near=u0hzz", as_=None)))
        assert {east, north, north_east, coarse, inside} <= found
        assert two_cells_away not in found
        assert far not in found

    def test_a_community_with_several_matching_cells_is_listed_once(self, api):
        cid = create_community(api, "many", area=["u0hq", "u0hqg", "u0h"])["id"]
        assert ids(api.get("/communities?near=u0hqg", as_=None)) == [cid]

    def test_a_coarse_search_finds_finer_areas(self, api):
        cid = create_community(api, "fine", area=["u0hqg"])["id"]
        assert ids(api.get("/communities?near=u0h", as_=None)) == [cid]

    def test_far_away_finds_nothing(self, api):
        create_community(api, "geneva", area=["u0hq"])
        assert ids(api.get("/communities?near=9q8yy", as_=None)) == []


class TestSearchValidation:
    @pytest.fixture
    def api(self, shared_api):
        return shared_api

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ("", "$"),
            ("name=gen&near=u0hqg", "$"),
            ("limit=5", "$"),
            ("near=u0", "near"),
            ("near=u0hqgz", "near"),
            ("near=u0ha", "near"),
            ("near=U0HQG", "near"),
            ("near=46.2%2C6.1", "near"),
            ("name=", "name"),
            ("name=%20%20", "name"),
            ("name=%CC%81", "name"),
            ("name=" + "g" * 81, "name"),
            ("name=gen&limit=0", "limit"),
            ("name=gen&limit=101", "limit"),
            ("name=gen&limit=abc", "limit"),
            ("name=gen&limit=-1", "limit"),
            ("name=gen&sort=asc", "sort"),
            ("name=gen&cursor=" + "A" * 2049, "cursor"),
        ],
    )
    def test_invalid_queries(self, api, query, field):
        assert_422(api.get(f"/communities?{query}", as_=None), field)

    @pytest.mark.parametrize("cell", ["zzzzz", "bpbpb", "00000", "pbpbp", "zzz", "xbpbp"])
    def test_cells_at_the_poles_and_the_antimeridian_work(self, api, cell):
        response = api.get(f"/communities?near={cell}", as_=None)
        assert response.status_code == 200, response.body

    @pytest.mark.parametrize("cursor", ["garbage", "%25%25%25", "AAAA", "%C3%A9", "e30", "x" * 2048])
    def test_garbage_name_cursor_is_400(self, api, cursor):
        assert_problem(api.get(f"/communities?name=gen&cursor={cursor}", as_=None), 400, "invalid-cursor")


class TestJoinAndLeave:
    def test_join(self, api):
        cid = create_community(api)["id"]
        response = api.post(f"/communities/{cid}/join")
        assert response.status_code == 200, response.body
        membership = response.json
        assert membership["community_id"] == cid
        assert membership["member_id"] == "alice"
        assert membership["role"] == "member"
        assert ISO_UTC.match(membership["joined_at"])
        assert api.get(f"/communities/{cid}", as_=None).json["member_count"] == 1
        assert api.get("/me").json["community_ids"] == [cid]

    def test_joining_twice_changes_nothing(self, api):
        cid = create_community(api)["id"]
        first = api.post(f"/communities/{cid}/join").json
        second = api.post(f"/communities/{cid}/join")
        assert second.status_code == 200, second.body
        assert second.json == first
        assert api.get(f"/communities/{cid}", as_=None).json["member_count"] == 1
        assert member_ids(api.get(f"/communities/{cid}/members")) == ["alice"]

    def test_joining_an_unknown_community_leaves_no_trace(self, api):
        assert_problem(api.post("/communities/nope/join"), 404, "not-found")
        assert api.get("/me").json["community_ids"] == []

    def test_leave_then_leave_again(self, api):
        cid = create_community(api)["id"]
        api.post(f"/communities/{cid}/join")
        api.post(f"/communities/{cid}/join", as_="bob")
        response = api.post(f"/communities/{cid}/leave")
        assert response.status_code == 204, response.body
        assert response.body == b""
        assert api.get(f"/communities/{cid}", as_=None).json["member_count"] == 1
        assert api.get("/me").json["community_ids"] == []
        assert member_ids(api.get(f"/communities/{cid}/members")) == ["bob"]
        assert_problem(api.post(f"/communities/{cid}/leave"), 404, "not-found")
        assert api.get(f"/communities/{cid}", as_=None).json["member_count"] == 1

    def test_leaving_a_community_never_joined_is_404(self, api):
        cid = create_community(api)["id"]
        api.post(f"/communities/{cid}/join", as_="bob")
        assert_problem(api.post(f"/communities/{cid}/leave"), 404, "not-found")
        assert api.get(f"/communities/{cid}", as_=None).json["member_count"] == 1

    def test_leaving_the_home_community_clears_home(self, api):
        home = create_community(api)["id"]
        other = create_community(api)["id"]
        api.post(f"/communities/{home}/join")
        api.post(f"/communities/{other}/join")
        assert api.patch("/me", {"home_community_id": home}).status_code == 200
        api.post(f"/communities/{other}/leave")
        assert api.get("/me").json["home_community_id"] == home, "leaving another community keeps home"
        api.post(f"/communities/{home}/leave")
        me = api.get("/me").json
        assert me["home_community_id"] is None
        assert me["community_ids"] == []

    def test_rejoining_starts_as_a_plain_member(self, api):
        cid = create_community(api)["id"]
        api.post(f"/communities/{cid}/join", as_="bob")
        api.put(f"/communities/{cid}/ambassadors/bob", groups=OPERATOR)
        api.post(f"/communities/{cid}/leave", as_="bob")
        rejoined = api.post(f"/communities/{cid}/join", as_="bob")
        assert rejoined.json["role"] == "member"
        assert api.get(f"/communities/{cid}", as_=None).json["member_count"] == 1

    def test_a_member_belongs_to_at_most_twenty_communities(self, api):
        api.get("/me")
        made = [communities.create_community("op", f"Many {i}", f"many-{i}", ["u0hq"], []) for i in range(21)]
        for community in made[:20]:
            communities.join("alice", community.community_id)
        response = api.post(f"/communities/{made[20].community_id}/join")
        assert_problem(response, 409, "too-many-communities")
        assert api.get(f"/communities/{made[20].community_id}", as_=None).json["member_count"] == 0
        assert len(api.get("/me").json["community_ids"]) == 20
        assert api.post(f"/communities/{made[0].community_id}/join").status_code == 200, "rejoining is not a 21st"


class TestMembersList:
    def join_five(self, api) -> tuple[str, list[str]]:
        cid = create_community(api)["id"]
        people = ["ann", "ben", "cid", "dee", "eve"]
        for person in people:
            assert api.post(f"/communities/{cid}/join", as_=person).status_code == 200
        return cid, people

    def test_paginates_with_limit_and_cursor(self, api):
        cid, people = self.join_five(api)
        seen: list[str] = []
        pages = 0
        path = f"/communities/{cid}/members?limit=2"
        while True:
            response = api.get(path)
            page = member_ids(response)
            assert len(page) <= 2
            seen += page
            pages += 1
            cursor = response.json["next_cursor"]
            if not cursor:
                break
            assert isinstance(cursor, str)
            path = f"/communities/{cid}/members?limit=2&cursor={cursor}"
            assert pages < 10
        assert len(seen) == len(set(seen)) == 5
        assert sorted(seen) == people
        assert pages >= 3

    def test_items_carry_name_role_and_join_time(self, api, mint):
        cid = create_community(api)["id"]
        token = mint("bob", name="Bob B.")
        api.call("POST", f"/communities/{cid}/join", as_=None, headers={"Authorization": f"Bearer {token}"})
        (item,) = api.get(f"/communities/{cid}/members").json["items"]
        assert item["member_id"] == "bob"
        assert item["display_name"] == "Bob B."
        assert item["role"] == "member"
        assert ISO_UTC.match(item["joined_at"])
        assert set(item) == {"member_id", "display_name", "role", "joined_at"}

    def test_default_page_holds_everyone(self, api):
        cid, people = self.join_five(api)
        response = api.get(f"/communities/{cid}/members")
        assert sorted(member_ids(response)) == people
        assert response.json["next_cursor"] is None

    def test_tampered_cursors_are_400_never_500(self, api):
        cid, _ = self.join_five(api)
        cursor = api.get(f"/communities/{cid}/members?limit=2").json["next_cursor"]
        flipped = cursor[:5] + ("A" if cursor[5] != "A" else "B") + cursor[6:]
        variants = [flipped, cursor[:-1], cursor[:10], cursor + "AAAA", "garbage", quote("!!!"), quote("é"), "A" * 64]
        for bad in variants:
            response = api.get(f"/communities/{cid}/members?limit=2&cursor={bad}")
            assert_problem(response, 400, "invalid-cursor")

    def test_cursor_of_another_community_is_refused(self, api):
        cid, _ = self.join_five(api)
        other, _ = self.join_five(api)
        cursor = api.get(f"/communities/{cid}/members?limit=2").json["next_cursor"]
        assert_problem(api.get(f"/communities/{other}/members?limit=2&cursor={cursor}"), 400, "invalid-cursor")

    def test_cursor_of_a_name_search_is_refused(self, api):
        cid, _ = self.join_five(api)
        for i in range(3):
            create_community(api, name=f"Genève {i}")
        cursor = api.get("/communities?name=gen&limit=1", as_=None).json["next_cursor"]
        assert cursor
        assert_problem(api.get(f"/communities/{cid}/members?cursor={cursor}"), 400, "invalid-cursor")

    @pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=two", "page=2", "cursor=" + "A" * 2049])
    def test_invalid_queries(self, shared_api, query):
        cid = create_community(shared_api)["id"]
        field = query.split("=")[0]
        assert_422(shared_api.get(f"/communities/{cid}/members?{query}"), field)


class TestAmbassadors:
    def test_grant_and_revoke(self, api):
        cid = create_community(api)["id"]
        api.post(f"/communities/{cid}/join", as_="bob")
        granted = api.put(f"/communities/{cid}/ambassadors/bob", groups=OPERATOR)
        assert granted.status_code == 200, granted.body
        assert granted.json["role"] == "ambassador"
        assert granted.json["member_id"] == "bob" and granted.json["community_id"] == cid
        assert api.get(f"/communities/{cid}/members").json["items"][0]["role"] == "ambassador"
        again = api.put(f"/communities/{cid}/ambassadors/bob", groups=OPERATOR)
        assert again.status_code == 200 and again.json["role"] == "ambassador"
        revoked = api.delete(f"/communities/{cid}/ambassadors/bob", groups=OPERATOR)
        assert revoked.status_code == 200, revoked.body
        assert revoked.json["role"] == "member"
        assert api.get(f"/communities/{cid}/members").json["items"][0]["role"] == "member"

    def test_joining_again_keeps_the_role(self, api):
        cid = create_community(api)["id"]
        api.post(f"/communities/{cid}/join", as_="bob")
        api.put(f"/communities/{cid}/ambassadors/bob", groups=OPERATOR)
        assert api.post(f"/communities/{cid}/join", as_="bob").json["role"] == "ambassador"

    def test_non_members_cannot_be_ambassadors(self, api):
        cid = create_community(api)["id"]
        other = create_community(api)["id"]
        api.post(f"/communities/{other}/join", as_="bob")
        api.get("/me", as_="carl")
        for member_id in ["bob", "carl", "nobody"]:
            assert_problem(api.put(f"/communities/{cid}/ambassadors/{member_id}", groups=OPERATOR), 404, "not-found")
            assert_problem(api.delete(f"/communities/{cid}/ambassadors/{member_id}", groups=OPERATOR), 404, "not-found")
        assert member_ids(api.get(f"/communities/{cid}/members")) == [], "no membership was created"
        assert api.get(f"/communities/{cid}", as_=None).json["member_count"] == 0

    def test_a_member_who_left_cannot_be_granted(self, api):
        cid = create_community(api)["id"]
        api.post(f"/communities/{cid}/join", as_="bob")
        api.post(f"/communities/{cid}/leave", as_="bob")
        assert_problem(api.put(f"/communities/{cid}/ambassadors/bob", groups=OPERATOR), 404)
        assert member_ids(api.get(f"/communities/{cid}/members")) == []


class TestStats:
    @pytest.fixture(autouse=True)
    def counts_shown_from_one(self, monkeypatch):
        monkeypatch.setenv("PWIIC_STATS_MIN_PEOPLE", "1")  # these tests count a few members; suppression below

    def test_counts_members_and_recently_active_members(self, api):
        cid = create_community(api)["id"]
        with days_ago(40):
            api.post(f"/communities/{cid}/join", as_="old")
        with days_ago(36):  # before the Monday of the week 29 days ago, whatever today is: activity counts by weeks
            api.post(f"/communities/{cid}/join", as_="lapsed")
        with days_ago(29):
            api.post(f"/communities/{cid}/join", as_="recent")
        api.post(f"/communities/{cid}/join", as_="today")
        stats = api.get(f"/communities/{cid}/stats", as_=None)
        assert stats.status_code == 200, stats.body
        assert stats.json == {"community_id": cid, "members": 4, "active_members_30d": 2}

    def test_a_returning_member_counts_as_active_again(self, api):
        cid = create_community(api)["id"]
        with days_ago(45):
            api.post(f"/communities/{cid}/join", as_="old")
        assert api.get(f"/communities/{cid}/stats", as_=None).json["active_members_30d"] == 0
        assert api.get("/me", as_="old").status_code == 200
        assert api.get(f"/communities/{cid}/stats", as_=None).json == {
            "community_id": cid,
            "members": 1,
            "active_members_30d": 1,
        }

    def test_activity_anywhere_counts_in_every_community_of_the_member(self, api):
        first = create_community(api)["id"]
        second = create_community(api)["id"]
        with days_ago(60):
            api.post(f"/communities/{first}/join", as_="old")
            api.post(f"/communities/{second}/join", as_="old")
        api.get("/me", as_="old")
        for cid in (first, second):
            assert api.get(f"/communities/{cid}/stats", as_=None).json["active_members_30d"] == 1

    def test_leavers_are_no_longer_counted(self, api):
        cid = create_community(api)["id"]
        api.post(f"/communities/{cid}/join", as_="bob")
        api.post(f"/communities/{cid}/join", as_="amy")
        api.post(f"/communities/{cid}/leave", as_="bob")
        assert api.get(f"/communities/{cid}/stats", as_=None).json == {
            "community_id": cid,
            "members": 1,
            "active_members_30d": 1,
        }

    def test_a_community_of_nobody(self, api):
        cid = create_community(api)["id"]
        assert api.get(f"/communities/{cid}/stats", as_=None).json == {
            "community_id": cid,
            "members": 0,
            "active_members_30d": 0,
        }


def test_stats_under_the_threshold_are_suppressed(api):
    cid = create_community(api)["id"]
    for number in range(5):
        api.post(f"/communities/{cid}/join", as_=f"m{number}")
    assert api.get(f"/communities/{cid}/stats", as_=None).json == {
        "community_id": cid,
        "members": 5,
        "active_members_30d": 5,
    }
    api.post(f"/communities/{cid}/leave", as_="m0")
    assert api.get(f"/communities/{cid}/stats", as_=None).json == {
        "community_id": cid,
        "members": None,
        "active_members_30d": None,
    }

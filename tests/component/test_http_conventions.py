"""HTTP conventions: problem+json errors, strict input, Idempotency-Key replays, CORS, one log line per request."""

from __future__ import annotations

import json
import sys

import pytest

from chalicelib.api import http
from chalicelib.services import communities
from tests.component import support
from tests.component.support import assert_422, assert_problem, create_community, unique
from tests.conftest import OPERATOR

# Fixtures shared with the other component modules (see tests/component/support.py).
shared_api = support.shared_api
mint = support.mint


@pytest.fixture
def api(shared_api):
    """Most of these tests only get refused: one table for the module, unless a test asks for `fresh_api`."""
    return shared_api


@pytest.fixture
def fresh_api(client, mint):
    from tests.conftest import Api

    return Api(client, mint)


def new_community_body(**changes) -> dict:
    slug = unique("idem")
    return {"name": f"Idem {slug}", "slug": slug, "area": ["u0hq"], **changes}


class TestBodies:
    @pytest.mark.parametrize(
        "raw",
        [
            b"{",
            b'{"bio": }',
            b"{'bio': 'x'}",
            b'{"bio": "x",}',
            b"bio=x",
            b"\xff\xfe\x00",
            b'{"bio": "x"} trailing',
            b"nul",
        ],
    )
    def test_malformed_json_is_400(self, api, raw):
        assert_problem(api.patch("/me", raw=raw), 400, "malformed-request")
        assert_problem(api.post("/communities", raw=raw, groups=OPERATOR), 400, "malformed-request")

    @pytest.mark.parametrize("raw", [b"", b" ", b"\n\t "])
    def test_empty_body_on_a_body_route_is_400(self, api, raw):
        assert_problem(api.patch("/me", raw=raw), 400, "malformed-request")
        assert_problem(api.post("/communities", raw=raw, groups=OPERATOR), 400, "malformed-request")

    @pytest.mark.parametrize("raw", [b"[]", b'"bio"', b"1", b"null", b"true", b'[{"bio": "x"}]'])
    def test_json_that_is_not_an_object_is_422(self, api, raw):
        assert_422(api.patch("/me", raw=raw), "$")

    def test_body_on_a_route_without_body_is_400(self, api):
        cid = create_community(api)["id"]
        for response in [
            api.get("/me", raw=b"{}"),
            api.get("/health", as_=None, raw=b'{"a": 1}'),
            api.get(f"/communities/{cid}", as_=None, raw=b"x"),
            api.post(f"/communities/{cid}/join", {"role": "ambassador"}),
            api.post(f"/communities/{cid}/leave", raw=b"{}"),
            api.delete(f"/communities/{cid}/ambassadors/alice", groups=OPERATOR, raw=b"{}"),
        ]:
            assert_problem(response, 400, "malformed-request")
        assert api.get(f"/communities/{cid}", as_=None).json["member_count"] == 0, "the join with a body did not run"

    def test_wrong_media_type_is_a_415_problem(self, api):
        response = api.patch("/me", raw=b'{"bio": "x"}', headers={"Content-Type": "text/plain"})
        assert_problem(response, 415)
        response = api.post(
            "/communities",
            raw=b"name=x",
            groups=OPERATOR,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert_problem(response, 415)

    def test_json_with_a_charset_is_accepted(self, api):
        response = api.patch("/me", raw=b'{"bio": "x"}', headers={"Content-Type": "application/json; charset=utf-8"})
        assert response.status_code == 200, response.body

    def test_unicode_survives_the_round_trip(self, api):
        response = api.patch("/me", {"bio": "Grüezi 👋 — «ça va?»"}, as_="uni")
        assert response.status_code == 200, response.body
        assert api.get("/me", as_="uni").json["bio"] == "Grüezi 👋 — «ça va?»"


class TestQueries:
    @pytest.mark.parametrize(
        ("method", "path", "as_"),
        [
            ("GET", "/me?foo=1", "alice"),
            ("GET", "/health?verbose=true", None),
            ("GET", "/openapi.json?format=yaml", None),
            ("GET", "/members/alice?fields=email", "alice"),
            ("GET", "/communities?name=gen&foo=1", None),
            ("PATCH", "/me?dry_run=1", "alice"),
        ],
    )
    def test_unknown_query_parameter_is_422_naming_it(self, api, method, path, as_):
        body = {"bio": "x"} if method == "PATCH" else None
        field = path.split("?")[1].split("&")[-1].split("=")[0]
        assert_422(api.call(method, path, body, as_=as_), field)

    def test_unknown_query_parameter_on_a_post_does_not_run_it(self, api):
        cid = create_community(api)["id"]
        assert_422(api.post(f"/communities/{cid}/join?as=bob"), "as")
        assert api.get(f"/communities/{cid}", as_=None).json["member_count"] == 0


class TestProblems:
    def test_every_error_is_a_problem_document(self, api):
        cid = create_community(api)["id"]
        cases = [
            (api.get("/me", as_=None), 401),
            (api.post("/communities", new_community_body()), 403),
            (api.get("/members/nobody-at-all"), 404),
            (api.get("/communities/nope", as_=None), 404),
            (api.post(f"/communities/{cid}/leave"), 404),
            (api.patch("/me", raw=b"{"), 400),
            (api.get(f"/communities/{cid}/members?cursor=forged"), 400),
            (api.patch("/me", {"location": "u0hqgzz"}), 422),
            (
                api.post(
                    "/communities", {**new_community_body(), "slug": create_community(api)["slug"]}, groups=OPERATOR
                ),
                409,
            ),
            (api.patch("/me", raw=b"{}", headers={"Content-Type": "text/plain"}), 415),
        ]
        for response, status in cases:
            problem = assert_problem(response, status)
            assert problem["type"].startswith("https://pwiic.coop/problems/"), problem
            assert set(problem) <= {"type", "title", "status", "detail", "errors"}, problem
            if "errors" in problem:
                assert all(set(error) == {"field", "message"} for error in problem["errors"])

    def test_an_unexpected_failure_is_a_500_problem_that_leaks_nothing(self, api, monkeypatch):
        def explode(community_id):
            raise RuntimeError("connection string postgres://admin:hunter2@db")

        monkeypatch.setattr(communities, "get_community", explode)
        response = api.get("/communities/whatever", as_=None)
        problem = assert_problem(response, 500, "internal")
        assert "hunter2" not in response.body.decode()
        assert "RuntimeError" not in response.body.decode()
        assert problem["detail"]


class TestIdempotency:
    def test_same_key_and_body_replays_the_first_response(self, fresh_api):
        api = fresh_api
        body = new_community_body()
        headers = {"Idempotency-Key": "create-1"}
        first = api.post("/communities", body, groups=OPERATOR, headers=headers)
        second = api.post("/communities", body, groups=OPERATOR, headers=headers)
        assert first.status_code == second.status_code == 201, (first.body, second.body)
        assert second.json == first.json
        assert second.headers["Content-Type"] == "application/json"
        found = api.get(f"/communities?name={body['name'][:8]}", as_=None).json["items"]
        assert [c["id"] for c in found] == [first.json["id"]], "only one community exists"

    def test_same_key_with_another_body_is_422(self, api):
        headers = {"Idempotency-Key": unique("key")}
        first = api.post("/communities", new_community_body(), groups=OPERATOR, headers=headers)
        assert first.status_code == 201, first.body
        other = new_community_body()
        response = api.post("/communities", other, groups=OPERATOR, headers=headers)
        assert_problem(response, 422, "idempotency-key-reused")
        assert api.get(f"/communities?name={quote_name(other)}", as_=None).json["items"] == []

    def test_same_key_on_another_route_is_422(self, api):
        key = unique("key")
        created = api.post("/communities", new_community_body(), groups=OPERATOR, headers={"Idempotency-Key": key})
        assert created.status_code == 201
        cid = created.json["id"]
        response = api.post(f"/communities/{cid}/join", groups=OPERATOR, headers={"Idempotency-Key": key})
        assert_problem(response, 422, "idempotency-key-reused")
        assert api.get(f"/communities/{cid}", as_=None).json["member_count"] == 0

    def test_keys_of_different_members_do_not_collide(self, api):
        key = unique("shared-key")
        body_a, body_b = new_community_body(), new_community_body()
        by_a = api.post("/communities", body_a, as_="op-a", groups=OPERATOR, headers={"Idempotency-Key": key})
        by_b = api.post("/communities", body_b, as_="op-b", groups=OPERATOR, headers={"Idempotency-Key": key})
        assert by_a.status_code == by_b.status_code == 201, (by_a.body, by_b.body)
        assert by_a.json["id"] != by_b.json["id"]
        # Another member sending A's exact request is not served A's stored response.
        by_c = api.post("/communities", body_a, as_="op-c", groups=OPERATOR, headers={"Idempotency-Key": key})
        assert_problem(by_c, 409, "slug-taken")

    def test_an_error_response_is_replayed_too(self, api):
        taken = create_community(api)["slug"]
        body = {**new_community_body(), "slug": taken}
        headers = {"Idempotency-Key": unique("key")}
        first = api.post("/communities", body, groups=OPERATOR, headers=headers)
        second = api.post("/communities", body, groups=OPERATOR, headers=headers)
        assert_problem(first, 409, "slug-taken")
        assert_problem(second, 409, "slug-taken")
        assert second.json == first.json

    def test_a_refused_request_does_not_burn_the_key(self, api):
        headers = {"Idempotency-Key": unique("key")}
        assert api.post("/communities", {"name": "x"}, groups=OPERATOR, headers=headers).status_code == 422
        assert api.post("/communities", raw=b"{", groups=OPERATOR, headers=headers).status_code == 400
        assert api.post("/communities", new_community_body(), headers=headers).status_code == 403
        response = api.post("/communities", new_community_body(), groups=OPERATOR, headers=headers)
        assert response.status_code == 201, response.body

    def test_a_failed_request_can_be_retried_with_its_key(self, api, monkeypatch):
        headers = {"Idempotency-Key": unique("key")}
        body = new_community_body()
        real = communities.create_community

        def broken(*args, **kwargs):
            raise RuntimeError("boom")

        monkeypatch.setattr(communities, "create_community", broken)
        assert api.post("/communities", body, groups=OPERATOR, headers=headers).status_code == 500
        monkeypatch.setattr(communities, "create_community", real)
        retried = api.post("/communities", body, groups=OPERATOR, headers=headers)
        assert retried.status_code == 201, retried.body

    def test_a_key_that_is_too_long_is_400(self, api):
        response = api.post(
            "/communities", new_community_body(), groups=OPERATOR, headers={"Idempotency-Key": "k" * 129}
        )
        assert_problem(response, 400)
        response = api.post(
            "/communities", new_community_body(), groups=OPERATOR, headers={"Idempotency-Key": "k" * 128}
        )
        assert response.status_code == 201, response.body


def quote_name(body: dict) -> str:
    from urllib.parse import quote

    return quote(body["name"])


class TestCors:
    def test_allow_origin_on_every_response(self, api):
        cid = create_community(api)["id"]
        responses = [
            api.get("/health", as_=None),
            api.post(f"/communities/{cid}/join"),
            api.post(f"/communities/{cid}/leave"),
            api.post("/communities", new_community_body(), groups=OPERATOR),
            api.get("/me", as_=None),
            api.get("/communities/nope", as_=None),
            api.patch("/me", raw=b"{"),
            api.patch("/me", {"nope": 1}),
            api.post("/communities", new_community_body()),
        ]
        assert {r.status_code for r in responses} == {200, 201, 204, 400, 401, 403, 404, 422}
        for response in responses:
            assert response.headers.get("Access-Control-Allow-Origin") == "*", (response.status_code, response.headers)

    def test_preflight_allows_the_headers_clients_send(self, api):
        gateway = api._client.http._local_gateway
        headers = {
            "origin": "https://app.pwiic.example",
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization,content-type,idempotency-key",
        }
        response = gateway.handle_request("OPTIONS", "/communities", headers, b"")
        assert response["statusCode"] == 200
        sent = {name.lower(): value for name, value in response["headers"].items()}
        assert sent["access-control-allow-origin"] == "*"
        allowed_headers = {h.strip().lower() for h in sent["access-control-allow-headers"].split(",")}
        assert {"authorization", "content-type", "idempotency-key"} <= allowed_headers
        allowed_methods = {m.strip() for m in sent["access-control-allow-methods"].split(",")}
        assert {"GET", "POST"} <= allowed_methods
        me = gateway.handle_request("OPTIONS", "/me", headers, b"")
        assert "PATCH" in me["headers"]["Access-Control-Allow-Methods"]


class CurrentStdout:
    """Writes to whatever sys.stdout is at the time (capsys swaps it in only while the test runs)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@pytest.fixture
def log_lines(monkeypatch, capsys):
    """The access log as parsed JSON lines. The Powertools handler keeps the stream it was built with,
    so it is pointed at the stdout that capsys captures."""
    monkeypatch.setattr(http.logger.registered_handler, "stream", CurrentStdout())

    def read() -> list[dict]:
        return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]

    return read


class TestAccessLog:
    def requests(self, lines: list[dict]) -> list[dict]:
        return [line for line in lines if line.get("message") == "request"]

    def test_one_json_line_per_request_with_the_request_facts(self, api, log_lines):
        api.get("/me")
        (line,) = self.requests(log_lines())
        assert line["level"] == "INFO"
        assert isinstance(line["request_id"], str) and line["request_id"]
        assert line["route"] == "GET /me"
        assert line["status"] == 200
        assert isinstance(line["latency_ms"], int | float) and line["latency_ms"] >= 0
        assert line["member_id"] == "alice"

    def test_routes_are_templates_and_request_ids_differ(self, api, log_lines):
        api.get("/communities/abc", as_=None)
        api.get("/communities/def", as_=None)
        first, second = self.requests(log_lines())
        assert first["route"] == second["route"] == "GET /communities/{community_id}"
        assert first["status"] == second["status"] == 404
        assert first["request_id"] != second["request_id"]
        assert first.get("member_id") is None

    def test_refusals_are_logged_once_without_the_token(self, api, log_lines, mint):
        token = mint("alice", ttl_seconds=-60)
        api.call("GET", "/me", as_=None, headers={"Authorization": f"Bearer {token}"})
        api.patch("/me", raw=b"{")
        output = log_lines()
        first, second = self.requests(output)
        assert first["status"] == 401 and first.get("member_id") is None
        assert second["status"] == 400 and second["member_id"] == "alice"
        text = json.dumps(output)
        assert token not in text
        assert token.split(".")[2] not in text

    def test_no_token_email_or_body_in_any_line(self, api, log_lines, mint):
        token = mint("logan", email="logan@example.org", name="Logan")
        headers = {"Authorization": f"Bearer {token}"}
        api.call("PATCH", "/me", {"bio": "my very private bio"}, as_=None, headers=headers)
        api.call("PATCH", "/me", {"bio": "another private bio", "lat": 1}, as_=None, headers=headers)
        output = log_lines()
        assert [line["status"] for line in self.requests(output)] == [200, 422]
        text = json.dumps(output)
        for secret in [token, token.split(".")[1], "logan@example.org", "private bio", "Bearer"]:
            assert secret not in text

    def test_an_unexpected_failure_logs_one_request_line(self, api, log_lines, monkeypatch):
        def explode(community_id):
            raise RuntimeError("boom")

        monkeypatch.setattr(communities, "get_community", explode)
        api.get("/communities/x", as_=None)
        output = log_lines()
        (line,) = self.requests(output)
        assert line["status"] == 500
        assert any(entry["level"] == "ERROR" for entry in output), "the exception is logged for operators"

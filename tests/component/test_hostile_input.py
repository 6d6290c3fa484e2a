"""Hostile input: whatever a client sends (nesting, size, encoding, control characters, odd headers,
query strings and path values), the answer is a problem+json 4xx before any work, never a 5xx."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time

import pytest

import app  # noqa: F401  (registers the routes, so the operations can be listed at collection)
from chalicelib.api import http
from tests.component import support
from tests.component.support import assert_422, assert_problem, create_community, unique
from tests.conftest import OPERATOR

shared_api = support.shared_api
mint = support.mint

WEBHOOK = "/webhooks/stripe"
DEEP = {"list": b"[" * 1000, "object": b'{"a":' * 1000, "mixed": b'[{"a":' * 500}
JSON_ROUTES = [op for op in http.OPERATIONS if op.body is not None]


@pytest.fixture
def api(shared_api):
    return shared_api


def concrete(path: str) -> str:
    return re.sub(r"{\w+}", "some-id", path)


def sign(payload: bytes, secret: str) -> str:
    ts = int(time.time())
    return f"t={ts},v1={hmac.new(secret.encode(), f'{ts}.'.encode() + payload, hashlib.sha256).hexdigest()}"


def post_webhook(api, payload: bytes, secret: str):
    return api.post(WEBHOOK, raw=payload, as_=None, headers={"Stripe-Signature": sign(payload, secret)})


class TestNesting:
    @pytest.mark.parametrize("route", JSON_ROUTES, ids=lambda op: f"{op.method} {op.path}")
    @pytest.mark.parametrize("shape", sorted(DEEP))
    def test_deep_nesting_is_a_400_on_every_json_route(self, api, route, shape):
        response = api.call(route.method, concrete(route.path), raw=DEEP[shape], groups=OPERATOR)
        problem = assert_problem(response, 400, "malformed-request")
        assert "nest" in problem["detail"]

    def test_nesting_up_to_the_limit_is_read(self, api):
        limit = http.MAX_JSON_DEPTH
        assert_422(api.patch("/me", raw=b"[" * limit + b"]" * limit), "$")
        assert_problem(api.patch("/me", raw=b"[" * (limit + 1) + b"]" * (limit + 1)), 400, "malformed-request")

    def test_brackets_and_escapes_inside_strings_do_not_count(self, api):
        bio = '[{"\\' * 100
        response = api.patch("/me", {"bio": bio}, as_=unique("brackets"))
        assert response.status_code == 200, response.body
        assert response.json["bio"] == bio

    @pytest.mark.parametrize("shape", sorted(DEEP))
    def test_a_signed_deeply_nested_webhook_is_a_400(self, api, local_secrets, shape):
        response = post_webhook(api, DEEP[shape], local_secrets.stripe_webhook_secret)
        assert_problem(response, 400, "malformed-request")


class TestSize:
    def test_a_json_body_over_64_kib_is_a_413(self, api):
        body = json.dumps({"bio": "x" * http.MAX_BODY_BYTES}).encode()
        assert_problem(api.patch("/me", raw=body), 413, "payload-too-large")
        assert_problem(api.post("/communities", raw=body, groups=OPERATOR), 413, "payload-too-large")

    def test_a_webhook_over_512_kib_is_a_413_and_a_large_event_is_read(self, api, local_secrets):
        secret = local_secrets.stripe_webhook_secret
        event = {"id": unique("evt"), "object": "event", "type": "test.large", "livemode": False}
        large = {**event, "data": {"object": {"padding": "x" * (200 * 1024)}}}
        assert post_webhook(api, json.dumps(large).encode(), secret).status_code == 200
        huge = {**event, "data": {"object": {"padding": "x" * http.MAX_RAW_BODY_BYTES}}}
        assert_problem(post_webhook(api, json.dumps(huge).encode(), secret), 413, "payload-too-large")


class TestEncoding:
    @pytest.mark.parametrize("raw", [b'{"bio": "\xff"}', b'{"bio": "caf\xe9"}', b'{"bio": "\xed\xa0\x80"}'])
    def test_a_body_that_is_not_utf8_is_a_400(self, api, raw):
        assert_problem(api.patch("/me", raw=raw), 400, "malformed-request")
        assert_problem(api.post("/communities", raw=raw, groups=OPERATOR), 400, "malformed-request")

    def test_a_lone_surrogate_escape_is_a_400(self, api):
        assert_problem(api.patch("/me", raw=b'{"bio": "\\ud800"}'), 400, "malformed-request")

    @pytest.mark.parametrize(
        ("field", "value"),
        [("bio", "a\u0000b"), ("bio", "bell\u0007"), ("bio", "c1\u0085"), ("display_name", "two\nlines")],
    )
    def test_control_characters_in_text_are_a_422(self, api, field, value):
        assert_422(api.patch("/me", {field: value}), field)

    def test_tabs_and_line_breaks_are_text(self, api):
        response = api.patch("/me", {"bio": "line one\r\nline two\ttabbed"}, as_=unique("lines"))
        assert response.status_code == 200, response.body


class TestQueries:
    @pytest.mark.parametrize(
        "query", ["name=a%00b", "name=%FF", "name=caf%E9", "name=a%0Ab", "na%00me=a", "limit=%1F1&name=a"]
    )
    def test_control_characters_and_bad_percent_encoding_are_a_400(self, api, query):
        assert_problem(api.get(f"/communities?{query}", as_=None), 400, "malformed-request")
        assert_problem(api.get(f"/me/wallet/entries?{query}"), 400, "malformed-request")

    def test_a_repeated_parameter_is_a_422(self, api):
        assert_422(api.get("/communities?name=a&name=b", as_=None), "name")
        assert_422(api.get("/me/wallet/entries?limit=1&limit=2"), "limit")

    def test_a_very_long_value_is_a_422(self, api):
        assert_422(api.get("/communities?name=" + "a" * 100_000, as_=None), "name")
        assert_422(api.get("/me/wallet/entries?cursor=" + "a" * 100_000), "cursor")

    @pytest.mark.parametrize("cursor", ["%00", "%C3%A9", "a%20b", "abc+/="])
    def test_a_cursor_outside_its_alphabet_is_refused(self, api, cursor):
        response = api.get(f"/me/wallet/entries?cursor={cursor}")
        assert response.status_code in (400, 422), response.body
        assert_problem(response, response.status_code)


class TestPaths:
    @pytest.mark.parametrize("value", ["a\x00b", "tab\there", "\ud800", "\ufffd", "x" * 300, "%00"])
    def test_a_path_value_that_cannot_be_an_id_is_a_404(self, api, value):
        assert_problem(api.get(f"/listings/{value}"), 404, "not-found")
        assert_problem(api.get(f"/communities/{value}", as_=None), 404, "not-found")
        assert_problem(api.post(f"/listings/{value}/report", {"reason": "spam spam"}), 404, "not-found")


class TestHeaders:
    @pytest.mark.parametrize("key", ["", " ", "two words", "caf\u00e9", "a\x01b", "k" * 129])
    def test_an_invalid_idempotency_key_is_a_400_and_runs_nothing(self, api, key):
        cid = create_community(api)["id"]
        response = api.post(f"/communities/{cid}/join", as_=unique("idem"), headers={"Idempotency-Key": key})
        problem = assert_problem(response, 400, "malformed-request")
        assert "Idempotency-Key" in problem["detail"]
        assert api.get(f"/communities/{cid}", as_=None).json["member_count"] == 0

    def test_a_visible_ascii_key_of_128_characters_is_honoured(self, api):
        cid = create_community(api)["id"]
        key = "".join(chr(c) for c in range(0x21, 0x7F)) + "k" * 34
        assert len(key) == 128
        who = unique("idem")
        first = api.post(f"/communities/{cid}/join", as_=who, headers={"Idempotency-Key": key})
        again = api.post(f"/communities/{cid}/join", as_=who, headers={"Idempotency-Key": key})
        assert first.status_code == again.status_code == 200, (first.body, again.body)
        assert again.json == first.json

    @pytest.mark.parametrize("signature", ["t=1,\x00v1=ab", "t=1,v1=" + "ab" * 2000, "t=1, v1=ab", "t=1,v1=\u00e9"])
    def test_a_malformed_stripe_signature_is_a_400(self, api, signature):
        response = api.post(WEBHOOK, raw=b"{}", as_=None, headers={"Stripe-Signature": signature})
        assert_problem(response, 400, "invalid-signature")

    @pytest.mark.parametrize(
        "authorization", ["Bearer \x00", "Bearer " + "a" * 20_000, "Bearer \u00e9.\u00e9.\u00e9", "Bearer a.b.c"]
    )
    def test_a_hostile_authorization_header_is_a_401(self, api, authorization):
        assert_problem(api.get("/me", as_=None, headers={"Authorization": authorization}), 401)


class TestWholeNumbers:
    """Integer fields accept a JSON number with no fractional part (3.0, 1e2), as JSON Schema's `integer` does."""

    def test_integral_numbers_are_integers_and_fractions_are_refused(self, api):
        owner = unique("owner")
        cid = create_community(api)["id"]
        assert api.post(f"/communities/{cid}/join", as_=owner).status_code == 200
        body = {"kind": "offer", "category": "goods.books", "mode": "loan", "title": "Books", "community_id": cid}
        created = api.post("/listings", {**body, "price": 30.0, "deposit": 1e2}, as_=owner)
        assert created.status_code == 201, created.body
        assert (created.json["price"], created.json["deposit"]) == (30, 100)
        assert isinstance(created.json["price"], int)
        assert_422(api.post("/listings", {**body, "price": 30.5}, as_=owner), "price")
        assert_422(api.post("/listings", {**body, "price": 1e300}, as_=owner), "price")
        assert api.get(f"/communities/{cid}/members?limit=1.0", as_=owner).status_code == 200
        assert_422(api.get(f"/communities/{cid}/members?limit=1.5", as_=owner), "limit")


class TestDrafts:
    """Moderators see the hidden, paused and closed listings of their community; a draft, only its owner."""

    def test_a_draft_shows_to_its_owner_only(self, api):
        cid = create_community(api)["id"]
        owner, ambassador, member = unique("owner"), unique("amba"), unique("member")
        for who in (owner, ambassador, member):
            assert api.post(f"/communities/{cid}/join", as_=who).status_code == 200
        assert api.put(f"/communities/{cid}/ambassadors/{ambassador}", as_="op", groups=OPERATOR).status_code == 200
        body = {"kind": "offer", "category": "goods.books", "mode": "gift", "title": "Books", "community_id": cid}
        draft = api.post("/listings", {**body, "status": "draft"}, as_=owner).json["id"]
        hidden = api.post("/listings", body, as_=owner).json["id"]
        assert api.post(f"/listings/{hidden}/hide", {"reason": "spam"}, as_=ambassador).status_code == 200
        paused = api.post("/listings", body, as_=owner).json["id"]
        assert api.patch(f"/listings/{paused}", {"status": "paused"}, as_=owner).status_code == 200

        assert api.get(f"/listings/{draft}", as_=owner).json["status"] == "draft"
        for who, groups in ((ambassador, ()), ("op", OPERATOR), (member, ())):
            assert_problem(api.get(f"/listings/{draft}", as_=who, groups=groups), 404, "not-found")
        for listing_id in (hidden, paused):
            assert api.get(f"/listings/{listing_id}", as_=owner).status_code == 200
            assert api.get(f"/listings/{listing_id}", as_=ambassador).status_code == 200
            assert api.get(f"/listings/{listing_id}", as_="op", groups=OPERATOR).status_code == 200
            assert_problem(api.get(f"/listings/{listing_id}", as_=member), 404, "not-found")

    def test_no_one_but_its_owner_learns_a_draft_exists(self, api):
        """Hiding or editing another member's draft is answered as if it did not exist."""
        cid = create_community(api)["id"]
        owner, ambassador = unique("owner"), unique("amba")
        for who in (owner, ambassador):
            assert api.post(f"/communities/{cid}/join", as_=who).status_code == 200
        assert api.put(f"/communities/{cid}/ambassadors/{ambassador}", as_="op", groups=OPERATOR).status_code == 200
        body = {"kind": "offer", "category": "goods.books", "mode": "gift", "title": "Books", "community_id": cid}
        draft = api.post("/listings", {**body, "status": "draft"}, as_=owner).json["id"]
        for who, groups in ((ambassador, ()), ("op", OPERATOR)):
            assert_problem(
                api.post(f"/listings/{draft}/hide", {"reason": "spam"}, as_=who, groups=groups), 404, "not-found"
            )
        assert_problem(api.patch(f"/listings/{draft}", {"title": "Mine now"}, as_=ambassador), 404, "not-found")
        visible = api.post("/listings", body, as_=owner).json["id"]
        assert_problem(api.patch(f"/listings/{visible}", {"title": "Mine now"}, as_=ambassador), 403, "forbidden")
        assert api.get(f"/listings/{draft}", as_=owner).json["title"] == "Books"

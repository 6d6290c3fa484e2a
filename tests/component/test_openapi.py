"""The OpenAPI 3.1 document is valid, covers exactly the routes Chalice serves, and tells the truth."""

from __future__ import annotations

import re

import jsonschema
import pytest
from openapi_spec_validator import validate

from tests.component import support
from tests.component.support import create_community
from tests.conftest import OPERATOR

# Fixtures shared with the other component modules (see tests/component/support.py).
shared_api = support.shared_api
mint = support.mint

METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@pytest.fixture(scope="module")
def document(shared_api):
    response = shared_api.get("/openapi.json", as_=None)
    assert response.status_code == 200, response.body
    assert response.headers["Content-Type"] == "application/json"
    return response.json


def operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method.upper(), operation


def resolve(document, ref: str):
    assert ref.startswith("#/"), ref
    node = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"unresolvable $ref {ref}"
        node = node[part]
    return node


def refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def schema_validator(document, schema):
    return jsonschema.Draft202012Validator({**schema, "components": document["components"]})


def documented_schema(document, path: str, method: str, status: int) -> dict:
    response = document["paths"][path][method.lower()]["responses"][str(status)]
    (media_type,) = response["content"]
    assert media_type == ("application/problem+json" if status >= 400 else "application/json")
    return response["content"][media_type]["schema"]


def assert_matches(document, path, method, response):
    schema = documented_schema(document, path, method, response.status_code)
    errors = sorted(schema_validator(document, schema).iter_errors(response.json), key=str)
    assert not errors, (path, method, response.status_code, [e.message for e in errors])


def test_is_a_valid_openapi_3_1_document(document):
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_covers_every_chalice_route_and_nothing_else(document):
    from app import app

    served = {(path, method) for path, methods in app.routes.items() for method in methods if method != "OPTIONS"}
    documented = {(path, method) for path, method, _ in operations(document)}
    assert served - documented == set(), "routes missing from the OpenAPI document"
    assert documented - served == set(), "documented routes that Chalice does not serve"


def test_issue_2_routes_are_documented(document):
    expected = {
        ("/health", "GET"),
        ("/openapi.json", "GET"),
        ("/me", "GET"),
        ("/me", "PATCH"),
        ("/members/{member_id}", "GET"),
        ("/communities", "GET"),
        ("/communities", "POST"),
        ("/communities/{community_id}", "GET"),
        ("/communities/{community_id}/join", "POST"),
        ("/communities/{community_id}/leave", "POST"),
        ("/communities/{community_id}/members", "GET"),
        ("/communities/{community_id}/ambassadors/{member_id}", "PUT"),
        ("/communities/{community_id}/ambassadors/{member_id}", "DELETE"),
        ("/communities/{community_id}/stats", "GET"),
    }
    assert expected <= {(path, method) for path, method, _ in operations(document)}


def test_every_ref_resolves(document):
    found = list(refs(document))
    assert found, "the document uses references"
    for ref in found:
        resolve(document, ref)


def test_every_response_has_a_schema_that_resolves(document):
    for path, method, operation in operations(document):
        assert operation["responses"], (path, method)
        for status, response in operation["responses"].items():
            assert response.get("description"), (path, method, status)
            for media_type, content in response.get("content", {}).items():
                schema = content["schema"]
                if "$ref" in schema:
                    target = resolve(document, schema["$ref"])
                    assert isinstance(target, dict) and target, (path, method, status)
                if int(status) >= 400:
                    assert media_type == "application/problem+json", (path, method, status)
                    assert schema == {"$ref": "#/components/schemas/Problem"}
                jsonschema.Draft202012Validator.check_schema(schema)


def test_operation_ids_are_unique_and_path_parameters_declared(document):
    seen = [operation["operationId"] for _, _, operation in operations(document)]
    assert len(seen) == len(set(seen))
    for path, method, operation in operations(document):
        in_path = set(re.findall(r"{(\w+)}", path))
        declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        assert in_path == declared, (path, method)
        assert all(p["required"] for p in operation.get("parameters", []) if p["in"] == "path")


def test_security_matches_the_access_rules(document):
    public = {
        ("/health", "GET"),
        ("/openapi.json", "GET"),
        ("/communities", "GET"),
        ("/communities/{community_id}", "GET"),
        ("/communities/{community_id}/stats", "GET"),
    }
    operator_only = {
        ("/communities", "POST"),
        ("/communities/{community_id}/ambassadors/{member_id}", "PUT"),
        ("/communities/{community_id}/ambassadors/{member_id}", "DELETE"),
    }
    for path, method, operation in operations(document):
        if (path, method) in public:
            assert operation["security"] == [], (path, method)
            assert "401" not in operation["responses"]
        if (path, method) in operator_only or path.startswith("/operator/"):
            assert "403" in operation["responses"], (path, method)
        if operation["security"]:
            assert "401" in operation["responses"], (path, method)


def test_posts_document_the_idempotency_key(document):
    for path, method, operation in operations(document):
        if method == "POST" and operation["security"]:
            names = {p["name"].lower() for p in operation["parameters"] if p["in"] == "header"}
            assert "idempotency-key" in names, path


def test_query_parameters_are_documented(document):
    params = {p["name"] for p in document["paths"]["/communities"]["get"]["parameters"] if p["in"] == "query"}
    assert params == {"name", "near", "cursor", "limit"}
    members = document["paths"]["/communities/{community_id}/members"]["get"]["parameters"]
    assert {p["name"] for p in members if p["in"] == "query"} == {"cursor", "limit"}


def test_public_profile_schema_promises_no_location_or_contact(document):
    schemas = document["components"]["schemas"]
    public = schemas["PublicProfile"]["properties"]
    assert "location" not in public
    assert not {name for name in public if "mail" in name or "phone" in name}
    location = schemas["ProfileChanges"]["properties"]["location"]
    assert "maxLength" in str(location) and "5" in str(location)
    assert schemas["ProfileChanges"].get("additionalProperties") is False


def test_anonymous_and_member_answers_are_documented(document, shared_api):
    """Probe every documented operation without a token and as a plain member, without a body:
    whatever status comes back must be one the document lists for that operation."""
    for path, method, operation in operations(document):
        concrete = re.sub(r"{\w+}", "unknown-id", path)
        anonymous = shared_api.call(method, concrete, as_=None)
        assert str(anonymous.status_code) in operation["responses"], (path, method, anonymous.status_code)
        if operation["security"]:
            assert anonymous.status_code == 401, (path, method, anonymous.body)
        else:
            assert anonymous.status_code != 401, (path, method, anonymous.body)
        member = shared_api.call(method, concrete, as_="prober")
        assert str(member.status_code) in operation["responses"], (path, method, member.status_code, member.body)
        assert member.status_code != 500, (path, method, member.body)


def test_real_responses_match_the_documented_schemas(document, api):
    cid = create_community(api, "geneva", name="Genève")["id"]
    joined = api.post(f"/communities/{cid}/join", as_="bob")
    checks = [
        ("/health", "GET", api.get("/health", as_=None)),
        ("/me", "GET", api.get("/me")),
        ("/me", "PATCH", api.patch("/me", {"bio": "b", "location": "u0hqg", "languages": ["fr"]})),
        ("/members/{member_id}", "GET", api.get("/members/bob")),
        (
            "/communities",
            "POST",
            api.post("/communities", {"name": "Bern", "slug": "bern", "area": ["u0m"]}, groups=OPERATOR),
        ),
        ("/communities", "GET", api.get("/communities?name=gen", as_=None)),
        ("/communities", "GET", api.get("/communities?near=u0hqg", as_=None)),
        ("/communities/{community_id}", "GET", api.get(f"/communities/{cid}", as_=None)),
        ("/communities/{community_id}/join", "POST", joined),
        ("/communities/{community_id}/members", "GET", api.get(f"/communities/{cid}/members?limit=1")),
        (
            "/communities/{community_id}/ambassadors/{member_id}",
            "PUT",
            api.put(f"/communities/{cid}/ambassadors/bob", groups=OPERATOR),
        ),
        (
            "/communities/{community_id}/ambassadors/{member_id}",
            "DELETE",
            api.delete(f"/communities/{cid}/ambassadors/bob", groups=OPERATOR),
        ),
        ("/communities/{community_id}/stats", "GET", api.get(f"/communities/{cid}/stats", as_=None)),
        # problems
        ("/me", "GET", api.get("/me", as_=None)),
        ("/me", "PATCH", api.patch("/me", {"lat": 1})),
        ("/communities", "POST", api.post("/communities", {"name": "X"})),
        ("/communities/{community_id}", "GET", api.get("/communities/nope", as_=None)),
        ("/communities/{community_id}/members", "GET", api.get(f"/communities/{cid}/members?cursor=forged")),
    ]
    for path, method, response in checks:
        assert str(response.status_code) in document["paths"][path][method.lower()]["responses"], (
            path,
            method,
            response.status_code,
        )
        assert_matches(document, path, method, response)


def test_the_leave_response_is_documented_without_a_body(document, api):
    cid = create_community(api)["id"]
    api.post(f"/communities/{cid}/join")
    response = api.post(f"/communities/{cid}/leave")
    assert response.status_code == 204
    documented = document["paths"]["/communities/{community_id}/leave"]["post"]["responses"]["204"]
    assert "content" not in documented


def test_reading_a_listing_states_who_sees_drafts_and_hidden_listings(document):
    description = document["paths"]["/listings/{listing_id}"]["get"]["description"]
    assert "draft" in description and "owner alone" in description
    assert "ambassadors" in description and "hidden" in description


def test_member_posts_declare_the_idempotency_key_format_and_its_400(document):
    for path, method, operation in operations(document):
        if method == "POST" and operation["security"]:
            (key,) = [p for p in operation["parameters"] if p["in"] == "header" and p["name"] == "Idempotency-Key"]
            assert key["required"] is False, path
            assert (key["schema"]["minLength"], key["schema"]["maxLength"]) == (1, 128), path
            assert re.search(key["schema"]["pattern"], "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"), path
            assert not re.search(key["schema"]["pattern"], "two words"), path
            assert "400" in operation["responses"], path


def test_the_webhook_declares_its_signature_header(document):
    operation = document["paths"]["/webhooks/stripe"]["post"]
    (signature,) = [p for p in operation["parameters"] if p["in"] == "header"]
    assert signature["name"] == "Stripe-Signature" and signature["required"] is True
    assert signature["schema"]["maxLength"] and signature["schema"]["pattern"]
    assert {"400", "413"} <= set(operation["responses"])


def test_bodies_list_their_size_and_media_type_refusals(document):
    for path, method, operation in operations(document):
        if "requestBody" in operation:
            assert "413" in operation["responses"], (path, method)
            if path != "/webhooks/stripe":
                assert "415" in operation["responses"], (path, method)


def test_parameters_say_what_a_value_can_be(document):
    for path, method, operation in operations(document):
        for parameter in operation["parameters"]:
            schema = parameter["schema"]
            assert "null" not in str(schema), (path, method, parameter)
            if parameter["in"] == "path":
                assert (schema["minLength"], schema["maxLength"]) == (1, 256), (path, parameter)
            if schema.get("type") == "string" and "enum" not in schema:
                assert not re.search(schema["pattern"], "a\x00b"), (path, method, parameter["name"])


def test_authenticated_operations_list_503(document):
    for path, method, operation in operations(document):
        if operation["security"]:
            assert "503" in operation["responses"], (path, method)


def test_rules_a_schema_cannot_express_are_described(document):
    assert "exactly one of `name` or `near`" in document["paths"]["/communities"]["get"]["description"]
    assert "exactly one way in" in document["paths"]["/listings"]["get"]["description"]
    assert "`invalid-amount`" in document["paths"]["/transfers"]["post"]["description"]
    assert "`price`" in document["paths"]["/listings"]["post"]["description"]

"""Bearer-token verification: every forged, stale or foreign token is a 401 problem; roles give 403."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib import auth, config
from chalicelib.adapters.dynamodb import member_repository, store
from tests import oidc
from tests.component import support
from tests.component.support import PROBLEM, assert_problem, signing_key, unique
from tests.conftest import OPERATOR
from tools import devkeys
from tools.devkeys import LOCAL_AUDIENCE, LOCAL_ISSUER

# Fixtures shared with the other component modules (see tests/component/support.py).
shared_api = support.shared_api
mint = support.mint


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(value: object) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


@pytest.fixture
def keys(local_secrets):
    return signing_key(str(local_secrets.private_key_path), str(local_secrets.jwks_path))


def claims(sub: str = "alice", **overrides) -> dict:
    now = int(time.time())
    base = {
        "iss": LOCAL_ISSUER,
        "aud": LOCAL_AUDIENCE,
        "token_use": "id",
        "sub": sub,
        "iat": now,
        "exp": now + 600,
    }
    base.update(overrides)
    return {name: value for name, value in base.items() if value is not None}


@pytest.fixture
def sign(keys):
    private, kid = keys

    def make(payload: dict, *, key=None, algorithm: str = "RS256", headers: dict | None = None) -> str:
        header = {"kid": kid} if headers is None else headers
        return jwt.encode(payload, key or private, algorithm=algorithm, headers=header)

    return make


def call(api, token: str | None, path: str = "/me", method: str = "GET", header: str | None = None, body=None):
    headers = {}
    if header is not None:
        headers["Authorization"] = header
    elif token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return api.call(method, path, body, as_=None, headers=headers)


def assert_401(response, *, secret: str | None = None) -> None:
    assert response.status_code == 401, response.body
    assert response.headers["Content-Type"] == PROBLEM
    assert response.json["status"] == 401
    assert response.json["type"].endswith("/unauthorized")
    assert response.json["title"]
    assert response.json["detail"]
    if secret:
        assert secret not in response.body.decode(), "a token must never be echoed back"


def assert_not_provisioned(member_id: str) -> None:
    store.bind()
    assert member_repository.get(member_id, consistent=True) is None, "a refused token provisioned a member"


class TestValidTokens:
    def test_token_of_the_local_identity_provider_is_accepted(self, api, secrets_dir):
        token = devkeys.mint_token("alice", root=secrets_dir)  # the real minting command, not the fast one
        response = call(api, token)
        assert response.status_code == 200, response.body
        assert response.json["id"] == "alice"

    def test_fast_test_tokens_match_the_local_identity_provider(self, mint, secrets_dir):
        def payload(token):
            return jwt.decode(token, options={"verify_signature": False}), jwt.get_unverified_header(token)

        now = int(time.time())
        ours = payload(mint("bob", groups=OPERATOR, name="Bob", now=now))
        theirs = payload(devkeys.mint_token("bob", groups=OPERATOR, name="Bob", now=now, root=secrets_dir))
        assert ours == theirs

    def test_access_token_with_client_id_is_accepted(self, api, sign):
        token = sign(claims("alice", aud=None, token_use="access", client_id=LOCAL_AUDIENCE))
        response = call(api, token)
        assert response.status_code == 200, response.body
        assert response.json["id"] == "alice"

    def test_scheme_is_case_insensitive(self, api, mint):
        response = call(api, None, header=f"bearer {mint('alice')}")
        assert response.status_code == 200, response.body

    def test_the_name_claim_becomes_the_default_display_name(self, api, mint):
        response = call(api, mint("carol", name="Carol Danvers"))
        assert response.json["display_name"] == "Carol Danvers"


class TestRefusedTokens:
    @pytest.fixture
    def api(self, shared_api):
        return shared_api

    def test_no_header(self, api):
        assert_401(call(api, None))

    @pytest.mark.parametrize("header", ["", "Bearer", "Bearer ", "Bearer    ", "Token abc", "abc"])
    def test_empty_or_schemeless_header(self, api, header):
        assert_401(call(api, None, header=header))

    def test_non_bearer_scheme(self, api, mint):
        token = mint("alice")
        assert_401(call(api, None, header=f"Basic {token}"), secret=token)
        assert_401(call(api, None, header=f"Basic {base64.b64encode(b'alice:pw').decode()}"))

    @pytest.mark.parametrize(
        "garbage",
        ["garbage", "a.b.c", "a.b", "....", "eyJhbGciOiJSUzI1NiJ9", "eyJ9.eyJ9.eyJ9", "\u00e9t\u00e9", "x" * 5000],
    )
    def test_garbage_token(self, api, garbage):
        assert_401(call(api, garbage), secret=garbage if len(garbage) > 6 else None)

    def test_expired(self, api, mint):
        token = mint("alice", ttl_seconds=60, now=int(time.time()) - 3600)
        assert_401(call(api, token), secret=token)
        assert_not_provisioned("alice")

    def test_expired_one_second_ago(self, api, sign):
        now = int(time.time())
        assert_401(call(api, sign(claims(iat=now - 100, exp=now - 1))))

    def test_not_yet_valid(self, api, sign):
        assert_401(call(api, sign(claims(nbf=int(time.time()) + 3600))))

    def test_wrong_issuer(self, api, sign):
        assert_401(call(api, sign(claims(iss="https://evil.example/pool"))))
        assert_401(call(api, sign(claims(iss=LOCAL_ISSUER + "/"))))

    def test_missing_issuer(self, api, sign):
        assert_401(call(api, sign(claims(iss=None))))

    def test_wrong_audience(self, api, sign):
        assert_401(call(api, sign(claims(aud="another-client"))))
        assert_401(call(api, sign(claims(aud=[LOCAL_AUDIENCE, "another-client"]))))
        assert_401(call(api, sign(claims(aud=None))))

    def test_access_token_for_another_client(self, api, sign):
        # The audience of an access token is its client_id; a matching `aud` must not stand in for it.
        assert_401(call(api, sign(claims(token_use="access", client_id="another-client"))))
        assert_401(call(api, sign(claims(token_use="access"))))

    def test_id_token_whose_client_id_matches_but_audience_does_not(self, api, sign):
        assert_401(call(api, sign(claims(aud="another-client", client_id=LOCAL_AUDIENCE))))

    @pytest.mark.parametrize("token_use", [None, "refresh", "ID", "", "access "])
    def test_token_use_missing_or_wrong(self, api, sign, token_use):
        assert_401(call(api, sign(claims(token_use=token_use, client_id=LOCAL_AUDIENCE))))

    @pytest.mark.parametrize("missing", ["sub", "exp", "iat"])
    def test_required_claim_missing(self, api, sign, missing):
        assert_401(call(api, sign(claims(**{missing: None}))))

    @pytest.mark.parametrize("alg", ["none", "None", "NONE"])
    def test_alg_none(self, api, keys, alg):
        _, kid = keys
        unsigned = f"{b64url_json({'alg': alg, 'typ': 'JWT', 'kid': kid})}.{b64url_json(claims('mallory'))}."
        assert_401(call(api, unsigned))
        assert_not_provisioned("mallory")

    def test_alg_none_with_a_copied_signature(self, api, mint, keys):
        _, kid = keys
        signature = mint("alice").split(".")[2]
        forged = f"{b64url_json({'alg': 'none', 'kid': kid})}.{b64url_json(claims('mallory'))}.{signature}"
        assert_401(call(api, forged))

    @pytest.mark.parametrize(
        "public_format",
        [
            (serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
            (serialization.Encoding.PEM, serialization.PublicFormat.PKCS1),
        ],
    )
    def test_hs256_signed_with_the_public_key_as_hmac_secret(self, api, keys, public_format):
        private, kid = keys
        secret = private.public_key().public_bytes(*public_format)
        signing_input = f"{b64url_json({'alg': 'HS256', 'typ': 'JWT', 'kid': kid})}.{b64url_json(claims('mallory'))}"
        signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        assert_401(call(api, f"{signing_input}.{b64url(signature)}"))
        assert_not_provisioned("mallory")

    def test_hs256_signed_with_the_jwks_document_as_secret(self, api, keys, local_secrets):
        _, kid = keys
        secret = local_secrets.jwks_path.read_bytes()
        signing_input = f"{b64url_json({'alg': 'HS256', 'kid': kid})}.{b64url_json(claims('mallory'))}"
        signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        assert_401(call(api, f"{signing_input}.{b64url(signature)}"))

    def test_tampered_payload(self, api, mint):
        header, payload, signature = mint("alice").split(".")
        changed = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        assert changed["sub"] == "alice"
        changed["sub"] = "mallory"
        assert_401(call(api, f"{header}.{b64url_json(changed)}.{signature}"))
        assert_not_provisioned("mallory")

    def test_tampered_groups_claim(self, api, mint):
        header, payload, signature = mint("alice").split(".")
        changed = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        changed["cognito:groups"] = list(OPERATOR)
        forged = f"{header}.{b64url_json(changed)}.{signature}"
        response = call(api, forged, "/communities", "POST", body={"name": "Evil", "slug": "evil", "area": ["u0h"]})
        assert_401(response)

    def test_tampered_signature(self, api, mint):
        header, payload, signature = mint("alice").split(".")
        flipped = ("A" if signature[10] != "A" else "B").join([signature[:10], signature[11:]])
        assert_401(call(api, f"{header}.{payload}.{flipped}"))
        assert_401(call(api, f"{header}.{payload}."))

    def test_signed_by_another_key_with_our_kid(self, api, sign):
        attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        assert_401(call(api, sign(claims("mallory"), key=attacker)))
        assert_not_provisioned("mallory")

    def test_embedded_jwk_of_the_attacker_is_ignored(self, api, sign, keys):
        _, kid = keys
        attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(attacker.public_key()))
        token = sign(claims("mallory"), key=attacker, headers={"kid": kid, "jwk": jwk})
        assert_401(call(api, token))

    @pytest.mark.parametrize("algorithm", ["RS512", "RS384", "PS256"])
    def test_other_algorithms_with_our_key(self, api, sign, algorithm):
        assert_401(call(api, sign(claims(), algorithm=algorithm)))

    @pytest.mark.parametrize("kid", ["unknown-kid", "", "../../etc/passwd"])
    def test_unknown_kid(self, api, sign, kid):
        assert_401(call(api, sign(claims(), headers={"kid": kid})))

    def test_missing_kid(self, api, sign):
        assert_401(call(api, sign(claims(), headers={})))

    @pytest.mark.parametrize("kid", [["x"], {"a": 1}, 7, None])
    def test_kid_of_the_wrong_type(self, api, kid):
        signing_input = f"{b64url_json({'alg': 'RS256', 'kid': kid})}.{b64url_json(claims())}"
        assert_401(call(api, f"{signing_input}.{b64url(b'not-a-signature')}"))

    def test_refused_token_on_an_operator_route_is_401_not_403(self, api, sign):
        response = call(api, sign(claims(iss="https://evil.example")), "/communities", "POST", body={"name": "X"})
        assert_401(response)


COMMUNITY = {"name": "Genève Plainpalais", "slug": "plainpalais", "area": ["u0hq"]}


class TestRoles:
    def test_member_on_operator_routes_is_403(self, api):
        created = api.post("/communities", COMMUNITY, groups=OPERATOR)
        cid = created.json["id"]
        api.post(f"/communities/{cid}/join", as_="bob")
        attempts = [
            api.post("/communities", {**COMMUNITY, "slug": "other"}),
            api.put(f"/communities/{cid}/ambassadors/bob"),
            api.delete(f"/communities/{cid}/ambassadors/bob"),
        ]
        for response in attempts:
            assert response.status_code == 403, response.body
            assert response.headers["Content-Type"] == PROBLEM
            assert response.json["type"].endswith("/forbidden")
            assert response.json["status"] == 403
        assert [c["id"] for c in api.get("/communities?name=gen", as_=None).json["items"]] == [cid]
        assert api.get(f"/communities/{cid}/members").json["items"][0]["role"] == "member"

    def test_another_group_is_not_operator(self, api):
        response = api.post("/communities", COMMUNITY, groups=("admins", "Operators"))
        assert response.status_code == 403, response.body

    def test_operator_can_create(self, api):
        response = api.post("/communities", COMMUNITY, groups=OPERATOR)
        assert response.status_code == 201, response.body

    def test_operator_among_other_groups(self, api):
        response = api.post("/communities", COMMUNITY, groups=("staff", *OPERATOR))
        assert response.status_code == 201, response.body


class TestPublicRoutes:
    def test_work_without_a_token(self, api):
        cid = api.post("/communities", COMMUNITY, groups=OPERATOR).json["id"]
        for path in [
            "/health",
            "/openapi.json",
            "/communities?name=gen",
            "/communities?near=u0hqg",
            f"/communities/{cid}",
            f"/communities/{cid}/stats",
        ]:
            response = api.get(path, as_=None)
            assert response.status_code == 200, (path, response.body)
            assert response.headers["Content-Type"] == "application/json"

    @pytest.fixture
    def anonymous_api(self, shared_api):
        return shared_api

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", "/me"),
            ("PATCH", "/me"),
            ("GET", "/members/alice"),
            ("POST", "/communities"),
            ("POST", "/communities/x/join"),
            ("POST", "/communities/x/leave"),
            ("GET", "/communities/x/members"),
            ("PUT", "/communities/x/ambassadors/alice"),
            ("DELETE", "/communities/x/ambassadors/alice"),
        ],
    )
    def test_member_routes_need_a_token(self, anonymous_api, method, path):
        assert_401(anonymous_api.call(method, path, as_=None))


class TestAnOidcProvider:
    """Over HTTP, a Keycloak realm found by its issuer URL: its realm role makes an operator; its outage
    is a 503 problem (tests/unit/test_oidc.py covers each provider's token shape and every refusal)."""

    @pytest.fixture
    def keycloak(self, shared_api, monkeypatch):
        with oidc.serve(
            oidc.KEYCLOAK.path, {"k1": rsa.generate_private_key(public_exponent=65537, key_size=2048)}
        ) as p:
            monkeypatch.delenv("PWIIC_OIDC_JWKS_URL")
            for name, value in oidc.KEYCLOAK.env(p).items():
                monkeypatch.setenv(name, value)
            config.reset()
            auth.reset()
            yield p
        config.reset()  # the module's own settings come back with the environment
        auth.reset()

    def token(self, provider, sub: str, roles: list[str]) -> str:
        return provider.sign(oidc.keycloak_access(provider.issuer, oidc.KEYCLOAK.audience, sub, roles))

    def test_realm_role_makes_an_operator(self, shared_api, keycloak):
        body = {"name": "Keycloak", "slug": unique("kc"), "area": ["u0hq"]}
        member = call(
            shared_api, self.token(keycloak, unique("kc-member"), ["staff"]), "/communities", "POST", body=body
        )
        assert_problem(member, 403, "forbidden")
        operator = call(
            shared_api, self.token(keycloak, unique("kc-op"), ["operators"]), "/communities", "POST", body=body
        )
        assert operator.status_code == 201, operator.body

    def test_provider_outage_is_a_503_problem(self, shared_api, keycloak):
        keycloak.broken[oidc.JWKS] = oidc.Broken(502)
        problem = assert_problem(call(shared_api, self.token(keycloak, unique("kc"), [])), 503)
        assert problem["type"].endswith("/identity-provider-unavailable")

"""The token verifier against any OpenID Connect provider, found by its issuer URL: token shapes of
Cognito, Keycloak, Auth0 and a generic provider; refusals (401); the provider's outage (503, never a
500); discovery and key sets fetched once, an unknown key refetching at most once per cooldown.
A local HTTP provider (tests/oidc.py) serves the documents: no network, no DynamoDB."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any, ClassVar

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib import auth, config, errors, i18n
from tests import oidc
from tests.oidc import AUTH0, COGNITO_ACCESS, COGNITO_ID, DISCOVERY, GENERIC, JWKS, KEYCLOAK, PROFILES, Broken

OPERATORS = "operators"


@pytest.fixture(scope="module")
def keys() -> dict[str, rsa.RSAPrivateKey]:
    return {kid: rsa.generate_private_key(public_exponent=65537, key_size=2048) for kid in ("k1", "k2")}


def configure(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    monkeypatch.setenv("PWIIC_TABLE_NAME", "unused")
    monkeypatch.setenv("PWIIC_OPERATOR_GROUP", OPERATORS)
    monkeypatch.delenv("PWIIC_OIDC_JWKS_URL", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config.reset()
    auth.reset()


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    yield
    config.reset()
    auth.reset()


@pytest.fixture(params=PROFILES, ids=lambda profile: profile.name)
def profile(request: pytest.FixtureRequest) -> oidc.Profile:
    return request.param


@pytest.fixture
def provider(profile, keys, monkeypatch) -> Iterator[oidc.Provider]:
    with oidc.serve(profile.path, {"k1": keys["k1"]}) as served:
        configure(monkeypatch, profile.env(served))
        yield served


@pytest.fixture
def keycloak(keys, monkeypatch) -> Iterator[oidc.Provider]:
    with oidc.serve(KEYCLOAK.path, {"k1": keys["k1"]}) as served:
        configure(monkeypatch, KEYCLOAK.env(served))
        yield served


def token_of(profile: oidc.Profile, provider: oidc.Provider, sub: str = "alice", groups=(), **changes: Any) -> str:
    claims = profile.claims(
        provider.issuer, profile.audience, sub, list(groups) if isinstance(groups, tuple) else groups
    )
    claims.update(changes)
    return provider.sign({name: value for name, value in claims.items() if value is not None})


def verify(token: str) -> auth.Principal:
    return auth.verify_bearer(f"Bearer {token}")


def refused(token: str) -> str:
    with pytest.raises(errors.Unauthenticated) as refusal:
        verify(token)
    return refusal.value.detail()


def unavailable(token: str) -> None:
    with pytest.raises(errors.IdentityProviderUnavailable):
        verify(token)


class TestTokenShapes:
    def test_operator_is_read_from_the_providers_groups_claim(self, profile, provider):
        principal = verify(token_of(profile, provider, "alice", groups=["staff", OPERATORS]))
        assert principal.is_operator
        assert principal.member_id.endswith("alice")
        assert OPERATORS in principal.groups

    def test_member_without_the_group_is_not_operator(self, profile, provider):
        principal = verify(token_of(profile, provider, "bob", groups=["staff"]))
        assert not principal.is_operator
        assert principal.member_id.endswith("bob")

    def test_token_for_another_client_is_refused(self, profile, provider):
        claims = profile.claims(provider.issuer, "another-client", "mallory", [OPERATORS])
        assert refused(provider.sign(claims)) == "The bearer token was not issued for this API."

    def test_token_of_another_issuer_is_refused(self, profile, provider):
        refusal = refused(token_of(profile, provider, iss="https://evil.example/realms/pwiic"))
        assert refusal == i18n.text("auth.token-issuer")

    def test_expired_token_is_refused(self, profile, provider):
        now = int(time.time())
        assert refused(token_of(profile, provider, iat=now - 700, exp=now - 1)) == i18n.text("auth.token-expired")

    def test_discovery_and_keys_are_fetched_once_per_container(self, profile, provider):
        for sub in ("alice", "bob", "carol"):
            verify(token_of(profile, provider, sub))
        assert provider.hits == {DISCOVERY: 1, JWKS: 1}


class TestAudience:
    """Which claim names this API's client is a setting (docs/identity.md#audience)."""

    def test_keycloak_aud_account_does_not_stand_for_the_client(self, keycloak):
        assert refused(token_of(KEYCLOAK, keycloak, aud=KEYCLOAK.audience, azp="another-client"))

    def test_keycloak_token_is_refused_under_the_cognito_rule(self, keycloak, monkeypatch):
        monkeypatch.setenv("PWIIC_OIDC_AUDIENCE_CLAIM", "cognito")
        config.reset()
        assert "token_use" in refused(token_of(KEYCLOAK, keycloak))

    def test_cognito_access_token_needs_its_client_id(self, keys, monkeypatch):
        with oidc.serve(COGNITO_ACCESS.path, keys) as provider:
            configure(monkeypatch, COGNITO_ACCESS.env(provider))
            token = token_of(COGNITO_ACCESS, provider, client_id="another-client", aud=COGNITO_ACCESS.audience)
            assert refused(token) == "The bearer token was not issued for this API."

    def test_cognito_id_token_needs_its_aud_as_one_string(self, keys, monkeypatch):
        with oidc.serve(COGNITO_ID.path, keys) as provider:
            configure(monkeypatch, COGNITO_ID.env(provider))
            assert refused(token_of(COGNITO_ID, provider, aud=[COGNITO_ID.audience, "another-client"]))
            assert refused(token_of(COGNITO_ID, provider, token_use="refresh"))

    def test_aud_rule_accepts_a_list_holding_ours_only(self, keys, monkeypatch):
        with oidc.serve(AUTH0.path, keys) as provider:
            configure(monkeypatch, AUTH0.env(provider))
            assert verify(token_of(AUTH0, provider, aud=["x", AUTH0.audience])).member_id == "auth0|alice"
            assert refused(token_of(AUTH0, provider, aud=["x", "y"]))
            assert refused(token_of(AUTH0, provider, aud=None))

    @pytest.mark.parametrize(
        ("rule", "claims"), [("client_id", {"client_id": "pwiic-app"}), ("azp", {"azp": "pwiic-app"})]
    )
    def test_each_rule_reads_its_claim_alone(self, keys, monkeypatch, rule, claims):
        with oidc.serve(GENERIC.path, keys) as provider:
            configure(monkeypatch, {**GENERIC.env(provider), "PWIIC_OIDC_AUDIENCE_CLAIM": rule})
            assert verify(token_of(GENERIC, provider, aud="account", **claims)).member_id == "alice"
            assert refused(token_of(GENERIC, provider))  # `aud` alone names the client: not read by this rule


class TestForgedTokens:
    def test_alg_none(self, keycloak):
        header = _b64({"alg": "none", "typ": "JWT", "kid": "k1"})
        claims = KEYCLOAK.claims(keycloak.issuer, KEYCLOAK.audience, "mallory", [OPERATORS])
        assert refused(f"{header}.{_b64(claims)}.") == i18n.text("auth.token-algorithm")

    @pytest.mark.parametrize("token", ["abc.def.ghi", "a.b", "\u00e9.\u00e9.\u00e9", "x" * 300])
    def test_a_malformed_token_is_refused_in_the_catalogue_s_words(self, keycloak, token):
        assert refused(token) == i18n.text("auth.token-malformed")  # never PyJWT's own English

    def test_a_token_without_a_required_claim_names_it(self, keycloak):
        claims = KEYCLOAK.claims(keycloak.issuer, KEYCLOAK.audience, "mallory", [])
        del claims["iat"]
        assert refused(keycloak.sign(claims)) == i18n.text("auth.token-claim-missing", params={"claim": "iat"})

    def test_hs256_signed_with_the_public_key(self, keycloak, keys):
        public = (
            keys["k1"]
            .public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
        claims = KEYCLOAK.claims(keycloak.issuer, KEYCLOAK.audience, "mallory", [OPERATORS])
        signing_input = f"{_b64({'alg': 'HS256', 'typ': 'JWT', 'kid': 'k1'})}.{_b64(claims)}"
        signature = base64.urlsafe_b64encode(hmac.new(public, signing_input.encode(), hashlib.sha256).digest())
        assert refused(f"{signing_input}.{signature.rstrip(b'=').decode()}")

    def test_signed_by_another_key_under_a_published_kid(self, keycloak):
        attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        claims = KEYCLOAK.claims(keycloak.issuer, KEYCLOAK.audience, "mallory", [OPERATORS])
        assert refused(keycloak.sign(claims, key=attacker)) == i18n.text("auth.token-signature")

    @pytest.mark.parametrize("sub", ["a#b", "a b", "x" * 65, "line\nbreak"])
    def test_a_subject_that_cannot_be_a_member_id(self, keycloak, sub):
        claims = KEYCLOAK.claims(keycloak.issuer, KEYCLOAK.audience, sub, [])
        assert refused(keycloak.sign(claims)) == i18n.text(auth._UNUSABLE_SUBJECT)

    def test_token_without_kid_fetches_nothing(self, keycloak, keys):
        claims = KEYCLOAK.claims(keycloak.issuer, KEYCLOAK.audience, "mallory", [])
        assert refused(jwt.encode(claims, keys["k1"], algorithm="RS256")) == i18n.text(auth._UNKNOWN_KEY)
        assert keycloak.hits == {}


class TestKeyRotation:
    """With the real 30 s cooldown, on a clock of PyJWT's JWKS client the test moves by hand."""

    class Clock:
        def __init__(self) -> None:
            self.now = 1000.0

        def monotonic(self) -> float:
            return self.now

    @pytest.fixture
    def clock(self, monkeypatch) -> TestKeyRotation.Clock:
        clock = self.Clock()
        monkeypatch.setattr(jwt.jwks_client, "time", clock)
        return clock

    def test_unknown_kid_refetches_the_key_set_at_most_once_per_cooldown(self, keycloak, keys, clock):
        assert verify(token_of(KEYCLOAK, keycloak)).member_id == "alice"
        unknown = keycloak.sign(KEYCLOAK.claims(keycloak.issuer, KEYCLOAK.audience, "x", []), "k2", key=keys["k2"])
        clock.now += auth.KEY_REFRESH_COOLDOWN_SECONDS - 1
        assert refused(unknown) == i18n.text(auth._UNKNOWN_KEY)  # within the cooldown of the first fetch: no refetch
        assert keycloak.hits[JWKS] == 1
        clock.now += 1
        for _ in range(3):
            assert refused(unknown) == i18n.text(auth._UNKNOWN_KEY)
        assert keycloak.hits[JWKS] == 2
        clock.now += auth.KEY_REFRESH_COOLDOWN_SECONDS
        assert refused(unknown) == i18n.text(auth._UNKNOWN_KEY)
        assert keycloak.hits[JWKS] == 3

    def test_a_rotated_key_is_fetched_and_accepted(self, keycloak, keys, clock):
        verify(token_of(KEYCLOAK, keycloak))
        keycloak.keys["k2"] = keys["k2"]
        clock.now += auth.KEY_REFRESH_COOLDOWN_SECONDS
        rotated = keycloak.sign(KEYCLOAK.claims(keycloak.issuer, KEYCLOAK.audience, "bob", []), "k2")
        assert verify(rotated).member_id == "bob"
        assert keycloak.hits == {DISCOVERY: 1, JWKS: 2}


class TestProviderOutage:
    """Whatever stops the API from getting the provider's keys is a 503, not a 401 and never a 500."""

    @pytest.mark.parametrize(
        ("document", "broken"),
        [
            (DISCOVERY, Broken(500)),
            (DISCOVERY, Broken(404)),
            (DISCOVERY, Broken(200, b"<html>maintenance</html>")),
            (DISCOVERY, Broken(200, b"[1, 2]")),
            (JWKS, Broken(503)),
            (JWKS, Broken(200, b"<html>maintenance</html>")),
            (JWKS, Broken(200, b'"keys"')),
            (JWKS, Broken(200, b'{"keys": []}')),
        ],
        ids=lambda value: value if isinstance(value, str) else f"{value.status}-{value.body[:12]!r}",
    )
    def test_broken_document_is_unavailable_then_recovers(self, keycloak, document, broken):
        token = token_of(KEYCLOAK, keycloak)
        keycloak.broken[document] = broken
        unavailable(token)
        del keycloak.broken[document]  # the failure is not cached: the next request tries again
        assert verify(token).member_id == "alice"

    def test_a_provider_that_hangs_answers_503_within_the_timeout(self, keycloak, monkeypatch):
        monkeypatch.setattr(auth, "FETCH_TIMEOUT_SECONDS", 0.2)
        keycloak.broken[DISCOVERY] = Broken(200, b"{}", delay=1.0)
        started = time.perf_counter()
        unavailable(token_of(KEYCLOAK, keycloak))
        assert time.perf_counter() - started < 0.9

    def test_a_provider_that_refuses_connections(self, keys, monkeypatch):
        with oidc.serve(KEYCLOAK.path, keys) as gone:
            token = token_of(KEYCLOAK, gone)
        configure(monkeypatch, KEYCLOAK.env(gone))  # its server is closed: connection refused
        unavailable(token)

    def test_a_discovery_document_of_another_issuer(self, keycloak):
        keycloak.document = {"issuer": "https://evil.example/realms/pwiic", "jwks_uri": keycloak.jwks_uri}
        unavailable(token_of(KEYCLOAK, keycloak))
        assert keycloak.hits[JWKS] == 0

    @pytest.mark.parametrize("jwks_uri", ["file:///etc/passwd", "ftp://127.0.0.1/keys", None, 7])
    def test_a_jwks_uri_that_is_not_http_is_never_opened(self, keycloak, jwks_uri):
        keycloak.document = {"issuer": keycloak.issuer, "jwks_uri": jwks_uri}
        unavailable(token_of(KEYCLOAK, keycloak))

    def test_a_malformed_token_is_still_a_401_while_the_provider_is_down(self, keycloak):
        keycloak.broken[DISCOVERY] = Broken(500)
        assert refused("not.a.token") == i18n.text("auth.token-malformed")
        assert keycloak.hits == {}

    def test_keys_already_fetched_keep_working_while_the_provider_is_down(self, keycloak):
        verify(token_of(KEYCLOAK, keycloak, "alice"))
        keycloak.broken[DISCOVERY] = keycloak.broken[JWKS] = Broken(500)
        assert verify(token_of(KEYCLOAK, keycloak, "bob")).member_id == "bob"


class TestClaimPath:
    CLAIMS: ClassVar[dict[str, Any]] = {
        "cognito:groups": ["a"],
        "realm_access": {"roles": ["b"]},
        "resource_access": {"pwiic-app": {"roles": ["c"]}},
        "https://pwiic.coop/groups": ["d"],
        "https://pwiic.coop": {"roles": ["e"]},
        "plain": "f",
    }

    @pytest.mark.parametrize(
        ("path", "expected"),
        [
            ("cognito:groups", ["a"]),
            ("realm_access.roles", ["b"]),
            ("resource_access.pwiic-app.roles", ["c"]),
            ("https://pwiic.coop/groups", ["d"]),
            ("https://pwiic.coop.roles", ["e"]),
            ("plain", "f"),
            ("plain.deeper", None),
            ("realm_access.missing", None),
            ("missing", None),
            ("cognito", None),
        ],
    )
    def test_claim_at(self, path, expected):
        assert auth.claim_at(self.CLAIMS, path) == expected

    @pytest.mark.parametrize(
        ("groups", "operator"),
        [(OPERATORS, True), ([OPERATORS, 7], True), ({"operators": True}, False), (7, False), ([["operators"]], False)],
    )
    def test_a_single_name_counts_a_malformed_claim_does_not(self, keys, monkeypatch, groups, operator):
        with oidc.serve(GENERIC.path, keys) as provider:
            configure(monkeypatch, GENERIC.env(provider))
            assert verify(token_of(GENERIC, provider, groups=[])).groups == frozenset()
            assert verify(token_of(GENERIC, provider, "bob", groups=groups)).is_operator is operator


class TestSettings:
    def test_unknown_audience_rule_is_a_configuration_error(self, monkeypatch):
        configure(monkeypatch, {"PWIIC_OIDC_ISSUER": "https://id.example", "PWIIC_OIDC_AUDIENCE": "c"})
        monkeypatch.setenv("PWIIC_OIDC_AUDIENCE_CLAIM", "sub")
        with pytest.raises(RuntimeError, match="PWIIC_OIDC_AUDIENCE_CLAIM"):
            config.settings()

    def test_issuer_must_be_a_url(self, monkeypatch):
        configure(monkeypatch, {"PWIIC_OIDC_ISSUER": "eu-central-2_Pool", "PWIIC_OIDC_AUDIENCE": "c"})
        with pytest.raises(RuntimeError, match="PWIIC_OIDC_ISSUER"):
            config.settings()

    def test_defaults_are_cognitos(self, monkeypatch):
        configure(monkeypatch, {"PWIIC_OIDC_ISSUER": "https://id.example", "PWIIC_OIDC_AUDIENCE": "c"})
        for name in ("PWIIC_OIDC_AUDIENCE_CLAIM", "PWIIC_OIDC_GROUPS_CLAIM"):
            monkeypatch.delenv(name, raising=False)
        settings = config.settings()
        assert (settings.oidc_audience_claim, settings.oidc_groups_claim) == ("cognito", "cognito:groups")
        assert settings.oidc_jwks_url is None


def _b64(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

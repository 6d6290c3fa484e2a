"""A local OpenID Connect provider for tests, and tokens shaped like those of real providers.

`Provider` serves a discovery document and a JWKS over HTTP on 127.0.0.1, counts the fetches of each,
and can be broken (a status, a body, a delay) per document. `PROFILES` are the token shapes of Cognito
(ID and access tokens), Keycloak (access token: `aud` "account", `azp`, `realm_access.roles`), Auth0
(an API audience among two, a namespaced groups claim) and a generic provider (`groups`), each with the
settings that make the API accept it.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

DISCOVERY = "discovery"
JWKS = "jwks"


@dataclass
class Broken:
    status: int = 500
    body: bytes = b"unavailable"
    delay: float = 0.0


@dataclass
class Provider:
    """One issuer at http://127.0.0.1:<port><path>; `keys` are what its JWKS publishes."""

    path: str
    keys: dict[str, rsa.RSAPrivateKey]
    port: int = 0
    hits: Counter[str] = field(default_factory=Counter)
    broken: dict[str, Broken] = field(default_factory=dict)
    document: dict[str, Any] = field(default_factory=dict)  # replaces the discovery document when set

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    @property
    def jwks_uri(self) -> str:
        return self.issuer.rstrip("/") + "/protocol/openid-connect/certs"

    def answer(self, url_path: str) -> tuple[int, bytes, float]:
        base = self.path.rstrip("/")
        kind = {f"{base}/.well-known/openid-configuration": DISCOVERY, base + "/protocol/openid-connect/certs": JWKS}
        what = kind.get(url_path)
        if what is None:
            return 404, b"not found", 0.0
        self.hits[what] += 1
        if what in self.broken:
            broken = self.broken[what]
            return broken.status, broken.body, broken.delay
        if what == DISCOVERY:
            document = self.document or {"issuer": self.issuer, "jwks_uri": self.jwks_uri}
            return 200, json.dumps(document).encode(), 0.0
        published = [public_jwk(key, kid) for kid, key in self.keys.items()]
        return 200, json.dumps({"keys": published}).encode(), 0.0

    def sign(
        self, claims: dict[str, Any], kid: str = "k1", *, key: Any = None, headers: dict[str, Any] | None = None
    ) -> str:
        return jwt.encode(claims, key or self.keys[kid], algorithm="RS256", headers={"kid": kid, **(headers or {})})


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk: dict[str, Any] = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


@contextmanager
def serve(path: str, keys: dict[str, rsa.RSAPrivateKey]) -> Iterator[Provider]:
    provider = Provider(path, dict(keys))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body, delay = provider.answer(self.path)
            time.sleep(delay)
            with suppress(ConnectionError):  # a client that timed out waiting has hung up
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    provider.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()


# Token shapes: what each provider puts in a signed-in member's token.


def _times(ttl: int = 600) -> dict[str, int]:
    now = int(time.time())
    return {"iat": now, "auth_time": now, "exp": now + ttl}


def cognito_id(issuer: str, client: str, sub: str, groups: list[str]) -> dict[str, Any]:
    claims = {"iss": issuer, "aud": client, "sub": sub, "token_use": "id", "cognito:username": sub, **_times()}
    return claims | ({"cognito:groups": groups} if groups else {})


def cognito_access(issuer: str, client: str, sub: str, groups: list[str]) -> dict[str, Any]:
    claims = {"iss": issuer, "client_id": client, "sub": sub, "token_use": "access", "username": sub, **_times()}
    claims["scope"] = "aws.cognito.signin.user.admin"
    return claims | ({"cognito:groups": groups} if groups else {})


def keycloak_access(issuer: str, client: str, sub: str, groups: list[str]) -> dict[str, Any]:
    return {
        "iss": issuer,
        "aud": "account",
        "azp": client,
        "typ": "Bearer",
        "sub": sub,
        "sid": "5f0c2f5e-session",
        "scope": "openid profile",
        "preferred_username": sub,
        "realm_access": {"roles": ["offline_access", "default-roles-pwiic", *groups]},
        "resource_access": {"account": {"roles": ["manage-account", "view-profile"]}},
        **_times(),
    }


def auth0_access(issuer: str, client: str, sub: str, groups: list[str]) -> dict[str, Any]:
    return {
        "iss": issuer,
        "aud": [client, issuer + "userinfo"],  # here `client` is the API identifier
        "azp": "spa-client-id",
        "sub": f"auth0|{sub}",
        "scope": "openid profile",
        "https://pwiic.coop/groups": groups,
        **_times(),
    }


def generic_id(issuer: str, client: str, sub: str, groups: list[str]) -> dict[str, Any]:
    return {"iss": issuer, "aud": client, "sub": sub, "groups": groups, "name": sub.title(), **_times()}


@dataclass(frozen=True)
class Profile:
    """A provider's token shape, and the settings the API needs to accept it."""

    name: str
    path: str  # the issuer's path on the test server (Auth0's issuer ends with a slash)
    audience: str
    audience_claim: str
    groups_claim: str
    claims: Callable[[str, str, str, list[str]], dict[str, Any]]

    def env(self, provider: Provider) -> dict[str, str]:
        return {
            "PWIIC_OIDC_ISSUER": provider.issuer,
            "PWIIC_OIDC_AUDIENCE": self.audience,
            "PWIIC_OIDC_AUDIENCE_CLAIM": self.audience_claim,
            "PWIIC_OIDC_GROUPS_CLAIM": self.groups_claim,
        }


COGNITO_ID = Profile("cognito-id", "/eu-central-2_Pool", "app-client", "cognito", "cognito:groups", cognito_id)
COGNITO_ACCESS = Profile(
    "cognito-access", "/eu-central-2_Pool", "app-client", "cognito", "cognito:groups", cognito_access
)
KEYCLOAK = Profile("keycloak", "/realms/pwiic", "pwiic-app", "azp", "realm_access.roles", keycloak_access)
AUTH0 = Profile("auth0", "/tenant/", "https://api.pwiic.coop", "aud", "https://pwiic.coop/groups", auth0_access)
GENERIC = Profile("generic", "/oidc", "pwiic-app", "aud", "groups", generic_id)
PROFILES = (COGNITO_ID, COGNITO_ACCESS, KEYCLOAK, AUTH0, GENERIC)

"""Bearer-token verification: RS256 JWTs from any OpenID Connect provider (Cognito, Keycloak, Auth0...)
found by its issuer URL, or signed with the local identity provider's key file (docs/identity.md)."""

from __future__ import annotations

import http.client
import json
import re
import time
import urllib.request
from collections.abc import Mapping
from functools import cache, lru_cache
from typing import Any, Protocol
from urllib.parse import urlparse

from msgspec import Struct

from chalicelib import errors
from chalicelib.config import AudienceClaim, settings
from chalicelib.domain.members import IDENTIFIER_PATTERN
from chalicelib.observability import logger

ALGORITHMS = ["RS256"]
# A provider that has not answered within this is down: the request gets a 503, far inside the
# function's 20 s timeout.
FETCH_TIMEOUT_SECONDS = 3.0
# How long a container keeps a key set: a key the provider withdraws is refused at most this much later.
KEYS_LIFESPAN_SECONDS = 3600.0
# A token naming a key the set lacks (the provider rotated its keys) refetches the set at most this often.
KEY_REFRESH_COOLDOWN_SECONDS = 30.0

_UNKNOWN_KEY = "auth.unknown-signing-key"
_UNUSABLE_SUBJECT = "auth.unusable-subject"
# Why PyJWT refused a token, by its exception's name (most specific first), in the catalogues' words: the
# library's own message is English and names its internals. Anything else: `auth.token-invalid`.
_TOKEN_REFUSALS = (
    ("ExpiredSignatureError", "auth.token-expired"),
    ("InvalidSignatureError", "auth.token-signature"),
    ("InvalidIssuerError", "auth.token-issuer"),
    ("InvalidAlgorithmError", "auth.token-algorithm"),
    ("ImmatureSignatureError", "auth.token-not-yet-valid"),
    ("InvalidIssuedAtError", "auth.token-not-yet-valid"),
    ("DecodeError", "auth.token-malformed"),
)


class Principal(Struct, frozen=True):
    member_id: str
    groups: frozenset[str]
    name: str | None = None
    locale: str | None = None  # the member's language, as their identity provider holds it (OIDC `locale`)

    @property
    def is_operator(self) -> bool:
        return settings().operator_group in self.groups


class _Keys(Protocol):
    def key(self, kid: str) -> Any: ...


class _FileKeys:
    """The local identity provider's key set (a `file://` JWKS written by tools/devkeys.py)."""

    def __init__(self, path: str) -> None:
        import jwt

        with open(path, encoding="utf-8") as handle:
            jwks = jwt.PyJWKSet.from_dict(json.load(handle))
        self._keys = {key.key_id: key.key for key in jwks.keys if key.key_id}

    def key(self, kid: str) -> Any:
        if kid not in self._keys:
            raise errors.Unauthenticated(_UNKNOWN_KEY)
        return self._keys[kid]


def _remote_keys(url: str) -> _Keys:
    """PyJWT's JWKS client (key set cached, an unknown `kid` refetching it at most once per cooldown),
    whose failures to fetch a usable key set are the provider's outage (503), never the token's fault."""
    import jwt

    class RemoteKeys(jwt.PyJWKClient):
        def fetch_data(self) -> Any:
            try:
                return super().fetch_data()
            except (OSError, ValueError, http.client.HTTPException, jwt.PyJWTError) as exc:
                raise _unavailable(f"key set at {self.uri}", exc) from None

        def key(self, kid: str) -> Any:
            try:
                return self.get_signing_key(kid).key
            except jwt.PyJWKClientError:
                raise errors.Unauthenticated(_UNKNOWN_KEY) from None

    return RemoteKeys(
        url,
        lifespan=KEYS_LIFESPAN_SECONDS,
        timeout=FETCH_TIMEOUT_SECONDS,
        cooldown_duration=KEY_REFRESH_COOLDOWN_SECONDS,
    )


def _unavailable(what: str, cause: Exception) -> errors.IdentityProviderUnavailable:
    logger.warning("identity provider unavailable", extra={"what": what, "cause": repr(cause)[:300]})
    return errors.IdentityProviderUnavailable("auth.identity-provider-cannot-reached")


def _discovered_jwks_uri(issuer: str) -> str:
    """The `jwks_uri` of the issuer's OpenID Connect discovery document (OpenID Connect Discovery 1.0 §4)."""
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as response:
            document = json.load(response)
    except (OSError, ValueError, http.client.HTTPException) as exc:
        raise _unavailable(url, exc) from None
    if not isinstance(document, dict) or document.get("issuer") != issuer:  # §4.3: it must be this issuer's
        raise _unavailable(url, ValueError("the document does not describe this issuer"))
    jwks_uri = document.get("jwks_uri")
    if not isinstance(jwks_uri, str) or urlparse(jwks_uri).scheme not in ("https", "http"):
        raise _unavailable(url, ValueError("the document has no http(s) jwks_uri"))
    return jwks_uri


@cache
def _keys(issuer: str, jwks_url: str | None) -> _Keys:
    """The issuer's signing keys, once per container (a failed discovery is not cached: the next request retries)."""
    url = jwks_url or _discovered_jwks_uri(issuer)
    if urlparse(url).scheme == "file":
        return _FileKeys(urlparse(url).path)
    return _remote_keys(url)


def verify_bearer(authorization: str | None) -> Principal:
    """Check signature, issuer, audience, expiry; read the member id and groups."""
    if not authorization:
        raise errors.Unauthenticated("auth.authorization-bearer-token-header")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise errors.Unauthenticated("auth.authorization-header-must-bearer")
    principal, expires_at = _verified(token.strip())
    if expires_at <= time.time():
        raise errors.Unauthenticated("auth.token-expired")
    return principal


@lru_cache(maxsize=4096)
def _verified(token: str) -> tuple[Principal, float]:
    """A token's signature and claims are checked once per container; only its expiry is checked
    again on later requests (failures are not cached)."""
    import jwt

    config = settings()
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except (jwt.PyJWTError, ValueError) as exc:
        raise _refusal(exc) from None
    if not kid:  # never a key set refresh for a token that names no key
        raise errors.Unauthenticated(_UNKNOWN_KEY)
    key = _keys(config.oidc_issuer, config.oidc_jwks_url).key(kid)
    required = ["exp", "iat", "sub", "iss"] + (["token_use"] if config.oidc_audience_claim == "cognito" else [])
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=ALGORITHMS,
            issuer=config.oidc_issuer,
            options={"require": required, "verify_aud": False},
        )
    except (jwt.PyJWTError, ValueError) as exc:
        raise _refusal(exc) from None
    if not issued_for(claims, config.oidc_audience, config.oidc_audience_claim):
        raise errors.Unauthenticated("auth.bearer-token-was-issued")
    subject = str(claims["sub"])
    if not re.match(IDENTIFIER_PATTERN, subject):
        raise errors.Unauthenticated(_UNUSABLE_SUBJECT)
    name = claims.get("name") or claims.get("preferred_username")
    principal = Principal(
        member_id=subject,
        groups=_groups(claim_at(claims, config.oidc_groups_claim)),
        name=name if isinstance(name, str) else None,
        locale=locale if isinstance(locale := claims.get("locale"), str) else None,
    )
    return principal, float(claims["exp"])


def issued_for(claims: Mapping[str, Any], audience: str, claim: AudienceClaim) -> bool:
    """Whether the token names this API's client where `claim` says (docs/identity.md#audience)."""
    if claim == "cognito":  # Cognito: an ID token's `aud`, an access token's `client_id`; always one string
        token_use = claims.get("token_use")
        named = claims.get("aud") if token_use == "id" else claims.get("client_id") if token_use == "access" else None
        return named == audience
    named = claims.get(claim)
    if claim == "aud" and isinstance(named, list):  # RFC 7519: one string, or a list holding ours
        return audience in named
    return named == audience


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """The claim at a dotted path (`realm_access.roles`), or None. A key may itself hold dots or colons
    (`cognito:groups`, `https://pwiic.coop/groups`): at each level the longest key present wins."""
    if path in claims:
        return claims[path]
    cut = len(path)
    while (cut := path.rfind(".", 0, cut)) > 0:
        node = claims.get(path[:cut])
        if isinstance(node, Mapping):
            return claim_at(node, path[cut + 1 :])
    return None


def _refusal(exc: Exception) -> errors.Unauthenticated:
    import jwt

    if isinstance(exc, jwt.MissingRequiredClaimError):
        return errors.Unauthenticated("auth.token-claim-missing", params={"claim": exc.claim})
    for name, message_id in _TOKEN_REFUSALS:
        if isinstance(exc, getattr(jwt, name)):
            return errors.Unauthenticated(message_id)
    return errors.Unauthenticated("auth.token-invalid")


def _groups(value: Any) -> frozenset[str]:
    """A list of names, or one name; anything else (a malformed claim) is no group at all."""
    if isinstance(value, str):
        return frozenset({value})
    if isinstance(value, list):
        return frozenset(item for item in value if isinstance(item, str))
    return frozenset()


def reset() -> None:
    _keys.cache_clear()
    _verified.cache_clear()

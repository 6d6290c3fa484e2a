"""Bearer-token verification: RS256 JWTs from Cognito (or the local identity provider)."""

from __future__ import annotations

import json
import time
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from msgspec import Struct

from chalicelib import errors
from chalicelib.config import settings

if TYPE_CHECKING:
    import jwt

ALGORITHMS = ["RS256"]


class Principal(Struct, frozen=True):
    member_id: str
    groups: frozenset[str]
    name: str | None = None

    @property
    def is_operator(self) -> bool:
        return settings().operator_group in self.groups


class _KeySet:
    """Signing keys by `kid`, loaded once per container (Cognito's JWKS URL, or a local file)."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._client: jwt.PyJWKClient | None = None
        self._local: dict[str, Any] | None = None

    def key_for(self, token: str) -> Any:
        import jwt

        if urlparse(self._url).scheme == "file":
            if self._local is None:
                with open(urlparse(self._url).path, encoding="utf-8") as handle:
                    jwks = jwt.PyJWKSet.from_dict(json.load(handle))
                self._local = {key.key_id: key.key for key in jwks.keys if key.key_id}
            kid = jwt.get_unverified_header(token).get("kid")
            if kid not in self._local:
                raise jwt.InvalidTokenError("unknown signing key")
            return self._local[kid]
        if self._client is None:
            self._client = jwt.PyJWKClient(self._url, cache_keys=True, lifespan=24 * 3600)
        return self._client.get_signing_key_from_jwt(token).key


@cache
def _key_set(url: str) -> _KeySet:
    return _KeySet(url)


def verify_bearer(authorization: str | None) -> Principal:
    """Check signature, issuer, audience (ID token) or client id (access token), expiry and token use."""
    if not authorization:
        raise errors.Unauthenticated("An 'Authorization: Bearer <token>' header is required.")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise errors.Unauthenticated("The Authorization header must be 'Bearer <token>'.")
    principal, expires_at = _verified(token.strip())
    if expires_at <= time.time():
        raise errors.Unauthenticated("The bearer token is not valid: Signature has expired.")
    return principal


@lru_cache(maxsize=4096)
def _verified(token: str) -> tuple[Principal, float]:
    """A token's signature and claims are checked once per container; only its expiry is checked
    again on later requests (failures are not cached)."""
    import jwt

    config = settings()
    try:
        key = _key_set(config.jwks_url).key_for(token)
        claims = jwt.decode(
            token,
            key,
            algorithms=ALGORITHMS,
            issuer=config.jwt_issuer,
            options={"require": ["exp", "iat", "sub", "iss", "token_use"], "verify_aud": False},
        )
    except (jwt.PyJWTError, ValueError) as exc:
        raise errors.Unauthenticated(f"The bearer token is not valid: {exc}.") from None
    token_use = claims.get("token_use")
    audience = claims.get("aud") if token_use == "id" else claims.get("client_id")
    if token_use not in ("id", "access") or audience != config.jwt_audience:
        raise errors.Unauthenticated("The bearer token was not issued for this API.")
    groups = claims.get("cognito:groups") or []
    principal = Principal(
        member_id=str(claims["sub"]),
        groups=frozenset(str(group) for group in groups),
        name=claims.get("name") or claims.get("preferred_username"),
    )
    return principal, float(claims["exp"])


def reset() -> None:
    _key_set.cache_clear()
    _verified.cache_clear()

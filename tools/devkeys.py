"""Local identity provider: a signing key made on first use (never committed) and Cognito-shaped ID tokens.

Usage: python -m tools.devkeys mint SUB [--group operators] [--name NAME] [--ttl SECONDS]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import secrets
import tempfile
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tools.localstack import LOCAL_DIR, STRIPE_LOCAL_KEY

LOCAL_ISSUER = "https://auth.pwiic.localhost/local"
LOCAL_AUDIENCE = "pwiic-local-client"
OPERATOR_GROUP = "operators"


@dataclass(frozen=True)
class LocalSecrets:
    private_key_path: Path
    jwks_path: Path
    cursor_secret: str
    stripe_webhook_secret: str


def _create_once(path: Path, data: bytes, mode: int) -> None:
    """Write `path` atomically unless it exists; concurrent callers (test workers) keep the first writer's file."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(descriptor, mode)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        with suppress(FileExistsError):
            os.link(temporary, path)  # unlike rename, never replaces an existing file
    finally:
        os.unlink(temporary)


def _write_public(path: Path, text: str) -> None:
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(descriptor, 0o644)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _load_private_key(path: Path) -> rsa.RSAPrivateKey:
    return _parse_private_key(path.read_bytes())


@cache
def _parse_private_key(pem: bytes) -> rsa.RSAPrivateKey:
    """Cached: loading an RSA key validates it, which costs ~0.2 s every time."""
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the local key is not an RSA private key")
    return key


def _public_jwk(key: rsa.RSAPrivateKey) -> dict[str, str]:
    jwk: dict[str, Any] = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    # RFC 7638 thumbprint: SHA-256 over the required members, sorted, without whitespace.
    required = json.dumps({name: jwk[name] for name in ("e", "kty", "n")}, separators=(",", ":"), sort_keys=True)
    kid = base64.urlsafe_b64encode(hashlib.sha256(required.encode()).digest()).rstrip(b"=").decode()
    return {"kty": jwk["kty"], "n": jwk["n"], "e": jwk["e"], "kid": kid, "alg": "RS256", "use": "sig"}


def ensure_local_secrets(root: Path = LOCAL_DIR) -> LocalSecrets:
    """Create whatever local key material and secrets are missing under `root`, and return them."""
    private_key_path = root / "keys" / "private.pem"
    jwks_path = root / "keys" / "jwks.json"
    secrets_path = root / "secrets.json"

    if not private_key_path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        _create_once(private_key_path, pem, 0o600)
    # Derived from the key on disk, so it is always the key that mint_token signs with.
    jwks = json.dumps({"keys": [_public_jwk(_load_private_key(private_key_path))]}, indent=2) + "\n"
    if not jwks_path.exists() or jwks_path.read_text(encoding="utf-8") != jwks:
        _write_public(jwks_path, jwks)

    if not secrets_path.exists():
        generated = {
            "cursor_secret": secrets.token_urlsafe(32),
            "stripe_webhook_secret": "whsec_" + secrets.token_hex(24),
        }
        _create_once(secrets_path, (json.dumps(generated, indent=2) + "\n").encode(), 0o600)
    stored = json.loads(secrets_path.read_text(encoding="utf-8"))
    return LocalSecrets(
        private_key_path=private_key_path,
        jwks_path=jwks_path,
        cursor_secret=stored["cursor_secret"],
        stripe_webhook_secret=stored["stripe_webhook_secret"],
    )


def mint_token(
    sub: str,
    *,
    groups: Sequence[str] = (),
    name: str | None = None,
    ttl_seconds: int = 12 * 3600,
    root: Path = LOCAL_DIR,
    now: int | None = None,
    claims: Mapping[str, Any] | None = None,
) -> str:
    """An RS256 ID token shaped like Cognito's, signed with the local key (with any other `claims`)."""
    private_key_path = root / "keys" / "private.pem"
    if not private_key_path.exists():
        ensure_local_secrets(root)
    key = _load_private_key(private_key_path)
    issued_at = int(time.time()) if now is None else now
    token: dict[str, Any] = {
        "iss": LOCAL_ISSUER,
        "aud": LOCAL_AUDIENCE,
        "token_use": "id",
        "sub": sub,
        "iat": issued_at,
        "exp": issued_at + ttl_seconds,
    }
    if groups:
        token["cognito:groups"] = list(groups)
    if name is not None:
        token["name"] = name
    return jwt.encode({**(claims or {}), **token}, key, algorithm="RS256", headers={"kid": _public_jwk(key)["kid"]})


def local_env(
    local: LocalSecrets, *, dynamodb_endpoint: str, table_name: str, stripe_api_base: str | None = None
) -> dict[str, str]:
    """The environment the app needs to run against the local stack."""
    stripe = {"PWIIC_STRIPE_API_BASE": stripe_api_base} if stripe_api_base else {}
    return {
        **stripe,
        "PWIIC_STAGE": "local",
        "PWIIC_TABLE_NAME": table_name,
        "PWIIC_DYNAMODB_ENDPOINT": dynamodb_endpoint,
        "AWS_DEFAULT_REGION": "eu-central-2",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "PWIIC_OIDC_ISSUER": LOCAL_ISSUER,
        "PWIIC_OIDC_AUDIENCE": LOCAL_AUDIENCE,
        # The local provider publishes no discovery document: its key file is named instead. Not
        # Path.as_uri(): the app opens urlparse(url).path, which must stay unescaped.
        "PWIIC_OIDC_JWKS_URL": "file://" + str(local.jwks_path.resolve()),
        "PWIIC_OPERATOR_GROUP": OPERATOR_GROUP,
        "PWIIC_CURSOR_SECRET": local.cursor_secret,
        "PWIIC_STRIPE_SECRET_KEY": STRIPE_LOCAL_KEY,
        "PWIIC_STRIPE_WEBHOOK_SECRET": local.stripe_webhook_secret,
        "PWIIC_STRIPE_PUBLISHABLE_KEY": "pk_test_local",
        # DynamoDB Local on a laptop is far slower than DynamoDB under load: give contended writes time.
        "PWIIC_RETRY_BUDGET_SECONDS": "60",
        "PWIIC_DYNAMODB_READ_TIMEOUT_SECONDS": "10",
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.devkeys", description="Local identity provider.")
    commands = parser.add_subparsers(dest="command", required=True)
    mint = commands.add_parser("mint", help="print a local ID token")
    mint.add_argument("sub", help="the member id (token subject)")
    mint.add_argument("--group", action="append", default=[], help="a group such as 'operators'; repeatable")
    mint.add_argument("--name", help="display name claim")
    mint.add_argument("--ttl", type=int, default=12 * 3600, help="lifetime in seconds (default: 12 hours)")
    mint.add_argument("--locale", help="the member's language claim, such as 'fr-CH' (else Accept-Language counts)")
    args = parser.parse_args(argv)
    claims = {"locale": args.locale} if args.locale else None
    print(mint_token(args.sub, groups=args.group, name=args.name, ttl_seconds=args.ttl, claims=claims))


if __name__ == "__main__":
    main()

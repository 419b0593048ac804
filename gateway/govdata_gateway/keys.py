"""The gateway's token signing key and the JWKS it publishes.

The private key is a PEM file (`GOVDATA_JWT_KEY_FILE`, default `<data dir>/keys/gateway-signing-key.pem`).
Production mounts it from a Secret; the embedded default generates it on first run.

Rotation: put the new private key in place and keep the old *public* key as `<anything>.pub.pem` in the same
directory. Both are published in the JWKS (`kid` = RFC 7638 thumbprint), so tokens signed with the old key
stay valid until they expire; then delete the old public key.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwk, jwt

from govdata_gateway.settings import GatewaySettings

log = logging.getLogger("govdata.gateway.keys")

ALGORITHM = "RS256"
KEY_SIZE = 2048


class SigningKeyError(RuntimeError):
    """The signing key cannot be loaded; the message says what to do."""


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def rsa_thumbprint(e: str, n: str) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url) of an RSA key given as JWK `e` and `n`."""
    # Required members only, lexicographic order, no whitespace (RFC 7638 §3.2).
    canonical = json.dumps({"e": e, "kty": "RSA", "n": n}, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def public_jwk(public_key: rsa.RSAPublicKey) -> dict[str, str]:
    """The public JWK of `public_key` with its thumbprint as `kid`."""
    numbers = public_key.public_numbers()
    n, e = _b64url_uint(numbers.n), _b64url_uint(numbers.e)
    return {"kty": "RSA", "n": n, "e": e, "kid": rsa_thumbprint(e, n), "alg": ALGORITHM, "use": "sig"}


def _write_private_key(path: Path, key: rsa.RSAPrivateKey) -> None:
    """Write `key` to `path` atomically with mode 0600, never replacing a file that appeared meanwhile."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd, tmp = tempfile.mkstemp(prefix=".signing-key-", suffix=".tmp", dir=path.parent)  # mkstemp: mode 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
            f.flush()
            os.fsync(f.fileno())
        # link() fails if the target exists: two replicas starting together keep one key, not two.
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise
        except OSError:
            # Some volumes cannot hard-link; rename is still atomic, only the race guard is weaker.
            if path.exists():
                raise FileExistsError(path) from None
            os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


# Keys loaded by this process, by the file's bytes: loading checks the RSA key (~50 ms of CPU), once per key, not
# once per app started in the process.
_LOADED: dict[bytes, rsa.RSAPrivateKey] = {}


def _load_private_key(path: Path) -> rsa.RSAPrivateKey:
    pem = path.read_bytes()
    digest = hashlib.sha256(pem).digest()
    if (key := _LOADED.get(digest)) is not None:
        return key
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"signing key {path} is not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise SigningKeyError(f"signing key {path} must be an RSA key (RS256), got {type(key).__name__}")
    _LOADED[digest] = key
    return key


def _load_public_key(path: Path) -> rsa.RSAPublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except ValueError as exc:
        raise SigningKeyError(f"previous public key {path} is not a PEM public key: {exc}") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise SigningKeyError(f"previous public key {path} must be an RSA key, got {type(key).__name__}")
    return key


class SigningKey:
    """The current RSA signing key plus previous public keys still published for verification."""

    algorithm = ALGORITHM

    def __init__(
        self, private_key: rsa.RSAPrivateKey, previous: Iterable[rsa.RSAPublicKey] = (), *, path: Path | None = None
    ) -> None:
        self.path = path
        self._private_key = private_key
        self._jwk = public_jwk(private_key.public_key())
        self.kid: str = self._jwk["kid"]
        # Build the jose key once from the loaded key object: handing jose a PEM makes it re-parse and
        # re-check the key (~70 ms) on every signature.
        self._signer = jwk.construct(private_key, ALGORITHM)
        published = {self.kid: self._jwk}
        for pub in previous:
            entry = public_jwk(pub)
            published.setdefault(entry["kid"], entry)
        self._published = list(published.values())

    @classmethod
    def load(
        cls,
        path: Path,
        *,
        generate: bool = False,
        previous: Iterable[Path] | None = None,
        key_size: int = KEY_SIZE,
    ) -> SigningKey:
        """Load the key at `path` (generating it when allowed and missing).

        Previous public keys: `previous` when given, else every `*.pub.pem` beside `path`.
        """
        path = Path(path)
        if not path.exists():
            if not generate:
                raise SigningKeyError(
                    f"signing key {path} does not exist. In production mount it from a Secret and point "
                    "GOVDATA_JWT_KEY_FILE at it; set GOVDATA_JWT_GENERATE_KEY=true only for the embedded default."
                )
            key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
            try:
                _write_private_key(path, key)
                log.info("generated a new %d-bit signing key at %s", key_size, path)
            except FileExistsError:
                pass  # another process won the race; use its key
        private_key = _load_private_key(path)
        if previous is None:
            previous = sorted(p for p in path.parent.glob("*.pub.pem") if p.is_file())
        return cls(private_key, [_load_public_key(p) for p in previous], path=path)

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> SigningKey:
        return cls.load(settings.signing_key_path(), generate=settings.govdata_jwt_generate_key)

    def public_jwk(self) -> dict[str, str]:
        return dict(self._jwk)

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The JWKS document: the current key first, then previous ones."""
        return {"keys": [dict(k) for k in self._published]}

    def public_key_pem(self) -> bytes:
        """The current public key as PEM (what to keep as `*.pub.pem` when rotating)."""
        return self._private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, claims: Mapping[str, Any]) -> str:
        """A compact JWS (RS256) of `claims` whose header names this key's `kid`."""
        return jwt.encode(dict(claims), self._signer, algorithm=ALGORITHM, headers={"kid": self.kid})

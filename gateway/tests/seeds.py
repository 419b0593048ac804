"""What a test's gateway starts from, made once per test process instead of once per gateway: clients files with
each secret and password given as its argon2id hash (seeding a plain one costs ~20 ms of CPU each), and the RSA
signing key (generating a 2048-bit key costs ~50 ms).

Only for tests about something else: seeding from plain secrets is tested in test_identity.py and on the demo
clients file (e2e, browser), and generating a missing key in test_identity.py.
"""

from __future__ import annotations

import copy
import functools
import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from govdata_gateway import passwords


@functools.cache
def secret_hash(plain: str) -> str:
    """An argon2id hash of `plain`, the same one for the whole test process."""
    return passwords.hash_secret(plain)


def hashed(document: dict[str, Any]) -> dict[str, Any]:
    """A copy of a clients-file document whose clients' `client_secret` and users' `password` are given hashed
    (`client_secret_hash`, `password_hash`), as an operator's file gives them."""
    result = copy.deepcopy(document)
    for client in result.get("clients", []):
        if "client_secret" in client:
            client["client_secret_hash"] = secret_hash(client.pop("client_secret"))
    for user in result.get("users", []):
        if "password" in user:
            user["password_hash"] = secret_hash(user.pop("password"))
    return result


@functools.cache
def _signing_key_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pkcs8 = serialization.PrivateFormat.PKCS8
    return key.private_bytes(serialization.Encoding.PEM, pkcs8, serialization.NoEncryption())


def place_signing_key(path: Path) -> Path:
    """This process's signing key at `path` (mode 0600, as the gateway writes one), unless a key is there."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(_signing_key_pem())
    return path

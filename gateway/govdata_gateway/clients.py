"""The clients file that seeds the identity registry, and the principal a token is issued to.

The file named by `GOVDATA_CLIENTS_FILE` (YAML, or JSON when it ends in `.json`):

    departments: [{code: YC-GA, name: 伊川县公安局}, ...]
    systems:     # 应用系统 (第二十九条: shared data is granted to a business system of a department)
      - {id: ga-zonghe, dept: YC-GA, name: 公安综合业务系统}
    clients:     # machine clients (OAuth2 client_credentials), optionally bound to one system of their department
      - {client_id: ga-system, client_secret: "…", dept: YC-GA, roles: [dept_operator], system: ga-zonghe}
      - {client_id: ga-head, client_secret_hash: "$argon2id$…", dept: YC-GA, roles: [dept_head]}
      - {client_id: citizen-1, client_secret: "…", roles: [citizen], subject_id: "34052419800101001X"}
      - {client_id: portal, client_secret: "…", roles: [], redirect_uris: ["https://…/auth/callback"]}
    users:       # people who sign in (authorization code + PKCE)
      - {username: zhangmin, password: "…", name: 张敏, dept: YC-MZ, roles: [dept_operator]}
      - {username: wangjg, password_hash: "$argon2id$…", name: 王建国, roles: [citizen], subject_id: "…"}

A secret or password is given plain (demos) or as a hash (`client_secret_hash`, `password_hash`: argon2id, or
PBKDF2-SHA256 from files written before); the registry stores only hashes. Any entry may say `disabled: true`.
Operators make a hash with

    python -m govdata_gateway.clients hash-secret < secret.txt

and check a file with `python -m govdata_gateway.clients check FILE`.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from govdata_shared.auth import KNOWN_ROLES, Role

from govdata_gateway import passwords

log = logging.getLogger("govdata.gateway.clients")

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_SECTIONS = ("departments", "systems", "clients", "users")
_DEPT_FIELDS = {"code", "name", "disabled"}
_SYSTEM_FIELDS = {"id", "dept", "name", "disabled"}
_CLIENT_FIELDS = {
    "client_id",
    "client_secret",
    "client_secret_hash",
    "dept",
    "roles",
    "subject_id",
    "name",
    "system",
    "redirect_uris",
    "disabled",
}
_USER_FIELDS = {"username", "password", "password_hash", "name", "dept", "roles", "subject_id", "disabled"}


@dataclass(frozen=True)
class Client:
    """Who a token is issued to: a machine client, a person, or the gateway itself."""

    client_id: str
    dept: str | None
    roles: frozenset[str]
    subject_id: str | None = None
    name: str | None = None
    system: str | None = None  # the 应用系统 a machine client acts for

    @property
    def is_citizen(self) -> bool:
        return Role.CITIZEN in self.roles


class ClientsFileError(ValueError):
    """The clients file is invalid; `errors` lists every problem, each naming the entry and field."""

    def __init__(self, source: str, errors: list[str]) -> None:
        self.source = source
        self.errors = errors
        super().__init__(f"invalid clients file {source}:\n  - " + "\n  - ".join(errors))


@dataclass
class ClientsFile:
    """The file's entries, validated, each as the mapping the file gave (plain secrets still plain)."""

    source: str
    departments: dict[str, dict[str, Any]] = field(default_factory=dict)
    systems: dict[str, dict[str, Any]] = field(default_factory=dict)
    clients: dict[str, dict[str, Any]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_data(cls, data: Any, *, source: str = "<data>") -> ClientsFile:
        """Validate parsed file content; raise `ClientsFileError` listing every problem."""
        checked = cls(source)
        errors = _Checker(checked).check(data)
        if errors:
            raise ClientsFileError(source, errors)
        return checked

    @classmethod
    def from_file(cls, path: Path | str) -> ClientsFile:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ClientsFileError(str(path), [f"cannot read the file: {exc.strerror or exc}"]) from None
        try:
            data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
        except (ValueError, yaml.YAMLError) as exc:
            kind = "JSON" if path.suffix.lower() == ".json" else "YAML"
            raise ClientsFileError(str(path), [f"not valid {kind}: {exc}"]) from None
        return cls.from_data(data, source=str(path))


def load_clients_file(path: Path | str) -> ClientsFile:
    return ClientsFile.from_file(path)


# --------------------------------------------------------------------------------------------- validation


def password_policy_violation(password: str, username: str) -> str | None:
    """等保 2.0 third level: at least 8 characters from three of lower case, upper case, digits and others, and
    not the username. The reason in Chinese, or None."""
    if len(password) < 8:
        return "密码至少 8 位"
    classes = sum(
        (
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )
    if classes < 3:
        return "密码须包含大写字母、小写字母、数字和符号中的至少三类"
    if username and username.lower() in password.lower():
        return "密码不能包含用户名"
    return None


class _Checker:
    def __init__(self, result: ClientsFile) -> None:
        self.result = result
        self.errors: list[str] = []

    def check(self, data: Any) -> list[str]:
        if not isinstance(data, Mapping):
            return ["the file must be a mapping with 'departments' and 'clients' (and optionally 'systems', 'users')"]
        for extra in sorted(set(map(str, data)) - set(_SECTIONS)):
            # Other sections may belong to other tools; only ours are checked strictly.
            log.warning("clients file: ignoring top-level field '%s'", extra)
        for section in _SECTIONS:
            entries = data.get(section, [] if section in ("systems", "users") else None)
            if not isinstance(entries, list):
                self.errors.append(f"field '{section}' must be a list")
                continue
            for i, raw in enumerate(entries):
                getattr(self, f"_{section}")(i, raw)
        return self.errors

    # ---- one entry each

    def _entry(self, kind: str, i: int, raw: Any, key: str, fields: set[str], seen: Mapping[str, Any]):
        """(where, err, id) for one entry; id is None when it is unusable."""
        where = f"{kind}s[{i}]"
        if not isinstance(raw, Mapping):
            self.errors.append(f"{where}: must be a mapping")
            return where, None, None
        ident = raw.get(key)
        if isinstance(ident, str) and ident:
            where = f"{kind} '{ident}' ({where})"

        def err(name: str, message: str) -> None:
            self.errors.append(f"{where}: field '{name}': {message}")

        for extra in sorted(set(map(str, raw)) - fields):
            err(extra, "unknown field")
        if not isinstance(ident, str) or not (ID_RE.match(ident) or (kind == "department" and ident.strip())):
            err(key, "required; 1-64 characters of letters, digits, '.', '_' or '-'")
            ident = None
        elif ident in seen:
            err(key, f"duplicate {key}")
            ident = None
        if "disabled" in raw and not isinstance(raw["disabled"], bool):
            err("disabled", "must be true or false")
        if raw.get("name") is not None and (not isinstance(raw["name"], str) or not raw["name"].strip()):
            err("name", "must be a non-empty string")
        return where, err, ident

    def _departments(self, i: int, raw: Any) -> None:
        _, err, code = self._entry("department", i, raw, "code", _DEPT_FIELDS, self.result.departments)
        if err is None:
            return
        if not isinstance(raw.get("name"), str) or not raw["name"].strip():
            err("name", "must be a non-empty string")
        elif code is not None:
            self.result.departments[code] = dict(raw)

    def _systems(self, i: int, raw: Any) -> None:
        _, err, ident = self._entry("system", i, raw, "id", _SYSTEM_FIELDS, self.result.systems)
        if err is None:
            return
        ok = ident is not None and self._dept(err, raw.get("dept"), required=True)
        if not isinstance(raw.get("name"), str) or not raw["name"].strip():
            err("name", "must be a non-empty string")
        elif ok:
            self.result.systems[ident] = dict(raw)

    def _dept(self, err, dept: Any, *, required: bool) -> bool:
        if dept is None and not required:
            return True
        if not isinstance(dept, str) or not dept:
            err("dept", "needs the code of a department listed under 'departments'")
            return False
        if dept not in self.result.departments:
            err("dept", f"unknown department '{dept}'; listed: {', '.join(self.result.departments) or 'none'}")
            return False
        return True

    def _roles(self, err, raw: Mapping[str, Any], *, allow_empty: bool = False) -> list[str]:
        roles = raw.get("roles")
        if not isinstance(roles, list) or (not roles and not allow_empty):
            err("roles", f"must be a non-empty list of roles from {sorted(KNOWN_ROLES)}")
            return []
        if not all(isinstance(r, str) for r in roles):
            err("roles", "every role must be a string")
            return []
        unknown = [r for r in roles if r not in KNOWN_ROLES]
        if unknown:
            err("roles", f"unknown role(s) {unknown}; known roles: {sorted(KNOWN_ROLES)}")
        return roles

    def _person_or_department(self, err, raw: Mapping[str, Any], roles: list[str]) -> bool:
        """Citizens have a subject_id and no department; everyone else a department and no subject_id."""
        before = len(self.errors)
        subject_id, dept = raw.get("subject_id"), raw.get("dept")
        if Role.CITIZEN in roles:
            if len(set(roles)) > 1:
                err("roles", "a citizen cannot also hold department roles")
            if not isinstance(subject_id, str) or not subject_id.strip():
                err("subject_id", "citizens need the subject_id (ID card or unified social credit code) as a string")
            if dept is not None:
                err("dept", "citizens belong to no department")
        else:
            if subject_id is not None:
                err("subject_id", "only citizens have a subject_id")
            self._dept(err, dept, required=bool(roles))
        return len(self.errors) == before

    def _secret(self, err, raw: Mapping[str, Any], plain: str, hashed: str) -> None:
        secret, secret_hash = raw.get(plain), raw.get(hashed)
        if (secret is None) == (secret_hash is None):
            err(plain, f"give exactly one of '{plain}' or '{hashed}'")
        elif secret is not None and (not isinstance(secret, str) or not secret):
            err(plain, "must be a non-empty string (quote it in YAML)")
        elif secret_hash is not None:
            try:
                passwords.check_hash(secret_hash)
            except ValueError as exc:
                err(hashed, str(exc))

    def _clients(self, i: int, raw: Any) -> None:
        _, err, cid = self._entry("client", i, raw, "client_id", _CLIENT_FIELDS, self.result.clients)
        if err is None:
            return
        before = len(self.errors)
        self._secret(err, raw, "client_secret", "client_secret_hash")
        uris = raw.get("redirect_uris")
        roles = self._roles(err, raw, allow_empty=uris is not None)
        self._person_or_department(err, raw, roles)
        if uris is not None and (not isinstance(uris, list) or not uris or not all(map(is_redirect_uri, uris))):
            err("redirect_uris", "must be a non-empty list of absolute http(s) URLs without a fragment")
        system = raw.get("system")
        if system is not None:
            known = self.result.systems.get(system) if isinstance(system, str) else None
            if known is None:
                err("system", f"unknown system '{system}'; systems are listed under 'systems' before use")
            elif known["dept"] != raw.get("dept"):
                err("system", f"system '{system}' belongs to {known['dept']}, not to the client's department")
        if cid is not None and len(self.errors) == before:
            self.result.clients[cid] = dict(raw)

    def _users(self, i: int, raw: Any) -> None:
        _, err, username = self._entry("user", i, raw, "username", _USER_FIELDS, self.result.users)
        if err is None:
            return
        before = len(self.errors)
        self._secret(err, raw, "password", "password_hash")
        if isinstance(raw.get("password"), str) and raw["password"]:
            reason = password_policy_violation(raw["password"], username or "")
            if reason:
                err("password", f"too weak: {reason}")
        roles = self._roles(err, raw)
        self._person_or_department(err, raw, roles)
        if username is not None and len(self.errors) == before:
            self.result.users[username] = dict(raw)


def is_redirect_uri(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not parts.fragment


# --------------------------------------------------------------------------------------------- CLI


def _read_secret() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("secret: ")
    text = sys.stdin.read()
    # Drop only the line ending a pipe or file adds; other whitespace is part of the secret.
    return text[:-2] if text.endswith("\r\n") else text[:-1] if text.endswith("\n") else text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m govdata_gateway.clients", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("hash-secret", help="read a secret or password from stdin and print its argon2id hash")
    check = sub.add_parser("check", help="validate a clients file")
    check.add_argument("file", type=Path)
    args = parser.parse_args(argv)

    if args.command == "hash-secret":
        secret = _read_secret()
        if not secret:
            print("error: empty secret", file=sys.stderr)
            return 2
        print(passwords.hash_secret(secret))
        return 0
    try:
        checked = ClientsFile.from_file(args.file)
    except ClientsFileError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(
        f"ok: {len(checked.departments)} departments, {len(checked.systems)} systems, "
        f"{len(checked.clients)} clients, {len(checked.users)} users"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

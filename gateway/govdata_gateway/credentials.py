"""Credentials the gateway presents to providers' upstream systems, by `credential_ref`.

A resource's interface names a `credential_ref`, never a secret. The secrets live in the file named by
`GOVDATA_UPSTREAM_CREDENTIALS_FILE` (YAML, or JSON when it ends in `.json`), mounted from a Secret in production:

    mz-records: {Authorization: "Bearer 3f…", X-Api-Key: "…"}
    ga-population: {X-Api-Key: "…"}

Each ref maps to the headers added to every data call forwarded to that resource's upstream. A ref the file does
not list means the call goes without a credential (logged once). Values are never logged.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

log = logging.getLogger("govdata.gateway.credentials")

_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")  # RFC 9110 token
# Headers a credential may not set: the gateway frames the request itself.
_RESERVED = frozenset({"host", "content-length", "transfer-encoding", "connection", "x-request-id"})


class CredentialsFileError(ValueError):
    def __init__(self, source: str, errors: list[str]) -> None:
        self.errors = errors
        super().__init__(f"invalid upstream credentials file {source}:\n  - " + "\n  - ".join(errors))


class UpstreamCredentials:
    """ref → headers (read-only)."""

    def __init__(self, by_ref: Mapping[str, Mapping[str, str]] | None = None) -> None:
        self._by_ref: Mapping[str, Mapping[str, str]] = MappingProxyType(
            {ref: MappingProxyType(dict(headers)) for ref, headers in (by_ref or {}).items()}
        )
        self._warned: set[str] = set()

    def __len__(self) -> int:
        return len(self._by_ref)

    def headers_for(self, ref: str | None) -> Mapping[str, str]:
        if not ref:
            return {}
        headers = self._by_ref.get(ref)
        if headers is None:
            if ref not in self._warned:
                self._warned.add(ref)
                log.warning("no upstream credential for credential_ref %r: calling without one", ref)
            return {}
        return headers

    @classmethod
    def from_data(cls, data: Any, *, source: str = "<data>") -> UpstreamCredentials:
        errors: list[str] = []
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise CredentialsFileError(source, ["the file must be a mapping credential_ref → {header: value}"])
        by_ref: dict[str, dict[str, str]] = {}
        for ref, headers in data.items():
            if not isinstance(ref, str) or not ref.strip():
                errors.append(f"{ref!r}: a credential_ref must be a non-empty string")
                continue
            if not isinstance(headers, Mapping) or not headers:
                errors.append(f"'{ref}': must be a non-empty mapping of header name → value")
                continue
            clean: dict[str, str] = {}
            for name, value in headers.items():
                if not isinstance(name, str) or not _HEADER_NAME.match(name):
                    errors.append(f"'{ref}': {name!r} is not a valid header name")
                elif name.lower() in _RESERVED:
                    errors.append(f"'{ref}': header {name} is set by the gateway and cannot be a credential")
                elif not isinstance(value, str) or not value or "\r" in value or "\n" in value:
                    errors.append(f"'{ref}': the value of {name} must be a non-empty single-line string")
                else:
                    clean[name] = value
            by_ref[ref] = clean
        if errors:
            raise CredentialsFileError(source, errors)
        return cls(by_ref)

    @classmethod
    def from_file(cls, path: Path | str | None) -> UpstreamCredentials:
        if path is None:
            return cls()
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CredentialsFileError(str(path), [f"cannot read the file: {exc.strerror or exc}"]) from None
        try:
            data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
        except (ValueError, yaml.YAMLError):
            # The parser's message may quote the file, i.e. a secret: say only where to look.
            raise CredentialsFileError(str(path), ["not valid JSON/YAML"]) from None
        credentials = cls.from_data(data, source=str(path))
        log.info("upstream credentials: %d refs from %s", len(credentials), path)
        return credentials

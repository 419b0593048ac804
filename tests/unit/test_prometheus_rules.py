"""The alert expressions of deploy/k8s/base/monitoring/prometheus-rules.yaml are PromQL that Prometheus accepts, and
every metric they read exists: one the platform's code defines (its prometheus_client objects), or one of the
third-party exporters' listed below — the Kafka brokers' names also come out of the JMX exporter rules we ship.

The parser is promql-parser (the Rust parser of GreptimeDB, Prometheus' grammar and function signatures): a typo,
a vector where a range is due (`rate(x)`), an unknown function or a bad duration fails here, not in Prometheus'
operator logs after an apply. The structure of each rule (severity, texts, runbook) is test_k8s_manifests.py's.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import prometheus_client
import promql_parser
import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
BASE = REPO_ROOT / "deploy" / "k8s" / "base"
RULES = BASE / "monitoring" / "prometheus-rules.yaml"
KAFKA_METRICS = BASE / "infra" / "kafka-metrics.yaml"
CODE_ROOTS = ("shared", "gateway", "portal", "services")
NAMESPACE = "govdata"

# Metrics the platform's code does not define, by the exporter that serves them. A name here must be one that
# exporter really produces (its documentation or source); a name an alert reads that is in neither list fails.
THIRD_PARTY_METRICS = {
    # Prometheus itself: one per scrape target.
    "up",
    # Strimzi Kafka Exporter (Kafka.spec.kafkaExporter): consumer groups' committed offsets and lag per partition.
    "kafka_consumergroup_lag",
    "kafka_consumergroup_current_offset",
    # Strimzi Cluster Operator: when each Kafka cluster's CAs expire (labels cluster, type, resource_namespace).
    "strimzi_certificate_expiration_timestamp_ms",
    # CloudNativePG instance exporter, the operator's default queries (pg_replication, pg_stat_archiver).
    "cnpg_pg_replication_lag",
    "cnpg_pg_replication_in_recovery",
    "cnpg_pg_replication_is_wal_receiver_up",
    "cnpg_pg_stat_archiver_last_failed_time",
    "cnpg_pg_stat_archiver_last_archived_time",
    # The Barman Cloud plugin, through the instances' exporter: the latest available and failed base backups.
    "barman_cloud_cloudnative_pg_io_last_available_backup_timestamp",
    "barman_cloud_cloudnative_pg_io_last_failed_backup_timestamp",
    # CloudNativePG Pooler (PgBouncer) exporter: SHOW POOLS.
    "cnpg_pgbouncer_pools_cl_waiting",
    # ingress-nginx controller: expiry of each host's certificate (label host).
    "nginx_ingress_controller_ssl_expire_time_seconds",
}
# The Kafka brokers' metrics: only what a rule of our JMX exporter configuration (kafka-metrics.yaml) produces.
KAFKA_JMX_PREFIXES = ("kafka_server_", "kafka_controller_", "kafka_log_", "kafka_network_")
# Selectors that may omit namespace="govdata": their series are not labelled with our targets' namespace.
EQUAL = promql_parser.MatchOp.Equal
NOT_INSTANT_VECTORS = (
    promql_parser.MatrixSelector,
    promql_parser.SubqueryExpr,
    promql_parser.NumberLiteral,
    promql_parser.StringLiteral,
)
NAMESPACE_EXEMPT = {
    "strimzi_certificate_expiration_timestamp_ms",  # the operator's pod; selected by cluster and resource_namespace
    "nginx_ingress_controller_ssl_expire_time_seconds",  # the ingress controller's pods; selected by host
}


# --- the rules ------------------------------------------------------------------------------------------------


def rules() -> Iterator[tuple[str, dict[str, Any]]]:
    with RULES.open(encoding="utf-8") as f:
        for doc in yaml.safe_load_all(f):
            if doc and doc.get("kind") == "PrometheusRule":
                for group in doc["spec"]["groups"]:
                    for rule in group["rules"]:
                        yield f"{group['name']}/{rule.get('alert') or rule.get('record')}", rule


RULE_IDS = [name for name, _ in rules()]


def selectors(expr: str) -> list[promql_parser.VectorSelector]:
    """Every vector selector of `expr` (those inside range selectors and subqueries too)."""
    found: list[promql_parser.VectorSelector] = []

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            found.append(node)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found


def matchers(selector: promql_parser.VectorSelector) -> dict[str, tuple[promql_parser.MatchOp, str]]:
    """label → (operator, value) of a selector's label matchers."""
    return {m.name: (m.op, m.value) for m in selector.matchers.matchers}


def metric_name(selector: promql_parser.VectorSelector) -> str:
    name = selector.name or matchers(selector).get("__name__", ("", ""))[1]
    assert name, f"a selector without a metric name: {selector}"
    return name


# --- the metrics that exist -----------------------------------------------------------------------------------


def module_name(path: Path) -> str:
    """The dotted module name of a source file: from its topmost package down."""
    parts = [path.stem]
    directory = path.parent
    while (directory / "__init__.py").is_file():
        parts.insert(0, directory.name)
        directory = directory.parent
    return ".".join(parts)


@cache
def code_metrics() -> frozenset[str]:
    """Every sample name the platform's prometheus_client objects expose (a counter's `_total`, a histogram's
    `_bucket`/`_sum`/`_count`, …): the modules that use prometheus_client are imported, then the registry asked."""
    for root in CODE_ROOTS:
        for path in sorted((REPO_ROOT / root).rglob("*.py")):
            if "tests" in path.parts or "migrations" in path.parts:
                continue
            if "prometheus_client" in path.read_text(encoding="utf-8"):
                importlib.import_module(module_name(path))
    # The registry's private index is its one complete list: a labelled metric without children yields no sample.
    return frozenset(prometheus_client.REGISTRY._names_to_collectors)


@cache
def kafka_jmx_metrics() -> frozenset[str]:
    """The metric names the JMX exporter rules of kafka-metrics.yaml can produce: each rule's name with every `$n`
    that stands for an alternation of literals `(A|B|…)` expanded, lower-cased as lowercaseOutputName says."""
    (configmap,) = yaml.safe_load_all(KAFKA_METRICS.read_text(encoding="utf-8"))
    (config_text,) = configmap["data"].values()
    config = yaml.safe_load(config_text)
    assert config.get("lowercaseOutputName") is True, "the alerts use lower-case names"
    names: set[str] = set()
    for rule in config["rules"]:
        groups = re.findall(r"\(([^()]*)\)", rule["pattern"])
        expanded = [rule["name"]]
        for index, group in enumerate(groups, start=1):
            token = f"${index}"
            if not any(token in name for name in expanded):
                continue
            assert re.fullmatch(r"[A-Za-z]+(\|[A-Za-z]+)*", group), f"{rule['name']}: ${index} is not literals"
            expanded = [name.replace(token, literal) for name in expanded for literal in group.split("|")]
        names |= {name.lower() for name in expanded}
    return frozenset(names)


def unknown_metrics(expr: str) -> set[str]:
    """The metric names `expr` reads that nothing defines."""
    unknown = set()
    for selector in selectors(expr):
        name = metric_name(selector)
        if name.startswith(KAFKA_JMX_PREFIXES):
            known = name in kafka_jmx_metrics()
        else:
            known = name in code_metrics() or name in THIRD_PARTY_METRICS
        if not known:
            unknown.add(name)
    return unknown


# --- the tests --------------------------------------------------------------------------------------------------


def test_the_rules_file_holds_alerts() -> None:
    assert len(RULE_IDS) >= 20, RULE_IDS


@pytest.mark.parametrize(("rule_id", "rule"), list(rules()), ids=RULE_IDS)
def test_expression_parses_and_reads_only_metrics_that_exist(rule_id: str, rule: dict[str, Any]) -> None:
    try:
        tree = promql_parser.parse(rule["expr"])
    except ValueError as exc:
        pytest.fail(f"{rule_id}: not PromQL: {exc}")
    # An alert fires on every series its expression returns: an instant vector, never a range or a literal.
    assert not isinstance(tree, NOT_INSTANT_VECTORS), f"{rule_id}: {type(tree).__name__} is no instant vector"
    unknown = unknown_metrics(rule["expr"])
    assert not unknown, f"{rule_id} reads metrics nothing defines: {sorted(unknown)}"


@pytest.mark.parametrize(("rule_id", "rule"), list(rules()), ids=RULE_IDS)
def test_expression_reads_the_platforms_namespace_only(rule_id: str, rule: dict[str, Any]) -> None:
    """The Prometheus may watch other tenants' Kafka, Postgres or services: a selector without namespace="govdata"
    would alert on theirs. `up` of the Strimzi Cluster Operator (any namespace) is selected by its job."""
    for selector in selectors(rule["expr"]):
        name, labels = metric_name(selector), matchers(selector)
        if name in NAMESPACE_EXEMPT or (name == "up" and labels.get("job") == (EQUAL, "cluster-operator")):
            continue
        assert labels.get("namespace") == (EQUAL, NAMESPACE), f"{rule_id}: {selector} does not select {NAMESPACE}"


def test_code_metrics_include_the_ones_the_runbooks_name() -> None:
    """The collection above really finds the code's metrics (a counter by its sample name, labelled or not)."""
    for name in (
        "govdata_events_failed_total",
        "govdata_outbox_pending",
        "govdata_gateway_projection_ready",
        "govdata_gateway_projection_lag_messages",
        "govdata_gateway_access_spool_unsent_bytes",
        "govdata_gateway_access_log_refusals_total",
        "govdata_deadlines_overdue",
        "govdata_deadlines_checked_timestamp_seconds",
        "govdata_http_request_duration_seconds_bucket",
    ):
        assert name in code_metrics(), name


def test_checks_refuse_what_prometheus_would_refuse_and_names_nothing_defines() -> None:
    """Planted mistakes: each is caught."""
    for bad in (
        "rate(govdata_events_failed_total[5m]",  # unclosed
        "rate(govdata_events_failed_total)",  # a vector where a range is due
        "sum by (kind) govdata_deadlines_overdue > 0 1",  # trailing garbage
        "deriv(govdata_gateway_access_spool_unsent_bytes[10x]) > 0",  # bad duration
        "increse(govdata_events_failed_total[5m]) > 0",  # unknown function
    ):
        with pytest.raises(ValueError):
            promql_parser.parse(bad)
    assert unknown_metrics('govdata_deadline_overdue{namespace="govdata"} > 0') == {"govdata_deadline_overdue"}
    assert unknown_metrics("kafka_server_replicamanager_underreplicated > 0") == {
        "kafka_server_replicamanager_underreplicated"
    }
    assert not unknown_metrics("kafka_server_replicamanager_underminisrpartitioncount > 0")
    assert not unknown_metrics("rate(kafka_server_brokertopicmetrics_messagesin_total[5m]) > 0")
    assert not unknown_metrics("cnpg_pg_replication_lag > 60 and up == 1")

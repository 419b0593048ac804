"""Gateway configuration (environment variables; documented in the README)."""

from __future__ import annotations

import math
import os
from functools import lru_cache
from pathlib import Path

from govdata_shared.settings import Settings
from pydantic import Field, SecretStr


def available_cpus() -> int:
    """CPUs this process may use: the cgroup v2 quota (a Kubernetes CPU limit), else the CPU affinity."""
    cpus = len(os.sched_getaffinity(0))
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text(encoding="ascii").split()
        if quota != "max":
            cpus = min(cpus, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        pass
    return max(cpus, 1)


class GatewaySettings(Settings):
    service_name: str = "gateway"
    gateway_host: str = Field("127.0.0.1", description="Address the gateway listens on.")
    gateway_port: int = Field(8000, description="Port the gateway listens on.")
    gateway_metrics_host: str = Field(
        "127.0.0.1",
        description="Address of the Prometheus metrics listener (`GET /metrics`), apart from the public port; "
        "0.0.0.0 in Kubernetes, where Prometheus scrapes the pod.",
    )
    gateway_metrics_port: int = Field(
        9464, ge=0, le=65535, description="Port of the metrics listener; 0: no metrics listener."
    )
    govdata_clients_file: Path | None = Field(None, description="Departments and clients (YAML or JSON).")
    govdata_demo: bool = Field(False, description="Load the demo data even with a clients file.")
    govdata_jwt_key_file: Path | None = Field(
        None, description="PEM private signing key; default <data dir>/keys/gateway-signing-key.pem."
    )
    govdata_jwt_generate_key: bool = Field(
        True, description="Generate the signing key on first run if the file is missing (embedded default)."
    )
    govdata_token_ttl_seconds: int = Field(900, description="Lifetime of API access tokens.")
    govdata_secret_rotation_grace_seconds: int = Field(
        86400,
        ge=0,
        description="How long a client's previous secret stays valid after a rotation through /api/identity "
        "(a working day to roll the new one out to every instance of the system); 0 ends it at once.",
    )

    # ---- throttling of failed authentications (clients and people alike), and people's sign-in (signin/)
    auth_max_failures: int = Field(
        5, gt=0, description="Failed authentications of one account from one address before it is locked there."
    )
    auth_lockout_seconds: int = Field(900, gt=0, description="How long such a lock lasts (等保 2.0: 15 minutes).")
    auth_trusted_proxies: str = Field(
        "",
        description="Comma-separated addresses or networks of reverse proxies whose X-Forwarded-For is believed "
        "when telling a caller's address; empty: the TCP peer is the caller.",
    )
    signin_access_token_ttl_seconds: int = Field(600, gt=0, description="Lifetime of people's access tokens.")
    signin_idle_timeout_seconds: int = Field(
        1800, gt=0, description="A sign-in whose refresh token is unused this long has ended (idle timeout)."
    )
    signin_session_max_seconds: int = Field(
        43200, gt=0, description="Longest a sign-in lasts however active it is; then the person signs in again."
    )
    signin_code_ttl_seconds: int = Field(60, gt=0, description="Lifetime of a one-time authorization code.")
    signin_form_ttl_seconds: int = Field(600, gt=0, description="How long a login page may be filled in.")
    signin_cookie_secure: bool = Field(
        True, description="Mark the login page's cookie Secure (browsers accept it on http://127.0.0.1 too)."
    )
    signin_totp_issuer: str = Field(
        "伊川县政务大数据平台", description="Issuer shown by authenticator apps for the second factor (TOTP)."
    )
    catalog_url: str = Field("http://127.0.0.1:8101", description="catalog-svc base URL.")
    sharing_url: str = Field("http://127.0.0.1:8102", description="sharing-svc base URL.")
    verification_url: str = Field("http://127.0.0.1:8103", description="verification-svc base URL.")
    audit_url: str = Field("http://127.0.0.1:8104", description="audit-svc base URL.")
    notify_url: str = Field("http://127.0.0.1:8106", description="notify-svc base URL.")
    portal_url: str = Field(
        "http://127.0.0.1:8105",
        description="The portal's base URL: every path the gateway does not own (not /auth, /api, /data, "
        "/.well-known, /healthz, /readyz, /metrics) is passed to it; empty: the gateway serves no portal.",
    )
    api_docs_refresh_seconds: float = Field(
        60.0,
        gt=0,
        description="How long /api/openapi.json keeps the services' OpenAPI documents before fetching them again "
        "(a restarted service's new endpoints show after at most this).",
    )
    upstream_connect_timeout_seconds: float = Field(3.0, description="Connect timeout to services.")
    upstream_timeout_seconds: float = Field(
        30.0, description="How long a service may stay silent (before answering or between chunks) → 504."
    )
    max_request_body_bytes: int = Field(20 * 1024 * 1024, description="Largest request body accepted.")

    # ---- federated sign-in through the province's 统一身份认证 (signin/federation.py); off while the issuer is unset
    govdata_oidc_issuer: str | None = Field(
        None, description="`issuer` of the external OpenID provider, exactly as its discovery document states it."
    )
    govdata_oidc_client_id: str | None = Field(None, description="The gateway's client id at the provider.")
    govdata_oidc_client_secret: SecretStr | None = Field(
        None, description="The gateway's client secret at the provider (client_secret_basic)."
    )
    govdata_oidc_redirect_uri: str | None = Field(
        None,
        description="The gateway's public /auth/federated/callback address, as registered at the provider.",
    )
    govdata_oidc_scopes: str = Field(
        "openid profile", description="Scopes asked of the provider (must include openid)."
    )
    govdata_oidc_claim_username: str = Field(
        "preferred_username", description="ID token claim matched against registry usernames."
    )
    govdata_oidc_claim_dept: str = Field(
        "",
        description="ID token claim with the department code a staff member must also have in the registry; "
        "empty: none.",
    )
    govdata_oidc_claim_subject_id: str = Field(
        "", description="ID token claim with the 身份证号 that signs a citizen in; empty: citizens cannot sign in so."
    )
    govdata_oidc_claim_name: str = Field("name", description="ID token claim with the name of a citizen created.")
    govdata_oidc_name: str = Field("统一身份认证登录", description="Label of the login page's link to the provider.")
    govdata_oidc_timeout_seconds: float = Field(5.0, gt=0, description="Timeout of each request to the provider.")
    govdata_oidc_cache_seconds: int = Field(
        3600,
        gt=0,
        description="How long the provider's discovery document and keys are kept (an unknown kid refetches).",
    )

    # ---- data plane (/data/...) and grant tokens
    govdata_data_audience: str = Field(
        "govdata-data", description="`aud` of grant tokens; only /data accepts it, the services never do."
    )
    govdata_grant_token_ttl_seconds: int = Field(
        300, gt=0, description="Lifetime of grant tokens (never past the end of the grant's valid_to, Shanghai)."
    )
    govdata_upstream_credentials_file: Path | None = Field(
        None,
        description="YAML/JSON mapping credential_ref → {header: value} sent to providers' upstreams; "
        "a resource whose credential_ref is not listed is called without a credential.",
    )
    gateway_projection_fetch_max_wait_ms: int = Field(
        50,
        ge=1,
        description="fetch_max_wait_ms of the grant/resource projection consumer. The local broker always waits it,"
        " so it bounds how fast a suspension reaches the gateway; each empty fetch costs CPU (20 ms: about 12% fewer"
        " data calls/s than 50, bench/gateway.py). Apache Kafka returns early on data: use 500 there.",
    )
    gateway_bootstrap_retry_max_seconds: float = Field(
        10.0, gt=0, description="Longest pause between attempts to bootstrap the projections (exponential backoff)."
    )
    data_upstream_timeout_seconds: float = Field(
        15.0, gt=0, description="Total time a provider's upstream may take to answer a data call → 504."
    )
    data_upstream_max_connections: int = Field(
        256, gt=0, description="Connection pool size towards providers' upstreams (all hosts together)."
    )
    data_max_response_bytes: int = Field(
        16 * 1024 * 1024, gt=0, description="Largest upstream response the data plane reads and filters → 502."
    )
    data_token_cache_size: int = Field(
        10_000, ge=0, description="Verified grant tokens kept (until their exp) to skip signature checks; 0 = none."
    )
    gateway_access_spool_dir: Path | None = Field(
        None,
        description="Where this gateway spools its access records until the broker confirms them; default "
        "<data dir>/gateway-access-spool. One directory per gateway process (a per-pod volume on Kubernetes).",
    )
    gateway_access_spool_max_bytes: int = Field(
        1024 * 1024 * 1024,
        gt=0,
        description="Unsent access records the spool may hold (about 3 million calls per GiB), shared equally by the "
        "gateway's workers; beyond it data calls are refused with 503 access_log_unavailable rather than served "
        "unrecorded.",
    )
    gateway_access_flush_seconds: float = Field(
        0.5, gt=0, description="Longest time an access record waits before it is sent (fsync'd and batched)."
    )
    gateway_access_batch_max: int = Field(
        500, gt=0, le=2000, description="Access records per access.records event at most."
    )
    gateway_rate_limit_replicas: int = Field(
        1,
        ge=1,
        le=100,
        description="The most gateway replicas that may serve at once (the HorizontalPodAutoscaler's maxReplicas): "
        "each allows a grant 1/N of its interface's rate_limit, so the provider's limit holds whatever the "
        "autoscaler does.",
    )

    gateway_workers: int = Field(
        0,
        ge=0,
        le=64,
        description="Gateway processes sharing GATEWAY_PORT (SO_REUSEPORT) under one supervisor; 0: one per CPU "
        "the container may use (its cgroup quota, else its CPU affinity). `make run` sets 1.",
    )
    gateway_worker_ready_wait_seconds: float = Field(
        30.0,
        ge=0,
        description="How long a worker waits for its projection before taking connections anyway (as one gateway "
        "process does from the start); ready workers take them at once.",
    )
    gateway_worker: int | None = Field(
        None, ge=0, description="Set by the supervisor in each worker's environment: which worker this is."
    )
    gateway_worker_metrics_socket: Path | None = Field(
        None, description="Set by the supervisor: the Unix socket a worker serves its metrics on."
    )

    def worker_count(self) -> int:
        """How many workers a supervisor starts (GATEWAY_WORKERS, 0: one per available CPU)."""
        return self.gateway_workers or available_cpus()

    def processes_serving(self) -> int:
        """How many processes of this replica share its port, its rate limits and its spool volume: the worker
        count in a worker, else one (a single gateway process, or an app started in a test)."""
        return self.worker_count() if self.gateway_worker is not None else 1

    def access_spool_dir(self) -> Path:
        """This process's spool: the configured directory, or `worker-<i>` inside it for worker i > 0."""
        base = self.gateway_access_spool_dir or self.govdata_data_dir / "gateway-access-spool"
        return base / f"worker-{self.gateway_worker}" if self.gateway_worker else base

    def signing_key_path(self) -> Path:
        return self.govdata_jwt_key_file or self.govdata_data_dir / "keys" / "gateway-signing-key.pem"

    def service_urls(self) -> dict[str, str]:
        return {
            "catalog": self.catalog_url,
            "sharing": self.sharing_url,
            "verification": self.verification_url,
            "audit": self.audit_url,
            "notify": self.notify_url,
        }


@lru_cache
def get_gateway_settings() -> GatewaySettings:
    return GatewaySettings()

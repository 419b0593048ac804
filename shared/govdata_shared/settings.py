"""Configuration, read only from environment variables.

Every variable is documented once, in the README's configuration table, with the default given here.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from govdata_shared.upstream import DEFAULT_ALLOWED_NETWORKS, parse_networks

REPO_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    """Settings every process of the platform shares."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    service_name: str = Field("govdata", description="Name in logs, metrics and event `source`.")
    govdata_data_dir: Path = Field(REPO_ROOT / ".data", description="SQLite files, keys, broker state.")
    database_url: str | None = Field(
        None, description="SQLAlchemy async URL; default: a SQLite file per service in the data dir."
    )
    migrate_on_start: bool = Field(True, description="Apply the service's migrations at start-up.")
    database_service_role: str | None = Field(
        None,
        description="Migration command only: after migrating, grant this Postgres role what the service needs at"
        " run time (its package's migrations/grants.py), so the service can run as a role that owns nothing.",
    )

    kafka_bootstrap_servers: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers.")
    kafka_enable_idempotence: bool = Field(
        False, description="Idempotent producer: on for Apache Kafka, off for the local broker."
    )
    kafka_fetch_max_wait_ms: int = Field(100, description="Consumer fetch wait; the local broker always waits it.")
    kafka_session_timeout_ms: int = Field(
        10000, description="Consumer group session timeout; the local broker only notices a departed member then."
    )
    kafka_heartbeat_interval_ms: int = Field(3000, description="Consumer group heartbeat interval.")
    kafka_rebalance_timeout_ms: int = Field(10000, description="How long a group rebalance waits for members.")
    kafka_topic_partitions: int = Field(3, description="Partitions for topics this platform creates.")
    kafka_topic_replication: int = Field(1, description="Replication factor for topics this platform creates.")
    kafka_create_topics: bool = Field(
        True, description="Create missing topics at start-up (off where an operator declares them)."
    )
    outbox_sweep_interval_seconds: float = Field(1.0, description="How often the relay sweeps the outbox.")

    govdata_jwt_issuer: str = Field("urn:yichuan:govdata:gateway", description="`iss` of platform tokens.")
    govdata_jwt_audience: str = Field("govdata-api", description="`aud` of API tokens.")
    govdata_jwks_url: str = Field(
        "http://127.0.0.1:8000/.well-known/jwks.json", description="Where services fetch the gateway's keys."
    )
    govdata_jwks_cache_seconds: int = Field(300, description="How long fetched keys are trusted.")

    govdata_upstream_allowed_networks: str = Field(
        DEFAULT_ALLOWED_NETWORKS,
        description="Comma-separated CIDRs a resource's interface.base_url may reach (catalog-svc checks it at"
        " registration, the gateway at every connection after DNS); link-local, unspecified, multicast and"
        " broadcast addresses are refused whatever it says. Default: loopback, for `make run`.",
    )

    log_level: str = Field("INFO", description="Python log level.")
    log_json: bool = Field(True, description="JSON log lines (one object per line).")

    @field_validator("govdata_upstream_allowed_networks")
    @classmethod
    def _upstream_networks(cls, value: str) -> str:
        parse_networks(value)  # a bad CIDR stops the process at start-up, naming the entry
        return value

    def sqlite_url(self, name: str) -> str:
        return f"sqlite+aiosqlite:///{self.govdata_data_dir / f'{name}.db'}"

    def effective_database_url(self) -> str:
        url = self.database_url or self.sqlite_url(self.service_name)
        # Operators hand out plain postgresql:// URIs (e.g. CloudNativePG's); the services speak asyncpg.
        for plain in ("postgresql://", "postgres://"):
            if url.startswith(plain):
                return "postgresql+asyncpg://" + url.removeprefix(plain)
        return url


@lru_cache
def get_settings() -> Settings:
    return Settings()

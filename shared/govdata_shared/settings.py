"""Configuration, read only from environment variables.

Every variable is documented once, in the README's configuration table, with the default given here.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from govdata_shared.upstream import DEFAULT_ALLOWED_NETWORKS, parse_networks

REPO_ROOT = Path(__file__).resolve().parents[2]
KAFKA_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
KAFKA_SASL_MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN")


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
    kafka_security_protocol: str = Field(
        "PLAINTEXT", description="PLAINTEXT (the local broker) | SSL | SASL_PLAINTEXT | SASL_SSL (Strimzi)."
    )
    kafka_sasl_mechanism: str = Field(
        "SCRAM-SHA-512", description="With SASL_*: SCRAM-SHA-512 (Strimzi's) | SCRAM-SHA-256 | PLAIN."
    )
    kafka_sasl_username: str | None = Field(None, description="With SASL_*: the KafkaUser's name.")
    kafka_sasl_password: SecretStr | None = Field(
        None, description="With SASL_*: its password; prefer KAFKA_SASL_PASSWORD_FILE."
    )
    kafka_sasl_password_file: Path | None = Field(
        None, description="With SASL_*: a file holding the password (a mounted Secret); wins over the variable."
    )
    kafka_ssl_cafile: Path | None = Field(
        None, description="With SSL / SASL_SSL (required): CA bundle the broker's certificate is verified against."
    )
    kafka_ssl_certfile: Path | None = Field(None, description="With SSL / SASL_SSL: client certificate (mTLS).")
    kafka_ssl_keyfile: Path | None = Field(None, description="With SSL / SASL_SSL: its private key (mTLS).")
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

    @field_validator("kafka_security_protocol", "kafka_sasl_mechanism")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.strip().upper()

    @model_validator(mode="after")
    def _kafka_security(self) -> Settings:
        """A broker connection that could not work, or would silently be less secure than asked for, stops the
        process at start-up, naming the variable (the options themselves: govdata_shared.kafka.client_options)."""
        protocol, mechanism = self.kafka_security_protocol, self.kafka_sasl_mechanism
        if protocol not in KAFKA_PROTOCOLS:
            raise ValueError(f"KAFKA_SECURITY_PROTOCOL={protocol!r} is none of {', '.join(KAFKA_PROTOCOLS)}")
        tls, sasl = protocol in ("SSL", "SASL_SSL"), protocol.startswith("SASL_")
        if sasl:
            if mechanism not in KAFKA_SASL_MECHANISMS:
                raise ValueError(f"KAFKA_SASL_MECHANISM={mechanism!r} is none of {', '.join(KAFKA_SASL_MECHANISMS)}")
            if not self.kafka_sasl_username:
                raise ValueError(f"KAFKA_SECURITY_PROTOCOL={protocol} needs KAFKA_SASL_USERNAME")
            if self.kafka_sasl_password_file is None and not self.kafka_sasl_password:
                raise ValueError(
                    f"KAFKA_SECURITY_PROTOCOL={protocol} needs KAFKA_SASL_PASSWORD_FILE (or KAFKA_SASL_PASSWORD)"
                )
        elif self.kafka_sasl_username or self.kafka_sasl_password or self.kafka_sasl_password_file:
            raise ValueError(f"KAFKA_SASL_* is set but KAFKA_SECURITY_PROTOCOL={protocol} does not use SASL")
        files = {
            "KAFKA_SASL_PASSWORD_FILE": self.kafka_sasl_password_file,
            "KAFKA_SSL_CAFILE": self.kafka_ssl_cafile,
            "KAFKA_SSL_CERTFILE": self.kafka_ssl_certfile,
            "KAFKA_SSL_KEYFILE": self.kafka_ssl_keyfile,
        }
        if tls:
            # The broker's certificate is always verified, against the CA named here: Strimzi's cluster CA is
            # private, so the system's public CAs would never verify it (and must not be trusted instead).
            if self.kafka_ssl_cafile is None:
                raise ValueError(f"KAFKA_SECURITY_PROTOCOL={protocol} needs KAFKA_SSL_CAFILE (the broker's CA)")
            if (self.kafka_ssl_certfile is None) != (self.kafka_ssl_keyfile is None):
                raise ValueError("KAFKA_SSL_CERTFILE and KAFKA_SSL_KEYFILE go together (mTLS)")
        elif any(v is not None for k, v in files.items() if k.startswith("KAFKA_SSL_")):
            raise ValueError(f"KAFKA_SSL_* is set but KAFKA_SECURITY_PROTOCOL={protocol} does not use TLS")
        for name, path in files.items():
            if path is not None and not path.is_file():
                raise ValueError(f"{name}={path} is not a readable file")
        return self

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

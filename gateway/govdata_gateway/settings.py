"""Gateway configuration (environment variables; documented in the README)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from govdata_shared.settings import Settings
from pydantic import Field


class GatewaySettings(Settings):
    service_name: str = "gateway"
    gateway_host: str = Field("127.0.0.1", description="Address the gateway listens on.")
    gateway_port: int = Field(8000, description="Port the gateway listens on.")
    govdata_clients_file: Path | None = Field(None, description="Departments and clients (YAML or JSON).")
    govdata_demo: bool = Field(False, description="Load the demo data even with a clients file.")
    govdata_jwt_key_file: Path | None = Field(
        None, description="PEM private signing key; default <data dir>/keys/gateway-signing-key.pem."
    )
    govdata_jwt_generate_key: bool = Field(
        True, description="Generate the signing key on first run if the file is missing (embedded default)."
    )
    govdata_token_ttl_seconds: int = Field(900, description="Lifetime of API access tokens.")
    catalog_url: str = Field("http://127.0.0.1:8101", description="catalog-svc base URL.")
    sharing_url: str = Field("http://127.0.0.1:8102", description="sharing-svc base URL.")
    verification_url: str = Field("http://127.0.0.1:8103", description="verification-svc base URL.")
    audit_url: str = Field("http://127.0.0.1:8104", description="audit-svc base URL.")
    upstream_connect_timeout_seconds: float = Field(3.0, description="Connect timeout to services.")
    upstream_timeout_seconds: float = Field(
        30.0, description="How long a service may stay silent (before answering or between chunks) → 504."
    )
    max_request_body_bytes: int = Field(20 * 1024 * 1024, description="Largest request body accepted.")

    def signing_key_path(self) -> Path:
        return self.govdata_jwt_key_file or self.govdata_data_dir / "keys" / "gateway-signing-key.pem"

    def service_urls(self) -> dict[str, str]:
        return {
            "catalog": self.catalog_url,
            "sharing": self.sharing_url,
            "verification": self.verification_url,
            "audit": self.audit_url,
        }


@lru_cache
def get_gateway_settings() -> GatewaySettings:
    return GatewaySettings()

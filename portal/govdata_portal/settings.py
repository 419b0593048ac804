"""Portal configuration (environment variables; documented in the README's portal section)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from govdata_shared.settings import Settings
from pydantic import Field, SecretStr


class PortalSettings(Settings):
    service_name: str = "portal"
    portal_host: str = Field("127.0.0.1", description="Address the portal listens on.")
    portal_port: int = Field(8105, description="Port the portal listens on (the gateway proxies to it).")
    gateway_url: str = Field(
        "http://127.0.0.1:8000",
        description="Where the portal reaches the gateway's API, /auth/token, /auth/logout and JWKS.",
    )
    portal_public_url: str = Field(
        "http://127.0.0.1:8000",
        description="The origin browsers see (the gateway, which serves the portal): the sign-in redirect URI "
        "and the login page's address are built from it.",
    )
    portal_client_id: str = Field("portal", description="The portal's client id at the gateway.")
    portal_client_secret: SecretStr | None = Field(
        None, description="The portal's client secret at the gateway (confidential client); required."
    )
    portal_session_key_file: Path | None = Field(
        None,
        description="Fernet keys encrypting the session cookie, one per line, the first encrypting; "
        "default <data dir>/keys/portal-session.key.",
    )
    portal_generate_session_key: bool = Field(
        True, description="Generate the session key file on first run if it is missing (embedded default)."
    )
    portal_cookie_secure: bool = Field(
        True, description="Mark the portal's cookies Secure (browsers accept them on http://127.0.0.1 too)."
    )
    portal_gateway_timeout_seconds: float = Field(
        10.0, gt=0, description="How long one call to the gateway may take before the page reports it unavailable."
    )

    def session_key_path(self) -> Path:
        return self.portal_session_key_file or self.govdata_data_dir / "keys" / "portal-session.key"

    def redirect_uri(self) -> str:
        return self.portal_public_url.rstrip("/") + "/signin/callback"

    def authorize_url(self) -> str:
        return self.portal_public_url.rstrip("/") + "/auth/authorize"


@lru_cache
def get_portal_settings() -> PortalSettings:
    return PortalSettings()

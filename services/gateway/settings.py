"""The gateway's settings (environment variables `FIVEZERO_GATEWAY_*`, plus the shared ones)."""

from pydantic import Field

from shared.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    service_name: str = "gateway"

    port: int = Field(8000, validation_alias="FIVEZERO_GATEWAY_PORT")
    """Port of the public API."""

    own_database_url: str | None = Field(None, validation_alias="FIVEZERO_GATEWAY_DATABASE_URL")
    """Users, the organisation tree and the read models, when not in the shared database."""

    intake_url: str = Field("http://127.0.0.1:8101", validation_alias="FIVEZERO_INTAKE_URL")
    """Where intake's internal API answers."""

    mediation_url: str = Field("http://127.0.0.1:8102", validation_alias="FIVEZERO_MEDIATION_URL")
    """Where mediation's internal API answers."""

    token_ttl_s: int = Field(3600, validation_alias="FIVEZERO_TOKEN_TTL_S")
    """Lifetime of an access token, in seconds."""

    demo_password: str = Field("demo12345", validation_alias="FIVEZERO_DEMO_PASSWORD")
    """Password of every demo user (demo mode only)."""

    read_your_writes_s: float = Field(2.0, validation_alias="FIVEZERO_READ_YOUR_WRITES_S")
    """How long a write waits for the read model to show it before answering from the owner."""

    def service_urls(self) -> dict[str, str]:
        """Each pillar's internal API, by service name."""
        return {"intake": self.intake_url, "mediation": self.mediation_url}

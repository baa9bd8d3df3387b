"""Mediation's settings (environment variables `FIVEZERO_MEDIATION_*`, plus the shared ones)."""

from pydantic import Field

from shared.settings import ServiceSettings


class MediationSettings(ServiceSettings):
    service_name: str = "mediation"

    port: int = Field(8102, validation_alias="FIVEZERO_MEDIATION_PORT")
    """Port of mediation's internal HTTP API (the gateway calls it; clients never do)."""

    own_database_url: str | None = Field(None, validation_alias="FIVEZERO_MEDIATION_DATABASE_URL")
    """Mediation's event store, when it should not live in the shared database."""

    intake_url: str = Field("http://127.0.0.1:8101", validation_alias="FIVEZERO_INTAKE_URL")
    """Where intake's internal API answers: its `GET /events`, when the reactions catch up."""

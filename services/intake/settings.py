"""Intake's settings (environment variables `FIVEZERO_INTAKE_*`, plus the shared ones)."""

from pydantic import Field

from shared.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    service_name: str = "intake"

    port: int = Field(8101, validation_alias="FIVEZERO_INTAKE_PORT")
    """Port of intake's internal HTTP API (the gateway calls it; clients never do)."""

    own_database_url: str | None = Field(None, validation_alias="FIVEZERO_INTAKE_DATABASE_URL")
    """Intake's event store, when it should not live in the shared database."""

    mediation_url: str = Field("http://127.0.0.1:8102", validation_alias="FIVEZERO_MEDIATION_URL")
    """Where mediation's internal API answers: its `GET /events`, when the reactions catch up."""

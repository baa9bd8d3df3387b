"""Settings every service shares; each service subclasses with its own prefix."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

VAR_DIR = Path("var")
DEV_SECRET = "fivezero-development-only-secret-do-not-deploy"


class ServiceSettings(BaseSettings):
    """Common settings. A subclass sets `service_name` and its own env prefix."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    service_name: str = "service"

    redis_url: str = Field(
        "redis://127.0.0.1:6379/0",
        validation_alias=AliasChoices("FIVEZERO_REDIS_URL", "REDIS_URL"),
    )
    """Redis holding the event streams; `make run` points it at an embedded server."""

    shared_database_url: str | None = Field(None, validation_alias="FIVEZERO_DATABASE_URL")
    """One PostgreSQL for every service, each in its own schema; unset means SQLite files."""

    secret: str = Field(DEV_SECRET, validation_alias="FIVEZERO_SECRET", min_length=32)
    """Signs user tokens and the gateway's identity header; services verify with it. It also
    wraps residents' data keys (`shared.sealing`): changed without re-wrapping them, every
    sealed value becomes unreadable."""

    demo: bool = Field(False, validation_alias="FIVEZERO_DEMO")
    """Seed the demo district: the gateway its organisation tree and users on first start,
    intake 绵州社区's information network as it starts (written once). Never on in production."""

    host: str = Field("127.0.0.1", validation_alias="FIVEZERO_HOST")
    """Interface the HTTP API listens on."""

    stream_maxlen: int = Field(100_000, validation_alias="FIVEZERO_STREAM_MAXLEN")
    """Entries kept per Redis stream; older ones are served by `GET /events`."""

    relay_poll_s: float = Field(0.5, validation_alias="FIVEZERO_RELAY_POLL_S")
    """How often an idle relay looks at the store anyway; appends wake it at once."""

    max_deliveries: int = Field(5, validation_alias="FIVEZERO_MAX_DELIVERIES")
    """Deliveries of one message before it goes to the dead-letter stream."""

    claim_idle_ms: int = Field(1_000, validation_alias="FIVEZERO_CLAIM_IDLE_MS")
    """A pending message idle this long is claimed by a live replica and retried."""

    deadline_policy: dict[str, dict[str, timedelta]] = Field({}, validation_alias="FIVEZERO_DEADLINE_POLICY")
    """Per-community deadlines overriding the pillars' defaults (`shared.deadlines`), as JSON:
    `{"c-mianzhou": {"report.triage": "PT12H"}, "*": {"report.reply": "P5D"}}`."""

    deadline_poll_s: float = Field(1.0, validation_alias="FIVEZERO_DEADLINE_POLL_S")
    """How often the worker's deadline scheduler looks for steps gone overdue."""

    clock_offset_file: Path | None = Field(None, validation_alias="FIVEZERO_CLOCK_OFFSET_FILE")
    """A file holding seconds added to every clock reading (tests move time with it).
    Demo mode only: refused in production."""

    def check_production_safety(self) -> None:
        """Refuses to serve real data signed with the well-known development secret,
        or on a clock that a file can move."""
        if not self.demo and self.secret == DEV_SECRET:
            raise RuntimeError("FIVEZERO_SECRET must be set (32+ characters) outside demo mode")
        if not self.demo and self.clock_offset_file is not None:
            raise RuntimeError("FIVEZERO_CLOCK_OFFSET_FILE moves time: it is refused outside demo mode")

    def database_url(self) -> str:
        """This service's own store: its schema in the shared PostgreSQL, or its SQLite file."""
        own = getattr(self, "own_database_url", None)
        if own:
            return own
        if self.shared_database_url:
            return self.shared_database_url
        return f"sqlite+aiosqlite:///{VAR_DIR / (self.service_name + '.db')}"

    def database_schema(self) -> str | None:
        """PostgreSQL schema for this service (one per service when the database is shared)."""
        return self.service_name

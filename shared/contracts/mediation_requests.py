"""Requests mediation accepts: register a dispute, then act on it. Shape checks only (the
workflow's rules live in `services.mediation.domain`); errors carry our codes, so a client
learns which field failed and why, in Chinese or English (`shared.problems`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from shared.codelists import code_list, source
from shared.contracts.intake_reports import Place
from shared.contracts.intake_requests import Command, Note
from shared.contracts.mediation import AGREEMENT_FORMS, SOURCES

MAX_PARTIES = 20
MAX_NAMES = 20
LONG_TEXT = 2000
CHINA = ZoneInfo("Asia/Shanghai")


def _dispute_category(code: str) -> str:
    if code not in code_list("dispute_category"):
        listed = source("dispute_category")
        raise PydanticCustomError(
            "unknown_code",
            "{list_en} code is not in {standard}: {code}",
            {"list_en": listed.title_en, "list_zh": listed.title_zh, "standard": listed.standard, "code": code},
        )
    return code


def _not_in_the_future(value: date) -> date:
    # A day ahead of UTC's date: it is already tomorrow in China for eight hours of the day.
    if value > datetime.now(UTC).date() + timedelta(days=1):
        raise PydanticCustomError("future_date", "is in the future: {input}", {"input": value.isoformat()})
    return value


def _china_time_unless_given(value: datetime) -> datetime:
    """A time without an offset is China's local time; one in the future is refused."""
    moment = value if value.tzinfo else value.replace(tzinfo=CHINA)
    if moment > datetime.now(UTC) + timedelta(minutes=10):
        raise PydanticCustomError("future_date", "is in the future: {input}", {"input": value.isoformat()})
    return moment


Source = Literal[tuple(SOURCES)]  # type: ignore[valid-type]
AgreementForm = Literal[tuple(AGREEMENT_FORMS)]  # type: ignore[valid-type]
DisputeCategory = Annotated[str, AfterValidator(_dispute_category), Field(description="dispute category code (`/api/v1/code-lists/dispute_category`)")]
PartyId = Annotated[str, Field(pattern=r"^p[1-9][0-9]?$", examples=["p1"])]
PersonName = Annotated[str, Field(min_length=1, max_length=50)]
Names = Annotated[list[PersonName], Field(min_length=1, max_length=MAX_NAMES)]
LongText = Annotated[str, Field(min_length=1, max_length=LONG_TEXT)]
ShortText = Annotated[str, Field(min_length=1, max_length=500)]
PastDate = Annotated[date, AfterValidator(_not_in_the_future)]
PastTime = Annotated[datetime, AfterValidator(_china_time_unless_given)]
RosterId = Annotated[str, Field(min_length=1, max_length=64)]


class Party(Command):
    """A party of the dispute: a resident of the registry (`resident_id`), a named outsider
    (`name`), or a resident with the name the case records."""

    side: Literal["a", "b"]
    """a: 当事人（甲）; b: 当事人（乙）."""
    resident_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    name: PersonName | None = None
    remarks: Note = None
    """An outsider's work unit or address, say."""

    @model_validator(mode="after")
    def _someone(self) -> Party:
        if self.resident_id is None and self.name is None:
            raise PydanticCustomError("party_form", "give a resident_id or a name")
        return self


def _both_sides(parties: list[Party]) -> list[Party]:
    if {party.side for party in parties} != {"a", "b"}:
        raise PydanticCustomError("party_sides", "a dispute needs a party on each side (a and b)")
    return parties


class RegisterDispute(Command):
    source: Source
    category: DisputeCategory
    dispute_cause: LongText
    """纠纷缘由: what the dispute is about."""
    parties: Annotated[list[Party], Field(min_length=2, max_length=MAX_PARTIES), AfterValidator(_both_sides)]
    """Numbered p1, p2 … in this order; at least one on each side."""
    place: Place | None = None
    """Where it happened (楼院, 楼栋)."""
    referred_by: Note = None
    """The mediation group or street centre that handed it over."""
    report_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    """The sentiment report it came from."""
    public: bool = False
    """Held in public, with relatives and neighbours attending (art. 23)."""
    remarks: Note = None


class AcceptDispute(Command):
    mediators: Names
    """The mediators designated for the case (art. 19)."""
    remarks: Note = None


class RecordInvestigation(Command):
    investigated_on: PastDate
    investigators: Names
    findings: LongText
    """调查收集情况: what was found out, from whom."""
    remarks: Note = None


class RecordSession(Command):
    held_at: PastTime
    """When (a time without an offset is China's local time)."""
    place: Annotated[str, Field(min_length=1, max_length=100)]
    mediators: Names
    participants: Annotated[list[PersonName], Field(max_length=50)] = []
    """Who took part besides the mediators: parties, relatives, neighbours, specialists (art. 20)."""
    account: LongText
    """调解情况: how the session went."""
    on_site: bool = False
    """Mediated on the spot or at the shop front (现场、门前店面调解)."""
    remarks: Note = None
    mediator_ids: Annotated[list[RosterId], Field(max_length=MAX_NAMES)] = []
    """Roster mediators among `mediators`, by id (`/mediators`); a name alone still counts for
    the one roster mediator of that name."""
    unit_ids: Annotated[list[RosterId], Field(max_length=MAX_NAMES)] = []
    """Roster units sharing mediation duty that took part (`/mediation-units`)."""


class Clause(Command):
    party_id: PartyId
    """Who: a party of the case (p1, p2 …)."""
    obligation: ShortText
    """What they undertake to do."""
    due_on: date
    """By when."""


class RecordAgreement(Command):
    form: AgreementForm
    reached_on: PastDate
    """The day it took effect."""
    terms: LongText
    """The facts, the points in dispute, each party's responsibility and what was agreed (art. 29)."""
    clauses: Annotated[list[Clause], Field(min_length=1, max_length=20)]
    remarks: Note = None


class RecordFollowUp(Command):
    visited_on: PastDate
    visited_by: Names
    note: LongText
    """How the parties are fulfilling the agreement."""
    fulfilled_clauses: Annotated[list[Annotated[int, Field(ge=1, le=20)]], Field(max_length=20)] = []
    """Numbers of the clauses found fulfilled at this visit."""
    remarks: Note = None


class TransferDispute(Command):
    reason: ShortText
    """Why mediation failed here."""
    remarks: Note = None


class RefuseMediation(Command):
    party_id: PartyId
    """The party who refused."""
    reason: Note = None


class CloseDispute(Command):
    archive_no: Annotated[str, Field(min_length=1, max_length=50)] | None = None
    """卷宗号: where the file is archived."""
    remarks: Note = None
    """Required when an agreement is closed with clauses unfulfilled (say why)."""


class TakeOverDispute(Command):
    """A street officer takes the transferred case over (接手): the street centre mediates it."""

    remarks: Note = None


class AssignBackDispute(Command):
    """A street officer assigns the transferred case back to the community (交办)."""

    instructions: ShortText
    """交办意见: what the street asks the community to do."""
    remarks: Note = None


class AmendedParty(Party):
    party_id: PartyId | None = None
    """A party the case already has (p1, p2 …), to keep and correct; none for a new one."""


def _distinct_ids(parties: list[AmendedParty]) -> list[AmendedParty]:
    ids = [party.party_id for party in parties if party.party_id]
    if len(ids) != len(set(ids)):
        raise PydanticCustomError("party_twice", "a party_id is listed twice")
    return parties


class AmendDispute(Command):
    """What the case learned since it was registered; give only what changes."""

    category: DisputeCategory | None = None
    dispute_cause: LongText | None = None
    parties: Annotated[
        list[AmendedParty], Field(min_length=2, max_length=MAX_PARTIES), AfterValidator(_both_sides),
        AfterValidator(_distinct_ids),
    ] | None = None
    """The whole list as it should stand: a party left out is no longer a party of the case."""
    place: Place | None = None
    reason: Note = None
    """Why (e.g. 调查查明当事人身份)."""

    @model_validator(mode="after")
    def _something(self) -> AmendDispute:
        if all(getattr(self, name) is None for name in ("category", "dispute_cause", "parties", "place")):
            raise PydanticCustomError("empty_change", "give at least one of category, dispute_cause, parties, place")
        return self

"""Sentiment reports (社情民意): the events intake publishes about them, the requests it
accepts, and the report document both build.

A report comes in through one of the book's channels, is triaged into a category that
routes it to the pillar that acts on it (collect → organise → classify → use), gets a
reply to its reporter, and is closed. Triage and reply have deadlines (see
`shared.deadlines`); a missed one is an `…Overdue` event, and meeting it late is its
`…OverdueResolved` event.

A reporter who is not a registered resident is personal data: name and phone are stored
sealed under the subject `report-<id>` (`shared.sealing`); events also carry their masked
forms so that read models elsewhere can list them without the key.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from shared.contracts.intake_requests import BuildingName, Command, CompoundName, Note, Phone
from shared.events import DomainEvent, Envelope, event

# The channels the book names (社区民情收集示意图), plus walk-ins and client apps.
CHANNELS: dict[str, tuple[str, str]] = {
    "qq_group": ("居民QQ群", "residents' QQ group"),
    "forum": ("社区网络论坛", "community web forum"),
    "sms": ("服务中心短信平台", "service centre SMS platform"),
    "mailbox": ("信息收集信箱", "information mailbox"),
    "party_member": ("楼栋党员", "party member in a building"),
    "info_officer": ("信息员", "information officer"),
    "meeting": ("民情恳谈会", "sentiment meeting"),
    "questionnaire": ("问卷调查", "questionnaire"),
    "visit": ("入户走访", "door-to-door visit"),
    "residents_forum": ("居民座谈会", "residents' forum"),
    "suggestion_box": ("建议箱", "suggestion box"),
    "property_manager": ("物业小区", "property manager"),
    "volunteer": ("志愿者队伍", "volunteer team"),
    "local_organisation": ("辖区单位", "local organisation"),
    "walk_in": ("来访", "walk-in"),
    "app": ("居民客户端", "residents' app"),
}

# Category → who acts on it: classify → use.
CATEGORIES: dict[str, tuple[str, str]] = {
    "dispute": ("矛盾纠纷", "dispute"),
    "hardship": ("生活困难", "hardship"),
    "service_need": ("服务需求", "service need"),
    "other": ("其他", "other"),
}
ROUTES: dict[str, str] = {
    "dispute": "mediation",
    "hardship": "assistance",
    "service_need": "servicedesk",
    "other": "community",
}
STATUSES = ("reported", "triaged", "replied", "closed")

TRIAGE_STEP = "report.triage"
REPLY_STEP = "report.reply"
DEADLINE_DEFAULTS: dict[str, timedelta] = {TRIAGE_STEP: timedelta(hours=24), REPLY_STEP: timedelta(days=7)}
"""Triage within 24 hours, reply to the reporter within 7 days, both from the report."""

TEXT_MAX = 2000

Channel = Literal[tuple(CHANNELS)]  # type: ignore[valid-type]
Category = Literal[tuple(CATEGORIES)]  # type: ignore[valid-type]
ReportText = Annotated[str, Field(min_length=1, max_length=TEXT_MAX)]
ReplyText = Annotated[str, Field(min_length=1, max_length=1000)]
ResidentId = Annotated[str, Field(min_length=1, max_length=64)]
ReporterName = Annotated[str, Field(min_length=1, max_length=50)]


# -- requests -------------------------------------------------------------------------


class Place(Command):
    compound: CompoundName
    """楼院 or 网格, by name or id."""
    building: BuildingName | None = None


class Reporter(Command):
    """Who reported: a registered resident (`resident_id`), or someone named with a phone.
    Leave the whole `reporter` out for an anonymous report."""

    resident_id: ResidentId | None = None
    name: ReporterName | None = None
    phone: Phone = None

    @model_validator(mode="after")
    def _one_way_to_reach_them(self) -> Reporter:
        named = self.name is not None or self.phone is not None
        if (self.resident_id is None) == (not named) or (named and (self.name is None or self.phone is None)):
            raise PydanticCustomError("reporter_form", "give a resident_id, or a name with a phone")
        return self


class ReportSentiment(Command):
    channel: Channel
    text: ReportText
    """What was reported, in the reporter's words."""
    place: Place
    reporter: Reporter | None = None
    """Absent: anonymous."""


class TriageReport(Command):
    category: Category
    remarks: Note = None


class ReplyToReporter(Command):
    reply: ReplyText
    """What the reporter is told."""


class CloseReport(Command):
    remarks: Note = None


class LinkReport(Command):
    """Marks this report as a duplicate of (the same matter as) another report."""

    report_id: Annotated[str, Field(min_length=1, max_length=64)]


# -- events -----------------------------------------------------------------------------


class ReporterRecord(BaseModel):
    """`kind`: anonymous, resident or person. A person's name and phone are sealed."""

    model_config = ConfigDict(frozen=True)

    kind: str
    resident_id: str | None = None
    name: str | None = None
    phone: str | None = None
    name_masked: str | None = None
    phone_masked: str | None = None


class PlaceRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    compound: str
    building: str | None = None


@event
class SentimentReported(DomainEvent):
    event_type = "intake.SentimentReported"

    report_id: str
    channel: str
    text: str
    place: PlaceRecord
    reporter: ReporterRecord
    triage_due_at: datetime
    reply_due_at: datetime


@event
class ReportTriaged(DomainEvent):
    """Classified and routed: `routed_to` is the pillar (or the community) that acts on it."""

    event_type = "intake.ReportTriaged"

    report_id: str
    category: str
    routed_to: str
    remarks: str | None = None
    text: str | None = None
    """What was reported and where, carried along for the pillar it is routed to (mediation
    opens a case from it without reading intake's store). Absent in events before these fields."""
    place: PlaceRecord | None = None
    reporter_resident_id: str | None = None
    """The reporter, when a registered resident (a non-resident's name stays sealed in intake)."""


@event
class ReportReplied(DomainEvent):
    event_type = "intake.ReportReplied"

    report_id: str
    reply: str


@event
class ReportClosed(DomainEvent):
    event_type = "intake.ReportClosed"

    report_id: str
    remarks: str | None = None


@event
class ReportLinked(DomainEvent):
    """This report is the same matter as `duplicate_of`."""

    event_type = "intake.ReportLinked"

    report_id: str
    duplicate_of: str


@event
class ReportTriageOverdue(DomainEvent):
    event_type = "intake.ReportTriageOverdue"

    report_id: str
    due_at: datetime


@event
class ReportTriageOverdueResolved(DomainEvent):
    """Triaged after all, late."""

    event_type = "intake.ReportTriageOverdueResolved"

    report_id: str


@event
class ReportReplyOverdue(DomainEvent):
    event_type = "intake.ReportReplyOverdue"

    report_id: str
    due_at: datetime


@event
class ReportReplyOverdueResolved(DomainEvent):
    """The reporter got a reply after all, late."""

    event_type = "intake.ReportReplyOverdueResolved"

    report_id: str


REPORT_EVENTS = (
    SentimentReported,
    ReportTriaged,
    ReportReplied,
    ReportClosed,
    ReportLinked,
    ReportTriageOverdue,
    ReportTriageOverdueResolved,
    ReportReplyOverdue,
    ReportReplyOverdueResolved,
)


def report_stream(report_id: str) -> str:
    return f"report-{report_id}"


def reporter_subject(report_id: str) -> str:
    """The data subject a non-resident reporter's name and phone are sealed for."""
    return f"report-{report_id}"


# -- the document -----------------------------------------------------------------------

_STEP_OF_OVERDUE = {
    ReportTriageOverdue.event_type: "triage",
    ReportReplyOverdue.event_type: "reply",
    ReportTriageOverdueResolved.event_type: "triage",
    ReportReplyOverdueResolved.event_type: "reply",
}


def report_document(document: dict[str, Any] | None, envelope: Envelope) -> dict[str, Any]:
    """The report as a client sees it, after `envelope` (a report event) is applied.
    Reporter name and phone appear masked; the sealed values stay in the event."""
    data, kind = envelope.data, envelope.type
    if kind == SentimentReported.event_type:
        reporter = data["reporter"]
        document = {
            "id": data["report_id"],
            "community_id": envelope.community_id,
            "channel": data["channel"],
            "channel_label": CHANNELS[data["channel"]][0],
            "text": data["text"],
            "place": data["place"],
            "reporter": {
                "kind": reporter["kind"],
                "resident_id": reporter.get("resident_id"),
                "name": reporter.get("name_masked"),
                "phone": reporter.get("phone_masked"),
            },
            "status": "reported",
            "category": None,
            "routed_to": None,
            "triage_remarks": None,
            "reply": None,
            "close_remarks": None,
            "duplicate_of": None,
            "deadlines": {
                "triage": {"due_at": data["triage_due_at"], "overdue": False, "met_late": False},
                "reply": {"due_at": data["reply_due_at"], "overdue": False, "met_late": False},
            },
            "created_at": envelope.occurred_at.isoformat(),
        }
    elif document is None:
        return {}
    elif kind == ReportTriaged.event_type:
        document = {**document, "status": "triaged", "category": data["category"], "routed_to": data["routed_to"],
                    "triage_remarks": data.get("remarks")}
    elif kind == ReportReplied.event_type:
        document = {**document, "status": "replied", "reply": data["reply"]}
    elif kind == ReportClosed.event_type:
        document = {**document, "status": "closed", "close_remarks": data.get("remarks")}
    elif kind == ReportLinked.event_type:
        document = {**document, "duplicate_of": data["duplicate_of"]}
    elif kind in _STEP_OF_OVERDUE:
        step = _STEP_OF_OVERDUE[kind]
        resolved = kind.endswith("Resolved")
        deadline = {**document["deadlines"][step], "overdue": not resolved, "met_late": resolved}
        document = {**document, "deadlines": {**document["deadlines"], step: deadline}}
    document["overdue"] = any(d["overdue"] for d in document["deadlines"].values())
    document["version"] = envelope.version
    document["updated_at"] = envelope.occurred_at.isoformat()
    return document

"""Sentiment reports: reported → triaged (and routed) → replied → closed. Pure, no I/O.

Triage and reply each have a deadline, fixed when the report comes in. A missed one is
recorded once (`overdue`); meeting it afterwards also records the resolution.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.intake.domain import DomainError
from shared.contracts.intake_reports import (
    REPLY_STEP,
    ROUTES,
    TRIAGE_STEP,
    CloseReport,
    PlaceRecord,
    ReplyToReporter,
    ReportClosed,
    ReporterRecord,
    ReportLinked,
    ReportReplied,
    ReportReplyOverdue,
    ReportReplyOverdueResolved,
    ReportSentiment,
    ReportTriaged,
    ReportTriageOverdue,
    ReportTriageOverdueResolved,
    SentimentReported,
    TriageReport,
    report_document,
)
from shared.events import DomainEvent, Envelope


class ReportNotFound(DomainError):
    code = "not_found"

    def __init__(self, report_id: str):
        super().__init__("找不到该民情反映", f"no such report: {report_id}")


class ReportAlreadyReported(DomainError):
    code = "version_conflict"

    def __init__(self, report_id: str):
        super().__init__(
            "该反映已登记（Idempotency-Key 已用于另一份内容）",
            "this report is already recorded (the Idempotency-Key was used for other content)",
        )


class IllegalTransition(DomainError):
    """409: the report is not in a state where this action makes sense."""


class LinkTargetUnknown(DomainError):
    code = "validation_failed"

    def __init__(self, target_id: str):
        super().__init__(f"本社区没有编号为 {target_id} 的民情反映", f"this community has no report {target_id}")


@dataclass
class Report:
    """A report as replayed from its stream (version 0: not reported)."""

    version: int = 0
    community_id: str | None = None
    status: str | None = None
    triage_due_at: datetime | None = None
    reply_due_at: datetime | None = None
    triage_overdue: bool = False
    reply_overdue: bool = False
    duplicate_of: str | None = None
    reported: dict[str, Any] = field(default_factory=dict)
    document: dict[str, Any] = field(default_factory=dict)

    @property
    def exists(self) -> bool:
        return self.version > 0


_STATUS_AFTER = {
    ReportTriaged.event_type: "triaged",
    ReportReplied.event_type: "replied",
    ReportClosed.event_type: "closed",
}


def evolve(state: Report, envelope: Envelope) -> Report:
    data, kind = envelope.data, envelope.type
    reported = kind == SentimentReported.event_type
    return Report(
        version=envelope.version,
        community_id=envelope.community_id,
        status="reported" if reported else _STATUS_AFTER.get(kind, state.status),
        triage_due_at=datetime.fromisoformat(data["triage_due_at"]) if reported else state.triage_due_at,
        reply_due_at=datetime.fromisoformat(data["reply_due_at"]) if reported else state.reply_due_at,
        triage_overdue=_overdue_after(state.triage_overdue, kind, ReportTriageOverdue, ReportTriageOverdueResolved),
        reply_overdue=_overdue_after(state.reply_overdue, kind, ReportReplyOverdue, ReportReplyOverdueResolved),
        duplicate_of=data["duplicate_of"] if kind == ReportLinked.event_type else state.duplicate_of,
        reported=data if reported else state.reported,
        document=report_document(state.document or None, envelope),
    )


def _overdue_after(current: bool, kind: str, went: type, resolved: type) -> bool:
    if kind == went.event_type:
        return True
    if kind == resolved.event_type:
        return False
    return current


def replay(envelopes: list[Envelope]) -> Report:
    state = Report()
    for envelope in envelopes:
        state = evolve(state, envelope)
    return state


# -- decide -----------------------------------------------------------------------------


def report(
    state: Report,
    report_id: str,
    community_id: str,
    command: ReportSentiment,
    reporter: ReporterRecord,
    triage_due_at: datetime,
    reply_due_at: datetime,
) -> list[DomainEvent]:
    """A new report; nothing when the same report is retried (same Idempotency-Key)."""
    reported = SentimentReported(
        report_id=report_id,
        channel=command.channel,
        text=command.text,
        place=PlaceRecord.model_validate(command.place.model_dump()),
        reporter=reporter,
        triage_due_at=triage_due_at,
        reply_due_at=reply_due_at,
    )
    if not state.exists:
        return [reported]
    if state.community_id == community_id and _is_same_report(state.reported, reported):
        return []
    raise ReportAlreadyReported(report_id)


def triage(state: Report, report_id: str, community_id: str, command: TriageReport) -> list[DomainEvent]:
    _check_open(state, report_id, community_id)
    if state.status != "reported":
        raise IllegalTransition("该反映已分类，不能重复分类", "this report was already triaged")
    triaged = ReportTriaged(
        report_id=report_id,
        category=command.category,
        routed_to=ROUTES[command.category],
        remarks=command.remarks,
        text=state.reported.get("text"),
        place=state.reported.get("place"),
        reporter_resident_id=state.reported.get("reporter", {}).get("resident_id"),
    )
    late = [ReportTriageOverdueResolved(report_id=report_id)] if state.triage_overdue else []
    return [triaged, *late]


def reply(state: Report, report_id: str, community_id: str, command: ReplyToReporter) -> list[DomainEvent]:
    _check_open(state, report_id, community_id)
    if state.status == "reported":
        raise IllegalTransition("须先分类，再答复反映人", "a report must be triaged before the reporter gets a reply")
    if state.status == "replied":
        raise IllegalTransition("已答复过反映人", "the reporter already got a reply")
    late = [ReportReplyOverdueResolved(report_id=report_id)] if state.reply_overdue else []
    return [ReportReplied(report_id=report_id, reply=command.reply), *late]


def close(state: Report, report_id: str, community_id: str, command: CloseReport) -> list[DomainEvent]:
    _check_open(state, report_id, community_id)
    if state.status != "replied":
        raise IllegalTransition("须先答复反映人，才能结案", "a report is closed only after the reporter got a reply")
    return [ReportClosed(report_id=report_id, remarks=command.remarks)]


def link(state: Report, report_id: str, community_id: str, target: Report, target_id: str) -> list[DomainEvent]:
    """Marks the report as a duplicate of `target`; nothing when it already is."""
    _check_open(state, report_id, community_id)
    if target_id == report_id:
        raise IllegalTransition("不能标记为自身的重复", "a report cannot duplicate itself")
    if not target.exists or target.community_id != community_id:
        raise LinkTargetUnknown(target_id)
    if state.duplicate_of == target_id:
        return []
    if state.duplicate_of is not None:
        raise IllegalTransition(
            f"该反映已标记为 {state.duplicate_of} 的重复", f"this report already duplicates {state.duplicate_of}"
        )
    return [ReportLinked(report_id=report_id, duplicate_of=target_id)]


def overdue(state: Report, report_id: str, step: str, now: datetime) -> list[DomainEvent]:
    """The step's `…Overdue` event, once, if it is still unmet after its deadline."""
    if not state.exists:
        return []
    if step == TRIAGE_STEP and state.status == "reported" and not state.triage_overdue:
        if state.triage_due_at is not None and now >= state.triage_due_at:
            return [ReportTriageOverdue(report_id=report_id, due_at=state.triage_due_at)]
    if step == REPLY_STEP and state.status in ("reported", "triaged") and not state.reply_overdue:
        if state.reply_due_at is not None and now >= state.reply_due_at:
            return [ReportReplyOverdue(report_id=report_id, due_at=state.reply_due_at)]
    return []


def _check_open(state: Report, report_id: str, community_id: str) -> None:
    if not state.exists or state.community_id != community_id:
        raise ReportNotFound(report_id)
    if state.status == "closed":
        raise IllegalTransition("该反映已结案，不能再操作", "this report is closed")


def _is_same_report(recorded: dict[str, Any], new: SentimentReported) -> bool:
    data = new.model_dump(mode="json")
    same_reporter = all(recorded["reporter"].get(k) == data["reporter"][k] for k in ("kind", "resident_id"))
    return same_reporter and all(recorded[k] == data[k] for k in ("channel", "text", "place"))


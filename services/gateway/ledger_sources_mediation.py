"""Where the pillar-2 ledgers come from: the dispute read model (调解矛盾纠纷记录表) and the
rosters' read model (辖区调解员情况统计表, 辖区单位参与调解责任表), never mediation itself.
The rosters' phones are sealed by mediation, which opens them for the sheet."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.gateway.ledger_sources import Ledger, Record
from services.gateway.ledgers.mediation_layouts import MEDIATION_RECORD, MEDIATION_UNITS, MEDIATORS
from services.gateway.views import rosters
from services.gateway.views.disputes import disputes
from services.gateway.views.network import resident_names
from shared.contracts.mediation import OUTCOMES, STATUSES

CHINA = ZoneInfo("Asia/Shanghai")


def _nobody(_record: Record) -> list[dict[str, Any]]:
    return []


def _as_is(record: Record, _people: list[dict[str, Any]]) -> Record:
    return record


class MediationRecord(Ledger):
    """调解矛盾纠纷记录表: no sealed fields; one row per session, keyed by case and session."""

    def rows(self, records: list[Record]) -> Iterator[dict[str, Any]]:
        for record in records:
            yield {**{column.key: record.get(column.key) for column in self.layout.columns},
                   "dispute_id": record["dispute_id"], "session_no": record["session_no"]}


class Roster(Ledger):
    """A roster: each entry is its own person, its phone sealed by mediation under the entry's id."""

    def rows(self, records: list[Record]) -> Iterator[dict[str, Any]]:
        for record in records:
            yield {**{column.key: record.get(column.key) for column in self.layout.columns}, "id": record["id"]}


async def read_mediation_record(engine: AsyncEngine, community_id: str, today: date) -> list[Record]:
    """Every case of the community in the order registered, one row per session (one row for
    a case not yet mediated)."""
    query = (select(disputes.c.document).where(disputes.c.community_id == community_id)
             .order_by(disputes.c.created_at, disputes.c.id))
    async with engine.connect() as conn:
        cases = list((await conn.execute(query)).scalars())
    names = await resident_names(engine, [p["resident_id"] for case in cases for p in case["parties"] if p.get("resident_id")])
    rows = []
    for case in cases:
        common = {
            "dispute_id": case["id"],
            "party_a": _parties(case, "a", names),
            "party_b": _parties(case, "b", names),
            "dispute_cause": case["dispute_cause"],
            "result": _result(case),
            "remarks": case.get("remarks"),
        }
        place = _place(case.get("place"))
        if not case["sessions"]:
            rows.append({**common, "session_no": None, "place": place, "mediators": "、".join(case["mediators"]) or None})
        for session in case["sessions"]:
            rows.append({
                **common,
                "session_no": session["session_no"],
                "held_at": _china_time(session["held_at"]),
                "place": session["place"] + ("（现场调解）" if session.get("on_site") else ""),
                "mediators": "、".join(session["mediators"]),
                "participants": "、".join(session.get("participants") or ()) or None,
                "account": session["account"],
                "remarks": session.get("remarks") or case.get("remarks"),
            })
    return rows


def _parties(case: Record, side: str, names: dict[str, str]) -> str:
    return "、".join(p.get("name") or names.get(p.get("resident_id") or "", "") or "（居民）"
                    for p in case["parties"] if p["side"] == side)


def _place(place: dict[str, Any] | None) -> str | None:
    return None if not place else place["compound"] + (place.get("building") or "")


def _china_time(held_at: str) -> str:
    return datetime.fromisoformat(held_at).astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def _result(case: Record) -> str:
    """结果反馈: how the case ended, or where it stands, with what was agreed or why it went up."""
    parts = [OUTCOMES[case["outcome"]][0] if case.get("outcome") else STATUSES[case["status"]][0]]
    if agreement := case.get("agreement"):
        parts.append(f"协议：{agreement['terms']}")
        if case["follow_ups"]:
            parts.append(f"回访 {len(case['follow_ups'])} 次，" + ("已全部履行" if agreement["fulfilled"] else "尚未全部履行"))
    if transfer := case.get("transfer"):
        parts.append(f"移送街道：{transfer['reason']}")
    if refusal := case.get("refusal"):
        parts.append("当事人拒绝调解" + (f"：{refusal['reason']}" if refusal.get("reason") else ""))
    return "；".join(parts)


def _roster_reader(kind: str):
    async def read(engine: AsyncEngine, community_id: str, today: date) -> list[Record]:
        return await rosters.roster(engine, kind, community_id)

    return read


def _entry(record: Record) -> list[dict[str, Any]]:
    return [record]


def _shown_entry(record: Record, people: list[dict[str, Any]]) -> Record:
    return people[0]


MEDIATION_LEDGERS: dict[str, Ledger] = {
    "mediation_record": MediationRecord(MEDIATION_RECORD, read_mediation_record, _nobody, _as_is, sealed={}),
    "mediators": Roster(MEDIATORS, _roster_reader("mediator"), _entry, _shown_entry, sealed={"phone": "phone"},
                        service="mediation", subject="id"),
    "mediation_units": Roster(MEDIATION_UNITS, _roster_reader("unit"), _entry, _shown_entry, sealed={"phone": "phone"},
                              service="mediation", subject="id"),
}
"""The pillar-2 ledgers, by the name in `/ledgers/{ledger}`."""

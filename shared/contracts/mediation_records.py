"""The records that disputes' events hold inside them: a party, a place, an agreement's clause."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class PartyRecord(_Record):
    """A party: `side` a (甲) or b (乙); a resident of the registry, a named outsider, or both
    (the name as the case records it)."""

    party_id: str
    side: str
    resident_id: str | None = None
    name: str | None = None
    remarks: str | None = None


class PlaceRecord(_Record):
    compound: str
    building: str | None = None


class ClauseRecord(_Record):
    """One obligation of an agreement: who (a party of the case), what, and by when."""

    clause_no: int
    party_id: str
    obligation: str
    due_on: date

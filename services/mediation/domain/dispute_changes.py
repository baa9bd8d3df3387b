"""Deciding the street centre's take-over and assignment back, and amendments to what a case
records (`shared.contracts.mediation_changes`). Pure, no I/O."""

from __future__ import annotations

from services.mediation.domain.dispute_rules import COMMUNITY_ACTOR, Actor, NotOfThisCase, check_open
from services.mediation.domain.disputes import Dispute
from shared.contracts.mediation_changes import DisputeAssignedBack, DisputeDetailsAmended, DisputeTakenOver
from shared.contracts.mediation_records import PartyRecord, PlaceRecord
from shared.contracts.mediation_requests import AmendDispute, AssignBackDispute, TakeOverDispute
from shared.events import DomainEvent


def take_over(
    state: Dispute, dispute_id: str, community_id: str, command: TakeOverDispute, by: Actor
) -> list[DomainEvent]:
    check_open(state, dispute_id, community_id, "take_over", by)
    return [DisputeTakenOver(dispute_id=dispute_id, officer=by.name, remarks=command.remarks)]


def assign_back(
    state: Dispute, dispute_id: str, community_id: str, command: AssignBackDispute, by: Actor
) -> list[DomainEvent]:
    check_open(state, dispute_id, community_id, "assign_back", by)
    return [
        DisputeAssignedBack(
            dispute_id=dispute_id, officer=by.name, instructions=command.instructions, remarks=command.remarks
        )
    ]


def amend(
    state: Dispute, dispute_id: str, community_id: str, command: AmendDispute, by: Actor = COMMUNITY_ACTOR
) -> list[DomainEvent]:
    check_open(state, dispute_id, community_id, "amend", by)
    return [
        DisputeDetailsAmended(
            dispute_id=dispute_id,
            category=command.category,
            dispute_cause=command.dispute_cause,
            parties=_parties(state, command) if command.parties is not None else None,
            place=PlaceRecord.model_validate(command.place.model_dump()) if command.place else None,
            reason=command.reason,
        )
    ]


def _parties(state: Dispute, command: AmendDispute) -> list[PartyRecord]:
    """The new list: a kept party keeps its id, a new one gets the number after the highest
    the case ever used (an id once given never names anyone else)."""
    unknown = [party.party_id for party in command.parties or () if party.party_id and party.party_id not in state.party_ids]
    if unknown:
        raise NotOfThisCase(
            f"当事人 {'、'.join(unknown)} 不在本案中（本案当事人：{'、'.join(state.party_ids)}）；新增当事人请不填 party_id",
            f"{', '.join(unknown)} is not a party of this case (its parties: {', '.join(state.party_ids)});"
            " leave party_id out for a new party",
        )
    next_no = state.last_party_no
    parties = []
    for party in command.parties or ():
        party_id = party.party_id
        if party_id is None:
            next_no += 1
            party_id = f"p{next_no}"
        parties.append(PartyRecord(party_id=party_id, **party.model_dump(exclude={"party_id"})))
    return parties

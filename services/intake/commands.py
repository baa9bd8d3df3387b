"""Intake's commands are part of the public contract (the gateway validates and documents them too)."""

from shared.contracts.intake_requests import (  # noqa: F401
    Address,
    ClearLabel,
    LabelResident,
    RenewLabel,
    EraseResident,
    MergeResidents,
    MoveResident,
    ChangeHousehold,
    HouseholdHead,
    HouseholdMember,
    Person,
    RegisterHousehold,
)
from shared.contracts.intake_network import (  # noqa: F401
    FormInfoOfficerTeam,
    FormPartyGroup,
    HoldSentimentMeeting,
    JoinInfoOfficerTeam,
    LeaveInfoOfficerTeam,
    PlacePartyMember,
)

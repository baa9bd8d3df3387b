"""Mediation's commands are part of the public contract (the gateway validates and documents them too)."""

from shared.contracts.mediation_requests import (  # noqa: F401
    AcceptDispute,
    CloseDispute,
    RecordAgreement,
    RecordFollowUp,
    RecordInvestigation,
    RecordSession,
    RefuseMediation,
    RegisterDispute,
    TransferDispute,
)

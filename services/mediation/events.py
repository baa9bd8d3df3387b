"""Mediation's events live in `shared.contracts.mediation`, so other pillars read them without this package."""

from shared.contracts.mediation import (  # noqa: F401
    DISPUTE_EVENTS,
    AgreementFollowedUp,
    AgreementReached,
    DisputeAccepted,
    DisputeClosed,
    DisputeInvestigated,
    DisputeRegistered,
    DisputeTransferred,
    MediationRefused,
    MediationSessionHeld,
    dispute_document,
    dispute_stream,
)

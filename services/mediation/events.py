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
from shared.contracts.mediation_deadlines import (  # noqa: F401, E402
    DEADLINE_EVENTS,
    DisputeDeadlineOverdue,
    DisputeDeadlineOverdueResolved,
    JudicialConfirmationReminded,
)

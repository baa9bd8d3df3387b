"""Intake's events live in `shared.contracts.intake`, so other pillars read them without this package."""

from shared.contracts.intake import (  # noqa: F401
    AddressRecord,
    HouseholdChanged,
    HouseholdRegistered,
    PersonRecord,
    household_document,
    household_stream,
)

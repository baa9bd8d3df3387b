"""Pillar 1, public sentiment, "zero blind spots" (社情民意“零盲点”).

Owns households and their members (the household survey ledger). Publishes
`fz:{intake}:events` (see `shared.contracts.intake`); reads no other stream yet.
"""

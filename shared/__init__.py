"""The kernel every service imports: events, event store, relay, consumers, tenancy, problems.

Mechanisms only, no business rules. Nothing here builds an engine, a broker or
settings at import time: services wire them in `create_api` / `create_worker`.
"""

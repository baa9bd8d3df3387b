"""Mediation's HTTP API, called by the gateway with its signed identity: body → command → handler."""

from services.mediation.api import disputes, rosters

routes = [*disputes.routes, *rosters.routes]

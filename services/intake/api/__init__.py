"""Intake's HTTP API, called by the gateway with its signed identity: body → command → handler."""

from services.intake.api import households, network, reports, residents

routes = [*households.routes, *residents.routes, *reports.routes, *network.routes]

"""Intake's HTTP API, called by the gateway with its signed identity: body → command → handler."""

from services.intake.api import care, households, imports, network, reports, residents

routes = [*households.routes, *imports.routes, *residents.routes, *reports.routes, *network.routes, *care.routes]

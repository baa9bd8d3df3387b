"""Intake's HTTP API, called by the gateway with its signed identity: body → command → handler."""

from services.intake.api import care, households, reports, residents

routes = [*households.routes, *residents.routes, *reports.routes, *care.routes]

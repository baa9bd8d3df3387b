"""Intake's HTTP API, called by the gateway with its signed identity: body → command → handler."""

from services.intake.api import households, reports

routes = [*households.routes, *reports.routes]

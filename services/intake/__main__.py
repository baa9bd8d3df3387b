from services.intake.app import create_api, run_intake_worker
from services.intake.settings import IntakeSettings
from shared.main import run_service

run_service("intake", IntakeSettings(), create_api, run_intake_worker)

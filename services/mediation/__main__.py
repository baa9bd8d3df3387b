from services.mediation.app import create_api, run_mediation_worker
from services.mediation.settings import MediationSettings
from shared.main import run_service

run_service("mediation", MediationSettings(), create_api, run_mediation_worker)

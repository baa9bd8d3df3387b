from services.gateway.app import create_api, run_gateway_worker
from services.gateway.settings import GatewaySettings
from shared.main import run_service

run_service("gateway", GatewaySettings(), create_api, run_gateway_worker)

"""`GET /api/v1/audit`: who saw whose personal data whole, when, and where (PIPL art. 51).

Read by auditors, district administrators and community heads, each within their scope.
"""

from __future__ import annotations

from typing import Any

from litestar import get
from litestar.di import Provide
from litestar.params import Parameter

from services.gateway.auth import Caller, GatewayEngine, current_identity
from services.gateway.org import recent_org_chart
from services.gateway.personal_data import audit_trail
from services.gateway.scope import community_or_404
from shared.identity import AUDITOR, COMMUNITY_HEAD, DISTRICT_ADMIN
from shared.problems import ProblemError


@get(
    "/api/v1/audit",
    summary="Whole views of personal data, newest first",
    tags=["audit"],
    dependencies={"identity": Provide(current_identity)},
)
async def audit(
    identity: Caller,
    gateway_engine: GatewayEngine,
    community_id: str | None = Parameter(default=None, max_length=100),
    before: int | None = Parameter(default=None, ge=1, description="the id of the last entry of the previous page"),
    limit: int = Parameter(default=100, ge=1, le=500),
) -> dict[str, Any]:
    if not identity.has_role(AUDITOR, DISTRICT_ADMIN, COMMUNITY_HEAD):
        raise ProblemError("forbidden", detail_zh="无权查看审计记录", detail_en="you may not read the audit trail")
    if community_id is not None:
        await community_or_404(gateway_engine, community_id)
        if not identity.can_see(community_id):
            raise ProblemError("forbidden")
        communities: list[str] | None = [community_id]
    elif identity.all_communities:
        communities = None
    else:
        chart = await recent_org_chart(gateway_engine)
        communities = [c.id for c in chart.communities if identity.can_see(c.id)]
    entries = await audit_trail(gateway_engine, communities, before, limit)
    return {"items": entries, "next_before": entries[-1]["id"] if len(entries) == limit else None}

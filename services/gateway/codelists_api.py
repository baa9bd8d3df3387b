"""`/api/v1/code-lists/{name}`: the national code lists a client offers as pick lists."""

from __future__ import annotations

from typing import Any

from litestar import get
from litestar.params import FromPath

from shared.codelists import CodeListName, code_list, source


@get("/api/v1/code-lists/{name:str}", tags=["reference"], summary="A code list (the national GB/T lists, and dispute categories)", cache=3600)
async def code_list_route(
    name: FromPath[CodeListName],
) -> dict[str, Any]:
    listed = source(name)
    return {
        "name": name,
        "standard": listed.standard,
        "title_zh": listed.title_zh,
        "title_en": listed.title_en,
        "items": [
            {"code": entry.code, "name_zh": entry.name_zh, "name_en": entry.name_en} for entry in code_list(name).values()
        ],
    }

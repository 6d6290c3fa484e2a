"""Health and the API's own description."""

from __future__ import annotations

from typing import Any

from chalicelib.api import openapi
from chalicelib.api.http import Call, Router
from chalicelib.api.schemas import Health
from chalicelib.config import settings

router = Router("meta")


@router.route("GET", "/health", summary="Liveness", tag="meta", access="public", response=Health)
def health(call: Call[None, None]) -> Health:
    return Health("ok", settings().stage)


@router.route("GET", "/openapi.json", summary="This OpenAPI 3.1 document", tag="meta", access="public")
def openapi_document(call: Call[None, None]) -> dict[str, Any]:
    return openapi.document()

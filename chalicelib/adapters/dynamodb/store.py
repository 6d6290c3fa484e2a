"""Lazy, cached binding of the models to the configured table."""

from __future__ import annotations

from functools import cache

from chalicelib.adapters.dynamodb import models
from chalicelib.config import settings


@cache
def ready() -> None:
    models.bind(settings())


def reset() -> None:
    ready.cache_clear()

"""Binding the models to the configured table: once per container, by each entry point (the API
dispatcher, each scheduled job), never by the services."""

from __future__ import annotations

from functools import cache

from chalicelib.adapters.dynamodb import models
from chalicelib.adapters.dynamodb.unit_of_work import is_contention
from chalicelib.config import settings

__all__ = ["bind", "is_contention", "reset"]


@cache
def bind() -> None:
    models.bind(settings())


def reset() -> None:
    bind.cache_clear()

"""One mapping, both ways, between an item and the domain struct it stores: attributes by field name
(msgspec converts enums, integers, sets and tuples). Adding a field to an aggregate is a change to its
struct and its model; `tests/unit/test_mapping.py` proves every struct field has its attribute."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from pynamodb.models import Model

T = TypeVar("T", bound=msgspec.Struct)


def to_domain(item: Model, kind: type[T]) -> T:
    return msgspec.convert(item.attribute_values, kind, strict=False)


def to_attributes(value: msgspec.Struct) -> dict[str, Any]:
    return msgspec.structs.asdict(value)

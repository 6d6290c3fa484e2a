"""One mapping, both ways, between an item and the domain struct it stores: attributes by field name
(msgspec converts enums, integers, sets and tuples). Adding a field to an aggregate is a change to its
struct and its model; `tests/unit/test_mapping.py` proves every struct field has its attribute.

An item is read either as a model (`to_domain`) or, on hot reads, as DynamoDB returns it (`from_item`,
`values_of`: the same values, without building the model). Listings and exchanges also carry a copy of
themselves (`packed`, msgpack) that their hot reads decode in one call (`from_packed`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, TypeVar

import msgspec
from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.models import Model

T = TypeVar("T", bound=msgspec.Struct)


def to_domain(item: Model, kind: type[T]) -> T:
    return msgspec.convert(item.attribute_values, kind, strict=False)


def to_attributes(value: msgspec.Struct) -> dict[str, Any]:
    return msgspec.structs.asdict(value)


def from_item(model: type[Model], item: Mapping[str, Mapping[str, Any]], kind: type[T]) -> T:
    """`to_domain` of a raw item (`reads`) that `model` stores: only the struct's fields are read, and
    numbers as DynamoDB wrote them (msgspec converts their text as it converts the model's numbers)."""
    values: dict[str, Any] = {}
    for name, tag, default in _fields(model, kind):
        value = item.get(name)
        if value is None:
            if default is not _NO_DEFAULT:
                values[name] = default() if callable(default) else default
        else:
            values[name] = value[tag] if tag in value else _value(value)
    return msgspec.convert(values, kind, strict=False)


def packed(value: msgspec.Struct) -> bytes:
    """The copy of an aggregate its item carries (the `packed` attribute), written with its attributes."""
    return _ENCODER.encode(value)


def from_packed(
    model: type[Model], item: Mapping[str, Mapping[str, Any]], kind: type[T], counters: tuple[str, ...] = ()
) -> T:
    """`from_item` of a raw item (`reads`: binary values as bytes) by its copy, decoded in one call; the
    `counters`, numbers that writes ADD to without rewriting the copy, are read from their own attributes
    (set on the value just decoded, which nothing else holds yet). An item written before it carried a
    copy is read attribute by attribute."""
    copy = item.get("packed")
    if copy is None:
        return from_item(model, item, kind)
    value: T = _decoder(kind).decode(copy["B"])
    for name in counters:
        counter = item.get(name)
        if counter is not None:
            msgspec.structs.force_setattr(value, name, _number(counter["N"]))
    return value


_ENCODER = msgspec.msgpack.Encoder()


@cache
def _decoder(kind: type[T]) -> msgspec.msgpack.Decoder[T]:
    return msgspec.msgpack.Decoder(kind)


_NO_DEFAULT = object()
_TYPES = {UnicodeAttribute: "S", NumberAttribute: "N", BooleanAttribute: "BOOL", UnicodeSetAttribute: "SS"}


@cache
def _fields(model: type[Model], kind: type[msgspec.Struct]) -> tuple[tuple[str, str, Any], ...]:
    """Per container: the struct's fields the model stores, each with its DynamoDB type (any other is
    read by `_value`) and the model's default."""
    attributes = model.get_attributes()
    return tuple(
        (field.name, _TYPES.get(type(attribute), ""), _NO_DEFAULT if attribute.default is None else attribute.default)
        for field in msgspec.structs.fields(kind)
        if (attribute := attributes.get(field.name)) is not None
    )


def values_of(model: type[Model], item: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """A raw item's values as the model's `attribute_values` holds them: the model's defaults fill what
    an older item lacks; numbers are int (or float with a fraction), sets are sets, lists are lists."""
    fixed, made = _defaults(model)
    values = fixed.copy()
    for name, make in made.items():
        values[name] = make()
    for name, value in item.items():  # most attributes are strings: no call for them (a page has hundreds)
        values[name] = value["S"] if "S" in value else _value(value)
    return values


@cache
def _defaults(model: type[Model]) -> tuple[dict[str, Any], dict[str, Callable[[], Any]]]:
    """Per container (a model's attributes never change): fixed defaults, and those made anew per item."""
    fixed: dict[str, Any] = {}
    made: dict[str, Callable[[], Any]] = {}
    for name, attribute in model.get_attributes().items():
        if callable(attribute.default):
            made[name] = attribute.default
        elif attribute.default is not None:
            fixed[name] = attribute.default
    return fixed, made


def _value(value: Mapping[str, Any]) -> Any:
    ((kind, data),) = value.items()
    if kind in ("S", "BOOL", "B"):
        return data
    if kind == "N":
        return _number(data)
    if kind == "L":
        return [_value(element) for element in data]
    if kind == "SS" or kind == "BS":
        return set(data)
    if kind == "NS":
        return {_number(element) for element in data}
    if kind == "M":
        return {name: _value(element) for name, element in data.items()}
    return None  # NULL


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)

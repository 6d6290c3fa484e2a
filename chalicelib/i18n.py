"""Every text a person reads, in French and English: catalogue files (`catalogue/<language>.json`) map a
message id to a template; code names ids and parameters, never texts.

A template's `{name}` takes a parameter as it is; `{name:namespace}` takes the label of its value in the
same language (`{type:exchange-type}` renders "loan" as "prêt" in French). The request's language is the
member's (their identity provider's `locale`), else the first of `Accept-Language` we speak, else English."""

from __future__ import annotations

import json
import re
import string
from collections.abc import Mapping
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import NamedTuple

_CATALOGUE = Path(__file__).resolve().parent / "catalogue"
_RANGE = re.compile(r"\s*([A-Za-z]{1,8})(?:-[A-Za-z0-9]{1,8})*\s*(?:;\s*q\s*=\s*([0-9.]{1,5}))?\s*")

Params = Mapping[str, object]


class Language(StrEnum):
    FR = "fr"
    EN = "en"


DEFAULT = Language.EN


@cache
def catalogue(language: Language) -> dict[str, str]:
    messages: dict[str, str] = json.loads((_CATALOGUE / f"{language.value}.json").read_text(encoding="utf-8"))
    return messages


def text(message_id: str, language: Language = DEFAULT, params: Params | None = None) -> str:
    """The message in the language, filled with its parameters. A message or parameter missing (which
    the catalogue tests prevent) shows its id rather than failing the response."""
    template = catalogue(language).get(message_id) or catalogue(DEFAULT).get(message_id)
    if template is None:
        return message_id
    try:
        return _Formatter(language).vformat(template, (), params or {})
    except (KeyError, IndexError, ValueError):
        return template


def labelled(message_id: str, language: Language) -> tuple[str, dict[str, str]]:
    """A label in the language, and in every language (for clients that switch without asking again)."""
    return text(message_id, language), {each.value: text(message_id, each) for each in Language}


class Message(NamedTuple):
    """A message given as another's parameter: rendered in the same language."""

    message_id: str
    params: Params


def has(message_id: str) -> bool:
    return message_id in catalogue(DEFAULT)


class _Formatter(string.Formatter):
    def __init__(self, language: Language) -> None:
        self.language = language

    def format_field(self, value: object, format_spec: str) -> str:
        if isinstance(value, Message):
            return text(value.message_id, self.language, value.params)
        if not format_spec:
            return str(value)
        label = f"{format_spec}.{value}"
        return catalogue(self.language).get(label) or catalogue(DEFAULT).get(label) or str(value)


def placeholders(template: str) -> set[tuple[str, str]]:
    """The (parameter, label namespace) pairs a template takes."""
    return {(name, spec or "") for _, name, spec, _ in string.Formatter().parse(template) if name is not None}


def language_of(preferred: str | None, accept_language: str | None) -> Language:
    """The member's own language when we speak it, else the best of `Accept-Language` we speak (by
    q-value, then order), else English."""
    for wanted in (preferred, *_accepted(accept_language)):
        if wanted:
            primary = wanted.split("-")[0].split("_")[0].lower()
            if primary in _SPOKEN:
                return Language(primary)
    return DEFAULT


_SPOKEN = frozenset(language.value for language in Language)


def _accepted(header: str | None) -> list[str]:
    """The language ranges of an Accept-Language header, best first; what does not parse is ignored."""
    if not header:
        return []
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header[:256].split(",")):
        match = _RANGE.fullmatch(part)
        if match is None:
            continue
        try:
            quality = float(match.group(2)) if match.group(2) is not None else 1.0
        except ValueError:
            continue
        if quality > 0:
            ranked.append((-quality, position, match.group(1)))
    return [tag for _, _, tag in sorted(ranked)]

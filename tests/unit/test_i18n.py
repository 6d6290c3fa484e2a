"""French and English: every message the code names is in both catalogues with the same parameters, every
label a template asks for exists, and the request's language is chosen as documented."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from chalicelib import auth, errors, i18n
from chalicelib.api import http, problems
from chalicelib.domain import limits
from chalicelib.domain.books import COMMUNITY_FIGURES, FIGURES
from chalicelib.domain.exchanges import Action, ExchangeType, State
from chalicelib.domain.ledger import HoldStatus, TransferKind
from chalicelib.domain.listings import CATEGORIES, Family, Mode
from chalicelib.domain.missions import ClaimState
from chalicelib.domain.notifications import Kind
from chalicelib.domain.reviews import KindWord
from chalicelib.i18n import Language

CHALICELIB = Path(__file__).resolve().parents[2] / "chalicelib"
EN, FR = Language.EN, Language.FR

# The label namespaces templates use, and every value they may be given.
LABELS: dict[str, set[str]] = {
    "exchange-type": {value.value for value in ExchangeType},
    "exchange-state": {value.value for value in State},
    "exchange-action": {value.value for value in Action},
    "transfer-kind": {value.value for value in TransferKind},
    "hold-status": {value.value for value in HoldStatus},
    "claim-state": {value.value for value in ClaimState},
    "mode": {value.value for value in Mode},
    "limited-action": set(limits.DEFAULT_RATE_LIMITS),
    "category": set(CATEGORIES),
    "kind-word": {value.value for value in KindWord},
    "family": {value.value for value in Family},
}


def named_in_code() -> set[str]:
    """The message ids written in the code: the first text of every error, field error, struct rule
    (`ValueError` in the schemas) and `i18n.text` call."""
    found: set[str] = set()
    for path in CHALICELIB.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
                at = 1 if name == "FieldError" else 0
                wanted = name in {"FieldError", "text"} or (isinstance(func, ast.Attribute) and _on_errors(func))
                wanted = wanted or (name == "ValueError" and path.name == "schemas.py")
                if wanted and len(node.args) > at and isinstance(literal := node.args[at], ast.Constant):
                    found.add(literal.value)
    return found


def _on_errors(func: ast.Attribute) -> bool:
    return isinstance(func.value, ast.Name) and func.value.id == "errors"


def test_both_catalogues_hold_the_same_messages_with_the_same_parameters():
    english, french = i18n.catalogue(EN), i18n.catalogue(FR)
    assert set(english) == set(french), set(english) ^ set(french)
    for message_id, template in english.items():
        assert template.strip() and french[message_id].strip(), message_id
        assert i18n.placeholders(template) == i18n.placeholders(french[message_id]), message_id


def test_every_message_the_code_names_is_in_the_catalogues():
    named = named_in_code()
    assert len(named) > 200  # the scan sees the code's messages
    missing = {message_id for message_id in named if not i18n.has(message_id)}
    assert not missing, sorted(missing)


def test_every_title_notification_label_and_validation_message_is_in_the_catalogues():
    wanted = {title for _, title in problems._PROBLEMS.values()} | {problems.INTERNAL[1], "request.internal"}
    wanted |= {auth._UNKNOWN_KEY, auth._UNUSABLE_SUBJECT} | {message_id for _, message_id in auth._TOKEN_REFUSALS}
    wanted |= {f"notification.{kind.value}" for kind in Kind}
    wanted |= {message_id for _, message_id in http._VALIDATION_MESSAGES} | {"validation.other"}
    wanted |= {f"{namespace}.{value}" for namespace, values in LABELS.items() for value in values}
    wanted |= {f"books.{column}" for column in (*FIGURES, "chain", "period", "reconciled", "closed_at", "previous")}
    wanted |= {"books.digest", "statistics.listings_published", "statistics.exchanges_completed"}
    per_family = ("listings_published_", "exchanges_completed_")  # one text each, named by the family
    wanted |= {f"statistics.{figure}" for figure in ("month", *COMMUNITY_FIGURES) if not figure.startswith(per_family)}
    missing = {message_id for message_id in wanted if not i18n.has(message_id)}
    assert not missing, sorted(missing)


def test_every_label_namespace_a_template_uses_is_known():
    used = {spec for template in i18n.catalogue(EN).values() for _, spec in i18n.placeholders(template) if spec}
    assert used <= set(LABELS), used - set(LABELS)


def test_french_texts_take_french_labels():
    accepted = i18n.text("notification.exchange_accepted", FR, {"type": "loan"})
    assert accepted == "Votre proposition (prêt) a été acceptée."
    assert i18n.text("notification.exchange_accepted", EN, {"type": "loan"}) == "Your loan proposal was accepted."
    assert i18n.text("category.goods.tools", FR) == "Outils et bricolage"


def test_a_missing_message_or_parameter_shows_its_id_or_template_never_fails():
    assert i18n.text("no.such-message", FR) == "no.such-message"
    assert i18n.text("ledger.amount-range", FR) == i18n.catalogue(FR)["ledger.amount-range"]


def test_an_error_renders_in_each_language_with_its_facts():
    error = errors.InsufficientCredits(needed=30, available=12)
    assert error.detail(EN).startswith("Insufficient credits: 30 needed, 12 available.")
    assert error.detail(FR).startswith("Crédits insuffisants : 30 nécessaires, 12 disponibles.")
    status, body = problems.problem(error, FR)
    assert status == 409 and b'"title":"Conflit"' in body and b'"available":12' in body


@pytest.mark.parametrize(
    ("message", "message_id"),
    [
        ("Expected `int`, got `str`", "validation.type"),
        ("Expected `str` of length <= 120", "validation.length"),
        ("Expected `int` >= 1", "validation.bound"),
        ("Expected `str` matching regex '^[a-z]+$'", "validation.pattern"),
        ("Invalid enum value 'nope'", "validation.enum"),
        ("Invalid RFC3339 encoded datetime", "validation.rfc3339"),
        ("Expected `datetime` with a timezone component", "validation.timezone"),
        ("Object missing required field `kind`", "validation.missing-field"),
        ("Something msgspec may say one day", "validation.other"),
        ("listings.give-exactly-one-community", "listings.give-exactly-one-community"),
    ],
)
def test_msgspec_messages_keep_their_english_and_get_french(message, message_id):
    problem = http.validation_error("field", message)
    assert problem.message == message_id
    assert problem.text(EN) == (message if message_id.startswith("validation.") else i18n.text(message_id))
    assert problem.text(FR) != problem.text(EN)


@pytest.mark.parametrize(
    ("preferred", "header", "expected"),
    [
        (None, None, EN),
        (None, "", EN),
        (None, "fr-CH,fr;q=0.9,en;q=0.8", FR),
        (None, "de-DE,de;q=0.9,fr;q=0.5,en;q=0.4", FR),  # the best we speak
        (None, "en;q=0.5, fr;q=0.9", FR),  # by quality, not order
        (None, "fr;q=0, en", EN),  # q=0: not acceptable
        (None, "de, it", EN),
        (None, "*", EN),
        (None, "fr;q=abc, ;;, \u00e9\u00e9", EN),  # what does not parse is ignored
        (None, "x" * 1000 + ",fr", EN),
        ("fr_CH", "en", FR),  # the member's own language wins
        ("de", "fr", FR),  # unless we do not speak it
        ("EN-gb", "fr", EN),
    ],
)
def test_the_request_language(preferred, header, expected):
    assert i18n.language_of(preferred, header) is expected

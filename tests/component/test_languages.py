"""The language of what a person reads, over HTTP: problems, field messages and labels follow the member's
own `locale`, else Accept-Language, else English; what a client branches on never changes."""

from __future__ import annotations

import pytest

from tests.component import support
from tests.component.support import assert_422, assert_problem

shared_api = support.shared_api
mint = support.mint

FRENCH = {"Accept-Language": "fr-CH,fr;q=0.9,en;q=0.8"}


@pytest.fixture
def api(shared_api):
    return shared_api


def test_a_problem_in_french_or_english_with_the_same_type(api):
    french = assert_problem(api.get("/listings/nope", headers=FRENCH), 404, "not-found")
    english = assert_problem(api.get("/listings/nope"), 404, "not-found")
    assert (french["title"], french["detail"]) == ("Introuvable", "L'annonce est introuvable.")
    assert (english["title"], english["detail"]) == ("Not found", "The listing was not found.")
    german = assert_problem(api.get("/listings/nope", headers={"Accept-Language": "de"}), 404)
    assert german["detail"] == english["detail"]


def test_field_messages_in_french_ours_and_msgspec_s(api):
    body = {"kind": "offer", "category": "goods.tools", "mode": "gift", "title": "x", "community_id": "c", "price": "3"}
    problem = assert_422(api.post("/listings", body, headers=FRENCH), "title", "price")
    messages = {error["field"]: error["message"] for error in problem["errors"]}
    assert messages["price"] == "Attendu : `int`, reçu : `str`"
    assert messages["title"] == "Attendu : `str` de longueur >= 3"
    assert problem["title"] == "Validation échouée"
    unknown = assert_422(api.get("/listings?community=c&colour=red", headers=FRENCH), "colour")
    assert unknown["errors"] == [{"field": "colour", "message": "Paramètre de requête inconnu."}]


def test_a_header_s_problem_in_french(api):
    key = "k" * 300
    problem = assert_problem(api.post("/me/notifications/read", {}, headers={**FRENCH, "Idempotency-Key": key}), 400)
    assert problem["detail"] == "L'en-tête Idempotency-Key n'est pas valide : Attendu : `str` de longueur <= 128."
    english = assert_problem(api.post("/me/notifications/read", {}, headers={"Idempotency-Key": key}), 400)
    assert english["detail"] == "The Idempotency-Key header is not valid: Expected `str` of length <= 128."


def test_a_malformed_token_s_problem_in_french(api):
    problem = assert_problem(api.get("/me", as_=None, headers={**FRENCH, "Authorization": "Bearer abc.def.ghi"}), 401)
    assert problem["detail"] == "Le jeton n'est pas valide : ce n'est pas un JWT bien formé."


def test_a_rule_of_the_struct_in_french(api):
    problem = assert_422(api.get("/listings?community=c&owner=o", headers=FRENCH))
    assert problem["errors"][0]["message"].startswith("Indiquez exactement un critère parmi")


def test_the_member_s_own_locale_wins_over_the_header(api, mint):
    token = mint("lang-fr", locale="fr-BE")
    french = assert_problem(api.get("/exchanges/nope", as_=None, headers={"Authorization": f"Bearer {token}"}), 404)
    assert french["detail"] == "L'échange est introuvable."
    english_token = mint("lang-en", locale="en-GB")
    sent = {"Authorization": f"Bearer {english_token}", **FRENCH}
    assert assert_problem(api.get("/exchanges/nope", as_=None, headers=sent), 404)["detail"] == (
        "The exchange was not found."
    )


def test_labels_of_categories_and_kind_words(api):
    categories = {found["id"]: found for found in api.get("/categories", as_=None, headers=FRENCH).json}
    assert categories["goods.tools"] == {
        "id": "goods.tools",
        "family": "goods",
        "label": "Outils et bricolage",
        "labels": {"fr": "Outils et bricolage", "en": "Tools and DIY"},
    }
    words = {found["id"]: found["label"] for found in api.get("/review-kind-words", as_=None).json}
    assert words["punctual"] == "Punctual"

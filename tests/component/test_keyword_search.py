"""Keyword search on listings, in a community and near a place, on DynamoDB Local: French and English
words folded and stemmed, the last word as a prefix, ranking, filters, pages, and index entries that follow
a listing's edits and visibility."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from pygeohash import get_adjacent

from chalicelib.adapters.dynamodb import reads
from tests.component import support
from tests.component.support import assert_422, assert_problem, mint  # noqa: F401  (fast tokens)
from tests.component.test_listings_exchanges import Scene
from tests.conftest import OPERATOR

shared_api = support.shared_api


def search(scene: Scene, q: str, where: str | None = None, who: str = "someone") -> list[str]:
    return scene.browse(f"{where or f'community={scene.community}'}&q={quote(q)}", who)


@pytest.fixture
def scene(shared_api) -> Scene:
    return Scene(shared_api)


def test_french_words_are_found_whatever_their_accents_case_and_plural(scene):
    olga, sam = scene.member("olga", 0), scene.member("sam", 0)
    drill = scene.listing(olga, category="goods.tools", title="Perceuse à percussion", tags=["bricolage"])["id"]
    bikes = scene.listing(olga, category="goods.toys", title="Deux vélos d'enfant", price=5)["id"]
    scene.listing(olga, title="Tonte de pelouse")
    assert search(scene, "perceuse", who=sam) == [drill]
    assert search(scene, "PERCEUSES ", who=sam) == [drill]
    assert search(scene, "velo", who=sam) == [bikes]
    assert search(scene, "Vélos ", who=sam) == [bikes]
    assert search(scene, "enfants ", who=sam) == [bikes]
    assert search(scene, "bricolage", who=sam) == [drill]  # a tag
    assert search(scene, "outils", who=sam) == [drill]  # its category's French label
    assert search(scene, "tools", who=sam) == [drill]  # and its English one
    assert search(scene, "toys", who=sam) == [bikes]
    assert search(scene, "tondeuse", who=sam) == []


def test_the_last_word_matches_as_it_is_typed(scene):
    olga = scene.member("olga", 0)
    drill = scene.listing(olga, category="goods.tools", title="Perceuse sans fil")["id"]
    percussion = scene.listing(olga, category="goods.instruments", title="Cours de percussion")["id"]
    assert search(scene, "per") == [percussion, drill]
    assert search(scene, "perc") == [percussion, drill]
    assert search(scene, "perce") == [drill]
    assert search(scene, "perce ") == []  # a finished word is a whole word
    assert search(scene, "fil perc") == [drill, percussion]  # both words first


def test_listings_holding_every_word_come_first_then_the_newest(scene):
    olga = scene.member("olga", 0)
    old_bike = scene.listing(olga, category="goods.toys", title="Vélo rouge")["id"]
    both = scene.listing(olga, category="goods.toys", title="Vélo enfant")["id"]
    new_bike = scene.listing(olga, category="goods.toys", title="Vélo de ville")["id"]
    child = scene.listing(olga, category="services.babysitting", title="Garde d'enfant le soir")["id"]
    assert search(scene, "velo enfant ") == [both, child, new_bike, old_bike]
    assert search(scene, "enfant velo ") == [both, child, new_bike, old_bike]


def test_filters_pages_and_cursors(scene):
    olga = scene.member("olga", 0)
    gift = scene.listing(olga, category="goods.toys", mode="gift", price=0, title="Jeu de société")["id"]
    games = [scene.listing(olga, category="goods.toys", title=f"Jeux de cartes {n}")["id"] for n in range(3)]
    asked = scene.listing(olga, kind="request", category="goods.toys", title="Cherche jeu de piste")["id"]
    c = scene.community
    assert search(scene, "jeux ") == [asked, *games[::-1], gift]  # `browse` follows the cursors, 2 a page
    assert search(scene, "jeu", f"community={c}&mode=gift") == [gift]
    assert search(scene, "jeu", f"community={c}&kind=request") == [asked]
    first = scene.api.get(f"/listings?community={c}&q=jeu&limit=2", as_=olga).json
    assert_problem(scene.api.get(f"/listings?community={c}&q=cartes&cursor={first['next_cursor']}", as_=olga), 400)
    assert_problem(scene.api.get(f"/listings?community={c}&cursor={first['next_cursor']}", as_=olga), 400)
    for bad in ("", "a", "le la de", "x" * 101):
        assert_422(scene.api.get(f"/listings?community={c}&q={quote(bad)}", as_=olga), "q")
    assert_problem(scene.api.get(f"/listings?community={c}&q=velo%0A", as_=olga), 400)
    assert_422(scene.api.get(f"/listings?owner={olga}&q=jeu", as_=olga))


def test_entries_follow_edits_and_visibility(scene):
    olga, sam = scene.member("olga", 0), scene.member("sam", 0)
    scene.api.put(f"/communities/{scene.community}/ambassadors/{sam}", as_="op", groups=OPERATOR)
    lid = scene.listing(olga, category="goods.tools", title="Scie sauteuse")["id"]
    draft = scene.listing(olga, category="goods.tools", title="Scie circulaire", status="draft")["id"]
    assert search(scene, "scie ") == [lid]
    assert scene.api.patch(f"/listings/{lid}", {"title": "Ponceuse"}, as_=olga).status_code == 200
    assert search(scene, "scie ") == []
    assert search(scene, "ponceuse") == [lid]
    assert scene.api.patch(f"/listings/{lid}", {"price": 12}, as_=olga).status_code == 200
    found = scene.api.get(f"/listings?community={scene.community}&q=ponceuse", as_=sam).json["items"]
    assert [item["price"] for item in found] == [12]  # the entries carry the new copy
    assert scene.api.post(f"/listings/{lid}/hide", {"reason": "spam"}, as_=sam).status_code == 200
    assert search(scene, "ponceuse") == []
    assert scene.api.post(f"/listings/{lid}/unhide", {"reason": "spam"}, as_=sam).status_code == 200
    assert search(scene, "ponceuse") == [lid]
    assert scene.api.patch(f"/listings/{draft}", {"status": "active"}, as_=olga).status_code == 200
    assert search(scene, "scie ") == [draft]
    for listing_id in (lid, draft):
        assert scene.api.patch(f"/listings/{listing_id}", {"status": "closed"}, as_=olga).status_code == 200
    assert search(scene, "scie ponceuse ") == []


def test_near_a_place_and_a_bounded_number_of_queries(shared_api, monkeypatch):
    home = "kzq"  # a region no other test uses
    scene = Scene(shared_api, area=home)
    olga = scene.member("olga", 0)
    cell = home + "q"
    here = scene.listing(olga, category="goods.tools", title="Perceuse", location=cell + "e")["id"]
    east = get_adjacent(cell, "right")
    neighbour = scene.listing(olga, category="goods.tools", title="Perceuse sans fil", location=east + "0")["id"]
    far = get_adjacent(get_adjacent(east, "right"), "right")
    faraway = scene.listing(olga, category="goods.tools", title="Perceuse", location=far + "0")["id"]
    nowhere = scene.listing(olga, category="goods.tools", title="Perceuse")["id"]  # never found near a place

    queries: list[str] = []
    real = reads.query
    monkeypatch.setattr(reads, "query", lambda pk, **kw: queries.append(pk) or real(pk, **kw))
    assert search(scene, "perceuse fil ", f"near={cell}") == [neighbour, here]
    assert len(queries) == 9  # one page: its area's nine cells, for the most selective word
    assert search(scene, "perceuse", f"near={far}") == [faraway]
    queries.clear()
    everywhere = search(scene, "perceuse sans fil outil", f"community={scene.community}")
    assert everywhere == [neighbour, nowhere, faraway, here]  # three words, then two, newest first
    assert len(queries) == 3 * 2  # a Query per word ("sans" is a stop word), on each of the two pages


def test_listings_published_before_keyword_search_are_indexed_by_the_operators_command(scene, capsys):
    from chalicelib.adapters.dynamodb import keys, listing_repository
    from chalicelib.adapters.dynamodb.models import FacetItem
    from chalicelib.domain.listings import facet_word, facets
    from tools import reindex_listings

    olga = scene.member("olga", 0)
    lid = scene.listing(olga, category="goods.tools", title="Perceuse d'avant", location="u0hqe")["id"]
    paused = scene.listing(olga, category="goods.tools", title="Perceuse en pause")["id"]
    assert scene.api.patch(f"/listings/{paused}", {"status": "paused"}, as_=olga).status_code == 200
    listing = listing_repository.get(lid)
    assert listing is not None
    for name in facets(listing):  # as a listing published before keyword search: no keyword entry
        if facet_word(name) is not None:
            FacetItem(keys.listing_pk(lid), keys.facet_sk(name)).delete()
    assert search(scene, "perceuse") == []

    reindex_listings.main(["--page-size", "50"])
    report = json.loads(capsys.readouterr().out)
    assert report["listings_indexed"] >= 1 and report["scan_pages"] >= 1
    assert search(scene, "perceuse") == [lid]  # and not the paused one
    assert search(scene, "perceuse", "near=u0hq") == [lid]
    reindex_listings.main([])  # again: the same entries
    assert search(scene, "perceuse") == [lid]

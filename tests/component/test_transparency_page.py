"""The public transparency page: HTML in French or English, self-contained (no script, nothing from elsewhere,
no cookie, a strict Content-Security-Policy), an empty state, and the books' figures as charts and tables."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, date, datetime, time, timedelta
from html.parser import HTMLParser

from chalicelib import clock
from chalicelib.adapters.dynamodb import books_repository
from chalicelib.adapters.dynamodb.unit_of_work import UnitOfWork
from chalicelib.api.transparency import CONTENT_SECURITY_POLICY
from chalicelib.domain.books import FIGURES, Period, sealed
from chalicelib.services import reconciliation
from tests import books
from tests.component.support import assert_422, assert_problem, create_community
from tests.conftest import OPERATOR

VOID = {"meta", "link", "br", "hr", "img", "input", "source", "wbr", "col", "area", "base", "embed", "track"}
SVG_SHAPES = {"rect", "line", "polyline", "path", "circle", "stop"}  # self-closed in the charts


class Outline(HTMLParser):
    """The page's structure: tags balanced, headings, ids, every URL it names, its texts."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.headings: list[tuple[int, str]] = []
        self.ids: list[str] = []
        self.urls: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []
        self.lang = ""
        self._heading: int | None = None
        self.feed(page)
        self.close()
        assert self.open == [], f"unclosed: {self.open}"

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        found = dict(attrs)
        if tag == "html":
            self.lang = found.get("lang", "")
        if "id" in found:
            self.ids.append(found["id"])
        self.urls += [value for name, value in attrs if name in {"href", "src", "action", "xlink:href", "srcset"}]
        self.urls += re.findall(r"url\(([^)]*)\)", " ".join(value or "" for _, value in attrs))
        if re.fullmatch(r"h[1-6]", tag):
            self._heading = int(tag[1])
            self.headings.append((self._heading, ""))
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.open.pop()

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, (tag, self.open[-3:])
        self.open.pop()
        if re.fullmatch(r"h[1-6]", tag):
            self._heading = None

    def handle_data(self, data):
        self.text.append(data)
        if self._heading is not None:
            level, text = self.headings[-1]
            self.headings[-1] = (level, text + data)


def page(api, query: str = "", language: str | None = None):
    headers = {"Accept-Language": language} if language else {}
    response = api.get(f"/transparency{query}", as_=None, headers=headers)
    assert response.status_code == 200, response.body
    return response, response.body.decode()


def assert_self_contained(response, html: str) -> Outline:
    """What every answer of the page keeps: its headers, valid structure, nothing from elsewhere."""
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY and "script-src" not in CONTENT_SECURITY_POLICY
    assert not {name for name in response.headers if name.lower() == "set-cookie"}
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert html.startswith("<!DOCTYPE html>\n")
    assert "<script" not in html.lower() and "javascript:" not in html.lower()
    assert not re.search(r"https?://|//[a-z]", html, re.IGNORECASE), "no absolute URL, no scheme-relative one"
    outline = Outline(html)
    assert outline.tags.count("main") == 1 and outline.tags.count("title") >= 1
    levels = [level for level, _ in outline.headings]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(after <= before + 1 for before, after in itertools.pairwise(levels)), levels
    assert len(outline.ids) == len(set(outline.ids)), "ids are unique"
    for url in outline.urls:
        assert url in {"?lang=fr", "?lang=en", "books/months.csv", "books/days.csv", "books/dictionary"} or (
            url.startswith("#") and url[1:] in outline.ids
        ), url
    return outline


def test_an_empty_page_in_english_by_default(api):
    response, html = page(api)
    outline = assert_self_contained(response, html)
    assert outline.lang == "en"
    assert outline.headings[0] == (1, "Transparency: Pwiic's public books")
    assert "No period is closed yet" in html and "<svg" not in html and "<table" not in html
    assert {"books/months.csv", "books/days.csv", "books/dictionary"} <= set(outline.urls)
    assert "SHA-256" in html
    assert '<a href="?lang=en" hreflang="en" lang="en" aria-current="page">English</a>' in html


def test_french_by_accept_language_and_either_by_lang(api):
    response, html = page(api, language="fr-CH,fr;q=0.9,en;q=0.5")
    outline = assert_self_contained(response, html)
    assert outline.lang == "fr" and outline.headings[0] == (1, "Transparence : les comptes publics de Pwiic")
    assert "Aucune période n'est encore close" in html and "Données ouvertes" in html
    assert response.headers["Vary"] == "Accept-Language"

    response, html = page(api, "?lang=en", language="fr")
    assert assert_self_contained(response, html).lang == "en" and "Open data" in html
    response, html = page(api, "?lang=fr", language="en")
    assert assert_self_contained(response, html).lang == "fr"
    assert '<a href="?lang=fr" hreflang="fr" lang="fr" aria-current="page">Français</a>' in html

    assert_422(api.get("/transparency?lang=de", as_=None), "lang")
    response, html = page(api, "?lang=fr&utm_source=newsletter&fbclid=x", language="en")
    assert assert_self_contained(response, html).lang == "fr"  # a shared link's tracking parameters are ignored


def at_two(day: date) -> datetime:
    return datetime.combine(day, time(2), tzinfo=UTC)


def month_end(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def close_books_at(monkeypatch, moment: datetime) -> None:
    books.feed_stream()
    monkeypatch.setattr(clock, "now", lambda: moment)
    assert reconciliation.run(settle=timedelta(0), write_margin=timedelta(0)).balanced


def test_closed_days_then_months_show_as_charts_and_tables(api, monkeypatch):
    today = clock.now().date()
    funding = {"amount": 1000, "note": "pilot"}
    assert api.post("/operator/rewards-pool/fundings", funding, as_="op", groups=OPERATOR).status_code == 201
    api.get("/me"), api.get("/me", as_="bob")
    grant = {"member_id": "alice", "amount": 50, "reason_code": "welcome_newcomer", "note": "hi", "reward_id": "r1"}
    assert api.post("/operator/rewards", grant, as_="op", groups=OPERATOR).status_code == 201
    tip = {"to_member_id": "bob", "amount": 20, "kind": "tip", "transfer_id": "t1"}
    assert api.post("/transfers", tip).status_code == 201  # credits in wallets: 30 + 20

    end = month_end(today)
    close_books_at(monkeypatch, at_two(end + timedelta(days=1)))  # one month: its days are shown
    response, html = page(api, language="en")
    outline = assert_self_contained(response, html)
    assert [text for level, text in outline.headings if level == 2] == [
        "Credits in circulation",
        "Revenue per day",
        "Exchanges completed per kind",
        "Exchanges completed per family",
        "Active members in the month so far, day by day",
        "Open data",
        "Checking the books: the hash chain",
    ]
    assert html.count("<svg") == html.count("<table") == 5 and html.count('role="img"') == 5
    assert "Fewer than two months are closed yet" in html
    assert f'<tr><th scope="row">{today}</th><td>50</td></tr>' in html, "the day's credits in wallets"
    (day,) = api.get(f"/books/days?from={end}&to={end}", as_=None).json["items"]
    assert day["digest"] in html, "the latest period's digest"

    later = month_end(end + timedelta(days=1))
    close_books_at(monkeypatch, at_two(later + timedelta(days=1)))  # two months: months are shown
    if not api.get(f"/books/months?from={later:%Y-%m}&to={later:%Y-%m}", as_=None).json["items"]:
        close_books_at(monkeypatch, at_two(later + timedelta(days=1)))  # a run closes 62 days at most
    response, html = page(api, "?lang=fr")
    outline = assert_self_contained(response, html)
    assert "Recettes par mois" in html and "Membres actifs par mois" in html
    assert f"Les 2 derniers mois clos, de {today:%Y-%m} à {later:%Y-%m}." in html
    assert f'<tr><th scope="row">{later:%Y-%m}</th><td>50</td></tr>' in html


def test_the_figures_of_twelve_months_in_each_chart_and_table(api, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: datetime(2027, 3, 10, 12, tzinfo=UTC))
    months = [f"{2026 + (index // 12)}-{index % 12 + 1:02d}" for index in range(0, 14)]  # 2026-01 .. 2027-02
    uow, previous = UnitOfWork(), ""
    for index, month in enumerate(months):
        figures = dict.fromkeys(FIGURES, 0) | {
            "credits_in_wallets": 1000 * (index + 1),
            "credits_revenue": 10 + index,
            "members_active": 3 * index,
            "exchanges_completed_trade": 1,
            "exchanges_completed_loan": index % 2,
        }
        period = sealed(Period(month, figures, previous, index != 12, "2027-03-01T01:00:00Z"))
        books_repository.add_period(uow, period)
        previous = period.digest
    uow.commit()

    response, html = page(api, "?lang=en")
    assert_self_contained(response, html)
    assert "The last 12 closed months, from 2026-03 to 2027-02." in html
    assert '<th scope="row">2026-02</th>' not in html, "twelve months, the latest"
    assert '<tr><th scope="row">2027-02</th><td>14,000</td></tr>' in html, "credits in circulation"
    assert '<tr><th scope="row">2026-07</th><td>16</td></tr>' in html, "revenue"
    assert '<tr><th scope="row">2026-12</th><td>33</td></tr>' in html, "active members"
    assert '<tr><th scope="col">Month</th><th scope="col">trade</th><th scope="col">loan</th>' in html
    assert '<tr><th scope="row">2026-04</th><td>1</td><td>1</td><td>0</td><td>0</td></tr>' in html
    assert '<tfoot><tr><th scope="row">Total</th><td>12</td><td>6</td><td>0</td><td>0</td></tr></tfoot>' in html
    assert "The ledger did not balance when these periods closed: 2027-01." in html
    assert "trade 12, loan 6, cost sharing 0, booking 0" in html, "the chart's description sums it up"
    assert previous in html

    _, french = page(api, "?lang=fr")
    assert '<tr><th scope="row">2027-02</th><td>14\u202f000</td></tr>' in french
    assert "échange 12, prêt 6, partage de frais 0, réservation 0" in french


def test_a_community_s_page_shows_what_its_statistics_publish_and_marks_the_rest(api, monkeypatch):
    community = create_community(api)["id"]
    for number in range(6):
        assert api.post(f"/communities/{community}/join", as_=f"n{number}").status_code in (200, 201)
    small = create_community(api, name="Petit hameau")["id"]  # two members: its whole month is suppressed
    for number in range(2):
        assert api.post(f"/communities/{small}/join", as_=f"s{number}").status_code in (200, 201)
    empty = api.get(f"/communities/{community}/transparency", as_=None)
    assert "Aucun mois" in api.get(f"/communities/{community}/transparency?lang=fr", as_=None).body.decode()
    assert_self_contained(empty, empty.body.decode())

    books.feed_stream()
    close_books_at(monkeypatch, at_two(month_end(clock.now().date()) + timedelta(days=1)))
    response = api.get(f"/communities/{community}/transparency", as_=None, headers={"Accept-Language": "fr"})
    html = response.body.decode()
    outline = assert_self_contained(response, html)
    assert outline.tags.count("svg") == 3 and outline.tags.count("table") == 3
    assert "Membres actifs par mois" in html and "<td>6</td>" in html, "six active members: published"
    assert "<td>—</td>" in html and "moins de 5 personnes" in html, "no exchange completed: credits left out"

    html = api.get(f"/communities/{small}/transparency?lang=en", as_=None).body.decode()
    families_chart = html[html.index('<section aria-labelledby="families-heading">') :].split("</svg>")[0]
    assert "Goods" not in families_chart and "<td>—</td>" in html, "a withheld figure is no bar, not a zero"
    assert_problem(api.get("/communities/nope/transparency", as_=None), 404, "not-found")

"""The public transparency page: the books' last closed months (or, on a young platform, days) as charts and
tables, in French or English, server-rendered HTML.

The page is self-contained: inline SVG and inline style, no script, no font or image fetched, no cookie; its
Content-Security-Policy forbids anything else. Every chart is followed by the table of its numbers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from html import escape
from typing import Annotated

from msgspec import Meta, Struct

from chalicelib import clock, i18n
from chalicelib.adapters.dynamodb import books_repository
from chalicelib.api.http import Call, Router
from chalicelib.config import settings
from chalicelib.domain import charts
from chalicelib.domain.books import Period
from chalicelib.domain.exchanges import ExchangeType
from chalicelib.domain.listings import Family
from chalicelib.domain.statistics import Published
from chalicelib.i18n import Language
from chalicelib.services import communities, statistics

router = Router("transparency")

HTML = "text/html; charset=utf-8"
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
MONTHS = 12  # shown; fewer than MIN_MONTHS closed: the last DAYS closed days instead
MIN_MONTHS = 2
DAYS = 31
KINDS = tuple(kind.value for kind in ExchangeType)
FAMILIES = tuple(family.value for family in Family)
OPEN_DATA = (  # relative links: the page works under any base path
    ("books/months.csv", "transparency.open-data-months"),
    ("books/days.csv", "transparency.open-data-days"),
    ("books/dictionary", "transparency.open-data-dictionary"),
)
STYLE = (
    "body{font-family:system-ui,sans-serif;line-height:1.5;color:#1b1b1b;background:#fff;margin:0 auto;"
    "max-width:52rem;padding:1rem}"
    "a{color:#0b4f8a}a:focus{outline:3px solid #1d3557;outline-offset:2px}"
    "nav a[aria-current]{font-weight:bold;text-decoration:none}"
    ".chart{width:100%;height:auto;max-width:720px}"
    "table{border-collapse:collapse;margin:0.5rem 0 2rem;min-width:min(100%,28rem)}"
    "caption{text-align:left;font-weight:bold}"
    "th,td{border:1px solid #767676;padding:0.2rem 0.6rem}td{text-align:right}"
    "code{word-break:break-all}"
)


Lang = Annotated[str, Meta(pattern="^(fr|en)$", description="fr or en; absent: the request's language")]


class PageQuery(Struct):
    """Other parameters are ignored: a shared link may carry tracking ones (`utm_source`), and a reader of a web
    page should see the page, not a problem."""

    lang: Lang | None = None


@router.route(
    "GET",
    "/transparency",
    summary="The public transparency page: the books' last months as charts and tables (HTML)",
    description=(
        "Server-rendered HTML in French or English: `lang` if given, else the request's language. The last "
        f"{MONTHS} closed months (the last {DAYS} closed days while fewer than {MIN_MONTHS} months are closed): "
        "credits in circulation, revenue, exchanges completed per kind and per family, active members, each "
        "chart followed by "
        "its table; links to the open data. No script, no cookie, nothing loaded from elsewhere. Query parameters "
        "other than `lang` are ignored."
    ),
    tag="transparency",
    access="public",
    query=PageQuery,
    media_type=HTML,
    response_headers=(
        ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
        ("Referrer-Policy", "no-referrer"),
        ("X-Content-Type-Options", "nosniff"),
        ("Vary", "Accept-Language"),
        ("Cache-Control", "public, max-age=300"),  # a period closes once a day
    ),
)
def transparency_page(call: Call[None, PageQuery]) -> str:
    periods, by_month = _shown()
    return Page(Language(call.query.lang or call.language)).render(periods, by_month=by_month)


@router.route(
    "GET",
    "/communities/{community_id}/transparency",
    summary="A community's transparency page: its statistics of the last months as charts and tables (HTML)",
    description=(
        "Server-rendered HTML in French or English, as `/transparency`: the community's last "
        f"{MONTHS} closed months (active members, credits circulated, exchanges completed per family), every "
        "figure about fewer people than the statistics' threshold left out and marked. Query parameters other "
        "than `lang` are ignored."
    ),
    tag="transparency",
    access="public",
    query=PageQuery,
    media_type=HTML,
    response_headers=(
        ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
        ("Referrer-Policy", "no-referrer"),
        ("X-Content-Type-Options", "nosniff"),
        ("Vary", "Accept-Language"),
        ("Cache-Control", "public, max-age=300"),  # a period closes once a day
    ),
    problems=(404,),
)
def community_transparency_page(call: Call[None, PageQuery]) -> str:
    community = communities.get_community(call.params["community_id"])
    today = clock.now().date()
    first = f"{today.year - 1:04d}-{today.month:02d}"
    months = statistics.community_months(community.community_id, first, today.isoformat()[:7])[-MONTHS:]
    page = Page(Language(call.query.lang or call.language))
    return page.render_community(community.name, months, settings().stats_min_people)


def _shown() -> tuple[list[Period], bool]:
    """The last closed months, or the last closed days while too few months are closed (and whether by month)."""
    today = clock.now().date()
    year_before = f"{today.year - 1:04d}-{today.month:02d}"  # 13 months: this one is not closed yet
    months = books_repository.periods(books_repository.MONTH, year_before, today.isoformat()[:7])[-MONTHS:]
    if len(months) >= MIN_MONTHS:
        return months, True
    first = (today - timedelta(days=DAYS)).isoformat()
    return books_repository.periods(books_repository.DAY, first, today.isoformat())[-DAYS:], False


class Page:
    """The page in one language. Texts are plain until they are written into the HTML, escaped there."""

    def __init__(self, language: Language) -> None:
        self.language = language
        separator = "\u202f" if language is Language.FR else ","  # 1 234 (a narrow no-break space), 1,234
        self.number: Callable[[int], str] = lambda value: f"{value:,}".replace(",", separator)

    def text(self, message_id: str, **params: object) -> str:
        return i18n.text(message_id, self.language, params)

    def render(self, periods: Sequence[Period], *, by_month: bool) -> str:
        title = self.text("transparency.title")
        body = [_tag("h1", title), _tag("p", self.text("transparency.intro"))]
        if periods:
            shown = "transparency.shown-months" if by_month else "transparency.shown-days"
            first, last = periods[0].period, periods[-1].period
            body.append(_tag("p", self.text(shown, count=len(periods), first=first, last=last)))
            body += self._sections(periods, by_month)
        else:
            body.append(f"<p><strong>{_content(self.text('transparency.empty'))}</strong></p>")
        body += self._open_data(), self._chain(periods)
        return (
            f'<!DOCTYPE html>\n<html lang="{self.language.value}">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"{_tag('title', title)}\n<style>{STYLE}</style>\n</head>\n<body>\n"
            f"{self._languages()}\n<main>\n" + "\n".join(body) + "\n</main>\n</body>\n</html>\n"
        )

    def render_community(self, name: str, months: Sequence[tuple[str, Published]], min_people: int) -> str:
        """A community's months: a chart per figure of the points published, each table marking what is not."""
        title = self.text("transparency.community-title", name=name)
        body = [_tag("h1", title), _tag("p", self.text("transparency.community-intro", min=min_people))]
        if months:
            body += self._community_sections(months)
        else:
            body.append(f"<p><strong>{_content(self.text('transparency.community-empty'))}</strong></p>")
        body.append(_tag("p", self.text("transparency.suppressed", min=min_people)))
        return (
            f'<!DOCTYPE html>\n<html lang="{self.language.value}">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"{_tag('title', title)}\n<style>{STYLE}</style>\n</head>\n<body>\n"
            f"{self._languages()}\n<main>\n" + "\n".join(body) + "\n</main>\n</body>\n</html>\n"
        )

    def _community_sections(self, months: Sequence[tuple[str, Published]]) -> list[str]:
        sections: list[str] = []
        month_axis = self.text("transparency.axis-month")
        for figure, axis in (("members_active", "members"), ("credits_circulated", "credits")):
            points = [(month, value) for month, figures in months if (value := figures[figure]) is not None]
            chart_id = figure.replace("_", "-")
            chart_title = self.text(f"transparency.community-{chart_id}")
            y_label = self.text(f"transparency.axis-{axis}")
            description = self.text("transparency.community-desc", shown=len(points), months=len(months))
            rows: list[list[str | int]] = [[month, _or_mark(figures[figure])] for month, figures in months]
            table = self._table(self.text("transparency.table-caption", title=chart_title), [month_axis, y_label], rows)
            sections.append(
                self._section(
                    chart_id, charts.bar_chart, chart_title, description, points, (month_axis, y_label), table
                )
            )
        families = [family.value for family in Family]
        published = {
            family: [value for _, figures in months if (value := figures[f"exchanges_completed_{family}"]) is not None]
            for family in families
        }
        totals = [(self.text(f"family.{family}"), sum(values)) for family, values in published.items() if values]
        chart_title = self.text("transparency.community-families")
        rows = [
            [month, *(_or_mark(figures[f"exchanges_completed_{family}"]) for family in families)]
            for month, figures in months
        ]
        headers = [month_axis, *(self.text(f"family.{family}") for family in families)]
        table = self._table(self.text("transparency.table-caption", title=chart_title), headers, rows)
        axes = (self.text("transparency.axis-family"), self.text("transparency.axis-exchanges"))
        description = self.text("transparency.community-families-desc")
        sections.append(self._section("families", charts.bar_chart, chart_title, description, totals, axes, table))
        return sections

    def _languages(self) -> str:
        links = []
        for language, name in ((Language.FR, "Français"), (Language.EN, "English")):
            current = ' aria-current="page"' if language is self.language else ""
            code = language.value
            links.append(f'<a href="?lang={code}" hreflang="{code}" lang="{code}"{current}>{name}</a>')
        label = escape(self.text("transparency.languages"))
        return f'<nav aria-label="{label}"><p>{" · ".join(links)}</p></nav>'

    def _sections(self, periods: Sequence[Period], by_month: bool) -> list[str]:
        first, last, per = periods[0].period, periods[-1].period, "month" if by_month else "day"
        axis = self.text(f"transparency.axis-{per}")
        credits, members = self.text("transparency.axis-credits"), self.text("transparency.axis-members")

        def series(figure: str) -> list[charts.Point]:
            return [(period.period, period.figures.get(figure, 0)) for period in periods]

        def summary(points: list[charts.Point]) -> dict[str, object]:
            values = [value for _, value in points]
            facts = {"total": sum(values), "max": max(values), "first_value": values[0], "last_value": values[-1]}
            return {"first": first, "last": last, **{name: self.number(value) for name, value in facts.items()}}

        def breakdown(chart_id: str, names: Sequence[str], label: str, grouped_by: str) -> str:
            """Exchanges completed over the periods shown, one bar per `names` (kinds or families), and the
            table of each period by name with the totals."""
            each = {name: series(f"exchanges_completed_{name}") for name in names}
            totals = [(self.text(f"{label}.{name}"), sum(value for _, value in each[name])) for name in names]
            counts = ", ".join(f"{name} {self.number(value)}" for name, value in totals)
            title = self.text(f"transparency.exchanges-title-{grouped_by}")
            table = self._table(
                self.text("transparency.table-caption", title=title),
                [axis, *(name for name, _ in totals)],
                [[period.period, *(each[name][index][1] for name in names)] for index, period in enumerate(periods)],
                total=[self.text("transparency.total"), *(value for _, value in totals)],
            )
            description = self.text(f"transparency.exchanges-desc-{grouped_by}", first=first, last=last, counts=counts)
            axes = (self.text(f"transparency.axis-{grouped_by}"), self.text("transparency.axis-exchanges"))
            return self._section(chart_id, charts.bar_chart, title, description, totals, axes, table=table)

        in_wallets, revenue, active = series("credits_in_wallets"), series("credits_revenue"), self._active(periods)
        return [
            self._section(
                "circulation",
                charts.line_chart,
                self.text("transparency.circulation-title"),
                self.text("transparency.circulation-desc", **summary(in_wallets)),
                in_wallets,
                (axis, credits),
            ),
            self._section(
                "revenue",
                charts.bar_chart,
                self.text(f"transparency.revenue-title-{per}"),
                self.text("transparency.revenue-desc", **summary(revenue)),
                revenue,
                (axis, credits),
            ),
            breakdown("exchanges", KINDS, "exchange-type", "kind"),
            breakdown("families", FAMILIES, "family", "family"),
            self._section(
                "active",
                charts.bar_chart,
                self.text(f"transparency.active-title-{per}"),
                self.text("transparency.active-desc", **summary(active)),
                active,
                (axis, members),
            ),
        ]

    @staticmethod
    def _active(periods: Sequence[Period]) -> list[charts.Point]:
        """Each month's active members. A day counts the members seen for the first time in its month, so by
        day the points are the month's so far (a month's days add up to it)."""
        active: list[charts.Point] = []
        for period in periods:
            count = period.figures.get("members_active", 0)
            if active and len(period.period) == len("YYYY-MM-DD") and active[-1][0][:7] == period.period[:7]:
                count += active[-1][1]
            active.append((period.period, count))
        return active

    def _section(
        self,
        chart_id: str,
        draw: Callable[..., str],
        title: str,
        description: str,
        points: list[charts.Point],
        axes: tuple[str, str],
        table: str = "",
    ) -> str:
        """A chart under its heading and description, then the table of its numbers (its text alternative)."""
        x_label, y_label = axes
        no_data = self.text("transparency.no-data")
        svg = draw(
            chart_id, title, description, points, x_label=x_label, y_label=y_label, no_data=no_data, number=self.number
        )
        caption = self.text("transparency.table-caption", title=title)
        table = table or self._table(caption, [x_label, y_label], [[label, value] for label, value in points])
        heading = f'<section aria-labelledby="{chart_id}-heading">\n<h2 id="{chart_id}-heading">{_content(title)}</h2>'
        return f"{heading}\n{_tag('p', description)}\n{svg}\n{table}\n</section>"

    def _table(
        self, caption: str, headers: list[str], rows: list[list[str | int]], total: list[str | int] | None = None
    ) -> str:
        """A row's first cell is its heading (a period, a kind); the others are numbers."""
        head = "".join(f'<th scope="col">{_content(header)}</th>' for header in headers)
        lines = [f"<table>\n{_tag('caption', caption)}\n<thead><tr>{head}</tr></thead>\n<tbody>"]
        lines += [self._row(row) for row in rows]
        lines.append("</tbody>")
        if total is not None:
            lines.append(f"<tfoot>{self._row(total)}</tfoot>")
        lines.append("</table>")
        return "\n".join(lines)

    def _row(self, row: list[str | int]) -> str:
        name, *values = row
        cells = "".join(
            f"<td>{self.number(value) if isinstance(value, int) else _content(value)}</td>" for value in values
        )
        return f'<tr><th scope="row">{_content(str(name))}</th>{cells}</tr>'

    def _open_data(self) -> str:
        links = "".join(
            f'<li><a href="{href}">{_content(self.text(message_id))}</a></li>' for href, message_id in OPEN_DATA
        )
        heading = '<h2 id="open-data">' + _content(self.text("transparency.open-data")) + "</h2>"
        intro = _tag("p", self.text("transparency.open-data-intro"))
        return f'<section aria-labelledby="open-data">\n{heading}\n{intro}\n<ul>{links}</ul>\n</section>'

    def _chain(self, periods: Sequence[Period]) -> str:
        parts = [
            '<section aria-labelledby="chain">',
            '<h2 id="chain">' + _content(self.text("transparency.chain")) + "</h2>",
            _tag("p", self.text("transparency.chain-how")),
        ]
        if periods:
            latest = periods[-1]
            parts.append(_tag("p", self.text("transparency.chain-latest", period=latest.period)))
            parts.append(f"<p><code>{_content(latest.digest)}</code></p>")
            unreconciled = ", ".join(period.period for period in periods if not period.reconciled)
            if unreconciled:
                parts.append(_tag("p", self.text("transparency.not-reconciled", periods=unreconciled)))
        parts.append("</section>")
        return "\n".join(parts)


def _or_mark(value: int | None) -> str | int:
    """A published figure, or the mark of one left out (the page says what it means)."""
    return "—" if value is None else value


def _tag(name: str, text: str) -> str:
    return f"<{name}>{_content(text)}</{name}>"


def _content(text: str) -> str:
    """Text between tags: <, > and & escaped (quotes need not be, outside attributes)."""
    return escape(text, quote=False)

"""The public books as open data: closed days and months as JSON or CSV, and their data dictionary."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from msgspec import Meta, Struct, field

from chalicelib import clock, errors, i18n
from chalicelib.adapters.dynamodb import books_repository
from chalicelib.api.http import Call, Router
from chalicelib.api.schemas import Month
from chalicelib.domain.books import COMMUNITY_FIGURES, FIGURES, STOCKS, Period, as_csv
from chalicelib.errors import FieldError
from chalicelib.i18n import Language

router = Router("books")

MAX_DAYS = 92  # a quarter per request
MAX_MONTHS = 36
LICENCE = "CC-BY-4.0"
CSV = "text/csv; charset=utf-8"


def saved_as(filename: str) -> tuple[tuple[str, str], ...]:
    """An open-data file's headers: a browser saves it under its name."""
    return (("Content-Disposition", f'attachment; filename="{filename}"'),)


Day = Annotated[str, Meta(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$", description="YYYY-MM-DD")]
CHAIN = (
    "Each period carries `previous`, the digest of the period before it of the same kind, and `digest`: the "
    "SHA-256 of its canonical JSON without `digest`; `/books/dictionary` says how to check them."
)


class DaysQuery(Struct, forbid_unknown_fields=True):
    first: Day | None = field(default=None, name="from")
    last: Day | None = field(default=None, name="to")


class MonthsQuery(Struct, forbid_unknown_fields=True):
    first: Month | None = field(default=None, name="from")
    last: Month | None = field(default=None, name="to")


class PeriodOut(Struct):
    period: Annotated[str, Meta(description="YYYY-MM-DD or YYYY-MM")]
    figures: Annotated[dict[str, int], Meta(description="Every column of the dictionary, by name")]
    reconciled: Annotated[bool, Meta(description="The ledger was balanced when the period closed")]
    closed_at: str
    previous: Annotated[str, Meta(description="The digest of the period before (empty for the first)")]
    digest: Annotated[str, Meta(description="SHA-256 (hex) of the period's canonical JSON without `digest`")]


class BooksOut(Struct):
    items: list[PeriodOut]
    dictionary: str = "/books/dictionary"


ByLanguage = Annotated[dict[str, str], Meta(description="By language: `fr`, `en`")]


class ColumnOut(Struct):
    name: str
    kind: Annotated[
        str,
        Meta(
            description="`key`: the row's period; `flow`: during the period; `stock`: at its end; `chain`: "
            "what checks the period"
        ),
    ]
    unit: str
    description: ByLanguage


class DictionaryOut(Struct):
    licence: str
    chain: Annotated[ByLanguage, Meta(description="How to check the hash chain")]
    columns: Annotated[list[ColumnOut], Meta(description="The books' columns, in the CSV's order")]
    statistics_columns: Annotated[
        list[ColumnOut],
        Meta(description="The statistics' columns (community and area, JSON and CSV), in the CSV's order"),
    ]


def _periods_out(periods: list[Period]) -> BooksOut:
    return BooksOut([PeriodOut(p.period, p.figures, p.reconciled, p.closed_at, p.previous, p.digest) for p in periods])


def _days(query: DaysQuery) -> list[Period]:
    last = _date("to", query.last) if query.last else clock.now().date() - timedelta(days=1)
    first = _date("from", query.first) if query.first else last - timedelta(days=30)
    if first > last or (last - first).days >= MAX_DAYS:
        raise errors.Invalid([FieldError("from", "books.day-range", {"max": MAX_DAYS})])
    return books_repository.periods(books_repository.DAY, first.isoformat(), last.isoformat())


def _date(name: str, day: str) -> date:
    try:
        return date.fromisoformat(day)
    except ValueError:  # the pattern lets 2026-02-30 through
        raise errors.Invalid([FieldError(name, "books.no-such-day")]) from None


def _months(query: MonthsQuery) -> list[Period]:
    return books_repository.periods(books_repository.MONTH, *month_range(query.first, query.last))


def month_range(first_asked: str | None, last_asked: str | None) -> tuple[str, str]:
    """The first and last months (YYYY-MM) a request asks for, by MONTHS_RULES."""
    last = _month_number(last_asked or clock.now().date().isoformat()[:7])
    first = _month_number(first_asked) if first_asked else max(last - 12, 0)
    if first > last or last - first >= MAX_MONTHS:
        raise errors.Invalid([FieldError("from", "books.month-range", {"max": MAX_MONTHS})])
    return _month(first), _month(last)


def _month_number(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:]) - 1


def _month(number: int) -> str:
    return f"{number // 12:04d}-{number % 12 + 1:02d}"


DAYS_RULES = f"From `from` to `to` (at most {MAX_DAYS} days; by default the 31 days up to yesterday), oldest first."
MONTHS_RULES = f"From `from` to `to` (at most {MAX_MONTHS} months; by default the last 12 and this one), oldest first."


@router.route(
    "GET",
    "/books/days",
    summary="The public books, day by day",
    description=f"{DAYS_RULES} A day is published once its changes are all in (about an hour after it ends). {CHAIN}",
    tag="transparency",
    access="public",
    query=DaysQuery,
    response=BooksOut,
)
def book_days(call: Call[None, DaysQuery]) -> BooksOut:
    return _periods_out(_days(call.query))


@router.route(
    "GET",
    "/books/days.csv",
    summary="The public books, day by day, as CSV",
    description=f"{DAYS_RULES} One row per day, one column per figure, then the chain's columns.",
    tag="transparency",
    access="public",
    query=DaysQuery,
    media_type=CSV,
    response_headers=saved_as("pwiic-books-days.csv"),
)
def book_days_csv(call: Call[None, DaysQuery]) -> str:
    return as_csv(_days(call.query))


@router.route(
    "GET",
    "/books/months",
    summary="The public books, month by month",
    description=f"{MONTHS_RULES} A month closes with its last day. {CHAIN}",
    tag="transparency",
    access="public",
    query=MonthsQuery,
    response=BooksOut,
)
def book_months(call: Call[None, MonthsQuery]) -> BooksOut:
    return _periods_out(_months(call.query))


@router.route(
    "GET",
    "/books/months.csv",
    summary="The public books, month by month, as CSV",
    description=f"{MONTHS_RULES} One row per month, one column per figure, then the chain's columns.",
    tag="transparency",
    access="public",
    query=MonthsQuery,
    media_type=CSV,
    response_headers=saved_as("pwiic-books-months.csv"),
)
def book_months_csv(call: Call[None, MonthsQuery]) -> str:
    return as_csv(_months(call.query))


@router.route(
    "GET",
    "/books/dictionary",
    summary="What every column of the public books means, its unit, and the data's licence",
    tag="transparency",
    access="public",
    response=DictionaryOut,
)
def book_dictionary(call: Call[None, None]) -> DictionaryOut:
    books = [
        ("period", "key", "YYYY-MM-DD or YYYY-MM"),
        *((figure, "stock" if figure in STOCKS else "flow", _unit(figure)) for figure in FIGURES),
        ("reconciled", "chain", "true or false"),
        ("closed_at", "chain", "ISO 8601 UTC"),
        ("previous", "chain", "SHA-256, hex"),
        ("digest", "chain", "SHA-256, hex"),
    ]
    statistics = [("month", "key", "YYYY-MM"), *((figure, "flow", _unit(figure)) for figure in COMMUNITY_FIGURES)]
    return DictionaryOut(
        LICENCE,
        _by_language("books.chain"),
        [ColumnOut(name, kind, unit, _by_language(f"books.{name}")) for name, kind, unit in books],
        [ColumnOut(name, kind, unit, _statistics_description(name)) for name, kind, unit in statistics],
    )


def _by_language(message_id: str, **params: object) -> dict[str, str]:
    return {language.value: i18n.text(message_id, language, params) for language in Language}


def _statistics_description(name: str) -> dict[str, str]:
    """A family's figures share one text, named by the family."""
    for prefix in ("listings_published_", "exchanges_completed_"):
        if name.startswith(prefix):
            return _by_language(f"statistics.{prefix.rstrip('_')}", family=name.removeprefix(prefix))
    return _by_language(f"statistics.{name}")


def _unit(figure: str) -> str:
    if figure.startswith("sold_cents_"):
        return f"{figure.removeprefix('sold_cents_').upper()} cents"
    return "credits" if figure.startswith("credits_") else "count"

"""Public statistics per month for a community and for an area (the geohash cells a municipality covers),
with every figure about fewer than the configured number of people suppressed."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta, Struct, field

from chalicelib.api.books import CSV, MONTHS_RULES, month_range, saved_as
from chalicelib.api.http import Call, Router
from chalicelib.api.schemas import Month
from chalicelib.config import settings
from chalicelib.domain.books import COMMUNITY_FIGURES
from chalicelib.domain.geo import END, GEOHASH_ALPHABET
from chalicelib.domain.statistics import Published, as_csv
from chalicelib.services import statistics

router = Router("statistics")

MAX_CELLS = 50
Figures = Annotated[
    dict[str, int | None],
    Meta(description=f"By name ({', '.join(COMMUNITY_FIGURES)}); null: suppressed (about too few people)"),
]
SUPPRESSION = (
    "A figure about fewer than `min_people` people is null: a month with fewer active members publishes "
    "nothing, each smaller count is suppressed, and credits circulated need that many exchanges completed."
)


class StatisticsQuery(Struct, forbid_unknown_fields=True):
    first: Month | None = field(default=None, name="from")
    last: Month | None = field(default=None, name="to")


_ONE_CELL = f"[{GEOHASH_ALPHABET}]{{3,5}}"
Cells = Annotated[
    str,
    Meta(
        pattern=f"^{_ONE_CELL}(,{_ONE_CELL}){{0,{MAX_CELLS - 1}}}{END}",
        max_length=MAX_CELLS * 6,
        description=f"1 to {MAX_CELLS} geohash cells of 3 to 5 characters, comma-separated (the municipality)",
    ),
]


class AreaQuery(Struct, forbid_unknown_fields=True):
    cells: Cells
    month: Month


class MonthFigures(Struct):
    month: str
    figures: Figures


class CommunityStatisticsOut(Struct):
    community_id: str
    min_people: int
    months: list[MonthFigures]


class AreaStatisticsOut(Struct):
    cells: list[str]
    month: str
    min_people: int
    communities: Annotated[int, Meta(description="Communities whose area meets the cells")]
    figures: Figures


@router.route(
    "GET",
    "/communities/{community_id}/statistics",
    summary="A community's activity per month, for its members and its municipality",
    description=f"{MONTHS_RULES} For each closed month: members new and active, listings published and exchanges "
    f"completed per family, credits circulated, shared events held. {SUPPRESSION}",
    tag="transparency",
    access="public",
    query=StatisticsQuery,
    response=CommunityStatisticsOut,
    problems=(404,),
)
def community_statistics(call: Call[None, StatisticsQuery]) -> CommunityStatisticsOut:
    found = [MonthFigures(month, figures) for month, figures in _community_months(call)]
    return CommunityStatisticsOut(call.params["community_id"], settings().stats_min_people, found)


@router.route(
    "GET",
    "/communities/{community_id}/statistics.csv",
    summary="A community's activity per month, as CSV",
    description=f"{MONTHS_RULES} The figures of `/communities/{{community_id}}/statistics`, one row per month, one "
    "column per figure (`/books/dictionary` licence); a suppressed figure is an empty cell.",
    tag="transparency",
    access="public",
    query=StatisticsQuery,
    media_type=CSV,
    response_headers=saved_as("pwiic-community-statistics.csv"),
    problems=(404,),
)
def community_statistics_csv(call: Call[None, StatisticsQuery]) -> str:
    return as_csv("month", _community_months(call))


def _community_months(call: Call[None, StatisticsQuery]) -> list[tuple[str, Published]]:
    first, last = month_range(call.query.first, call.query.last)
    return statistics.community_months(call.params["community_id"], first, last)


@router.route(
    "GET",
    "/statistics/areas",
    summary="An area's activity in a month: the sums of its communities' published figures",
    description="The area is the geohash cells a municipality covers; its communities are those whose area "
    "meets them. Each figure adds up the communities that publish it, so no difference between published "
    f"figures reveals a suppressed one. {SUPPRESSION}",
    tag="transparency",
    access="public",
    query=AreaQuery,
    response=AreaStatisticsOut,
)
def area_statistics(call: Call[None, AreaQuery]) -> AreaStatisticsOut:
    cells = sorted(set(call.query.cells.split(",")))
    found = statistics.area_month(set(cells), call.query.month)
    return AreaStatisticsOut(cells, call.query.month, settings().stats_min_people, found.communities, found.figures)


@router.route(
    "GET",
    "/statistics/areas.csv",
    summary="An area's activity in a month, as CSV",
    description="The same figures as `/statistics/areas`, one row; a suppressed figure is an empty cell.",
    tag="transparency",
    access="public",
    query=AreaQuery,
    media_type=CSV,
    response_headers=saved_as("pwiic-area-statistics.csv"),
)
def area_statistics_csv(call: Call[None, AreaQuery]) -> str:
    found = statistics.area_month(set(call.query.cells.split(",")), call.query.month)
    return as_csv("month", [(call.query.month, found.figures)])

"""The public statistics of communities and areas, per month, as `domain/statistics.py` publishes them."""

from __future__ import annotations

from typing import NamedTuple

from chalicelib import errors
from chalicelib.adapters.dynamodb import books_repository, community_repository
from chalicelib.config import settings
from chalicelib.domain import statistics
from chalicelib.domain.statistics import Published


def community_months(community_id: str, first: str, last: str) -> list[tuple[str, Published]]:
    """A community's closed months from `first` to `last`; a month without activity publishes nothing."""
    if community_repository.get(community_id) is None:
        raise errors.NotFound("not-found.community")
    threshold = settings().stats_min_people
    counted = {month.month: month for month in books_repository.community_months(community_id, first, last)}
    return [(month, statistics.published(found, threshold)) for month, found in sorted(counted.items())]


class AreaMonth(NamedTuple):
    communities: int  # the communities whose area meets the cells
    figures: Published


def area_month(cells: set[str], month: str) -> AreaMonth:
    """The sums of what the communities meeting the cells publish for the month: one Query per 3-character
    prefix of the cells, then one batch read of their months."""
    communities = [community.community_id for community in community_repository.near(cells)]
    threshold = settings().stats_min_people
    found = books_repository.community_month_of(communities, month) if communities else []
    shown = [statistics.published(counted, threshold) for counted in found]
    return AreaMonth(len(communities), statistics.area_sums(shown))

"""Public statistics for communities and the municipalities around them, per month: what is published of
a community's counted month, and an area's sums. No I/O.

A figure about fewer than `min_people` people is suppressed (None), in every output: a community whose
month had fewer active members publishes nothing; otherwise each count under the threshold is suppressed,
and its credits circulated only when its exchanges completed reach it. An area (the geohash cells a
municipality covers) adds up its communities' *published* figures only, so any difference between two
published figures is a combination of published ones: it never reveals a suppressed figure."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from chalicelib.domain.books import COMMUNITY_FIGURES, CommunityMonth

Published = dict[str, int | None]
_EXCHANGES = tuple(figure for figure in COMMUNITY_FIGURES if figure.startswith("exchanges_completed_"))


def published(month: CommunityMonth, min_people: int) -> Published:
    figures = month.figures
    if figures.get("members_active", 0) < min_people:
        return dict.fromkeys(COMMUNITY_FIGURES)
    shown: Published = {figure: people(figures.get(figure, 0), min_people) for figure in COMMUNITY_FIGURES}
    exchanges = sum(figures.get(figure, 0) for figure in _EXCHANGES)
    shown["credits_circulated"] = figures.get("credits_circulated", 0) if exchanges >= min_people else None
    return shown


def people(count: int, min_people: int) -> int | None:
    """A count of people, or None when some are counted but fewer than the threshold (nobody reveals nobody)."""
    return count if count >= min_people or count == 0 else None


def as_csv(label: str, rows: Iterable[tuple[str, Published]]) -> str:
    """One row per (label, figures), one column per figure; a suppressed figure is an empty cell."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([label, *COMMUNITY_FIGURES])
    for name, figures in rows:
        writer.writerow(
            [name, *("" if figures.get(figure) is None else figures[figure] for figure in COMMUNITY_FIGURES)]
        )
    return out.getvalue()


def area_sums(communities: Iterable[Published]) -> Published:
    """Each figure summed over the communities that publish it (None when none does)."""
    sums: Published = dict.fromkeys(COMMUNITY_FIGURES)
    for figures in communities:
        for figure, value in figures.items():
            if value is not None:
                sums[figure] = (sums[figure] or 0) + value
    return sums

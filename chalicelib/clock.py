"""Time in one place: ISO 8601 UTC strings that sort lexicographically."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """Four-digit years always (strftime writes year 253 as "253", which neither sorts nor parses)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def now_iso() -> str:
    return iso(now())


def system_now() -> datetime:
    """The machine's own time, which tests never move: when an item was written (a residue item, the
    reconciliation's cut), as opposed to when a fact happened (`now`)."""
    return datetime.now(UTC)


def day(moment: datetime) -> str:
    return iso(moment)[:10]


def days_ago(count: int) -> str:
    return day(now() - timedelta(days=count))


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))

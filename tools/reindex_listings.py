"""Writes the keyword entries of every visible listing: once after deploying keyword search over a table
that already holds listings, or to repair entries. Idempotent; it reads the whole table (a Scan, paid per
item read), so it is an operator's one-off command, never a scheduled job.

Usage (with the stage's environment: PWIIC_TABLE_NAME and AWS credentials, or the local stack's):
    python -m tools.reindex_listings [--page-size N]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.reindex_listings", description=__doc__)
    parser.add_argument("--page-size", type=int, default=200, help="items read per Scan page (default 200)")
    args = parser.parse_args(argv)
    from chalicelib.services import listings

    start: dict[str, Any] | None = None
    indexed = pages = 0
    while True:
        count, start = listings.index_keywords(start, args.page_size)
        indexed, pages = indexed + count, pages + 1
        if start is None:
            break
    print(json.dumps({"listings_indexed": indexed, "scan_pages": pages}))


if __name__ == "__main__":
    main()

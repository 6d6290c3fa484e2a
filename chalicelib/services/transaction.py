"""The one runner that commits a use case's unit of work, and the one retry policy.

A use case hands over a builder: it reads what it needs, asks the domain to decide, adds every write to
the unit of work it is given and returns its answer. The runner calls it, commits, and on failure builds
again with the same ids:

- contention (transaction conflicts, throttling) and unknown outcomes (a lost response: the write may
  have committed) are tried again after a jittered, exponentially growing pause;
- a refused condition that means "what was read has changed" (`Stale`) is built again at once from
  fresh reads, so the domain decides on the current state;
- a refusal that proves an earlier try committed (`AlreadyDone`) answers with the stored result.

At most `ATTEMPTS` tries, and no new try once `PWIIC_RETRY_BUDGET_SECONDS` (8 s) have passed: with the
SDK's own retries off (the models' `max_retry_attempts` is 0, so this is the only retry loop) and 1 s
to connect and 3 s to read per call, a run ends well within the functions' 20 s timeout (the local
stack allows more: DynamoDB Local is far slower). When the tries run out:
`Busy` (503: retry with the same id), or the use case's own `keeps_changing` error when its reads
kept going stale."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from chalicelib import errors
from chalicelib.adapters.dynamodb.unit_of_work import AlreadyDone, Contention, Stale, UnitOfWork, is_contention
from chalicelib.config import settings

T = TypeVar("T")

ATTEMPTS = 6
BACKOFF_SECONDS = 0.02  # before try n (n >= 1): uniform(0, BACKOFF_SECONDS * 2**n) after contention


def run(build: Callable[[UnitOfWork], T], *, keeps_changing: errors.AppError | None = None) -> T:
    notes: dict[str, Any] = {}
    went_stale = False
    last: Exception | None = None
    deadline = time.monotonic() + settings().retry_budget_seconds
    for attempt in range(ATTEMPTS):
        if attempt and time.monotonic() > deadline:
            break
        uow = UnitOfWork(attempt, notes)
        try:
            result = build(uow)
            uow.commit()
            return result
        except AlreadyDone as done:
            return cast(T, done.result)
        except Stale as error:
            went_stale, last = True, error
        except Exception as error:  # a read of the builder can time out or be throttled too
            if not isinstance(error, Contention) and not is_contention(error):
                raise
            went_stale, last = False, error
            if attempt + 1 < ATTEMPTS:
                time.sleep(random.uniform(0, BACKOFF_SECONDS * 2 ** (attempt + 1)))
    if went_stale and keeps_changing is not None:
        raise keeps_changing from last
    raise errors.Busy("ledger.ledger-busy-retry-same") from last

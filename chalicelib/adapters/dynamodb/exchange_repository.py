"""Exchanges, their deadlines, and the booked hours of pooled objects."""

from __future__ import annotations

import zlib
from typing import Any

from pynamodb.expressions.update import Action

from chalicelib.adapters.dynamodb import keys, pages, reads
from chalicelib.adapters.dynamodb.mapping import from_packed, packed, to_attributes, to_domain
from chalicelib.adapters.dynamodb.models import ExchangeItem, SlotItem
from chalicelib.adapters.dynamodb.unit_of_work import Refusal, UnitOfWork, stale
from chalicelib.domain.exchanges import Exchange, State


def _exchange(item: reads.RawItem) -> Exchange:
    return from_packed(ExchangeItem, item, Exchange)


def _ref(exchange_id: str) -> ExchangeItem:
    return ExchangeItem(keys.exchange_pk(exchange_id), keys.EXCHANGE_SK)


def _work_keys(exchange: Exchange, deadline: str | None) -> tuple[str | None, str | None]:
    """GSI1 holds whoever must act next: the scheduler at the deadline, or operators on a dispute."""
    if exchange.state is State.DISPUTED:
        return keys.OPEN_DISPUTES_PK, keys.newest_sk(exchange.updated_at, exchange.exchange_id)
    if deadline is None:
        return None, None
    bucket = zlib.crc32(exchange.exchange_id.encode()) % keys.EXCHANGE_DUE_BUCKETS
    return keys.exchanges_due_pk(bucket), keys.newest_sk(deadline, exchange.exchange_id)


def add_new(uow: UnitOfWork, exchange: Exchange, deadline: str | None, refused: Refusal = stale) -> None:
    due_pk, due_sk = _work_keys(exchange, deadline)
    item = ExchangeItem(
        keys.exchange_pk(exchange.exchange_id),
        keys.EXCHANGE_SK,
        GSI1PK=due_pk,
        GSI1SK=due_sk,
        GSI2PK=keys.member_exchanges_pk(exchange.proposer_id, "proposer"),
        GSI2SK=keys.newest_sk(exchange.created_at, exchange.exchange_id),
        GSI3PK=keys.member_exchanges_pk(exchange.owner_id, "owner"),
        GSI3SK=keys.key(exchange.listing_id, exchange.created_at, exchange.exchange_id),
        packed=packed(exchange),
        **to_attributes(exchange),
    )
    uow.put(item, condition=ExchangeItem.PK.does_not_exist(), refused=refused)


def add_transition(uow: UnitOfWork, before: Exchange, after: Exchange, deadline: str | None) -> None:
    """Only over the version that was read: of two racing transitions, one is refused (stale)."""
    due_pk, due_sk = _work_keys(after, deadline)
    actions: list[Action] = [
        ExchangeItem.state.set(after.state.value),
        ExchangeItem.version.set(after.version),
        ExchangeItem.updated_at.set(after.updated_at),
        ExchangeItem.claimed_damage.set(after.claimed_damage),
        ExchangeItem.posted_amount.set(after.posted_amount),
        ExchangeItem.overdue.set(after.overdue),
        ExchangeItem.packed.set(packed(after)),
    ]
    if after.confirmed_by:
        actions.append(ExchangeItem.confirmed_by.set(set(after.confirmed_by)))
    if due_pk and due_sk:
        actions += [ExchangeItem.GSI1PK.set(due_pk), ExchangeItem.GSI1SK.set(due_sk)]
    else:
        actions += [ExchangeItem.GSI1PK.remove(), ExchangeItem.GSI1SK.remove()]
    uow.update(_ref(after.exchange_id), actions, condition=ExchangeItem.version == before.version)


def add_slots(uow: UnitOfWork, listing_id: str, hours: list[str], exchange_id: str, refused: Refusal) -> None:
    """Two bookings sharing one hour cannot both be written."""
    for hour in hours:
        uow.put(
            SlotItem(keys.slot_pk(listing_id, hour), keys.SLOT_SK, exchange_id=exchange_id),
            condition=SlotItem.PK.does_not_exist(),
            refused=refused,
        )


def add_slots_released(uow: UnitOfWork, listing_id: str, hours: list[str]) -> None:
    for hour in hours:
        uow.delete(SlotItem(keys.slot_pk(listing_id, hour), keys.SLOT_SK))


def get(exchange_id: str) -> Exchange | None:
    found = reads.get_item(keys.exchange_pk(exchange_id), keys.EXCHANGE_SK, consistent_read=True)
    return None if found is None else _exchange(found)


def for_member(member_id: str, role: str, cursor: str | None, limit: int) -> tuple[list[Exchange], str | None]:
    index = ExchangeItem.gsi2 if role == "proposer" else ExchangeItem.gsi3

    def run(start: dict[str, Any] | None) -> Any:
        return reads.query(
            keys.member_exchanges_pk(member_id, role), index=index, forward=False, limit=limit, start=start
        )

    return pages.collect(run, scope=f"exchanges:{role}:{member_id}", cursor=cursor, convert=_exchange)


def for_listing(owner_id: str, listing_id: str) -> list[Exchange]:
    """All exchanges on one listing (a shared event's seats), from its owner's index."""
    results = reads.query(
        keys.member_exchanges_pk(owner_id, "owner"), index=ExchangeItem.gsi3, prefix=listing_id + keys.SEP
    )
    return [_exchange(item) for item in results]


def due(now: str, limit_per_bucket: int) -> list[Exchange]:
    found: list[Exchange] = []
    for bucket in range(keys.EXCHANGE_DUE_BUCKETS):
        results = reads.query(keys.exchanges_due_pk(bucket), index=ExchangeItem.gsi1, up_to=now, limit=limit_per_bucket)
        found.extend(_exchange(item) for item in results)
    return found


def due_between(after: str, until: str) -> list[tuple[str, Exchange]]:
    """Exchanges whose deadline is after `after` and at or before `until`, each with its deadline: every
    page of each bucket (a window of the scheduler's index, not the whole of it)."""
    found: list[tuple[str, Exchange]] = []
    window = ExchangeItem.GSI1SK.between(after + keys.WINDOW_END, until + keys.WINDOW_END)
    for bucket in range(keys.EXCHANGE_DUE_BUCKETS):
        for item in ExchangeItem.gsi1.query(keys.exchanges_due_pk(bucket), window):
            found.append((str(item.GSI1SK).split(keys.SEP, 1)[0], to_domain(item, Exchange)))
    return found


def open_disputes(cursor: str | None, limit: int) -> tuple[list[Exchange], str | None]:
    """Disputed exchanges, oldest first: the operators' queue."""

    def run(start: dict[str, Any] | None) -> Any:
        return reads.query(keys.OPEN_DISPUTES_PK, index=ExchangeItem.gsi1, limit=limit, start=start)

    return pages.collect(run, scope="open-disputes", cursor=cursor, convert=_exchange)

"""Governance items: the cooperative's colleges and governed parameters, cooperators, proxies,
proposals and their supports, ballots with their roll, sealed ballots, participation counters and
results, and the spokespeople.

A ballot's partition holds the ballot, its roll (one entry per voter, frozen at open), the sealed
ballots of a secret vote (under their receipt's hash), the sharded participation counters and the
result: the close reads the ballots counted with one Query. Ballots are indexed by state (GSI1, for
lists) and, until closed, by the moment they are due to open or close (GSI2, for the scheduled job)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeVar

import msgspec

from chalicelib.adapters.dynamodb import keys, pages
from chalicelib.adapters.dynamodb.models import (
    CooperatorItem,
    CounterItem,
    DocumentItem,
    ProxyItem,
    RollEntryItem,
    SealedBallotItem,
    SpokespersonItem,
)
from chalicelib.adapters.dynamodb.unit_of_work import Refusal, UnitOfWork, stale
from chalicelib.domain.economy import FeeVersion
from chalicelib.domain.governance import (
    Ballot,
    BallotState,
    Choice,
    College,
    Cooperator,
    CooperatorStatus,
    Proposal,
    Proxy,
    Result,
    RollEntry,
    SealedBallot,
)

T = TypeVar("T")


# Documents: small aggregates kept whole, written over the version read


def _document(pk: str, sk: str, kind: type[T], *, consistent: bool = True) -> tuple[T | None, int]:
    try:
        item = DocumentItem.get(pk, sk, consistent_read=consistent)
    except DocumentItem.DoesNotExist:
        return None, 0
    return msgspec.json.decode(item.doc, type=kind), int(item.version)


def _add_document(
    uow: UnitOfWork,
    pk: str,
    sk: str,
    value: Any,
    versions: tuple[int | None, int],
    refused: Refusal = stale,
    index: dict[str, Any] | None = None,
) -> None:
    """`value` as version `versions[1]`, over the version read `versions[0]` (None: absent)."""
    read, version = versions
    condition = DocumentItem.PK.does_not_exist() if read is None else DocumentItem.version == read
    item = DocumentItem(pk, sk, doc=msgspec.json.encode(value).decode(), version=version, **(index or {}))
    uow.put(item, condition=condition, refused=refused)


def colleges() -> tuple[list[College], int]:
    found, version = _document(keys.GOVERNANCE_PK, keys.COLLEGES_SK, list[College], consistent=False)
    return found or [], version


def add_colleges(uow: UnitOfWork, value: list[College], version: int) -> None:
    _add_document(uow, keys.GOVERNANCE_PK, keys.COLLEGES_SK, value, (version or None, version + 1))


def parameters() -> tuple[dict[str, int], int]:
    found, version = _document(keys.GOVERNANCE_PK, keys.PARAMETERS_SK, dict[str, int])
    return found or {}, version


def add_parameters(uow: UnitOfWork, value: dict[str, int], version: int) -> None:
    _add_document(uow, keys.GOVERNANCE_PK, keys.PARAMETERS_SK, value, (version or None, version + 1))


def fee_versions() -> tuple[list[FeeVersion], int]:
    found, version = _document(keys.GOVERNANCE_PK, keys.FEES_SK, list[FeeVersion], consistent=False)
    return found or [], version


def add_fee_versions(uow: UnitOfWork, value: list[FeeVersion], version: int) -> None:
    _add_document(uow, keys.GOVERNANCE_PK, keys.FEES_SK, value, (version or None, version + 1))


def listings_published(member_id: str, month: str) -> int:
    """Listings the member published this month (the free quota's count)."""
    try:
        item = CounterItem.get(keys.member_pk(member_id), keys.listing_quota_sk(month), consistent_read=True)
    except CounterItem.DoesNotExist:
        return 0
    return int(item.total)


def add_listing_published(uow: UnitOfWork, member_id: str, month: str, free_quota: int | None) -> None:
    """One more publication this month; a free one only while the count is under the quota (in the
    write's condition: no race publishes more free listings than the quota)."""
    counter = CounterItem(keys.member_pk(member_id), keys.listing_quota_sk(month))
    under = None if free_quota is None else CounterItem.PK.does_not_exist() | (CounterItem.total < free_quota)
    uow.update(counter, [CounterItem.total.add(1)], condition=under)


def add_reward_earned(uow: UnitOfWork, member_id: str, period: str, amount: int, cap: int, full: Refusal) -> None:
    """Automatic rewards earned in a period, only while they stay within the cap (the write's condition)."""
    counter = CounterItem(keys.member_pk(member_id), keys.rewards_earned_sk(period))
    under = CounterItem.PK.does_not_exist() | (CounterItem.total <= cap - amount)
    uow.update(counter, [CounterItem.total.add(amount)], condition=under, refused=full)


# Cooperators: indexed by status and college (GSI1), for the operators' queue and the roll


def _cooperator(item: CooperatorItem) -> Cooperator:
    return msgspec.convert(item.attribute_values, Cooperator, strict=False)


def cooperator(member_id: str) -> Cooperator | None:
    try:
        return _cooperator(CooperatorItem.get(keys.member_pk(member_id), keys.COOPERATOR_SK, consistent_read=True))
    except CooperatorItem.DoesNotExist:
        return None


def cooperators_of(member_ids: set[str]) -> dict[str, Cooperator]:
    wanted = [(keys.member_pk(member_id), keys.COOPERATOR_SK) for member_id in member_ids]
    return {item.member_id: _cooperator(item) for item in CooperatorItem.batch_get(wanted)}


def add_cooperator(uow: UnitOfWork, after: Cooperator, before: Cooperator | None) -> None:
    condition = CooperatorItem.PK.does_not_exist()
    if before is not None:
        condition = (CooperatorItem.status == before.status.value) & (CooperatorItem.college_id == before.college_id)
    item = CooperatorItem(
        keys.member_pk(after.member_id),
        keys.COOPERATOR_SK,
        GSI1PK=keys.cooperators_pk(after.status.value),
        GSI1SK=keys.key(after.college_id, after.member_id),
        **msgspec.structs.asdict(after),
    )
    uow.put(item, condition=condition)


def cooperators(status: str, cursor: str | None, limit: int) -> tuple[list[Cooperator], str | None]:
    def run(start: dict[str, Any] | None) -> Any:
        return CooperatorItem.gsi1.query(
            keys.cooperators_pk(status), limit=limit, page_size=limit, last_evaluated_key=start
        )

    return pages.collect(run, scope=f"cooperators:{status}", cursor=cursor, convert=_cooperator)


def all_cooperators(status: CooperatorStatus) -> Iterator[Cooperator]:
    return (_cooperator(item) for item in CooperatorItem.gsi1.query(keys.cooperators_pk(status.value)))


# Proxies: one per principal and scope (a ballot, or every ballot); each holder's count of proxies


def _proxy(item: ProxyItem) -> Proxy:
    return msgspec.convert(item.attribute_values, Proxy, strict=False)


def _proxy_item(proxy: Proxy) -> ProxyItem:
    return ProxyItem(
        keys.member_pk(proxy.principal_id),
        keys.proxy_sk(proxy.ballot_id),
        GSI1PK=keys.proxies_held_pk(proxy.holder_id),
        GSI1SK=keys.key(proxy.principal_id, proxy.ballot_id or "*"),
        **msgspec.structs.asdict(proxy),
    )


def proxies_for(principal_id: str, ballot_id: str) -> list[Proxy]:
    """The principal's proxies that may cover this ballot: for it, and for every ballot."""
    wanted = [(keys.member_pk(principal_id), keys.proxy_sk(scope)) for scope in (ballot_id, None)]
    return [_proxy(item) for item in ProxyItem.batch_get(wanted, consistent_read=True)]


def proxies_given(principal_id: str) -> list[Proxy]:
    prefix = ProxyItem.SK.startswith(keys.PROXY_SK_PREFIX)
    return [_proxy(item) for item in ProxyItem.query(keys.member_pk(principal_id), prefix, consistent_read=True)]


def proxies_held(holder_id: str) -> list[Proxy]:
    return [_proxy(item) for item in ProxyItem.gsi1.query(keys.proxies_held_pk(holder_id))]


def held_count(holder_id: str) -> int:
    try:
        item = CounterItem.get(keys.member_pk(holder_id), keys.PROXIES_HELD_SK, consistent_read=True)
    except CounterItem.DoesNotExist:
        return 0
    return int(item.total)


def add_proxy(uow: UnitOfWork, proxy: Proxy, cap: int, given: Refusal, full: Refusal) -> None:
    """The proxy, unless one is given for its scope (`given`), and the holder's count, under the cap
    (`full`): no race of grants takes a holder over it."""
    uow.put(_proxy_item(proxy), condition=ProxyItem.PK.does_not_exist(), refused=given)
    counter = CounterItem(keys.member_pk(proxy.holder_id), keys.PROXIES_HELD_SK)
    under_cap = CounterItem.PK.does_not_exist() | (CounterItem.total < cap)
    uow.update(counter, [CounterItem.total.add(1)], condition=under_cap, refused=full)


def add_proxy_revoked(uow: UnitOfWork, proxy: Proxy, gone: Refusal) -> None:
    uow.delete(_proxy_item(proxy), condition=ProxyItem.holder_id == proxy.holder_id, refused=gone)
    counter = CounterItem(keys.member_pk(proxy.holder_id), keys.PROXIES_HELD_SK)
    uow.update(counter, [CounterItem.total.add(-1)])


# Proposals and their supports


def proposal(proposal_id: str) -> Proposal | None:
    found, _ = _document(keys.proposal_pk(proposal_id), keys.PROPOSAL_SK, Proposal)
    return found


def add_proposal(uow: UnitOfWork, value: Proposal, before: Proposal | None) -> None:
    index = {"GSI1PK": keys.PROPOSALS_PK, "GSI1SK": keys.newest_sk(value.created_at, value.proposal_id)}
    versions = (None if before is None else before.version, value.version)
    _add_document(uow, keys.proposal_pk(value.proposal_id), keys.PROPOSAL_SK, value, versions, index=index)


def add_support(uow: UnitOfWork, proposal_id: str, member_id: str, again: Refusal) -> None:
    item = CounterItem(keys.proposal_pk(proposal_id), keys.support_sk(member_id), total=1)
    uow.put(item, condition=CounterItem.PK.does_not_exist(), refused=again)


def proposals(cursor: str | None, limit: int) -> tuple[list[Proposal], str | None]:
    def run(start: dict[str, Any] | None) -> Any:
        return DocumentItem.gsi1.query(
            keys.PROPOSALS_PK, scan_index_forward=False, limit=limit, page_size=limit, last_evaluated_key=start
        )

    return pages.collect(run, scope="proposals", cursor=cursor, convert=lambda item: _decoded(item, Proposal))


def _decoded(item: DocumentItem, kind: type[T]) -> T:
    return msgspec.json.decode(item.doc, type=kind)


# Ballots


def ballot(ballot_id: str) -> Ballot | None:
    found, _ = _document(keys.ballot_pk(ballot_id), keys.BALLOT_SK, Ballot)
    return found


def add_ballot(uow: UnitOfWork, value: Ballot, before: Ballot | None, refused: Refusal = stale) -> None:
    """The ballot over the one read: listed by state (GSI1); due to open at `opens_at`, then to close at
    `closes_at` (GSI2), no longer due once closed."""
    due = {BallotState.SCHEDULED: value.opens_at, BallotState.OPEN: value.closes_at}.get(value.state)
    index = {
        "GSI1PK": keys.ballots_pk(value.state.value),
        "GSI1SK": keys.newest_sk(value.closes_at, value.ballot_id),
        "GSI2PK": keys.BALLOTS_DUE_PK if due else None,
        "GSI2SK": keys.newest_sk(due, value.ballot_id) if due else None,
    }
    versions = (None if before is None else before.version, value.version)
    _add_document(uow, keys.ballot_pk(value.ballot_id), keys.BALLOT_SK, value, versions, refused, index)


def ballots(state: str, cursor: str | None, limit: int) -> tuple[list[Ballot], str | None]:
    def run(start: dict[str, Any] | None) -> Any:
        return DocumentItem.gsi1.query(
            keys.ballots_pk(state), scan_index_forward=False, limit=limit, page_size=limit, last_evaluated_key=start
        )

    return pages.collect(run, scope=f"ballots:{state}", cursor=cursor, convert=lambda item: _decoded(item, Ballot))


def due_ballots(now: str, limit: int) -> list[Ballot]:
    found = DocumentItem.gsi2.query(keys.BALLOTS_DUE_PK, now >= DocumentItem.GSI2SK, limit=limit)
    return [_decoded(item, Ballot) for item in found]


def due_between(after: str, until: str) -> list[Ballot]:
    """Ballots due to open or close after `after` and at or before `until`."""
    window = DocumentItem.GSI2SK.between(after + keys.WINDOW_END, until + keys.WINDOW_END)
    return [_decoded(item, Ballot) for item in DocumentItem.gsi2.query(keys.BALLOTS_DUE_PK, window)]


def not_voted(ballot_id: str) -> list[str]:
    """The members on the roll who have not voted (nor anyone for them): one Query of the roll."""
    prefix = RollEntryItem.SK.startswith(keys.ROLL_SK_PREFIX)
    found = RollEntryItem.query(keys.ballot_pk(ballot_id), prefix, RollEntryItem.voted == False)  # noqa: E712
    return [str(item.member_id) for item in found]


def roll_members(ballot_id: str) -> list[str]:
    """Every member on the roll: one Query of the roll (page after page), projecting the member id only."""
    prefix = RollEntryItem.SK.startswith(keys.ROLL_SK_PREFIX)
    member = RollEntryItem.member_id.attr_name
    found = RollEntryItem.query(keys.ballot_pk(ballot_id), prefix, attributes_to_get=[member])
    return [str(item.member_id) for item in found]


def write_roll(entries: list[RollEntry]) -> None:
    """The roll, written in batches before the ballot opens (nobody votes yet: rewriting is harmless)."""
    with RollEntryItem.batch_write() as batch:
        for entry in entries:
            batch.save(_roll_item(entry))


ROLL_CHUNK = 99  # roll entries per transaction: with the ballot's check, DynamoDB's 100 actions


def add_roll(uow: UnitOfWork, ballot: Ballot, entries: list[RollEntry], changed: Refusal) -> None:
    """Part of the roll (at most `ROLL_CHUNK` entries), written only while the ballot is still the
    scheduled version read (`changed` otherwise): an opening that runs late, after another has opened
    the ballot, never writes an entry over a vote."""
    pk = keys.ballot_pk(ballot.ballot_id)
    uow.check(DocumentItem, pk, keys.BALLOT_SK, DocumentItem.version == ballot.version, changed)
    for entry in entries:
        uow.put(_roll_item(entry))


def _roll_item(entry: RollEntry) -> RollEntryItem:
    fields = msgspec.structs.asdict(entry)
    fields["choice"] = None if entry.choice is None else msgspec.json.encode(entry.choice).decode()
    return RollEntryItem(keys.ballot_pk(entry.ballot_id), keys.roll_sk(entry.member_id), **fields)


def _roll_entry(item: RollEntryItem) -> RollEntry:
    fields = dict(item.attribute_values)
    fields["choice"] = None if item.choice is None else msgspec.json.decode(item.choice, type=Choice)
    return msgspec.convert(fields, RollEntry, strict=False)


def roll_entries(ballot_id: str, member_ids: list[str]) -> dict[str, RollEntry]:
    found = _roll_entries([(ballot_id, member_id) for member_id in member_ids], consistent=True)
    return {entry.member_id: entry for entry in found}


def roll_entries_of(member_id: str, ballot_ids: list[str]) -> dict[str, RollEntry]:
    """The member's places on several ballots' rolls, by ballot (one batch read)."""
    found = _roll_entries([(ballot_id, member_id) for ballot_id in ballot_ids], consistent=False)
    return {entry.ballot_id: entry for entry in found}


def _roll_entries(places: list[tuple[str, str]], *, consistent: bool) -> list[RollEntry]:
    wanted = [(keys.ballot_pk(ballot_id), keys.roll_sk(member_id)) for ballot_id, member_id in places]
    return [_roll_entry(item) for item in RollEntryItem.batch_get(wanted, consistent_read=consistent)]


def add_vote(uow: UnitOfWork, before: RollEntry, after: RollEntry, now: str) -> None:
    """The roll entry over the version read, only while the ballot is open: a vote racing the close
    either lands before `closes_at` or is refused (and decided again on what is read then)."""
    condition = (RollEntryItem.version == before.version) & (RollEntryItem.closes_at > now)
    uow.put(_roll_item(after), condition=condition)


def add_proxy_check(uow: UnitOfWork, proxy: Proxy) -> None:
    """The proxy used is still given (not revoked meanwhile)."""
    pk, sk = keys.member_pk(proxy.principal_id), keys.proxy_sk(proxy.ballot_id)
    uow.check(ProxyItem, pk, sk, ProxyItem.holder_id == proxy.holder_id)


def add_participation(uow: UnitOfWork, ballot_id: str, college_id: str, shard: int) -> None:
    counter = CounterItem(keys.ballot_pk(ballot_id), keys.count_sk(college_id, shard))
    uow.update(counter, [CounterItem.total.add(1)])


def participation(ballot_id: str) -> dict[str, int]:
    """Votes so far per college: the sum of the college's counter shards (one Query)."""
    counts: dict[str, int] = {}
    for item in CounterItem.query(keys.ballot_pk(ballot_id), CounterItem.SK.startswith(keys.COUNT_SK_PREFIX)):
        college_id = item.SK.split(keys.SEP)[1]
        counts[college_id] = counts.get(college_id, 0) + int(item.total)
    return counts


def add_sealed(uow: UnitOfWork, ballot_id: str, sealed: SealedBallot) -> None:
    item = SealedBallotItem(
        keys.ballot_pk(ballot_id),
        keys.box_sk(sealed.receipt_hash),
        receipt_hash=sealed.receipt_hash,
        college_id=sealed.college_id,
        choice=msgspec.json.encode(sealed.choice).decode(),
    )
    uow.put(item, condition=SealedBallotItem.PK.does_not_exist())


def _sealed(item: SealedBallotItem) -> SealedBallot:
    return SealedBallot(item.receipt_hash, item.college_id, msgspec.json.decode(item.choice, type=Choice))


def sealed_ballot(ballot_id: str, receipt_hash: str) -> SealedBallot | None:
    try:
        found = SealedBallotItem.get(keys.ballot_pk(ballot_id), keys.box_sk(receipt_hash), consistent_read=True)
        return _sealed(found)
    except SealedBallotItem.DoesNotExist:
        return None


def sealed_ballots(ballot_id: str, cursor: str | None, limit: int) -> tuple[list[SealedBallot], str | None]:
    def run(start: dict[str, Any] | None) -> Any:
        return SealedBallotItem.query(
            keys.ballot_pk(ballot_id),
            SealedBallotItem.SK.startswith(keys.BOX_SK_PREFIX),
            limit=limit,
            page_size=limit,
            last_evaluated_key=start,
        )

    return pages.collect(run, scope=f"receipts:{ballot_id}", cursor=cursor, convert=_sealed)


def all_sealed(ballot_id: str) -> list[SealedBallot]:
    prefix = SealedBallotItem.SK.startswith(keys.BOX_SK_PREFIX)
    return [_sealed(item) for item in SealedBallotItem.query(keys.ballot_pk(ballot_id), prefix, consistent_read=True)]


def all_votes(ballot_id: str) -> list[RollEntry]:
    """The roll's entries that voted (a named ballot's choices), read consistently at the close."""
    prefix = RollEntryItem.SK.startswith(keys.ROLL_SK_PREFIX)
    found = RollEntryItem.query(keys.ballot_pk(ballot_id), prefix, RollEntryItem.voted == True, consistent_read=True)  # noqa: E712
    return [_roll_entry(item) for item in found]


def result(ballot_id: str) -> Result | None:
    found, _ = _document(keys.ballot_pk(ballot_id), keys.RESULT_SK, Result, consistent=False)
    return found


def result_of(item: DocumentItem) -> Result:
    """A result item as read or as the stream hands it over."""
    return _decoded(item, Result)


def add_result(uow: UnitOfWork, value: Result, refused: Refusal) -> None:
    """Written once: a second close finds it and changes nothing."""
    _add_document(uow, keys.ballot_pk(value.ballot_id), keys.RESULT_SK, value, (None, 1), refused)


# Spokespeople


def add_spokesperson(uow: UnitOfWork, member_id: str, ballot_id: str, until: str) -> None:
    uow.put(SpokespersonItem(keys.SPOKESPEOPLE_PK, member_id, member_id=member_id, ballot_id=ballot_id, until=until))


def spokespeople(now: str) -> list[tuple[str, str, str]]:
    """(member, ballot, until) of the spokespeople whose term has not ended."""
    found = SpokespersonItem.query(keys.SPOKESPEOPLE_PK, filter_condition=SpokespersonItem.until > now)
    return [(item.member_id, item.ballot_id, item.until) for item in found]

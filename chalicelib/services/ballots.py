"""Ballot use cases: creation, candidacies, votes (in person or by proxy, named or secret), live
participation, the scheduled opening (the roll is frozen) and close (the official recount, stored once
with the digest of the ballots counted, and the decision the platform applies in the same unit of work)."""

from __future__ import annotations

import random
import secrets
import uuid
from collections import Counter
from datetime import timedelta

from msgspec import Struct
from msgspec.structs import replace

from chalicelib import clock, errors
from chalicelib.adapters.dynamodb import governance_repository as repository
from chalicelib.adapters.dynamodb import keys, member_repository
from chalicelib.adapters.dynamodb.unit_of_work import AlreadyDone, UnitOfWork, already_done, raises
from chalicelib.config import settings
from chalicelib.domain.audit import AuditAction
from chalicelib.domain.economy import Operation
from chalicelib.domain.governance import (
    FEE_PARAMETERS,
    Ballot,
    BallotKind,
    BallotState,
    Cast,
    Choice,
    CooperatorStatus,
    Governed,
    Result,
    RollEntry,
    Rules,
    SealedBallot,
    check_choice,
    check_rules,
    covers,
    digest_of,
    opened,
    receipt_hash,
    scheduled,
    stand,
    tally,
    vote,
)
from chalicelib.domain.ledger import PlatformAccount, TransferKind, TransferRequest, earmark_account
from chalicelib.errors import FieldError
from chalicelib.observability import logger
from chalicelib.services import audit, fees, governance, ledger, transaction

DEFAULT_TERM_DAYS = 365  # a spokesperson's term when the election does not say
FUNDING_ACCOUNTS = frozenset({PlatformAccount.REWARDS_POOL, PlatformAccount.REVENUE})


class BallotDraft(Struct, frozen=True):
    title: str
    description: str
    rules: Rules
    opens_at: str
    closes_at: str
    proposal_id: str | None = None


def create(operator_id: str, draft: BallotDraft, reason: str) -> Ballot:
    """Operators put a question to the cooperators: their own, or a qualified proposal."""
    rules = draft.rules
    check_rules(rules, draft.opens_at, draft.closes_at)
    if draft.closes_at <= clock.now_iso():
        raise errors.Invalid([FieldError("closes_at", "governance.ballot-closes-future")])
    funding = rules.decision.funding_account if rules.decision else None
    if funding is not None and funding not in FUNDING_ACCOUNTS:
        raise errors.Invalid(
            [FieldError("decision", "governance.funding-accounts", {"accounts": ", ".join(sorted(FUNDING_ACCOUNTS))})]
        )
    if not governance.colleges():
        raise errors.Conflict("governance.define-cooperative-colleges-first", code="no-colleges")
    if rules.secret and not rules.min_secret_voters:
        rules = replace(rules, min_secret_voters=settings().secret_ballot_min_voters)
    ballot = Ballot(
        ballot_id=uuid.uuid4().hex,
        title=draft.title,
        description=draft.description,
        rules=rules,
        opens_at=draft.opens_at,
        closes_at=draft.closes_at,
        created_by=operator_id,
        created_at=clock.now_iso(),
        proposal_id=draft.proposal_id,
    )

    def build(uow: UnitOfWork) -> Ballot:
        repository.add_ballot(uow, ballot, None)
        if draft.proposal_id is not None:
            proposal = governance.proposal(draft.proposal_id)
            repository.add_proposal(uow, scheduled(proposal, ballot.ballot_id), proposal)
        audit.record(uow, operator_id, AuditAction.CREATE_BALLOT, ballot.ballot_id, reason)
        return ballot

    return transaction.run(build, keeps_changing=_changing())


def get(ballot_id: str) -> Ballot:
    found = repository.ballot(ballot_id)
    if found is None:
        raise errors.NotFound("not-found.ballot")
    return found


def spokespeople() -> list[tuple[str, str, str]]:
    return repository.spokespeople(clock.now_iso())


def listing(state: BallotState, cursor: str | None, limit: int) -> tuple[list[Ballot], str | None]:
    return repository.ballots(state.value, cursor, limit)


def awaiting_vote(member_id: str, limit: int) -> list[Ballot]:
    """Open ballots (the `limit` closing last) with the member on the roll who has not voted yet."""
    found, _ = repository.ballots(BallotState.OPEN.value, None, limit)
    if not found:
        return []
    entries = repository.roll_entries_of(member_id, [ballot.ballot_id for ballot in found])
    return [ballot for ballot in found if ballot.ballot_id in entries and not entries[ballot.ballot_id].voted]


def stand_in(member_id: str, ballot_id: str) -> Ballot:
    """A cooperator stands as a candidate in a scheduled election."""
    governance.active_cooperator(member_id)
    member = member_repository.get(member_id)
    name = member.display_name if member else member_id

    def build(uow: UnitOfWork) -> Ballot:
        before = get(ballot_id)
        after = stand(before, member_id, name)
        if after is not before:
            repository.add_ballot(uow, after, before)
        return after

    return transaction.run(build, keeps_changing=_changing())


# Votes


class Voted(Struct, frozen=True):
    """A vote as its voter sees it: the roll entry, and on a secret ballot the receipt to keep."""

    entry: RollEntry
    receipt: str | None = None


def cast(voter_id: str, ballot_id: str, wanted: Choice, on_behalf_of: str | None = None) -> Voted:
    """One unit of work: the roll entry (over the version read, only before the close), on a secret
    ballot the sealed ballot under the receipt's hash, and on a first vote one participation counter."""
    member_id = on_behalf_of or voter_id
    token = secrets.token_urlsafe(24)

    def build(uow: UnitOfWork) -> Voted:
        ballot = get(ballot_id)
        now = clock.now_iso()
        entry = repository.roll_entries(ballot_id, [member_id]).get(member_id)
        if entry is None:
            if ballot.state is BallotState.OPEN:
                raise errors.Forbidden("governance.only-cooperators-ballot-roll")
            raise errors.Conflict("governance.ballot-open-votes", code="ballot-not-open", state=ballot.state.value)
        if (
            uow.attempt
            and ballot.rules.secret
            and entry.voted
            and repository.sealed_ballot(ballot_id, receipt_hash(token))
        ):
            raise AlreadyDone(Voted(entry, token))  # an earlier try committed; its answer was lost
        choice = check_choice(ballot, wanted)
        proxy = None
        if voter_id != member_id:
            proxy = next(
                (p for p in repository.proxies_for(member_id, ballot_id) if covers(p, voter_id, member_id, ballot_id)),
                None,
            )
        done = vote(ballot, entry, voter_id, proxy, choice, now)
        repository.add_vote(uow, entry, done.entry, now)
        if proxy is not None:
            repository.add_proxy_check(uow, proxy)
        if ballot.rules.secret:
            repository.add_sealed(uow, ballot_id, SealedBallot(receipt_hash(token), entry.college_id, choice))
        if done.first:
            repository.add_participation(uow, ballot_id, entry.college_id, random.randrange(keys.BALLOT_COUNT_SHARDS))
        return Voted(done.entry, token if ballot.rules.secret else None)

    voted = transaction.run(build, keeps_changing=_changing())
    # who voted, and whether by proxy: never the choice (the sealed ballot carries no member nor time)
    logger.info(
        "vote cast", extra={"ballot_id": ballot_id, "member_id": member_id, "proxy_holder": voted.entry.voted_by}
    )
    return voted


def my_vote(member_id: str, ballot_id: str) -> RollEntry:
    get(ballot_id)
    entry = repository.roll_entries(ballot_id, [member_id]).get(member_id)
    if entry is None:
        raise errors.NotFound("not-found.place-ballot-roll")
    return entry


def participation(ballot_id: str) -> tuple[Ballot, dict[str, int]]:
    """Votes so far per college, from the sharded counters (cheap while the ballot is open)."""
    ballot = get(ballot_id)
    return ballot, repository.participation(ballot_id)


def result(ballot_id: str) -> Result:
    ballot = get(ballot_id)
    found = repository.result(ballot_id) if ballot.state is BallotState.CLOSED else None
    if found is None:
        raise errors.Conflict(
            "governance.results-published-when-ballot", code="ballot-not-closed", state=ballot.state.value
        )
    return found


def receipts(ballot_id: str, cursor: str | None, limit: int) -> tuple[list[SealedBallot], str | None]:
    """After a secret ballot closes: every receipt's hash with the choice counted under it."""
    _published_secret(ballot_id)
    return repository.sealed_ballots(ballot_id, cursor, limit)


def receipt(ballot_id: str, token_hash: str) -> SealedBallot:
    _published_secret(ballot_id)
    found = repository.sealed_ballot(ballot_id, token_hash)
    if found is None:
        raise errors.NotFound("not-found.ballot-receipt")
    return found


def _published_secret(ballot_id: str) -> None:
    if not get(ballot_id).rules.secret:
        raise errors.NotFound("not-found.receipts-secret-ballot")
    if result(ballot_id).withheld:
        raise errors.Conflict("governance.too-few-voted-secret", code="results-withheld")


# The scheduled job


def run_due(now: str | None = None) -> tuple[int, int]:
    """Scheduled every minute: opens the ballots whose time has come (freezing the roll) and closes
    those whose time has passed (after a grace that outlasts any vote in flight). Returns (opened, closed)."""
    moment = now or clock.now_iso()
    grace = timedelta(seconds=settings().ballot_close_grace_seconds)
    opened_count = closed_count = 0
    for ballot in repository.due_ballots(moment, 50):
        try:
            if ballot.state is BallotState.SCHEDULED:
                open_ballot(ballot)
                opened_count += 1
            elif clock.iso(clock.parse(ballot.closes_at) + grace) <= moment:
                closed_count += close(ballot.ballot_id, moment) is not None
        except errors.AppError as error:  # busy, or changed meanwhile: the next run looks again
            logger.warning("ballot not moved", extra={"ballot_id": ballot.ballot_id, "code": error.code})
    return opened_count, closed_count


def open_ballot(ballot: Ballot) -> Ballot:
    """Freezes the roll (every active cooperator with their college) and the colleges, then opens. A
    ballot read as scheduled (the due index lags; a second run) that has opened meanwhile is left as
    it is: writing its roll again would erase the votes cast since."""
    ballot = get(ballot.ballot_id)
    if ballot.state is not BallotState.SCHEDULED:
        return ballot
    colleges = governance.colleges()
    known = {college.college_id for college in colleges}
    entries = [
        RollEntry(ballot.ballot_id, cooperator.member_id, cooperator.college_id, ballot.closes_at)
        for cooperator in repository.all_cooperators(CooperatorStatus.ACTIVE)
        if cooperator.college_id in known
    ]
    # each part of the roll lands only while the ballot is still the scheduled version read: a second
    # run that got past the check above as this one opened the ballot cannot erase the votes cast since
    changed = raises(errors.Conflict("governance.ballot-changed-while-opening", code="ballot-changed"))

    def write(part: list[RollEntry]) -> None:
        transaction.run(lambda uow: repository.add_roll(uow, ballot, part, changed))

    for start in range(0, len(entries), repository.ROLL_CHUNK):
        write(entries[start : start + repository.ROLL_CHUNK])
    eligible = Counter(entry.college_id for entry in entries)
    after = opened(ballot, colleges, eligible)
    transaction.run(lambda uow: repository.add_ballot(uow, after, ballot), keeps_changing=_changing())
    return after


def close(ballot_id: str, now: str | None = None) -> Result | None:
    """The official recount of the ballots (read consistently), stored once with their digest, the
    ballot closed and its decision applied, all in one unit of work: a second close changes nothing."""
    moment = now or clock.now_iso()
    ballot = get(ballot_id)
    if ballot.state is not BallotState.OPEN:
        return None
    funded = _earmarks(ballot)

    def build(uow: UnitOfWork) -> Result | None:
        current = get(ballot_id)
        if current.state is not BallotState.OPEN:
            return None
        casts, records = _ballots_counted(current)
        counted = tally(current, casts, moment, digest_of(records))
        repository.add_ballot(uow, replace(current, state=BallotState.CLOSED, version=current.version + 1), current)
        counted = replace(counted, applied=_apply(uow, current, counted, moment, funded))
        repository.add_result(uow, counted, refused=already_done(None))
        return counted

    try:
        return transaction.run(build, keeps_changing=_changing())
    except errors.InsufficientCredits:
        logger.warning("budget not funded: too few credits", extra={"ballot_id": ballot_id})
        funded = {}
        return transaction.run(build, keeps_changing=_changing())


def _ballots_counted(ballot: Ballot) -> tuple[list[Cast], list[dict[str, object]]]:
    if ballot.rules.secret:
        sealed = repository.all_sealed(ballot.ballot_id)
        casts = [Cast(found.college_id, found.choice) for found in sealed]
        return casts, [{"receipt": s.receipt_hash, "college": s.college_id, "choice": _plain(s.choice)} for s in sealed]
    votes = [entry for entry in repository.all_votes(ballot.ballot_id) if entry.choice is not None]
    casts = [Cast(entry.college_id, entry.choice) for entry in votes if entry.choice is not None]
    records: list[dict[str, object]] = [
        {"member": e.member_id, "college": e.college_id, "choice": _plain(e.choice)} for e in votes
    ]
    return casts, records


def _plain(choice: Choice | None) -> dict[str, object]:
    if choice is None:
        return {}
    return {"options": list(choice.options), "scores": dict(choice.scores)}


def _earmarks(ballot: Ballot) -> dict[str, str]:
    """A budget ballot that funds projects: each project's earmarked account, created (empty) ahead of
    the close so the close can credit it."""
    decision = ballot.rules.decision
    if ballot.rules.kind is not BallotKind.BUDGET or decision is None or decision.funding_account is None:
        return {}
    accounts = {
        option.option_id: earmark_account(ballot.ballot_id, option.option_id) for option in ballot.rules.options
    }
    ledger.ensure_accounts(list(accounts.values()))
    return accounts


def _apply(uow: UnitOfWork, ballot: Ballot, counted: Result, now: str, earmarks: dict[str, str]) -> tuple[str, ...]:
    """The decision of an adopted ballot, in the close's unit of work, audited."""
    decision, applied = ballot.rules.decision, []
    if ballot.rules.kind is BallotKind.ELECTION:
        term = decision.term_days if decision and decision.term_days else DEFAULT_TERM_DAYS
        until = clock.iso(clock.parse(now) + timedelta(days=term))
        for member_id in counted.winners:
            repository.add_spokesperson(uow, member_id, ballot.ballot_id, until)
            applied.append(f"spokesperson {member_id} until {until}")
    elif (
        decision is not None and decision.parameter in FEE_PARAMETERS and decision.value is not None and counted.adopted
    ):
        operation = (
            None
            if decision.parameter is Governed.FREE_LISTINGS_PER_MONTH
            else Operation(decision.parameter.removeprefix("fee_"))
        )
        effective = fees.add_ballot_change(uow, ballot.ballot_id, operation, decision.value, now)
        applied.append(f"{decision.parameter.value} = {decision.value} from {effective}")
    elif decision is not None and decision.parameter is not None and decision.value is not None and counted.adopted:
        governance.add_parameter_change(uow, decision.parameter, decision.value)
        applied.append(f"{decision.parameter.value} = {decision.value}")
    elif decision is not None and decision.funding_account is not None and earmarks and counted.winners:
        costs = {option.option_id: option.cost for option in ballot.rules.options}
        requests = [
            TransferRequest(
                transfer_id=f"earmark:{ballot.ballot_id}:{project}",
                payer=decision.funding_account,
                payee=earmarks[project],
                amount=costs[project],
                kind=TransferKind.EARMARK,
                reason=f"ballot {ballot.ballot_id}",
            )
            for project in counted.winners
        ]
        ledger.add_spread(uow, PlatformAccount(decision.funding_account), requests)
        applied.extend(f"{earmarks[project]} funded with {costs[project]} credits" for project in counted.winners)
    elif decision is not None and decision.funding_account is not None and counted.winners:
        applied.append(f"projects not funded: {decision.funding_account} lacked the credits")
    if applied:
        audit.record(
            uow, f"ballot:{ballot.ballot_id}", AuditAction.APPLY_DECISION, ballot.ballot_id, "; ".join(applied)
        )
    return tuple(applied)


def _changing() -> errors.Conflict:
    return errors.Conflict("governance.ballot-kept-changing-try", code="ballot-changed")

"""Governance use cases around the ballots: the cooperative's colleges, cooperators, the governed
parameters in force, proxies and proposals."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from functools import partial

from chalicelib import clock, errors
from chalicelib.adapters.dynamodb import governance_repository as repository
from chalicelib.adapters.dynamodb import member_repository
from chalicelib.adapters.dynamodb.unit_of_work import UnitOfWork, already_done, raises
from chalicelib.config import settings
from chalicelib.domain.audit import AuditAction
from chalicelib.domain.conversations import Message, about_proposal
from chalicelib.domain.governance import (
    College,
    CollegeRules,
    Cooperator,
    CooperatorStatus,
    Governed,
    Parameters,
    Proposal,
    Proxy,
    check_colleges,
    check_proxy,
    support,
)
from chalicelib.errors import FieldError
from chalicelib.services import audit, conversations, transaction

PARAMETERS_SECONDS = 60.0  # how long a container reuses the parameters in force
_parameters: list[tuple[float, Parameters]] = []


def college_rules() -> CollegeRules:
    config = settings()
    return CollegeRules(config.colleges_min, config.colleges_max, config.college_weight_min, config.college_weight_max)


def colleges() -> list[College]:
    return repository.colleges()[0]


def set_colleges(operator_id: str, wanted: list[College], reason: str) -> list[College]:
    """Operators define the colleges; an existing college keeps its id, and none with cooperators in it
    may disappear (they would sit nowhere)."""
    check_colleges(wanted, college_rules())

    def build(uow: UnitOfWork) -> list[College]:
        current, version = repository.colleges()
        dropped = {college.college_id for college in current} - {college.college_id for college in wanted}
        if dropped and any(c.college_id in dropped for c in repository.all_cooperators(CooperatorStatus.ACTIVE)):
            raise errors.Conflict("governance.college-cooperators-cannot-removed", code="college-not-empty")
        repository.add_colleges(uow, wanted, version)
        audit.record(uow, operator_id, AuditAction.SET_COLLEGES, "colleges", reason)
        return wanted

    return transaction.run(build, keeps_changing=_changing("governance.colleges-changing"))


def _college(college_id: str) -> College:
    for college in colleges():
        if college.college_id == college_id:
            return college
    raise errors.Invalid([FieldError("college_id", "governance.no-such-college")])


# Cooperators


def cooperator(member_id: str) -> Cooperator:
    found = repository.cooperator(member_id)
    if found is None:
        raise errors.NotFound("not-found.cooperator")
    return found


def request_college(member_id: str, college_id: str) -> Cooperator:
    """A member opts in as a cooperator and asks to sit in a college; an operator approves."""
    _college(college_id)

    def build(uow: UnitOfWork) -> Cooperator:
        before = repository.cooperator(member_id)
        if before is not None and before.status is CooperatorStatus.ACTIVE:
            raise errors.Conflict("governance.cooperator-already", code="already-cooperator")
        after = Cooperator(member_id, college_id, CooperatorStatus.REQUESTED, clock.now_iso())
        repository.add_cooperator(uow, after, before)
        return after

    return transaction.run(build, keeps_changing=_changing("governance.cooperator-changing"))


def place(operator_id: str, member_id: str, college_id: str, reason: str) -> Cooperator:
    """An operator places a member in a college (approving a request, or moving a cooperator)."""
    _college(college_id)
    if member_repository.get(member_id) is None:
        raise errors.NotFound("not-found.member")

    def build(uow: UnitOfWork) -> Cooperator:
        before = repository.cooperator(member_id)
        after = Cooperator(member_id, college_id, CooperatorStatus.ACTIVE, clock.now_iso())
        repository.add_cooperator(uow, after, before)
        audit.record(uow, operator_id, AuditAction.PLACE_COOPERATOR, member_id, reason, college_id=college_id)
        return after

    return transaction.run(build, keeps_changing=_changing("governance.cooperator-changing"))


def cooperators(status: CooperatorStatus, cursor: str | None, limit: int) -> tuple[list[Cooperator], str | None]:
    return repository.cooperators(status.value, cursor, limit)


def active_cooperator(member_id: str) -> Cooperator:
    found = repository.cooperator(member_id)
    if found is None or found.status is not CooperatorStatus.ACTIVE:
        raise errors.Forbidden("governance.only-cooperators-placed-college")
    return found


# Governed parameters


def parameters() -> Parameters:
    """The parameters in force: defaults from configuration, as changed by adopted ballots (a container
    reuses what it read for a minute)."""
    now = time.monotonic()
    if _parameters and _parameters[0][0] > now:
        return _parameters[0][1]
    config = settings()
    defaults = Parameters(
        review_window_days=round(config.review_window / timedelta(days=1)),
        proxy_cap=config.proxy_cap,
        proposal_supports=config.proposal_supports,
    )
    found = defaults
    for name, value in repository.parameters()[0].items():
        found = found.changed(Governed(name), value)
    _parameters[:] = [(now + PARAMETERS_SECONDS, found)]
    return found


def review_window() -> timedelta:
    return timedelta(days=parameters().review_window_days)


def add_parameter_change(uow: UnitOfWork, parameter: Governed, value: int) -> None:
    current, version = repository.parameters()
    repository.add_parameters(uow, {**current, parameter.value: value}, version)


def reset() -> None:
    _parameters.clear()


# Proxies


def give_proxy(principal_id: str, holder_id: str, ballot_id: str | None) -> Proxy:
    """A cooperator's vote, given to another of the same college for one ballot or until revoked."""
    principal = active_cooperator(principal_id)
    holder = repository.cooperator(holder_id)
    if holder is None:
        raise errors.NotFound("not-found.cooperator")
    cap = parameters().proxy_cap

    def build(uow: UnitOfWork) -> Proxy:
        check_proxy(principal, holder, repository.held_count(holder_id), cap)
        proxy = Proxy(principal_id, holder_id, principal.college_id, clock.now_iso(), ballot_id)
        given = raises(errors.Conflict("governance.given-proxy-already-revoke", code="proxy-given"))
        full = raises(errors.Conflict("governance.proxy-cap", code="proxy-cap-reached", cap=cap))
        repository.add_proxy(uow, proxy, cap, given, full)
        return proxy

    return transaction.run(build, keeps_changing=_changing("governance.proxy-changing"))


def revoke_proxy(principal_id: str, ballot_id: str | None) -> None:
    def build(uow: UnitOfWork) -> None:
        scope = [proxy for proxy in repository.proxies_given(principal_id) if proxy.ballot_id == ballot_id]
        if not scope:
            raise errors.NotFound("not-found.proxy")
        repository.add_proxy_revoked(uow, scope[0], gone=raises(errors.NotFound("not-found.proxy")))

    transaction.run(build, keeps_changing=_changing("governance.proxy-changing"))


def revoke_all(member_id: str) -> None:
    """An erased member's proxies, given and held, are revoked: nobody votes through a former member,
    and their givers may give them to someone else. One unit of work each (a revoked one is done)."""
    for proxy in [*repository.proxies_given(member_id), *repository.proxies_held(member_id)]:
        transaction.run(partial(repository.add_proxy_revoked, proxy=proxy, gone=already_done()))


def proxies(member_id: str) -> tuple[list[Proxy], list[Proxy]]:
    """The proxies the member gave, and those they hold."""
    return repository.proxies_given(member_id), repository.proxies_held(member_id)


# Proposals


def propose(author_id: str, title: str, description: str) -> Proposal:
    """A cooperator's proposal collects supports; with enough of them before its deadline, operators
    schedule its ballot."""
    active_cooperator(author_id)
    now = clock.now()
    proposal = Proposal(
        proposal_id=uuid.uuid4().hex,
        author_id=author_id,
        title=title,
        description=description,
        created_at=clock.iso(now),
        deadline=clock.iso(now + timedelta(days=settings().proposal_days)),
        needed=parameters().proposal_supports,
    )

    def build(uow: UnitOfWork) -> Proposal:
        repository.add_proposal(uow, proposal, None)
        subject = f"proposal:{proposal.proposal_id}"
        conversations.add_discussion(uow, about_proposal(proposal.proposal_id), subject, author_id, proposal.created_at)
        return proposal

    return transaction.run(build)


def discuss(member_id: str, proposal_id: str, body: str) -> Message:
    """Cooperators discuss a proposal; its author sees the discussion in their inbox."""
    active_cooperator(member_id)
    proposal(proposal_id)
    return conversations.post_to_discussion(member_id, about_proposal(proposal_id), body)


def discussion(proposal_id: str, cursor: str | None, limit: int) -> tuple[list[Message], str | None]:
    proposal(proposal_id)
    return conversations.discussion(about_proposal(proposal_id), cursor, limit)


def support_proposal(member_id: str, proposal_id: str) -> Proposal:
    active_cooperator(member_id)

    def build(uow: UnitOfWork) -> Proposal:
        before = proposal(proposal_id)
        after = support(before, clock.now_iso())
        repository.add_proposal(uow, after, before)
        again = raises(errors.Conflict("governance.support-proposal-already", code="already-supported"))
        repository.add_support(uow, proposal_id, member_id, again)
        return after

    return transaction.run(build, keeps_changing=_changing("governance.proposal-changing"))


def proposal(proposal_id: str) -> Proposal:
    found = repository.proposal(proposal_id)
    if found is None:
        raise errors.NotFound("not-found.proposal")
    return found.seen_at(clock.now_iso())


def proposals(cursor: str | None, limit: int) -> tuple[list[Proposal], str | None]:
    found, next_cursor = repository.proposals(cursor, limit)
    now = clock.now_iso()
    return [one.seen_at(now) for one in found], next_cursor


def _changing(message: str) -> errors.Conflict:
    return errors.Conflict(message, code="governance-changed")

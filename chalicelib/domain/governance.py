"""Cooperative governance: colleges, ballots, votes, proxies and weighted tallies. No I/O.

Cooperators sit in colleges whose weights (in percent) sum to 100; inside a college it is one member,
one vote. A ballot's rules, options and the college of each voter are frozen when it opens. At close,
each college's result is the share of its votes cast that each option received; the overall result
is the sum over colleges of weight x share, divided by the weights that count (every college, or only
those where someone voted: `EmptyCollege`). All arithmetic is in exact fractions."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from fractions import Fraction

from msgspec import Struct, field
from msgspec.structs import replace

from chalicelib import errors
from chalicelib.errors import FieldError


class CollegeRules(Struct, frozen=True):
    """How many colleges a cooperative may have and each one's weight bounds (configuration)."""

    min_colleges: int = 3
    max_colleges: int = 10
    min_weight: int = 10
    max_weight: int = 50


class College(Struct, frozen=True):
    college_id: str
    name: str
    weight: int  # percent


def check_colleges(colleges: Sequence[College], rules: CollegeRules) -> None:
    problems: list[FieldError] = []
    if not rules.min_colleges <= len(colleges) <= rules.max_colleges:
        problems.append(
            FieldError("colleges", "governance.college-count", {"min": rules.min_colleges, "max": rules.max_colleges})
        )
    if len({college.college_id for college in colleges}) != len(colleges):
        problems.append(FieldError("colleges", "governance.each-college-needs-own"))
    outside = [college.college_id for college in colleges if not rules.min_weight <= college.weight <= rules.max_weight]
    if outside:
        problems.append(
            FieldError(
                "colleges",
                "governance.college-weight",
                {"min": rules.min_weight, "max": rules.max_weight, "outside": ", ".join(outside)},
            )
        )
    if sum(college.weight for college in colleges) != 100:
        problems.append(FieldError("colleges", "governance.colleges-weights-must-sum"))
    if problems:
        raise errors.Invalid(problems)


class CooperatorStatus(StrEnum):
    REQUESTED = "requested"  # asked to join a college; an operator approves
    ACTIVE = "active"


class Cooperator(Struct, frozen=True):
    member_id: str
    college_id: str
    status: CooperatorStatus
    since: str


# Ballots


class BallotKind(StrEnum):
    YES_NO = "yes_no"
    SINGLE = "single"  # one option
    APPROVAL = "approval"  # several options
    SCORE = "score"  # 0-5 for every option
    BUDGET = "budget"  # projects with costs, within a budget
    ELECTION = "election"  # up to `seats` candidates who stood; the `seats` most supported are elected


class Majority(StrEnum):
    SIMPLE = "simple"  # more than half
    TWO_THIRDS = "two_thirds"  # at least two thirds
    THREE_QUARTERS = "three_quarters"  # at least three quarters


MAJORITY_SHARE = {
    Majority.SIMPLE: Fraction(1, 2),
    Majority.TWO_THIRDS: Fraction(2, 3),
    Majority.THREE_QUARTERS: Fraction(3, 4),
}


class EmptyCollege(StrEnum):
    EXCLUDED = "excluded"  # a college where nobody expressed a choice leaves the tally; the others' weights count
    ZERO = "zero"  # it keeps its weight and supports nothing: every option needs the other colleges more


class BallotState(StrEnum):
    SCHEDULED = "scheduled"  # candidates may stand; opens at `opens_at`
    OPEN = "open"
    CLOSED = "closed"


YES, NO, ABSTAIN = "yes", "no", "abstain"
MAX_SCORE = 5


class Option(Struct, frozen=True):
    option_id: str  # a candidate's member id in an election
    label: str
    cost: int = 0  # credits, for a budget's projects


class Governed(StrEnum):
    """The parameters an adopted yes/no ballot may change."""

    REVIEW_WINDOW_DAYS = "review_window_days"
    PROXY_CAP = "proxy_cap"
    PROPOSAL_SUPPORTS = "proposal_supports"
    FEE_PUBLISH_LISTING = "fee_publish_listing"  # the fee schedule's: a new version, after the notice
    FEE_PUBLISH_PROFESSIONAL = "fee_publish_professional_listing"
    FREE_LISTINGS_PER_MONTH = "free_listings_per_month"


GOVERNED_BOUNDS = {
    Governed.REVIEW_WINDOW_DAYS: (1, 60),
    Governed.PROXY_CAP: (0, 10),
    Governed.PROPOSAL_SUPPORTS: (1, 10_000),
    Governed.FEE_PUBLISH_LISTING: (0, 10_000),
    Governed.FEE_PUBLISH_PROFESSIONAL: (0, 10_000),
    Governed.FREE_LISTINGS_PER_MONTH: (0, 1_000),
}
FEE_PARAMETERS = frozenset(
    {Governed.FEE_PUBLISH_LISTING, Governed.FEE_PUBLISH_PROFESSIONAL, Governed.FREE_LISTINGS_PER_MONTH}
)


class Parameters(Struct, frozen=True):
    """The governed parameters in force: configured defaults, as changed by adopted ballots."""

    review_window_days: int
    proxy_cap: int
    proposal_supports: int

    def changed(self, parameter: Governed, value: int) -> Parameters:
        return replace(self, **{parameter.value: value})


class Decision(Struct, frozen=True, omit_defaults=True):
    """What the platform applies itself when the ballot is adopted: a governed parameter's new value
    (yes/no), each winning project funded from `funding_account` into an earmarked account (budget),
    or the elected made spokespeople for `term_days` (election)."""

    parameter: Governed | None = None
    value: int | None = None
    funding_account: str | None = None
    term_days: int | None = None


class Rules(Struct, frozen=True, omit_defaults=True):
    kind: BallotKind
    options: tuple[Option, ...] = ()
    majority: Majority = Majority.SIMPLE
    quorum_percent: int = 0  # of the whole roll
    college_quorum_percent: int = 0  # of each college's roll
    empty_college: EmptyCollege = EmptyCollege.EXCLUDED
    seats: int = 1  # elected in an election
    budget: int = 0  # credits, for a budget allocation
    min_selected: int = 0  # approval, budget, election
    max_selected: int = 0  # 0: no maximum but the options (the seats, in an election)
    secret: bool = False
    min_secret_voters: int = 0  # below this, a secret ballot's result is withheld
    decision: Decision | None = None


class Ballot(Struct, frozen=True):
    ballot_id: str
    title: str
    description: str
    rules: Rules
    opens_at: str
    closes_at: str
    created_by: str
    created_at: str
    state: BallotState = BallotState.SCHEDULED
    proposal_id: str | None = None
    colleges: tuple[College, ...] = ()  # frozen at open, with the roll
    eligible: dict[str, int] = field(default_factory=dict)  # voters on the roll per college
    version: int = 0

    def option_ids(self) -> tuple[str, ...]:
        if self.rules.kind is BallotKind.YES_NO:
            return (YES, NO, ABSTAIN)
        return tuple(option.option_id for option in self.rules.options)


def check_rules(rules: Rules, opens_at: str, closes_at: str) -> None:
    """The rules that span fields of a new ballot."""
    problems: list[FieldError] = []
    ids = [option.option_id for option in rules.options]
    if len(set(ids)) != len(ids):
        problems.append(FieldError("options", "governance.each-option-needs-own"))
    if rules.kind is BallotKind.YES_NO and rules.options:
        problems.append(FieldError("options", "governance.yes-ballot-options-yes"))
    if rules.kind not in (BallotKind.YES_NO, BallotKind.ELECTION) and len(rules.options) < 2:
        problems.append(FieldError("options", "governance.least-two-options-needed"))
    if rules.kind is BallotKind.ELECTION and rules.options:
        problems.append(FieldError("options", "governance.election-options-cooperators-who"))
    if rules.kind is BallotKind.BUDGET:
        if rules.budget <= 0:
            problems.append(FieldError("budget", "governance.budget-allocation-needs-budget"))
        if any(option.cost <= 0 for option in rules.options):
            problems.append(FieldError("options", "governance.every-project-budget-cost"))
    if rules.max_selected and rules.min_selected > rules.max_selected:
        problems.append(FieldError("min_selected", "governance.most-max-selected"))
    if closes_at <= opens_at:
        problems.append(FieldError("closes_at", "governance.ballot-closes-after-opens"))
    problems.extend(_decision_problems(rules))
    if problems:
        raise errors.Invalid(problems)


def _decision_problems(rules: Rules) -> list[FieldError]:
    decision = rules.decision
    if decision is None:
        return []
    if decision.parameter is not None:
        low, high = GOVERNED_BOUNDS[decision.parameter]
        if rules.kind is not BallotKind.YES_NO or decision.value is None or not low <= decision.value <= high:
            return [
                FieldError(
                    "decision",
                    "governance.parameter-bounds",
                    {"parameter": decision.parameter, "low": low, "high": high},
                )
            ]
        return []
    if decision.funding_account is not None:
        return (
            [] if rules.kind is BallotKind.BUDGET else [FieldError("decision", "governance.only-budget-funds-projects")]
        )
    if decision.term_days is not None:
        ok = rules.kind is BallotKind.ELECTION and decision.term_days > 0
        return [] if ok else [FieldError("decision", "governance.only-election-gives-term")]
    return [FieldError("decision", "governance.decision-sets-parameter-funds")]


def stand(ballot: Ballot, member_id: str, display_name: str) -> Ballot:
    """A cooperator stands as a candidate in a scheduled election."""
    if ballot.rules.kind is not BallotKind.ELECTION:
        raise errors.Conflict("governance.only-election-candidates", code="not-an-election")
    if ballot.state is not BallotState.SCHEDULED:
        raise errors.Conflict("governance.candidates-stand-before-election", code="ballot-not-scheduled")
    if member_id in ballot.option_ids():
        return ballot
    options = (*ballot.rules.options, Option(member_id, display_name))
    return replace(ballot, rules=replace(ballot.rules, options=options), version=ballot.version + 1)


def opened(ballot: Ballot, colleges: Sequence[College], eligible: Mapping[str, int]) -> Ballot:
    return replace(
        ballot,
        state=BallotState.OPEN,
        colleges=tuple(colleges),
        eligible=dict(eligible),
        version=ballot.version + 1,
    )


# Votes


class Choice(Struct, frozen=True, omit_defaults=True):
    """One voter's choice: `options` for every kind but score, `scores` (0-5 per option) for score."""

    options: tuple[str, ...] = ()
    scores: dict[str, int] = field(default_factory=dict)


def check_choice(ballot: Ballot, choice: Choice) -> Choice:
    """The choice, normalised (options sorted, without repeats), or `Invalid`."""
    rules, known = ballot.rules, set(ballot.option_ids())
    picked = tuple(sorted(set(choice.options)))
    problem: FieldError | None = None
    if rules.kind is BallotKind.SCORE:
        if choice.options or set(choice.scores) != known:
            problem = FieldError("choice", "governance.score-every-option")
        elif any(not 0 <= score <= MAX_SCORE for score in choice.scores.values()):
            problem = FieldError("choice", "governance.score-range", {"max": MAX_SCORE})
        return _checked(Choice(scores=dict(sorted(choice.scores.items()))), problem)
    if choice.scores or not set(picked) <= known:
        problem = FieldError("choice", "governance.choose-among-options")
    elif rules.kind in (BallotKind.YES_NO, BallotKind.SINGLE) and len(picked) != 1:
        problem = FieldError("choice", "governance.choose-one")
    elif rules.kind in (BallotKind.APPROVAL, BallotKind.BUDGET, BallotKind.ELECTION):
        most = rules.max_selected or (rules.seats if rules.kind is BallotKind.ELECTION else len(known))
        if not max(rules.min_selected, 1) <= len(picked) <= most:
            problem = FieldError(
                "choice", "governance.choose-between", {"min": max(rules.min_selected, 1), "max": most}
            )
        elif rules.kind is BallotKind.BUDGET:
            costs = {option.option_id: option.cost for option in rules.options}
            if sum(costs[option] for option in picked) > rules.budget:
                problem = FieldError("choice", "governance.over-budget", {"budget": rules.budget or 0})
    return _checked(Choice(options=picked), problem)


def _checked(choice: Choice, problem: FieldError | None) -> Choice:
    if problem is not None:
        raise errors.Invalid([problem])
    return choice


class RollEntry(Struct, frozen=True, omit_defaults=True):
    """A voter on a ballot's roll, frozen at open. On a named ballot it holds the choice; on a secret
    one only that the voter has voted (and the proxy holder who did, if any)."""

    ballot_id: str
    member_id: str
    college_id: str
    closes_at: str
    voted: bool = False
    voted_by: str | None = None  # the proxy holder, when one voted
    choice: Choice | None = None  # named ballots only
    version: int = 0


class Proxy(Struct, frozen=True, omit_defaults=True):
    """A cooperator's vote given to another of the same college, for one ballot or until revoked."""

    principal_id: str
    holder_id: str
    college_id: str
    given_at: str
    ballot_id: str | None = None  # None: every ballot until revoked


def covers(proxy: Proxy | None, holder_id: str, principal_id: str, ballot_id: str) -> bool:
    return (
        proxy is not None
        and (proxy.holder_id, proxy.principal_id) == (holder_id, principal_id)
        and proxy.ballot_id in (None, ballot_id)
    )


class Vote(Struct, frozen=True):
    entry: RollEntry
    first: bool  # the voter's first vote on this ballot: it counts in the live participation


def vote(ballot: Ballot, entry: RollEntry, voter_id: str, proxy: Proxy | None, choice: Choice, now: str) -> Vote:
    """The roll entry once `voter_id` (the member, or their proxy holder) has voted."""
    if ballot.state is not BallotState.OPEN or now >= ballot.closes_at:
        raise errors.Conflict("governance.ballot-open-votes", code="ballot-not-open", state=ballot.state.value)
    choice = check_choice(ballot, choice)
    in_person = voter_id == entry.member_id
    if not in_person and not covers(proxy, voter_id, entry.member_id, ballot.ballot_id):
        raise errors.Forbidden("governance.hold-proxy-member-ballot")
    if entry.voted and ballot.rules.secret:
        raise errors.Conflict("governance.secret-vote-final", code="already-voted")
    if entry.voted and not in_person and entry.voted_by is None:
        raise errors.Conflict("governance.member-voted-person", code="voted-in-person")
    after = replace(
        entry,
        voted=True,
        voted_by=None if in_person else voter_id,
        choice=None if ballot.rules.secret else choice,
        version=entry.version + 1,
    )
    return Vote(after, first=not entry.voted)


def check_proxy(principal: Cooperator, holder: Cooperator, held: int, cap: int) -> None:
    if principal.member_id == holder.member_id:
        raise errors.Conflict("governance.proxy-goes-another-cooperator", code="proxy-to-self")
    if holder.status is not CooperatorStatus.ACTIVE or holder.college_id != principal.college_id:
        raise errors.Conflict("governance.proxy-goes-active-cooperator", code="proxy-other-college")
    if held >= cap:
        raise errors.Conflict("governance.proxy-cap", code="proxy-cap-reached", cap=cap)


def receipt_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SealedBallot(Struct, frozen=True):
    """A secret ballot's vote: its college and choice, under the hash of the voter's receipt. No member,
    no time."""

    receipt_hash: str
    college_id: str
    choice: Choice


# Tallies


class Cast(Struct, frozen=True):
    college_id: str
    choice: Choice


class CollegeResult(Struct, frozen=True):
    college_id: str
    weight: int
    eligible: int
    voted: int
    quorum_met: bool
    counts: dict[str, int]  # voters per option (score: the sum of its scores)
    shares: dict[str, float]


class Result(Struct, frozen=True, omit_defaults=True):
    ballot_id: str
    eligible: int
    voted: int
    quorum_met: bool
    colleges: tuple[CollegeResult, ...]
    weighted: dict[str, float]  # overall: sum of weight x share over the colleges that count
    counts: dict[str, int]  # raw, all colleges together
    adopted: bool | None = None  # yes/no
    winners: tuple[str, ...] = ()
    digest: str = ""  # sha256 of the ballots counted, in a canonical order
    withheld: bool = False  # a secret ballot with too few voters: nothing but participation is published
    closed_at: str = ""
    applied: tuple[
        str, ...
    ] = ()  # what the platform did when it closed: a parameter set, people elected, projects funded


def college_shares(kind: BallotKind, option_ids: Sequence[str], casts: Sequence[Cast]) -> dict[str, Fraction] | None:
    """Each option's share of one college's votes, or None when the college expressed nothing (no votes;
    for yes/no, only abstentions). Yes/no: yes and no as shares of yes + no. Score: the mean score over
    the maximum. Others: the share of voters who chose the option."""
    counts = _counts(kind, option_ids, casts)
    if kind is BallotKind.YES_NO:
        expressed = counts[YES] + counts[NO]
        if not expressed:
            return None
        return {YES: Fraction(counts[YES], expressed), NO: Fraction(counts[NO], expressed), ABSTAIN: Fraction(0)}
    if not casts:
        return None
    scale = len(casts) * (MAX_SCORE if kind is BallotKind.SCORE else 1)
    return {option: Fraction(counts[option], scale) for option in option_ids}


def weighted_shares(
    ballot: Ballot, casts: Sequence[Cast]
) -> tuple[dict[str, Fraction], dict[str, dict[str, Fraction] | None]]:
    """The overall weighted share of each option, and each college's shares."""
    options = ballot.option_ids()
    by_college = {
        college.college_id: college_shares(
            ballot.rules.kind, options, [cast for cast in casts if cast.college_id == college.college_id]
        )
        for college in ballot.colleges
    }
    counted = [c for c in ballot.colleges if by_college[c.college_id] is not None]
    weights = ballot.colleges if ballot.rules.empty_college is EmptyCollege.ZERO else counted
    total = sum(college.weight for college in weights)
    overall: dict[str, Fraction] = {}
    for option in options:
        weighted = sum(
            (college.weight * (by_college[college.college_id] or {})[option] for college in counted), Fraction(0)
        )
        overall[option] = weighted / total if total else Fraction(0)
    return overall, by_college


def tally(ballot: Ballot, casts: Sequence[Cast], closed_at: str, digest: str = "") -> Result:
    rules, options = ballot.rules, ballot.option_ids()
    overall, by_college = weighted_shares(ballot, casts)
    eligible = sum(ballot.eligible.values())
    voted = len(casts)
    colleges = tuple(
        _college_result(ballot, college, [cast for cast in casts if cast.college_id == college.college_id], by_college)
        for college in ballot.colleges
    )
    quorum_met = _reaches(voted, eligible, rules.quorum_percent) and all(
        college.quorum_met for college in colleges if college.eligible
    )
    result = Result(
        ballot_id=ballot.ballot_id,
        eligible=eligible,
        voted=voted,
        quorum_met=quorum_met,
        colleges=colleges,
        weighted={option: _shown(overall[option]) for option in options},
        counts=_counts(rules.kind, options, casts),
        digest=digest,
        closed_at=closed_at,
    )
    if rules.secret and voted < rules.min_secret_voters:
        return Result(
            ballot.ballot_id, eligible, voted, quorum_met, (), {}, {}, digest=digest, withheld=True, closed_at=closed_at
        )
    if rules.kind is BallotKind.YES_NO:
        return replace(result, adopted=quorum_met and meets_majority(overall[YES], rules.majority))
    return replace(result, winners=winners(ballot, overall, casts) if quorum_met else ())


def meets_majority(share: Fraction, majority: Majority) -> bool:
    needed = MAJORITY_SHARE[majority]
    return share > needed if majority is Majority.SIMPLE else share >= needed


def winners(ballot: Ballot, overall: Mapping[str, Fraction], casts: Sequence[Cast]) -> tuple[str, ...]:
    """Single, approval, score: the most supported (all of them on a tie). Election: the `seats` most
    supported. Budget: projects by support, each taken while it fits in what is left of the budget.
    Ties between ranked options fall to the most raw votes, then to the option id."""
    rules = ballot.rules
    counts = _counts(rules.kind, ballot.option_ids(), casts)
    supported = [option for option in ballot.option_ids() if overall[option] > 0]
    ranked = sorted(supported, key=lambda option: (-overall[option], -counts[option], option))
    if rules.kind is BallotKind.ELECTION:
        return tuple(ranked[: rules.seats])
    if rules.kind is BallotKind.BUDGET:
        costs = {option.option_id: option.cost for option in rules.options}
        left, funded = rules.budget, []
        for option in ranked:
            if costs[option] <= left:
                funded.append(option)
                left -= costs[option]
        return tuple(funded)
    best = max((overall[option] for option in supported), default=None)
    return tuple(sorted(option for option in supported if overall[option] == best))


def digest_of(records: Iterable[object]) -> str:
    """sha256 over the ballots counted, each as canonical JSON, sorted: anyone holding the published
    ballots recomputes it."""
    lines = sorted(json.dumps(record, sort_keys=True, separators=(",", ":")) for record in records)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _college_result(
    ballot: Ballot, college: College, casts: Sequence[Cast], by_college: Mapping[str, dict[str, Fraction] | None]
) -> CollegeResult:
    eligible = ballot.eligible.get(college.college_id, 0)
    shares = by_college[college.college_id] or {}
    return CollegeResult(
        college_id=college.college_id,
        weight=college.weight,
        eligible=eligible,
        voted=len(casts),
        quorum_met=_reaches(len(casts), eligible, ballot.rules.college_quorum_percent),
        counts=_counts(ballot.rules.kind, ballot.option_ids(), casts),
        shares={option: _shown(share) for option, share in shares.items()},
    )


def _counts(kind: BallotKind, option_ids: Sequence[str], casts: Sequence[Cast]) -> dict[str, int]:
    counts = dict.fromkeys(option_ids, 0)
    for cast in casts:
        if kind is BallotKind.SCORE:
            for option, score in cast.choice.scores.items():
                counts[option] += score
        else:
            for option in cast.choice.options:
                counts[option] += 1
    return counts


def _reaches(voted: int, eligible: int, percent: int) -> bool:
    return voted * 100 >= percent * eligible


def _shown(share: Fraction) -> float:
    return round(float(share), 6)


# Proposals


class ProposalState(StrEnum):
    COLLECTING = "collecting"  # gathering supports until its deadline
    QUALIFIED = "qualified"  # enough supports: operators schedule its ballot
    EXPIRED = "expired"
    SCHEDULED = "scheduled"  # its ballot exists


class Proposal(Struct, frozen=True):
    proposal_id: str
    author_id: str
    title: str
    description: str
    created_at: str
    deadline: str
    needed: int
    supports: int = 0
    state: ProposalState = ProposalState.COLLECTING
    ballot_id: str | None = None
    version: int = 0

    def seen_at(self, now: str) -> Proposal:
        if self.state is ProposalState.COLLECTING and now >= self.deadline:
            return replace(self, state=ProposalState.EXPIRED)
        return self


def support(proposal: Proposal, now: str) -> Proposal:
    current = proposal.seen_at(now)
    if current.state is not ProposalState.COLLECTING:
        raise errors.Conflict(
            "governance.proposal-longer-collects-supports", code="proposal-closed", state=current.state.value
        )
    supports = current.supports + 1
    state = ProposalState.QUALIFIED if supports >= current.needed else ProposalState.COLLECTING
    return replace(current, supports=supports, state=state, version=current.version + 1)


def scheduled(proposal: Proposal, ballot_id: str) -> Proposal:
    if proposal.state is not ProposalState.QUALIFIED:
        raise errors.Conflict(
            "governance.only-qualified-proposal-becomes", code="proposal-not-qualified", state=proposal.state.value
        )
    return replace(proposal, state=ProposalState.SCHEDULED, ballot_id=ballot_id, version=proposal.version + 1)

"""Governance's pure rules: colleges and their weights, a ballot's rules, each kind's choices, votes in
person and by proxy (named ballots may change, secret ones are final), proxies, and the weighted tally
with hand-computed examples, with a property: for random colleges, rolls, proxies and votes, the tally
equals a naive recount in exact fractions written here without the module's helpers. No database."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from chalicelib import errors
from chalicelib.domain.governance import (
    ABSTAIN,
    GOVERNED_BOUNDS,
    NO,
    YES,
    Ballot,
    BallotKind,
    BallotState,
    Cast,
    Choice,
    College,
    CollegeRules,
    Cooperator,
    CooperatorStatus,
    Decision,
    EmptyCollege,
    Governed,
    Majority,
    Option,
    Proxy,
    RollEntry,
    Rules,
    check_choice,
    check_colleges,
    check_proxy,
    check_rules,
    digest_of,
    tally,
    vote,
    weighted_shares,
)

Kind = BallotKind
OPENS, NOW, CLOSES = "2030-01-01T00:00:00.000000Z", "2030-01-02T00:00:00.000000Z", "2030-01-08T00:00:00.000000Z"
BALLOT = "b1"
A, B, C = College("a", "Makers", 50), College("b", "Users", 30), College("c", "Staff", 20)
DEFAULT_OPTIONS = {
    Kind.YES_NO: (),
    Kind.SINGLE: ("o1", "o2", "o3"),
    Kind.APPROVAL: ("o1", "o2", "o3"),
    Kind.SCORE: ("o1", "o2"),
    Kind.BUDGET: ("p1", "p2", "p3"),
    Kind.ELECTION: ("c1", "c2", "c3", "c4"),  # who stood
}


def options(*ids: str, costs: Sequence[int] = ()) -> tuple[Option, ...]:
    return tuple(Option(one, one.upper(), costs[index] if costs else 0) for index, one in enumerate(ids))


def rules(kind: Kind = Kind.YES_NO, **changes: Any) -> Rules:
    made = Rules(kind, options=options(*DEFAULT_OPTIONS[kind]))
    if kind is Kind.BUDGET:
        made = replace(made, options=options("p1", "p2", "p3", costs=(6, 5, 4)), budget=10)
    return replace(made, **changes)


def ballot(
    kind: Kind = Kind.YES_NO,
    colleges: Sequence[College] = (A, B, C),
    eligible: dict[str, int] | None = None,
    state: BallotState = BallotState.OPEN,
    **changes: Any,
) -> Ballot:
    return Ballot(
        ballot_id=BALLOT,
        title="A question",
        description="",
        rules=rules(kind, **changes),
        opens_at=OPENS,
        closes_at=CLOSES,
        created_by="op",
        created_at=OPENS,
        state=state,
        colleges=tuple(colleges),
        eligible={college.college_id: 10 for college in colleges} if eligible is None else eligible,
    )


def pick(*ids: str) -> Choice:
    return Choice(options=ids)


def casts(college: College, *choices: Choice | str) -> list[Cast]:
    return [Cast(college.college_id, pick(one) if isinstance(one, str) else one) for one in choices]


def entry(member: str = "mia", college: College = A, **changes: Any) -> RollEntry:
    return replace(RollEntry(BALLOT, member, college.college_id, CLOSES), **changes)


def proxy(principal: str = "mia", holder: str = "hal", ballot_id: str | None = BALLOT) -> Proxy:
    return Proxy(principal, holder, A.college_id, OPENS, ballot_id)


def cooperator(member: str, college: College = A, status: CooperatorStatus = CooperatorStatus.ACTIVE) -> Cooperator:
    return Cooperator(member, college.college_id, status, OPENS)


def refused(call: Any) -> errors.AppError:
    with pytest.raises(errors.AppError) as caught:
        call()
    return caught.value


def assert_refused(call: Any, kind: type[errors.AppError], code: str) -> errors.AppError:
    error = refused(call)
    assert (type(error), error.code) == (kind, code), error
    return error


def invalid_fields(call: Any) -> list[str]:
    error = assert_refused(call, errors.Invalid, "validation-failed")
    assert isinstance(error, errors.Invalid)
    return [problem.field for problem in error.errors]


# Colleges


def colleges_of(*weights: int) -> list[College]:
    return [College(f"k{index}", f"College {index}", weight) for index, weight in enumerate(weights)]


DEFAULT_BOUNDS = CollegeRules()


def college_problems(colleges: list[College], bounds: CollegeRules = DEFAULT_BOUNDS) -> list[str]:
    """The messages of the refusal: every problem is on `colleges`."""
    error = assert_refused(lambda: check_colleges(colleges, bounds), errors.Invalid, "validation-failed")
    assert isinstance(error, errors.Invalid)
    assert {problem.field for problem in error.errors} == {"colleges"}
    return [problem.text() for problem in error.errors]


COUNT, OWN_ID, SUM = (
    "Between 3 and 10 colleges are needed.",
    "Each college needs its own id.",
    "The colleges' weights must sum to 100.",
)


def test_three_to_ten_colleges_within_the_default_bounds_and_summing_to_100_are_accepted():
    check_colleges(colleges_of(50, 30, 20), CollegeRules())
    check_colleges(colleges_of(*[10] * 10), CollegeRules())


def test_the_default_rules_need_3_to_10_colleges():
    assert college_problems(colleges_of(50, 50)) == [COUNT]
    assert college_problems(colleges_of(*[10] * 9, 5, 5))[0] == COUNT


def test_each_weight_is_within_the_default_bounds_in_one_problem_naming_the_colleges():
    assert college_problems(colleges_of(60, 30, 10)) == ["A college weighs between 10% and 50%: not k0."]
    assert college_problems(colleges_of(50, 41, 9)) == ["A college weighs between 10% and 50%: not k2."]
    assert college_problems(colleges_of(*[10] * 8, 5, 15)) == ["A college weighs between 10% and 50%: not k8."]
    assert college_problems(colleges_of(5, 5, 45, 45)) == ["A college weighs between 10% and 50%: not k0, k1."]


def test_the_weights_must_sum_to_100():
    assert college_problems(colleges_of(40, 30, 20)) == [SUM]
    assert college_problems(colleges_of(50, 40, 20)) == [SUM]


def test_duplicate_college_ids_are_refused():
    twins = [College("k", "One", 50), College("k", "Two", 30), College("m", "Three", 20)]
    assert college_problems(twins) == [OWN_ID]


def test_the_bounds_come_from_the_rules_given():
    loose = CollegeRules(min_colleges=2, max_colleges=3, min_weight=5, max_weight=95)
    check_colleges(colleges_of(95, 5), loose)
    check_colleges(colleges_of(90, 5, 5), loose)
    assert college_problems(colleges_of(25, 25, 25, 25), loose) == ["Between 2 and 3 colleges are needed."]
    assert college_problems(colleges_of(96, 4), loose) == ["A college weighs between 5% and 95%: not k0, k1."]
    assert college_problems(colleges_of(95, 5)) == [COUNT, "A college weighs between 10% and 50%: not k0, k1."]


def test_every_problem_is_reported_at_once():
    twins = [College("k", "One", 70), College("k", "Two", 20)]  # too few, one id, 70 too heavy, 90 in all
    assert college_problems(twins) == [COUNT, OWN_ID, "A college weighs between 10% and 50%: not k.", SUM]


# A ballot's rules


def test_valid_rules_of_every_kind_are_accepted():
    for kind in Kind:
        made = rules(kind, options=()) if kind is Kind.ELECTION else rules(kind)
        check_rules(made, OPENS, CLOSES)


@pytest.mark.parametrize(
    ("made", "field"),
    [
        (rules(Kind.YES_NO, options=options("o1", "o2")), "options"),
        (rules(Kind.SINGLE, options=options("o1")), "options"),
        (rules(Kind.APPROVAL, options=()), "options"),
        (rules(Kind.SCORE, options=options("o1", "o1")), "options"),
        (rules(Kind.ELECTION), "options"),
        (rules(Kind.BUDGET, budget=0), "budget"),
        (rules(Kind.BUDGET, options=options("p1", "p2", costs=(4, 0))), "options"),
        (rules(Kind.APPROVAL, min_selected=3, max_selected=2), "min_selected"),
    ],
)
def test_each_refused_rule_names_its_field(made, field):
    assert invalid_fields(lambda: check_rules(made, OPENS, CLOSES)) == [field]


def test_min_selected_is_free_without_a_maximum():
    check_rules(rules(Kind.APPROVAL, min_selected=3, max_selected=0), OPENS, CLOSES)


@pytest.mark.parametrize("closes_at", [OPENS, "2029-12-31T23:59:59.999999Z"])
def test_a_ballot_closes_after_it_opens(closes_at):
    assert invalid_fields(lambda: check_rules(rules(), OPENS, closes_at)) == ["closes_at"]


@pytest.mark.parametrize("parameter", list(Governed))
def test_a_yes_no_ballot_sets_a_governed_parameter_within_its_bounds(parameter):
    low, high = GOVERNED_BOUNDS[parameter]
    for value in (low, high):
        check_rules(rules(decision=Decision(parameter=parameter, value=value)), OPENS, CLOSES)
    for value in (low - 1, high + 1, None):
        made = rules(decision=Decision(parameter=parameter, value=value))
        assert invalid_fields(lambda made=made: check_rules(made, OPENS, CLOSES)) == ["decision"]
    single = rules(Kind.SINGLE, decision=Decision(parameter=parameter, value=low))
    assert invalid_fields(lambda: check_rules(single, OPENS, CLOSES)) == ["decision"]


def test_only_a_budget_funds_and_only_an_election_gives_a_term():
    check_rules(rules(Kind.BUDGET, decision=Decision(funding_account="acc")), OPENS, CLOSES)
    check_rules(rules(Kind.ELECTION, options=(), decision=Decision(term_days=365)), OPENS, CLOSES)
    wrong = [
        rules(Kind.SINGLE, decision=Decision(funding_account="acc")),
        rules(Kind.YES_NO, decision=Decision(term_days=365)),
        rules(Kind.ELECTION, options=(), decision=Decision(term_days=0)),
        rules(Kind.YES_NO, decision=Decision()),
    ]
    for made in wrong:
        assert invalid_fields(lambda made=made: check_rules(made, OPENS, CLOSES)) == ["decision"]


# Choices


def choice_refused(one: Ballot, choice: Choice) -> None:
    assert invalid_fields(lambda: check_choice(one, choice)) == ["choice"]


@pytest.mark.parametrize("kind", [Kind.YES_NO, Kind.SINGLE])
def test_yes_no_and_single_take_exactly_one_known_option(kind):
    one = ballot(kind)
    first = one.option_ids()[0]
    assert check_choice(one, pick(first)) == pick(first)
    assert check_choice(one, pick(first, first)) == pick(first)  # a repeat is one option
    for wrong in (pick(), pick(*one.option_ids()[:2]), pick("elsewhere"), Choice(scores={first: 1})):
        choice_refused(one, wrong)


def test_yes_no_options_are_yes_no_and_abstain():
    assert ballot().option_ids() == (YES, NO, ABSTAIN)
    for option in (YES, NO, ABSTAIN):
        assert check_choice(ballot(), pick(option)) == pick(option)


def test_approval_takes_between_min_and_max_and_normalises():
    one = ballot(Kind.APPROVAL, min_selected=2, max_selected=2)
    assert check_choice(one, pick("o3", "o1", "o3")) == pick("o1", "o3")
    for wrong in (pick("o1"), pick("o1", "o2", "o3"), pick("o1", "o9")):
        choice_refused(one, wrong)


def test_approval_without_bounds_takes_one_to_every_option():
    one = ballot(Kind.APPROVAL)
    assert check_choice(one, pick("o2", "o3", "o1")) == pick("o1", "o2", "o3")
    choice_refused(one, pick())


def test_an_election_takes_at_most_its_seats_unless_max_selected_says_otherwise():
    two_seats = ballot(Kind.ELECTION, seats=2)
    assert check_choice(two_seats, pick("c2", "c1")) == pick("c1", "c2")
    choice_refused(two_seats, pick("c1", "c2", "c3"))
    choice_refused(two_seats, pick("someone"))
    three = ballot(Kind.ELECTION, seats=2, max_selected=3)
    assert check_choice(three, pick("c1", "c2", "c3")) == pick("c1", "c2", "c3")


def test_a_budget_choice_fits_in_the_budget():
    one = ballot(Kind.BUDGET)  # p1 6, p2 5, p3 4 credits; budget 10
    assert check_choice(one, pick("p3", "p1")) == pick("p1", "p3")  # 10: exactly the budget
    choice_refused(one, pick("p1", "p2"))  # 11
    choice_refused(ballot(Kind.BUDGET, min_selected=2), pick("p1"))


def test_score_scores_every_option_from_0_to_5_and_sorts_them():
    one = ballot(Kind.SCORE)
    assert check_choice(one, Choice(scores={"o2": 0, "o1": 5})) == Choice(scores={"o1": 5, "o2": 0})
    assert list(check_choice(one, Choice(scores={"o2": 0, "o1": 5})).scores) == ["o1", "o2"]
    for wrong in (
        Choice(scores={"o1": 3}),
        Choice(scores={"o1": 3, "o2": 3, "o9": 3}),
        Choice(scores={"o1": 6, "o2": 0}),
        Choice(scores={"o1": -1, "o2": 0}),
        Choice(options=("o1",), scores={"o1": 3, "o2": 3}),
    ):
        choice_refused(one, wrong)


# Votes


def test_no_vote_before_opening_after_closing_or_at_closes_at():
    for state in (BallotState.SCHEDULED, BallotState.CLOSED):
        error = assert_refused(
            lambda state=state: vote(ballot(state=state), entry(), "mia", None, pick(YES), NOW),
            errors.Conflict,
            "ballot-not-open",
        )
        assert error.extra == {"state": state.value}
    for now in (CLOSES, "2030-02-01T00:00:00.000000Z"):
        assert_refused(
            lambda now=now: vote(ballot(), entry(), "mia", None, pick(YES), now), errors.Conflict, "ballot-not-open"
        )


def test_a_first_vote_in_person_holds_the_normalised_choice_on_a_named_ballot():
    done = vote(ballot(Kind.APPROVAL), entry(), "mia", None, pick("o2", "o1", "o2"), NOW)
    assert done.first is True
    assert (done.entry.voted, done.entry.voted_by, done.entry.choice, done.entry.version) == (
        True,
        None,
        pick("o1", "o2"),
        1,
    )


def test_a_named_vote_may_change_and_the_change_is_not_a_first_vote():
    one = ballot()
    first = vote(one, entry(), "mia", None, pick(YES), NOW).entry
    again = vote(one, first, "mia", None, pick(NO), NOW)
    assert again.first is False
    assert (again.entry.choice, again.entry.version) == (pick(NO), 2)


def test_a_secret_vote_is_final_and_its_entry_holds_no_choice():
    one = ballot(secret=True)
    done = vote(one, entry(), "mia", None, pick(YES), NOW)
    assert done.first is True and done.entry.voted and done.entry.choice is None
    assert_refused(lambda: vote(one, done.entry, "mia", None, pick(NO), NOW), errors.Conflict, "already-voted")


def test_an_invalid_choice_is_refused_before_the_vote():
    choice_refused(ballot(), pick("maybe"))
    assert invalid_fields(lambda: vote(ballot(), entry(), "mia", None, pick("maybe"), NOW)) == ["choice"]


@pytest.mark.parametrize(
    "held",
    [None, proxy(holder="ivy"), proxy(principal="max"), proxy(ballot_id="b2")],
    ids=["no-proxy", "wrong-holder", "wrong-principal", "another-ballot"],
)
def test_a_holder_without_a_covering_proxy_is_forbidden(held):
    assert_refused(lambda: vote(ballot(), entry(), "hal", held, pick(YES), NOW), errors.Forbidden, "forbidden")


@pytest.mark.parametrize("ballot_id", [BALLOT, None], ids=["this-ballot", "standing"])
def test_a_holder_votes_for_the_principal(ballot_id):
    done = vote(ballot(), entry(), "hal", proxy(ballot_id=ballot_id), pick(NO), NOW)
    assert done.first is True
    assert (done.entry.member_id, done.entry.voted_by, done.entry.choice) == ("mia", "hal", pick(NO))


def test_a_standing_proxy_covers_any_ballot():
    other = replace(ballot(), ballot_id="b7")
    done = vote(other, entry(ballot_id="b7"), "hal", proxy(ballot_id=None), pick(YES), NOW)
    assert done.entry.voted_by == "hal"


def test_a_holder_cannot_vote_after_the_principal_voted_in_person():
    one = ballot()
    mine = vote(one, entry(), "mia", None, pick(YES), NOW).entry
    assert_refused(lambda: vote(one, mine, "hal", proxy(), pick(NO), NOW), errors.Conflict, "voted-in-person")


def test_a_holder_may_change_the_vote_they_cast():
    one = ballot()
    held = vote(one, entry(), "hal", proxy(), pick(YES), NOW).entry
    again = vote(one, held, "hal", proxy(), pick(NO), NOW)
    assert (again.first, again.entry.voted_by, again.entry.choice) == (False, "hal", pick(NO))


def test_the_principal_overrides_the_holder_on_a_named_ballot():
    one = ballot()
    held = vote(one, entry(), "hal", proxy(), pick(YES), NOW).entry
    mine = vote(one, held, "mia", None, pick(NO), NOW)
    assert mine.first is False
    assert (mine.entry.voted_by, mine.entry.choice) == (None, pick(NO))
    assert_refused(lambda: vote(one, mine.entry, "hal", proxy(), pick(YES), NOW), errors.Conflict, "voted-in-person")


def test_on_a_secret_ballot_the_holders_vote_is_final_for_the_principal_too():
    one = ballot(secret=True)
    held = vote(one, entry(), "hal", proxy(), pick(YES), NOW).entry
    assert (held.voted_by, held.choice) == ("hal", None)
    assert_refused(lambda: vote(one, held, "mia", None, pick(NO), NOW), errors.Conflict, "already-voted")


# Proxies


def test_a_proxy_to_an_active_cooperator_of_the_same_college_under_the_cap_is_accepted():
    check_proxy(cooperator("mia"), cooperator("hal"), held=1, cap=2)


def test_the_refusals_of_a_proxy():
    mia = cooperator("mia")
    assert_refused(lambda: check_proxy(mia, cooperator("mia"), 0, 2), errors.Conflict, "proxy-to-self")
    assert_refused(lambda: check_proxy(mia, cooperator("hal", B), 0, 2), errors.Conflict, "proxy-other-college")
    requested = cooperator("hal", status=CooperatorStatus.REQUESTED)
    assert_refused(lambda: check_proxy(mia, requested, 0, 2), errors.Conflict, "proxy-other-college")
    for held, cap in ((2, 2), (3, 2), (0, 0)):
        error = assert_refused(
            lambda held=held, cap=cap: check_proxy(mia, cooperator("hal"), held, cap),
            errors.Conflict,
            "proxy-cap-reached",
        )
        assert error.extra == {"cap": cap}


# Tallies: yes/no


def yes_no(college: College, yes: int = 0, no: int = 0, abstain: int = 0) -> list[Cast]:
    return casts(college, *[YES] * yes, *[NO] * no, *[ABSTAIN] * abstain)


def test_exactly_half_is_not_a_simple_majority():
    votes = yes_no(A, yes=1) + yes_no(B, no=1) + yes_no(C, no=1)  # 50 / 100
    assert weighted_shares(ballot(), votes)[0][YES] == Fraction(1, 2)
    assert tally(ballot(), votes, CLOSES).adopted is False
    more = yes_no(A, yes=1) + yes_no(B, no=1) + yes_no(C, yes=1)  # 70 / 100
    assert tally(ballot(), more, CLOSES).adopted is True


def test_exactly_two_thirds_is_a_two_thirds_majority():
    votes = yes_no(A, yes=1) + yes_no(B, yes=1, no=2) + yes_no(C, yes=1, no=2)  # (50 + 10 + 20/3) / 100
    overall, _ = weighted_shares(ballot(), votes)
    assert overall[YES] == Fraction(2, 3)
    assert tally(ballot(majority=Majority.TWO_THIRDS), votes, CLOSES).adopted is True
    assert tally(ballot(majority=Majority.THREE_QUARTERS), votes, CLOSES).adopted is False
    less = yes_no(A, yes=1) + yes_no(B, yes=1, no=2) + yes_no(C, yes=1, no=3)
    assert tally(ballot(majority=Majority.TWO_THIRDS), less, CLOSES).adopted is False


def test_abstentions_count_as_voters_but_not_in_the_shares():
    votes = yes_no(A, yes=1, abstain=5) + yes_no(B, yes=1, no=1) + yes_no(C, abstain=3)
    result = tally(ballot(), votes, CLOSES)
    overall, by_college = weighted_shares(ballot(), votes)
    assert by_college["a"] == {YES: 1, NO: 0, ABSTAIN: 0}
    assert by_college["c"] is None  # only abstentions: nothing expressed
    assert overall[YES] == Fraction(50 + 15, 80)
    assert (result.voted, result.counts) == (11, {YES: 2, NO: 1, ABSTAIN: 8})
    assert result.weighted == {YES: 0.8125, NO: 0.1875, ABSTAIN: 0.0}
    assert result.adopted is True


def test_an_empty_college_excluded_or_counted_as_zero_changes_the_outcome():
    votes = yes_no(A, yes=1) + yes_no(B, no=1)  # nobody in C
    excluded = ballot(empty_college=EmptyCollege.EXCLUDED)
    zero = ballot(empty_college=EmptyCollege.ZERO)
    assert weighted_shares(excluded, votes)[0][YES] == Fraction(5, 8)
    assert weighted_shares(zero, votes)[0][YES] == Fraction(1, 2)
    assert tally(excluded, votes, CLOSES).adopted is True
    assert tally(zero, votes, CLOSES).adopted is False


def test_no_votes_at_all_adopt_nothing():
    for policy in EmptyCollege:
        result = tally(ballot(empty_college=policy), [], CLOSES)
        assert (result.adopted, result.weighted[YES], result.voted) == (False, 0.0, 0)


def test_the_overall_quorum_counts_every_voter_of_the_roll():
    one = ballot(eligible={"a": 4, "b": 4, "c": 2}, quorum_percent=50)
    four = yes_no(A, yes=3) + yes_no(B, abstain=1)
    result = tally(one, four, CLOSES)
    assert (result.eligible, result.voted, result.quorum_met, result.adopted) == (10, 4, False, False)
    five = [*four, *yes_no(C, no=1)]
    assert (tally(one, five, CLOSES).quorum_met, tally(one, five, CLOSES).adopted) == (True, True)


def test_each_college_with_a_roll_must_reach_the_college_quorum():
    one = ballot(eligible={"a": 4, "b": 4, "c": 2}, college_quorum_percent=50)
    votes = yes_no(A, yes=2) + yes_no(B, yes=2) + yes_no(C, no=0)
    result = tally(one, votes, CLOSES)
    assert [college.quorum_met for college in result.colleges] == [True, True, False]
    assert (result.quorum_met, result.adopted) == (False, False)
    assert tally(one, [*votes, *yes_no(C, no=1)], CLOSES).adopted is True


def test_a_college_with_nobody_on_the_roll_is_ignored_by_the_college_quorum():
    one = ballot(eligible={"a": 4, "b": 4, "c": 0}, college_quorum_percent=50)
    result = tally(one, yes_no(A, yes=2) + yes_no(B, yes=2), CLOSES)
    assert (result.colleges[2].eligible, result.quorum_met, result.adopted) == (0, True, True)


def test_the_college_results_show_each_colleges_counts_and_shares():
    votes = yes_no(A, yes=2, no=1) + yes_no(B, no=1)
    result = tally(ballot(eligible={"a": 5, "b": 5, "c": 5}), votes, CLOSES)
    a, b, c = result.colleges
    assert (a.college_id, a.weight, a.eligible, a.voted, a.counts) == ("a", 50, 5, 3, {YES: 2, NO: 1, ABSTAIN: 0})
    assert a.shares == {YES: 0.666667, NO: 0.333333, ABSTAIN: 0.0}
    assert (b.shares, c.shares, c.voted) == ({YES: 0.0, NO: 1.0, ABSTAIN: 0.0}, {}, 0)


# Tallies: the other kinds


def test_single_plurality_elects_all_tied_options():
    votes = casts(A, "o1") + casts(B, "o2") + casts(C, "o2")  # o1 50, o2 30 + 20
    result = tally(ballot(Kind.SINGLE), votes, CLOSES)
    assert (result.winners, result.adopted, result.counts) == (("o1", "o2"), None, {"o1": 1, "o2": 2, "o3": 0})
    assert tally(ballot(Kind.SINGLE), [*votes, *casts(C, "o1")], CLOSES).winners == ("o1",)


def test_approval_elects_the_most_approved_by_weight_not_by_raw_votes():
    votes = casts(A, pick("o1", "o2")) + casts(B, "o2", "o3", "o3") + casts(C, "o3")
    # o1: 50, o2: 50 + 30/3 = 60, o3: 30 * 2/3 + 20 = 40; raw counts o1 1, o2 2, o3 3
    result = tally(ballot(Kind.APPROVAL), votes, CLOSES)
    assert weighted_shares(ballot(Kind.APPROVAL), votes)[0] == {
        "o1": Fraction(1, 2),
        "o2": Fraction(3, 5),
        "o3": Fraction(2, 5),
    }
    assert (result.winners, result.counts) == (("o2",), {"o1": 1, "o2": 2, "o3": 3})


def test_score_ranks_by_weighted_mean_score():
    votes = (
        casts(A, Choice(scores={"o1": 5, "o2": 0}))
        + casts(B, Choice(scores={"o1": 0, "o2": 5}))
        + casts(C, Choice(scores={"o1": 3, "o2": 4}), Choice(scores={"o1": 1, "o2": 4}))
    )  # o1: 50 + 0 + 20 * 4/10 = 58, o2: 0 + 30 + 20 * 8/10 = 46; raw sums o1 9, o2 13
    overall, _ = weighted_shares(ballot(Kind.SCORE), votes)
    assert overall == {"o1": Fraction(58, 100), "o2": Fraction(46, 100)}
    result = tally(ballot(Kind.SCORE), votes, CLOSES)
    assert (result.winners, result.counts, result.weighted) == (("o1",), {"o1": 9, "o2": 13}, {"o1": 0.58, "o2": 0.46})


def test_an_election_takes_its_seats_by_share_then_raw_votes_then_id():
    halves = (College("a", "Makers", 50), College("b", "Users", 50))
    votes = casts(halves[0], pick("c1", "c3")) + casts(halves[1], pick("c2", "c4"), pick("c2", "c4"))
    # every candidate has half; c2 and c4 have two raw votes, c1 and c3 one
    assert tally(ballot(Kind.ELECTION, halves, seats=2), votes, CLOSES).winners == ("c2", "c4")
    assert tally(ballot(Kind.ELECTION, halves, seats=3), votes, CLOSES).winners == ("c2", "c4", "c1")


def test_an_election_elects_only_supported_candidates():
    votes = casts(A, "c1")
    assert tally(ballot(Kind.ELECTION, seats=3), votes, CLOSES).winners == ("c1",)


def test_a_budget_funds_by_support_skipping_a_project_that_no_longer_fits():
    halves = (College("a", "Makers", 50), College("b", "Users", 50))
    votes = casts(halves[0], pick("p1", "p3"), pick("p1"), pick("p2")) + casts(halves[1], pick("p1"), pick("p2", "p3"))
    # p1 (2/3 + 1/2) / 2 = 7/12; p2 and p3 5/12 with two raw votes each: p2 ranks before p3 by id
    overall, _ = weighted_shares(ballot(Kind.BUDGET, halves), votes)
    assert overall == {"p1": Fraction(7, 12), "p2": Fraction(5, 12), "p3": Fraction(5, 12)}
    # p1 costs 6 of 10, p2 (5) no longer fits, p3 (4) fills the budget exactly
    assert tally(ballot(Kind.BUDGET, halves), votes, CLOSES).winners == ("p1", "p3")


def test_no_winners_without_the_quorum():
    one = ballot(Kind.SINGLE, eligible={"a": 10, "b": 10, "c": 10}, quorum_percent=10)
    result = tally(one, casts(A, "o1", "o1"), CLOSES)
    assert (result.quorum_met, result.winners, result.counts["o1"]) == (False, (), 2)
    assert tally(one, casts(A, "o1", "o1", "o1"), CLOSES).winners == ("o1",)


def test_a_secret_ballot_with_too_few_voters_publishes_participation_only():
    one = ballot(secret=True, min_secret_voters=3, eligible={"a": 4, "b": 4, "c": 2})
    few = tally(one, yes_no(A, yes=1) + yes_no(B, yes=1), CLOSES, digest="d")
    assert few.withheld is True
    assert (few.eligible, few.voted, few.digest, few.closed_at) == (10, 2, "d", CLOSES)
    assert (few.colleges, few.weighted, few.counts, few.adopted, few.winners) == ((), {}, {}, None, ())
    enough = tally(one, yes_no(A, yes=1) + yes_no(B, yes=1) + yes_no(C, no=1), CLOSES)
    assert (enough.withheld, enough.adopted, enough.counts[YES]) == (False, True, 2)


def test_a_named_ballot_is_never_withheld():
    assert tally(ballot(min_secret_voters=3), yes_no(A, yes=1), CLOSES).withheld is False


def test_the_digest_does_not_depend_on_the_order_of_the_ballots():
    records = [{"college_id": "a", "choice": {"options": [YES]}}, {"college_id": "b", "choice": {"options": [NO]}}]
    assert digest_of(records) == digest_of(reversed(records))
    assert digest_of([{"choice": {"options": [YES]}, "college_id": "a"}]) == digest_of(records[:1])
    assert digest_of(records) != digest_of(records[:1])
    assert len(digest_of([])) == 64


# The property: the tally equals a naive recount of the last valid votes


KINDS = (Kind.YES_NO, Kind.SINGLE, Kind.APPROVAL, Kind.SCORE, Kind.BUDGET, Kind.ELECTION)
NEEDED = {Majority.SIMPLE: Fraction(1, 2), Majority.TWO_THIRDS: Fraction(2, 3), Majority.THREE_QUARTERS: Fraction(3, 4)}


@st.composite
def ballots(draw: Any) -> Ballot:
    points = st.integers(1, 99) | st.sampled_from(range(10, 100, 10))  # round weights make exact ties likely
    cuts = sorted(draw(st.lists(points, unique=True, min_size=1, max_size=5)))
    bounds = [0, *cuts, 100]
    colleges = tuple(
        College(f"k{index}", f"College {index}", high - low) for index, (low, high) in enumerate(pairwise(bounds))
    )
    kind = draw(st.sampled_from(KINDS))
    count = draw(st.integers(1 if kind is Kind.ELECTION else 2, 4))
    ids = [f"o{index}" for index in range(count)]
    made = Rules(
        kind,
        majority=draw(st.sampled_from(list(Majority))),
        quorum_percent=draw(st.sampled_from((0, 0, 0, 20, 50))),
        college_quorum_percent=draw(st.sampled_from((0, 0, 0, 25, 50))),
        empty_college=draw(st.sampled_from(list(EmptyCollege))),
        secret=draw(st.booleans()),
        min_secret_voters=draw(st.integers(0, 3)),
    )
    if kind is Kind.APPROVAL:
        least = draw(st.integers(0, count))
        most = draw(st.sampled_from((0, *range(max(least, 1), count + 1))))
        made = replace(made, options=options(*ids), min_selected=least, max_selected=most)
    elif kind is Kind.BUDGET:
        costs = draw(st.lists(st.integers(1, 8), min_size=count, max_size=count))
        made = replace(made, options=options(*ids, costs=costs), budget=draw(st.integers(max(costs), max(costs) + 4)))
    elif kind is Kind.ELECTION:
        made = replace(made, options=options(*ids), seats=draw(st.integers(1, 3)))
    elif kind is not Kind.YES_NO:
        made = replace(made, options=options(*ids))
    return Ballot(BALLOT, "Q", "", made, OPENS, CLOSES, "op", OPENS, BallotState.OPEN, colleges=colleges)


def choices(one: Ballot) -> st.SearchStrategy[Choice]:
    """Valid choices, not normalised: unsorted, sometimes with a repeat."""
    made, ids = one.rules, one.option_ids()
    if made.kind is Kind.SCORE:
        return st.fixed_dictionaries({option: st.integers(0, 5) for option in ids}).map(
            lambda scores: Choice(scores=scores)
        )
    if made.kind in (Kind.YES_NO, Kind.SINGLE):
        least, most = 1, 1
    else:
        least = max(made.min_selected, 1)
        most = made.max_selected or (made.seats if made.kind is Kind.ELECTION else len(ids))
        most = min(most, len(ids))
    picked = st.lists(st.sampled_from(ids), unique=True, min_size=least, max_size=most)
    if made.kind is Kind.BUDGET:
        costs = {option.option_id: option.cost for option in made.options}
        picked = picked.map(
            lambda chosen: [o for i, o in enumerate(chosen) if sum(costs[p] for p in chosen[: i + 1]) <= made.budget]
        )
    return st.tuples(picked, st.booleans()).map(lambda drawn: Choice(options=(*drawn[0], *drawn[0][:1] * drawn[1])))


@st.composite
def elections(draw: Any) -> tuple[Ballot, list[RollEntry], dict[str, Proxy], list[tuple[str, str, Choice]]]:
    """A ballot, its roll, the proxies held, and the steps: (voter, principal, choice)."""
    one = draw(ballots())
    roll: list[RollEntry] = []
    for number, college in enumerate(one.colleges):  # the first college has someone on its roll
        for index in range(draw(st.integers(0 if number else 1, 4))):
            roll.append(RollEntry(BALLOT, f"{college.college_id}m{index}", college.college_id, CLOSES))
    one = replace(one, eligible={c.college_id: sum(e.college_id == c.college_id for e in roll) for c in one.colleges})
    members = [e.member_id for e in roll]
    proxies: dict[str, Proxy] = {}
    if members:
        for index in range(draw(st.integers(0, 3))):
            principal = draw(st.sampled_from(members))
            college_id = next(e.college_id for e in roll if e.member_id == principal)
            held = draw(st.sampled_from((BALLOT, BALLOT, None, "b2")))
            proxies[f"h{index}"] = Proxy(principal, f"h{index}", college_id, OPENS, held)
    steps = []
    if members:
        for _ in range(draw(st.integers(2, 16))):
            how = draw(st.sampled_from(("in person", "in person", "holder", "holder", "anyone")))
            if how == "holder" and proxies:  # mostly for the principal of the proxy held
                voter = draw(st.sampled_from(sorted(proxies)))
                principal = proxies[voter].principal_id if draw(st.booleans()) else draw(st.sampled_from(members))
            else:  # in person, or any member or holder for any member
                principal = draw(st.sampled_from(members))
                voter = principal if how != "anyone" else draw(st.sampled_from([*members, *proxies]))
            steps.append((voter, principal, draw(choices(one))))
    return one, roll, proxies, steps


def normalised(choice: Choice) -> Choice:
    if choice.scores:
        return Choice(scores={option: choice.scores[option] for option in sorted(choice.scores)})
    return Choice(options=tuple(sorted(set(choice.options))))


def naive_recount(one: Ballot, counted: list[tuple[str, Choice]]) -> dict[str, Any]:
    """Every figure of the tally, computed directly: a loop over the colleges in exact fractions."""
    kind, ids = one.rules.kind, one.option_ids()
    counts = {option: 0 for option in ids}
    for _, choice in counted:
        for option in ids:
            counts[option] += choice.scores.get(option, 0) if kind is Kind.SCORE else choice.options.count(option)
    numerator = {option: Fraction(0) for option in ids}
    weights, by_college = 0, {}
    for college in one.colleges:
        mine = [choice for college_id, choice in counted if college_id == college.college_id]
        if kind is Kind.YES_NO:
            yes = sum(choice.options == (YES,) for choice in mine)
            no = sum(choice.options == (NO,) for choice in mine)
            shares = (
                {YES: Fraction(yes, yes + no), NO: Fraction(no, yes + no), ABSTAIN: Fraction(0)} if yes + no else None
            )
        elif kind is Kind.SCORE:
            shares = {o: Fraction(sum(c.scores[o] for c in mine), 5 * len(mine)) for o in ids} if mine else None
        else:
            shares = {o: Fraction(sum(o in c.options for c in mine), len(mine)) for o in ids} if mine else None
        by_college[college.college_id] = shares
        if shares is not None:
            for option in ids:
                numerator[option] += college.weight * shares[option]
        if shares is not None or one.rules.empty_college is EmptyCollege.ZERO:
            weights += college.weight
    overall = {option: numerator[option] / weights if weights else Fraction(0) for option in ids}
    eligible = sum(one.eligible.values())
    quorum = len(counted) * 100 >= one.rules.quorum_percent * eligible
    for college in one.colleges:
        voters = sum(college_id == college.college_id for college_id, _ in counted)
        if (
            one.eligible[college.college_id]
            and voters * 100 < one.rules.college_quorum_percent * one.eligible[college.college_id]
        ):
            quorum = False
    adopted, winners = None, ()
    if kind is Kind.YES_NO:
        needed = NEEDED[one.rules.majority]
        adopted = quorum and (
            overall[YES] > needed if one.rules.majority is Majority.SIMPLE else overall[YES] >= needed
        )
    elif quorum:
        supported = [option for option in ids if overall[option] > 0]
        ranked = sorted(supported, key=lambda option: (-overall[option], -counts[option], option))
        if kind is Kind.ELECTION:
            winners = tuple(ranked[: one.rules.seats])
        elif kind is Kind.BUDGET:
            left, funded = one.rules.budget, []
            for option in ranked:
                cost = next(o.cost for o in one.rules.options if o.option_id == option)
                if cost <= left:
                    funded.append(option)
                    left -= cost
            winners = tuple(funded)
        elif supported:
            best = max(overall[option] for option in supported)
            winners = tuple(sorted(option for option in supported if overall[option] == best))
    return {
        "overall": overall,
        "colleges": by_college,
        "counts": counts,
        "quorum": quorum,
        "adopted": adopted,
        "winners": winners,
    }


def expected_refusal(one: Ballot, principal: dict[str, Any], voter: str, member: str, held: Proxy | None) -> str | None:
    """The model of `vote`'s refusals: no covering proxy, a final secret vote, a holder after the member."""
    if voter != member and (held is None or held.principal_id != member or held.ballot_id not in (None, one.ballot_id)):
        return "forbidden"
    if principal["voted"] and one.rules.secret:
        return "already-voted"
    if principal["voted"] and voter != member and principal["by"] is None:
        return "voted-in-person"
    return None


@settings(derandomize=True, max_examples=200, deadline=None, database=None)
@given(scenario=elections())
def test_the_tally_of_votes_in_person_and_by_proxy_equals_a_naive_recount(scenario):
    one, roll, proxies, steps = scenario
    entries = {e.member_id: e for e in roll}
    model = {e.member_id: {"voted": False, "by": None, "choice": None, "college": e.college_id} for e in roll}
    for voter, member, choice in steps:
        expected = expected_refusal(one, model[member], voter, member, proxies.get(voter))
        try:
            done = vote(one, entries[member], voter, proxies.get(voter), choice, NOW)
        except errors.AppError as error:
            assert error.code == expected, (error, voter, member, model[member])
            continue
        assert expected is None, (expected, voter, member)
        state = model[member]  # accepted: a secret ballot's only vote, or a named ballot's latest
        assert done.first is not state["voted"]
        state["voted"], state["by"], state["choice"] = True, None if voter == member else voter, normalised(choice)
        assert (done.entry.voted, done.entry.voted_by, done.entry.version) == (
            True,
            state["by"],
            entries[member].version + 1,
        )
        assert done.entry.choice == (None if one.rules.secret else state["choice"])
        entries[member] = done.entry

    voted = [member for member, state in model.items() if state["voted"]]
    assert [member for member, e in entries.items() if e.voted] == voted
    counted = [(model[member]["college"], model[member]["choice"]) for member in voted]
    if one.rules.secret:  # the roll holds no choice: the sealed ballots are the first choice of each voter
        cast_list = [Cast(college_id, choice) for college_id, choice in counted]
    else:  # the choice on each voter's roll entry
        cast_list = [Cast(entries[member].college_id, entries[member].choice) for member in voted]

    naive = naive_recount(one, counted)
    assert weighted_shares(one, cast_list) == (naive["overall"], naive["colleges"])
    result = tally(one, cast_list, CLOSES)
    assert (result.voted, result.eligible, result.quorum_met) == (len(voted), len(roll), naive["quorum"])
    if one.rules.secret and len(voted) < one.rules.min_secret_voters:
        assert (result.withheld, result.counts, result.weighted, result.adopted, result.winners) == (
            True,
            {},
            {},
            None,
            (),
        )
        return
    assert result.withheld is False
    assert result.counts == naive["counts"]
    assert result.weighted == {option: round(float(share), 6) for option, share in naive["overall"].items()}
    assert (result.adopted, result.winners) == (naive["adopted"], naive["winners"])

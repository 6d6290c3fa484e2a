"""Routes of cooperative governance: colleges, cooperators, parameters, proxies, proposals, ballots,
votes, participation, results and receipts."""

from __future__ import annotations

from msgspec.structs import asdict

from chalicelib import clock
from chalicelib.api.conversations import message_out
from chalicelib.api.http import Call, Router
from chalicelib.api.schemas import (
    AccountOut,
    BallotIn,
    BallotOut,
    BallotQuery,
    ChoiceOut,
    CollegeOut,
    CollegeRequest,
    CollegesIn,
    CooperatorOut,
    CooperatorQuery,
    DecisionOut,
    EarmarkPayment,
    MessageOut,
    NewMessage,
    OptionOut,
    Page,
    PageQuery,
    ParametersOut,
    ParticipationOut,
    Placement,
    ProposalIn,
    ProposalOut,
    ProxiesOut,
    ProxyIn,
    ProxyOut,
    ProxyScope,
    ReceiptOut,
    ResultOut,
    SpokespersonOut,
    StatementEntry,
    TransferOut,
    VoteIn,
    VoteOut,
    project,
)
from chalicelib.api.wallet import statement_page, transfer_out
from chalicelib.domain.governance import (
    Ballot,
    BallotKind,
    BallotState,
    Choice,
    College,
    CooperatorStatus,
    Decision,
    EmptyCollege,
    Governed,
    Majority,
    Option,
    RollEntry,
    Rules,
    SealedBallot,
)
from chalicelib.services import ballots, earmarks, governance

router = Router("governance")


def ballot_out(ballot: Ballot) -> BallotOut:
    rules = ballot.rules
    return BallotOut(
        ballot_id=ballot.ballot_id,
        title=ballot.title,
        description=ballot.description,
        kind=rules.kind.value,
        state=ballot.state.value,
        opens_at=ballot.opens_at,
        closes_at=ballot.closes_at,
        options=[project(option, OptionOut) for option in rules.options],
        majority=rules.majority.value,
        quorum_percent=rules.quorum_percent,
        college_quorum_percent=rules.college_quorum_percent,
        empty_college=rules.empty_college.value,
        seats=rules.seats,
        budget=rules.budget,
        min_selected=rules.min_selected,
        max_selected=rules.max_selected,
        secret=rules.secret,
        min_secret_voters=rules.min_secret_voters,
        decision=None if rules.decision is None else DecisionOut(**asdict(rules.decision)),
        colleges=[project(college, CollegeOut) for college in ballot.colleges],
        eligible=ballot.eligible,
        proposal_id=ballot.proposal_id,
        created_by=ballot.created_by,
        created_at=ballot.created_at,
    )


def choice_out(choice: Choice) -> ChoiceOut:
    return ChoiceOut(list(choice.options), dict(choice.scores))


def vote_out(entry: RollEntry, receipt: str | None = None) -> VoteOut:
    choice = None if entry.choice is None else choice_out(entry.choice)
    return VoteOut(entry.ballot_id, entry.member_id, entry.college_id, entry.voted, entry.voted_by, choice, receipt)


def receipt_out(sealed: SealedBallot) -> ReceiptOut:
    return ReceiptOut(sealed.receipt_hash, sealed.college_id, choice_out(sealed.choice))


# The cooperative


@router.route(
    "GET",
    "/governance/colleges",
    summary="The cooperative's colleges and their weights",
    tag="governance",
    response=list[CollegeOut],
)
def list_colleges(call: Call[None, None]) -> list[CollegeOut]:
    return [project(college, CollegeOut) for college in governance.colleges()]


@router.route(
    "PUT",
    "/operator/governance/colleges",
    summary="Define the cooperative's colleges (operators, audited)",
    description="Between `PWIIC_COLLEGES_MIN` and `PWIIC_COLLEGES_MAX` colleges (3-10 by default), each "
    "weighing between `PWIIC_COLLEGE_WEIGHT_MIN`% and `PWIIC_COLLEGE_WEIGHT_MAX`% (10-50), the weights summing "
    "to 100: otherwise 422 naming `colleges`. A college with cooperators cannot be removed "
    "(409 `college-not-empty`). Ballots already open keep the colleges they opened with.",
    tag="governance",
    access="operator",
    body=CollegesIn,
    response=list[CollegeOut],
    problems=(409, 422),
)
def set_colleges(call: Call[CollegesIn, None]) -> list[CollegeOut]:
    wanted = [College(c.college_id, c.name, c.weight) for c in call.body.colleges]
    return [
        project(college, CollegeOut)
        for college in governance.set_colleges(call.member.member_id, wanted, call.body.reason)
    ]


@router.route(
    "GET",
    "/governance/parameters",
    summary="The governed parameters in force",
    tag="governance",
    response=ParametersOut,
)
def get_parameters(call: Call[None, None]) -> ParametersOut:
    return project(governance.parameters(), ParametersOut)


@router.route(
    "GET",
    "/governance/spokespeople",
    summary="The spokespeople elected whose term has not ended",
    tag="governance",
    response=list[SpokespersonOut],
)
def list_spokespeople(call: Call[None, None]) -> list[SpokespersonOut]:
    return [SpokespersonOut(*found) for found in ballots.spokespeople()]


# Cooperators


@router.route(
    "GET",
    "/me/cooperator",
    summary="Your place in the cooperative: your college and status",
    tag="governance",
    response=CooperatorOut,
    problems=(404,),
)
def get_my_cooperator(call: Call[None, None]) -> CooperatorOut:
    return project(governance.cooperator(call.member.member_id), CooperatorOut)


@router.route(
    "PUT",
    "/me/cooperator",
    summary="Opt in as a cooperator: ask to sit in a college (an operator approves)",
    description="An unknown college is a 422 naming `college_id`; already an active cooperator: 409 "
    "`already-cooperator`.",
    tag="governance",
    body=CollegeRequest,
    response=CooperatorOut,
    problems=(409, 422),
)
def request_college(call: Call[CollegeRequest, None]) -> CooperatorOut:
    return project(governance.request_college(call.member.member_id, call.body.college_id), CooperatorOut)


@router.route(
    "GET",
    "/operator/cooperators",
    summary="Cooperators by status: requests to approve, or active ones",
    tag="governance",
    access="operator",
    query=CooperatorQuery,
    response=Page[CooperatorOut],
    problems=(400,),
)
def list_cooperators(call: Call[None, CooperatorQuery]) -> Page[CooperatorOut]:
    query = call.query
    found, cursor = governance.cooperators(CooperatorStatus(query.status), query.cursor, query.limit)
    return Page([project(cooperator, CooperatorOut) for cooperator in found], cursor)


@router.route(
    "PUT",
    "/operator/cooperators/{member_id}",
    summary="Place a member in a college as an active cooperator (operators, audited)",
    description="An unknown college is a 422 naming `college_id`.",
    tag="governance",
    access="operator",
    body=Placement,
    response=CooperatorOut,
    problems=(404, 409, 422),
)
def place_cooperator(call: Call[Placement, None]) -> CooperatorOut:
    body = call.body
    placed = governance.place(call.member.member_id, call.params["member_id"], body.college_id, body.reason)
    return project(placed, CooperatorOut)


# Proxies


@router.route(
    "GET",
    "/me/proxies",
    summary="The proxies you gave and those you hold",
    tag="governance",
    response=ProxiesOut,
)
def list_my_proxies(call: Call[None, None]) -> ProxiesOut:
    given, held = governance.proxies(call.member.member_id)
    return ProxiesOut([project(p, ProxyOut) for p in given], [project(p, ProxyOut) for p in held])


@router.route(
    "POST",
    "/me/proxies",
    summary="Give your vote to another cooperator of your college, for one ballot or until revoked",
    description="Only active cooperators (403). 409 `proxy-to-self`, `proxy-other-college` (the holder is not an "
    "active cooperator of your college), `proxy-given` (revoke the one you gave for this first), "
    "`proxy-cap-reached` (a holder carries at most the governed `proxy_cap` proxies).",
    tag="governance",
    body=ProxyIn,
    response=ProxyOut,
    status=201,
    problems=(403, 404, 409),
)
def give_proxy(call: Call[ProxyIn, None]) -> ProxyOut:
    body = call.body
    return project(governance.give_proxy(call.member.member_id, body.holder_id, body.ballot_id), ProxyOut)


@router.route(
    "DELETE",
    "/me/proxies",
    summary="Revoke the proxy you gave for a ballot (or, without `ballot_id`, for every ballot)",
    description="A vote its holder already cast stays cast; later votes are yours again.",
    tag="governance",
    query=ProxyScope,
    status=204,
    problems=(400, 404),
)
def revoke_proxy(call: Call[None, ProxyScope]) -> None:
    governance.revoke_proxy(call.member.member_id, call.query.ballot_id)


# Proposals


def proposal_out(found: object) -> ProposalOut:
    return project(found, ProposalOut)


@router.route(
    "POST",
    "/proposals",
    summary="Propose a question to the cooperative: it needs supports before its ballot is scheduled",
    description="Only active cooperators (403). It collects supports until its `deadline`; with `needed` "
    "supports it is `qualified` and operators schedule its ballot.",
    tag="governance",
    body=ProposalIn,
    response=ProposalOut,
    status=201,
    problems=(403,),
    limit="proposals",
)
def create_proposal(call: Call[ProposalIn, None]) -> ProposalOut:
    return proposal_out(governance.propose(call.member.member_id, call.body.title, call.body.description))


@router.route(
    "GET",
    "/proposals",
    summary="Proposals, newest first",
    tag="governance",
    query=PageQuery,
    response=Page[ProposalOut],
    problems=(400,),
)
def list_proposals(call: Call[None, PageQuery]) -> Page[ProposalOut]:
    found, cursor = governance.proposals(call.query.cursor, call.query.limit)
    return Page([proposal_out(one) for one in found], cursor)


@router.route(
    "GET",
    "/proposals/{proposal_id}",
    summary="One proposal",
    tag="governance",
    response=ProposalOut,
    problems=(404,),
)
def get_proposal(call: Call[None, None]) -> ProposalOut:
    return proposal_out(governance.proposal(call.params["proposal_id"]))


@router.route(
    "POST",
    "/proposals/{proposal_id}/supports",
    summary="Support a proposal (once per cooperator)",
    description="Only active cooperators (403). 409 `already-supported`, or `proposal-closed` once it expired "
    "or qualified.",
    tag="governance",
    response=ProposalOut,
    problems=(403, 404, 409),
)
def support_proposal(call: Call[None, None]) -> ProposalOut:
    return proposal_out(governance.support_proposal(call.member.member_id, call.params["proposal_id"]))


@router.route(
    "GET",
    "/proposals/{proposal_id}/messages",
    summary="A proposal's discussion, newest first",
    tag="governance",
    query=PageQuery,
    response=Page[MessageOut],
    problems=(400, 404),
)
def list_proposal_messages(call: Call[None, PageQuery]) -> Page[MessageOut]:
    found, cursor = governance.discussion(call.params["proposal_id"], call.query.cursor, call.query.limit)
    return Page([message_out(message) for message in found], cursor)


@router.route(
    "POST",
    "/proposals/{proposal_id}/messages",
    summary="Write in a proposal's discussion (cooperators)",
    tag="governance",
    body=NewMessage,
    response=MessageOut,
    status=201,
    problems=(403, 404),
    limit="messages",
)
def post_proposal_message(call: Call[NewMessage, None]) -> MessageOut:
    return message_out(governance.discuss(call.member.member_id, call.params["proposal_id"], call.body.body))


# Ballots


@router.route(
    "POST",
    "/operator/ballots",
    summary="Schedule a ballot (operators, audited): its rules are fixed when it opens",
    description="Kinds: `yes_no` (no options; `majority`), `single`, `approval`, `score` (two options or more), "
    "`budget` (projects with a `cost`, a `budget`), `election` (no options: cooperators stand as candidates "
    "until it opens; `seats`). Refusals name the field: `options`, `budget`, `min_selected`, `closes_at` (after "
    "`opens_at`, in the future), `decision` (a `parameter` with its `value` on a yes/no ballot, a "
    "`funding_account` on a budget, `term_days` on an election). 409 `no-colleges` before the colleges are "
    "defined; with `proposal_id`, 409 `proposal-not-qualified`.",
    tag="governance",
    access="operator",
    body=BallotIn,
    response=BallotOut,
    status=201,
    problems=(404, 409, 422),
)
def create_ballot(call: Call[BallotIn, None]) -> BallotOut:
    body = call.body
    decision = body.decision
    rules = Rules(
        kind=BallotKind(body.kind),
        options=tuple(Option(o.option_id, o.label, o.cost) for o in body.options),
        majority=Majority(body.majority),
        quorum_percent=body.quorum_percent,
        college_quorum_percent=body.college_quorum_percent,
        empty_college=EmptyCollege(body.empty_college),
        seats=body.seats,
        budget=body.budget,
        min_selected=body.min_selected,
        max_selected=body.max_selected,
        secret=body.secret,
        min_secret_voters=body.min_secret_voters or 0,
        decision=None
        if decision is None
        else Decision(
            Governed(decision.parameter) if decision.parameter else None,
            decision.value,
            decision.funding_account,
            decision.term_days,
        ),
    )
    draft = ballots.BallotDraft(
        body.title, body.description, rules, clock.iso(body.opens_at), clock.iso(body.closes_at), body.proposal_id
    )
    return ballot_out(ballots.create(call.member.member_id, draft, body.reason))


@router.route(
    "GET",
    "/ballots",
    summary="Ballots by state: scheduled, open (default) or closed, latest closing first",
    tag="governance",
    query=BallotQuery,
    response=Page[BallotOut],
    problems=(400,),
)
def list_ballots(call: Call[None, BallotQuery]) -> Page[BallotOut]:
    query = call.query
    found, cursor = ballots.listing(BallotState(query.state), query.cursor, query.limit)
    return Page([ballot_out(ballot) for ballot in found], cursor)


@router.route(
    "GET",
    "/ballots/{ballot_id}",
    summary="One ballot",
    tag="governance",
    response=BallotOut,
    problems=(404,),
)
def get_ballot(call: Call[None, None]) -> BallotOut:
    return ballot_out(ballots.get(call.params["ballot_id"]))


@router.route(
    "POST",
    "/ballots/{ballot_id}/candidacies",
    summary="Stand as a candidate in a scheduled election",
    description="Only active cooperators (403); 409 `not-an-election`, `ballot-not-scheduled` once it opened.",
    tag="governance",
    response=BallotOut,
    problems=(403, 404, 409),
)
def stand(call: Call[None, None]) -> BallotOut:
    return ballot_out(ballots.stand_in(call.member.member_id, call.params["ballot_id"]))


@router.route(
    "PUT",
    "/ballots/{ballot_id}/vote",
    summary="Vote, or change your vote on a named ballot (the last one counts); with `on_behalf_of`, as proxy",
    description="Only the cooperators on the roll frozen at open, or their proxy holders (403). A choice the "
    "ballot's rules refuse is a 422 naming `choice`. 409 `ballot-not-open` (before it opens, after it closes), "
    "`already-voted` (a secret vote is final: the answer carries a `receipt` once), `voted-in-person` (the member "
    "voted: their proxy can no longer be used).",
    tag="governance",
    body=VoteIn,
    response=VoteOut,
    problems=(403, 404, 409, 422),
)
def cast_vote(call: Call[VoteIn, None]) -> VoteOut:
    body = call.body
    choice = Choice(tuple(body.options), dict(body.scores))
    voted = ballots.cast(call.member.member_id, call.params["ballot_id"], choice, body.on_behalf_of)
    return vote_out(voted.entry, voted.receipt)


@router.route(
    "GET",
    "/ballots/{ballot_id}/vote",
    summary="Your vote on a ballot: whether you voted, and on a named ballot your choice",
    tag="governance",
    response=VoteOut,
    problems=(404,),
)
def get_my_vote(call: Call[None, None]) -> VoteOut:
    return vote_out(ballots.my_vote(call.member.member_id, call.params["ballot_id"]))


@router.route(
    "GET",
    "/ballots/{ballot_id}/participation",
    summary="Live participation: voters on the roll and votes so far per college (never the choices)",
    tag="governance",
    response=ParticipationOut,
    problems=(404,),
)
def get_participation(call: Call[None, None]) -> ParticipationOut:
    ballot, voted = ballots.participation(call.params["ballot_id"])
    return ParticipationOut(ballot.ballot_id, ballot.state.value, ballot.eligible, voted)


@router.route(
    "GET",
    "/ballots/{ballot_id}/result",
    summary="The official result: raw counts and weighted shares, per college and overall",
    description="Hidden until the ballot closes (409 `ballot-not-closed`). A secret ballot with fewer voters than "
    "its `min_secret_voters` publishes participation only (`withheld`).",
    tag="governance",
    response=ResultOut,
    problems=(404, 409),
)
def get_result(call: Call[None, None]) -> ResultOut:
    return project(ballots.result(call.params["ballot_id"]), ResultOut)


@router.route(
    "GET",
    "/ballots/{ballot_id}/receipts",
    summary="A closed secret ballot's receipts: each receipt's hash with the choice counted under it",
    description="Anyone can recompute the result and its digest from them; a voter finds their own by the "
    "sha256 of their receipt. Before the close: 409 `ballot-not-closed`; withheld results: 409 `results-withheld`.",
    tag="governance",
    query=PageQuery,
    response=Page[ReceiptOut],
    problems=(400, 404, 409),
)
def list_receipts(call: Call[None, PageQuery]) -> Page[ReceiptOut]:
    found, cursor = ballots.receipts(call.params["ballot_id"], call.query.cursor, call.query.limit)
    return Page([receipt_out(sealed) for sealed in found], cursor)


@router.route(
    "GET",
    "/ballots/{ballot_id}/receipts/{receipt_hash}",
    summary="Check your secret ballot was counted as cast: the choice stored under your receipt's sha256",
    description="Before the close: 409 `ballot-not-closed`; withheld results: 409 `results-withheld`.",
    tag="governance",
    response=ReceiptOut,
    problems=(404, 409),
)
def get_receipt(call: Call[None, None]) -> ReceiptOut:
    return receipt_out(ballots.receipt(call.params["ballot_id"], call.params["receipt_hash"]))


# Earmarked accounts of funded projects


@router.route(
    "GET",
    "/governance/earmarks/{account_id}",
    summary="A funded project's earmarked account (`earmark:<ballot>:<project>`): its balance, public to members",
    tag="governance",
    response=AccountOut,
    problems=(404,),
)
def get_earmark(call: Call[None, None]) -> AccountOut:
    found = earmarks.balance(call.params["account_id"])
    return AccountOut(found.account_id, found.posted, found.held, found.available, found.frozen, [found.account_id])


@router.route(
    "GET",
    "/governance/earmarks/{account_id}/entries",
    summary="Every entry of a funded project's earmarked account: its funding and how it was spent",
    tag="governance",
    query=PageQuery,
    response=Page[StatementEntry],
    problems=(400, 404),
)
def get_earmark_entries(call: Call[None, PageQuery]) -> Page[StatementEntry]:
    return statement_page(*earmarks.statement(call.params["account_id"], call.query.cursor, call.query.limit))


@router.route(
    "POST",
    "/operator/earmarks/{account_id}/payments",
    summary="Pay a member from a funded project's earmarked account (operators, audited)",
    description="Too few credits in the account: 409 `insufficient-funds`; a `payment_id` reused with other "
    "details: 409.",
    tag="governance",
    access="operator",
    body=EarmarkPayment,
    response=TransferOut,
    status=201,
    problems=(404, 409, 422, 503),
)
def pay_from_earmark(call: Call[EarmarkPayment, None]) -> TransferOut:
    body = call.body
    account_id = call.params["account_id"]
    return transfer_out(
        earmarks.spend(call.member.member_id, account_id, body.member_id, body.amount, body.note, body.payment_id)
    )

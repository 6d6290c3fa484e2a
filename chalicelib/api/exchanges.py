"""Routes of exchanges: proposals, seats, bookings, their moves, and dispute resolution."""

from __future__ import annotations

from chalicelib.api.http import Call, Router
from chalicelib.api.schemas import (
    ExchangeAction,
    ExchangeOut,
    ExchangeQuery,
    NewBooking,
    NewProposal,
    Page,
    PageQuery,
    Resolution,
    project,
    project_each,
)
from chalicelib.domain.exchanges import Action, Exchange
from chalicelib.services import exchanges

router = Router("exchanges")


def exchange_out(exchange: Exchange) -> ExchangeOut:
    return project(exchange, ExchangeOut)


@router.route(
    "POST",
    "/listings/{listing_id}/exchanges",
    summary="Propose an exchange on a listing: credits, one of your listings as a swap, or both; for a loan, "
    "a return date (the deposit and fee are held when the lender accepts)",
    description="What the listing's mode asks for (a 422 naming the field otherwise): `swap` and `credits_swap` "
    "need a `swap_listing_id`, one of your own active listings; `gift`, `loan` and `swap` carry no `amount`; "
    "`gift`, `loan` and `credits` carry no swap; a `loan` needs a `return_by` in the future. Your own listing is "
    "a 422 `own-listing`; a listing with seats or a pooled object is a 422 `wrong-flow` (take a seat, book).",
    tag="exchanges",
    body=NewProposal,
    response=ExchangeOut,
    status=201,
    problems=(404, 409, 422),
    limit="proposals",
)
def propose_exchange(call: Call[NewProposal, None]) -> ExchangeOut:
    body = call.body
    return_by = body.return_by.isoformat().replace("+00:00", "Z") if body.return_by else None
    return exchange_out(
        exchanges.propose(
            call.member.member_id,
            call.params["listing_id"],
            body.amount,
            body.swap_listing_id,
            body.message or "",
            return_by,
        )
    )


@router.route(
    "POST",
    "/listings/{listing_id}/seats",
    summary="Take a seat (carpool, shared meal, garden): its price is held",
    description="Only a listing with seats takes them (a 422 `wrong-flow`); your own listing is a 422 "
    "`own-listing`; a seat already yours, no seat left or an event past: a 409.",
    tag="exchanges",
    response=ExchangeOut,
    status=201,
    problems=(404, 409, 422),
    limit="proposals",
)
def join_share(call: Call[None, None]) -> ExchangeOut:
    return exchange_out(exchanges.join_share(call.member.member_id, call.params["listing_id"]))


@router.route(
    "POST",
    "/listings/{listing_id}/done",
    summary="Organiser: the shared event happened; every seat is paid",
    tag="exchanges",
    response=list[ExchangeOut],
    problems=(404, 409),
)
def complete_event(call: Call[None, None]) -> list[ExchangeOut]:
    return [exchange_out(e) for e in exchanges.complete_event(call.member.member_id, call.params["listing_id"])]


@router.route(
    "POST",
    "/listings/{listing_id}/bookings",
    summary="Book whole hours of a pooled object: the price is held",
    description="`starts_at` and `ends_at` are whole hours (UTC), in the future, 1 to 48 hours apart (a 422 "
    "naming the field). Only pooled objects are booked (a 422 `wrong-flow`); your own is a 422 `own-listing`; "
    "hours already booked: a 409 `slot-taken`.",
    tag="exchanges",
    body=NewBooking,
    response=ExchangeOut,
    status=201,
    problems=(404, 409, 422),
    limit="proposals",
)
def book_slot(call: Call[NewBooking, None]) -> ExchangeOut:
    body = call.body
    return exchange_out(exchanges.book(call.member.member_id, call.params["listing_id"], body.starts_at, body.ends_at))


@router.route(
    "GET",
    "/exchanges/{exchange_id}",
    summary="One of your exchanges",
    tag="exchanges",
    response=ExchangeOut,
    problems=(404,),
)
def get_exchange(call: Call[None, None]) -> ExchangeOut:
    return exchange_out(exchanges.get_exchange(call.member, call.params["exchange_id"]))


@router.route(
    "GET",
    "/me/exchanges",
    summary="Your exchanges as proposer (or borrower, participant) or as owner",
    tag="exchanges",
    query=ExchangeQuery,
    response=Page[ExchangeOut],
    problems=(400,),
)
def list_my_exchanges(call: Call[None, ExchangeQuery]) -> Page[ExchangeOut]:
    query = call.query
    found, cursor = exchanges.my_exchanges(call.member.member_id, query.role, query.cursor, query.limit)
    return Page(project_each(found, ExchangeOut), cursor)


@router.route(
    "POST",
    "/exchanges/{exchange_id}/actions",
    summary="Move an exchange: accept, decline, cancel, confirm, confirm_return, claim_damage (amount), "
    "accept_claim, dispute. An illegal move is a 409 stating the current state.",
    description="A damage claim's `amount` is 1 to the loan's deposit: otherwise a 422 `invalid-amount`.",
    tag="exchanges",
    body=ExchangeAction,
    response=ExchangeOut,
    problems=(403, 404, 409, 503),
)
def act_on_exchange(call: Call[ExchangeAction, None]) -> ExchangeOut:
    body = call.body
    return exchange_out(exchanges.act(call.member, call.params["exchange_id"], Action(body.action), body.amount))


@router.route(
    "GET",
    "/operator/disputes",
    summary="Disputed exchanges waiting for an operator, oldest first",
    tag="operator",
    access="operator",
    query=PageQuery,
    response=Page[ExchangeOut],
    problems=(400,),
)
def list_open_disputes(call: Call[None, PageQuery]) -> Page[ExchangeOut]:
    found, cursor = exchanges.open_disputes(call.query.cursor, call.query.limit)
    return Page(project_each(found, ExchangeOut), cursor)


@router.route(
    "POST",
    "/operator/exchanges/{exchange_id}/resolve",
    summary="Settle a disputed exchange: the payee's share is posted, the rest goes back to the payer",
    description="The `payee_share` is 0 to the exchange's amount: otherwise a 422 `invalid-amount`.",
    tag="operator",
    access="operator",
    body=Resolution,
    response=ExchangeOut,
    problems=(404, 409),
)
def resolve_dispute(call: Call[Resolution, None]) -> ExchangeOut:
    body = call.body
    return exchange_out(
        exchanges.resolve_dispute(call.member, call.params["exchange_id"], body.payee_share, body.reason)
    )

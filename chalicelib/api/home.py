"""The route an app calls when it opens."""

from __future__ import annotations

from chalicelib.api.http import Call, Router
from chalicelib.api.listings import listing_page
from chalicelib.api.schemas import HomeOut, Page, PendingActionOut, UnreadOut, project
from chalicelib.api.wallet import wallet_out
from chalicelib.services import home

router = Router("home")


@router.route(
    "GET",
    "/me/home",
    summary="What an app shows when it opens: your wallet, unread counts, what waits for you, and the first "
    "page of your home community's listings",
    description="One call instead of eight (GET /me, /me/wallet, /me/conversations, /me/exchanges as each side, "
    "/me/reviews/pending, /ballots?state=open, /listings?community=…), each part as those routes give it. "
    "Without a community the listings are an empty page and `home_community_id` is null.",
    tag="members",
    response=HomeOut,
)
def get_home(call: Call[None, None]) -> HomeOut:
    found = home.home(call.member.member_id)
    return HomeOut(
        wallet=wallet_out(found.wallet),
        unread=project(found.unread, UnreadOut),
        pending=[project(pending, PendingActionOut) for pending in found.pending],
        home_community_id=found.community_id,
        listings=listing_page(found.listings) if found.listings else Page([]),
    )

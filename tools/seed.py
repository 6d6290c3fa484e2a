"""Demo data for the local stack, written through the services so every invariant holds.
Idempotent: ids are fixed, or (listings) seeded once, or (reviewed exchanges) found by their proposer,
listing and message, or (ballots, missions) found by their title, and taken from where they stand, or
(the fee schedule) set only while none is stored, so a second run changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib import clock, errors
from chalicelib.adapters.dynamodb import store
from chalicelib.auth import Principal
from chalicelib.config import settings
from chalicelib.domain.economy import Operation
from chalicelib.domain.exchanges import Action, Exchange, State
from chalicelib.domain.governance import (
    Ballot,
    BallotKind,
    BallotState,
    Choice,
    College,
    Cooperator,
    CooperatorStatus,
    Decision,
    Governed,
    Option,
    Rules,
)
from chalicelib.domain.ledger import PlatformAccount, TransferKind
from chalicelib.domain.listings import CATEGORIES, Family, Kind, ListingDraft, Mode, Status
from chalicelib.domain.missions import ClaimState, MissionDraft
from chalicelib.domain.reviews import Draft, KindWord
from chalicelib.services import (
    ballots,
    communities,
    exchanges,
    fees,
    governance,
    ledger,
    listings,
    members,
    missions,
    payments,
    reviews,
    rewards,
    value_sharing,
)

OPERATOR_ID = "demo-operator"


@dataclass(frozen=True)
class DemoMember:
    member_id: str
    name: str
    community: str
    bio: str
    skills: tuple[str, ...]
    location: str


DEMO_COMMUNITIES = (
    ("Genève Plainpalais", "geneve-plainpalais", ["u0hqg", "u0hqe"], ["fr", "en"]),
    ("Lausanne Sous-Gare", "lausanne-sous-gare", ["u0k8w"], ["fr"]),
    ("Liège Outremeuse", "liege-outremeuse", ["u15bp"], ["fr", "nl"]),
)

DEMO_MEMBERS = (
    DemoMember(
        "demo-amelie", "Amélie", "geneve-plainpalais", "Vegan cook, lends her tools.", ("cuisine", "outils"), "u0hqg"
    ),
    DemoMember("demo-bastien", "Bastien", "geneve-plainpalais", "Guitar lessons for beginners.", ("guitare",), "u0hqg"),
    DemoMember("demo-chloe", "Chloé", "geneve-plainpalais", "Babysitting on weekends.", ("babysitting",), "u0hqe"),
    DemoMember("demo-david", "David", "geneve-plainpalais", "Carpools to Lausanne daily.", ("covoiturage",), "u0hqe"),
    DemoMember("demo-elodie", "Élodie", "lausanne-sous-gare", "Homework help, maths.", ("devoirs", "maths"), "u0k8w"),
    DemoMember("demo-farid", "Farid", "lausanne-sous-gare", "Repairs bikes.", ("velo", "reparation"), "u0k8w"),
    DemoMember("demo-gaelle", "Gaëlle", "lausanne-sous-gare", "Shares her vegetable garden.", ("jardin",), "u0k8w"),
    DemoMember("demo-hugo", "Hugo", "liege-outremeuse", "Teaches Dutch conversation.", ("nl", "langues"), "u15bp"),
    DemoMember("demo-ines", "Inès", "liege-outremeuse", "Lends board games and books.", ("jeux", "livres"), "u15bp"),
    DemoMember("demo-jules", "Jules", "liege-outremeuse", "Shared meals on Fridays.", ("repas",), "u15bp"),
)


def seed() -> None:
    store.bind()
    ledger.ensure_platform_accounts()
    members.ensure_member(Principal(OPERATOR_ID, frozenset({"operators"}), "Demo operator"))
    community_ids: dict[str, str] = {}
    for name, slug, area, languages in DEMO_COMMUNITIES:
        existing = communities.find_by_slug(slug)
        community = existing or communities.create_community(OPERATOR_ID, name, slug, area, languages)
        community_ids[slug] = community.community_id
    for demo in DEMO_MEMBERS:
        members.ensure_member(Principal(demo.member_id, frozenset(), demo.name))
        community_id = community_ids[demo.community]
        communities.join(demo.member_id, community_id)
        members.update_own_profile(
            demo.member_id,
            {
                "display_name": demo.name,
                "bio": demo.bio,
                "skills": list(demo.skills),
                "languages": ["fr"],
                "home_community_id": community_id,
                "location": demo.location,
            },
        )
    communities.set_ambassador(OPERATOR_ID, community_ids["geneve-plainpalais"], "demo-amelie", True)
    rewards.fund_rewards_pool(OPERATOR_ID, 100_000, "Demo pool", "demo-pool")
    for demo in DEMO_MEMBERS:
        rewards.reward_member(
            OPERATOR_ID, demo.member_id, 100, "welcome_newcomer", "Welcome bonus", f"welcome-{demo.member_id}"
        )
    payments.pay_member("demo-bastien", "demo-amelie", 15, TransferKind.PAYMENT, "Tool loan", "demo-1")
    payments.pay_member("demo-chloe", "demo-bastien", 3, TransferKind.TIP, "A coffee for the lesson", "demo-2")
    seed_reviews(seed_listings())
    seed_governance()
    seed_missions(community_ids)
    seed_last_month(community_ids["geneve-plainpalais"])
    seed_fees()  # after the seed's listings: they were published free
    seed_books_history()


# One listing per category, spread over the communities' members, plus a few requests.
DEMO_LISTINGS: tuple[tuple[str, str, str, str, int, dict[str, Any]], ...] = (
    ("demo-amelie", "goods.toys", "gift", "Wooden train set", 0, {}),
    ("demo-amelie", "goods.tools", "loan", "Cordless drill", 3, {"deposit": 60}),
    ("demo-bastien", "goods.instruments", "credits", "Old acoustic guitar", 80, {}),
    ("demo-bastien", "services.music_lessons", "credits", "Guitar lesson, 1 hour", 20, {}),
    ("demo-chloe", "services.babysitting", "credits", "Babysitting, Saturday evening", 25, {}),
    ("demo-chloe", "goods.clothes", "swap", "Kids' winter jackets (4-6 y)", 0, {}),
    ("demo-david", "sharing.carpool", "credits", "Carpool Genève - Lausanne, 8:00", 6, {"seats": 3}),
    ("demo-david", "pooled.vehicle", "credits", "Shared electric car (per hour)", 4, {}),
    ("demo-elodie", "services.homework", "credits", "Maths homework help", 15, {}),
    ("demo-elodie", "goods.books", "credits_swap", "Crime novels, a box", 10, {}),
    ("demo-farid", "pro.crafts", "credits", "Bike repair (professional)", 40, {}),
    ("demo-farid", "services.other", "credits", "Help moving furniture", 30, {}),
    ("demo-gaelle", "sharing.garden", "credits", "Garden share, one plot for the season", 12, {"seats": 4}),
    ("demo-gaelle", "services.gardening", "credits", "Hedge trimming", 20, {}),
    ("demo-hugo", "knowledge.language", "credits", "Dutch conversation, 1 hour", 10, {}),
    ("demo-hugo", "pro.care", "credits", "Home care visits (certified)", 50, {}),
    ("demo-ines", "goods.other", "loan", "Board games library", 0, {"deposit": 30}),
    ("demo-ines", "pooled.object", "credits", "Shared projector (per hour)", 2, {}),
    ("demo-jules", "sharing.meal", "credits", "Friday shared meal", 5, {"seats": 8}),
    ("demo-jules", "knowledge.cooking", "gift", "Vegan cooking tips", 0, {}),
    ("demo-jules", "knowledge.other", "credits", "Sourdough workshop", 8, {}),
    ("demo-hugo", "pro.other", "credits", "Translation FR-NL (professional)", 60, {}),
    # French titles, to search (GET /listings?community=...&q=perceuse)
    ("demo-amelie", "goods.tools", "loan", "Perceuse à percussion", 2, {"deposit": 40}),
    ("demo-bastien", "goods.toys", "gift", "Vélo d'enfant 16 pouces", 0, {}),
    ("demo-chloe", "goods.books", "swap", "Romans policiers et bandes dessinées", 0, {}),
    ("demo-farid", "goods.tools", "credits", "Tondeuse à gazon électrique", 4, {}),
    ("demo-gaelle", "services.gardening", "credits", "Taille de haies et désherbage", 18, {}),
)
DEMO_REQUESTS = (
    ("demo-amelie", "services.other", "credits", "Looking for help to paint a room", 35),
    ("demo-farid", "goods.tools", "credits", "Need a ladder for a day", 5),
)


def seed_listings() -> dict[str, str]:
    """Listings of every category (each created unless its title exists), then a few exchanges
    (unless the demo booking, the last of them, exists). Returns the offers' ids by title."""
    assert {category for _, category, *_ in DEMO_LISTINGS} == set(CATEGORIES)
    soon = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    members_by_id = {demo.member_id: demo for demo in DEMO_MEMBERS}
    existing = {
        listing.title: listing.listing_id
        for demo in DEMO_MEMBERS
        for listing in listings.by_owner(demo.member_id, demo.member_id, None, 100)[0]
    }
    for listing_id in existing.values():  # published before keyword search, by an earlier run
        listings.index_listing_keywords(listing_id)
    created: dict[str, str] = {}
    for owner, category, mode, title, price, extra in DEMO_LISTINGS:
        created[title] = existing.get(title) or _listing(
            members_by_id[owner], Kind.OFFER, category, Mode(mode), title, price, extra, soon
        )
    for owner, category, mode, title, price in DEMO_REQUESTS:
        if title not in existing:
            _listing(members_by_id[owner], Kind.REQUEST, category, Mode(mode), title, price, {}, soon)
    if not exchanges.my_exchanges("demo-bastien", "proposer", None, 1)[0]:
        _seed_exchanges(created, soon)
    return created


def _seed_exchanges(created: dict[str, str], soon: datetime) -> None:
    lesson = exchanges.propose("demo-amelie", created["Guitar lesson, 1 hour"], None, None, "Tuesday 18:00?", None)
    bastien = Principal("demo-bastien", frozenset())
    exchanges.act(bastien, lesson.exchange_id, Action.ACCEPT)
    exchanges.act(Principal("demo-amelie", frozenset()), lesson.exchange_id, Action.CONFIRM)
    exchanges.act(bastien, lesson.exchange_id, Action.CONFIRM)
    exchanges.propose("demo-david", created["Babysitting, Saturday evening"], None, None, "", None)
    exchanges.propose("demo-david", created["Old acoustic guitar"], 70, None, "Would you take 70?", None)
    drill = exchanges.propose(
        "demo-chloe", created["Cordless drill"], None, None, "For the weekend", clock.iso(soon + timedelta(days=3))
    )
    exchanges.act(Principal("demo-amelie", frozenset()), drill.exchange_id, Action.ACCEPT)
    exchanges.join_share("demo-amelie", created["Carpool Genève - Lausanne, 8:00"])
    exchanges.book("demo-bastien", created["Shared electric car (per hour)"], soon, soon + timedelta(hours=3))


def _listing(
    demo: DemoMember,
    kind: Kind,
    category: str,
    mode: Mode,
    title: str,
    price: int,
    extra: dict[str, Any],
    soon: datetime,
) -> str:
    community = communities.find_by_slug(demo.community)
    assert community is not None
    draft = ListingDraft(
        kind=kind,
        category=category,
        mode=mode,
        title=title,
        description=f"{title}. Ask {demo.name} for details.",
        community_id=community.community_id,
        status=Status.ACTIVE,
        price=price,
        deposit=extra.get("deposit", 0),
        tags=tuple(demo.skills[:2]),
        location=demo.location,
        seats=extra.get("seats", 0),
        event_at=clock.iso(soon) if CATEGORIES[category] is Family.COST_SHARING else None,
    )
    return listings.create_listing(demo.member_id, draft).listing_id


# Reviews: completed exchanges reviewed by both members (published together), and one reviewed by its
# provider alone: sealed, it waits in Amélie's GET /me/reviews/pending (the other member has reviewed).


@dataclass(frozen=True)
class DemoReview:
    author_id: str
    rating: int
    comment: str
    kind_words: tuple[KindWord, ...]
    private_note: str = ""


@dataclass(frozen=True)
class ReviewedExchange:
    proposer_id: str  # the receiver: buys the offer (or takes the gift)
    title: str  # the offer's
    message: str  # with the proposer and the listing, tells the exchange apart on a second run
    reviews: tuple[DemoReview, ...]


PUNCTUAL, FRIENDLY, AS_DESCRIBED = KindWord.PUNCTUAL, KindWord.FRIENDLY, KindWord.AS_DESCRIBED
TEACHER, RELIABLE, GENEROUS, CAREFUL = KindWord.GREAT_TEACHER, KindWord.RELIABLE, KindWord.GENEROUS, KindWord.CAREFUL

DEMO_REVIEWED = (
    ReviewedExchange(
        "demo-chloe",
        "Wooden train set",
        "Pour mes deux petits, si le train est toujours libre !",
        (
            DemoReview(
                "demo-chloe",
                5,
                "Un train en bois magnifique, complet et bien entretenu : mes enfants jouent avec tous les jours. "
                "Merci Amélie !",
                (GENEROUS, AS_DESCRIBED),
                "Si tu cherches des habits 4-6 ans, j'en ai encore.",
            ),
            DemoReview("demo-amelie", 5, "Très sympa, ponctuelle au rendez-vous à Plainpalais.", (PUNCTUAL, FRIENDLY)),
        ),
    ),
    ReviewedExchange(
        "demo-david",
        "Guitar lesson, 1 hour",
        "Un cours jeudi soir pour débuter ?",
        (
            DemoReview(
                "demo-david",
                5,
                "Super cours : Bastien explique avec patience, j'ai enfin réussi mes premiers accords barrés.",
                (TEACHER, PUNCTUAL),
            ),
            DemoReview(
                "demo-bastien",
                4,
                "Élève motivé, bonne ambiance. Un peu en retard, mais il avait prévenu.",
                (FRIENDLY,),
                "Pense à couper tes ongles de la main gauche ;)",
            ),
        ),
    ),
    ReviewedExchange(
        "demo-elodie",
        "Bike repair (professional)",
        "Mes freins frottent et le dérailleur saute, tu pourrais regarder ?",
        (
            DemoReview(
                "demo-elodie",
                5,
                "Vélo comme neuf : freins et dérailleur réglés en une heure, avec des explications. Travail soigné.",
                (RELIABLE, AS_DESCRIBED),
            ),
            DemoReview(
                "demo-farid", 5, "Vélo apporté à l'heure, échange simple et agréable. Au plaisir !", (PUNCTUAL,)
            ),
        ),
    ),
    ReviewedExchange(
        "demo-gaelle",
        "Maths homework help",
        "Mon fils bloque sur les fractions, mercredi après-midi ?",
        (
            DemoReview(
                "demo-gaelle",
                5,
                "Mon fils a repris confiance en maths. Merci Élodie pour ta pédagogie et ta patience !",
                (TEACHER, FRIENDLY),
            ),
            DemoReview(
                "demo-elodie", 5, "Accueil chaleureux, et des tomates du jardin en prime !", (GENEROUS, FRIENDLY)
            ),
        ),
    ),
    ReviewedExchange(
        "demo-ines",
        "Dutch conversation, 1 hour",
        "J'aimerais pratiquer mon néerlandais avant un voyage à Gand.",
        (
            DemoReview(
                "demo-ines",
                4,
                "Conversation agréable et bien préparée. J'aurais aimé un peu plus d'exercices écrits.",
                (TEACHER,),
            ),
            DemoReview("demo-hugo", 5, "Très motivée, elle progresse vite. Tot ziens !", (PUNCTUAL, FRIENDLY)),
        ),
    ),
    ReviewedExchange(
        "demo-hugo",
        "Sourdough workshop",
        "Une place à l'atelier levain de vendredi ?",
        (
            DemoReview(
                "demo-hugo",
                5,
                "Atelier levain génial : je repars avec mon propre levain, la recette et une miche encore tiède.",
                (GENEROUS, TEACHER),
            ),
            DemoReview("demo-jules", 5, "Participant attentif, il a même fait la vaisselle !", (FRIENDLY, CAREFUL)),
        ),
    ),
    ReviewedExchange(  # sealed: Chloé has reviewed, Amélie has not yet
        "demo-amelie",
        "Babysitting, Saturday evening",
        "Samedi soir de 19h à minuit, pour Léo et Zoé ?",
        (
            DemoReview(
                "demo-chloe",
                5,
                "Enfants adorables, consignes claires, retour à l'heure prévue. Merci Amélie !",
                (PUNCTUAL, FRIENDLY),
            ),
        ),
    ),
)


def seed_reviews(offers: dict[str, str]) -> None:
    """Each demo exchange proposed unless it exists, brought to completion from where it stands, then
    reviewed by each of its authors who has not reviewed it yet."""
    for demo in DEMO_REVIEWED:
        exchange, just_completed = _completed(demo, offers[demo.title])
        if exchange.state not in (State.COMPLETED, State.RESOLVED):
            continue  # cancelled or disputed meanwhile (by hand or a job): left as it is
        for review in demo.reviews:
            if not just_completed:  # its round may hold this author's review already
                _, seen = reviews.exchange_reviews(review.author_id, exchange.exchange_id)
                if any(found.author_id == review.author_id for found in seen):
                    continue
            draft = Draft(review.rating, review.comment, review.kind_words, review.private_note)
            reviews.submit_review(review.author_id, exchange.exchange_id, draft)


def _completed(demo: ReviewedExchange, listing_id: str) -> tuple[Exchange, bool]:
    """The demo's trade, proposed once, accepted and confirmed by both members (each step unless done),
    and whether it completed just now (its review round is then empty)."""
    proposed, _ = exchanges.my_exchanges(demo.proposer_id, "proposer", None, 100)
    found = [x for x in proposed if x.listing_id == listing_id and x.message == demo.message]
    exchange = found[0] if found else exchanges.propose(demo.proposer_id, listing_id, None, None, demo.message, None)
    proposer, owner = Principal(exchange.proposer_id, frozenset()), Principal(exchange.owner_id, frozenset())
    if exchange.state is State.PROPOSED:
        exchange = exchanges.act(owner, exchange.exchange_id, Action.ACCEPT)
    just_completed = False
    for member in (proposer, owner):
        if exchange.state is State.ACCEPTED and member.member_id not in exchange.confirmed_by:
            exchange = exchanges.act(member, exchange.exchange_id, Action.CONFIRM)
            just_completed = exchange.state is State.COMPLETED
    return exchange, just_completed


# Governance: three colleges, cooperators placed by the operator (and one request waiting in their
# queue), a standing proxy, one open yes/no ballot, one closed budget that funded its winning projects
# and one closed election whose winners are spokespeople (closed rather than scheduled, so
# GET /governance/spokespeople shows them).

DEMO_COLLEGES = (
    College("users", "Usagers / Users", 50),
    College("pros", "Professionnels locaux / Local professionals", 30),
    College("founders", "Fondateurs / Founders", 20),
)
DEMO_COOPERATORS = {
    "demo-amelie": "users",
    "demo-bastien": "users",
    "demo-chloe": "users",
    "demo-david": "users",
    "demo-elodie": "users",
    "demo-gaelle": "users",
    "demo-farid": "pros",
    "demo-hugo": "pros",
    "demo-jules": "pros",
    OPERATOR_ID: "founders",
}
DEMO_COLLEGE_REQUEST = ("demo-ines", "users")  # waits for an operator's approval
DEMO_PROXY = ("demo-chloe", "demo-bastien")  # Chloé's vote, given to Bastien until she revokes it


@dataclass(frozen=True)
class DemoVote:
    voter_id: str
    options: tuple[str, ...]
    on_behalf_of: str | None = None  # the principal, when the voter holds their proxy


@dataclass(frozen=True)
class DemoBallot:
    title: str
    description: str
    rules: Rules
    votes: tuple[DemoVote, ...]
    open_for: timedelta  # from its creation to its close
    closed: bool  # closed by the seed as soon as its votes are in (a ballot cannot be created in the past)
    candidates: tuple[str, ...] = ()  # an election's, who stand before it opens


def _votes(*cast: tuple[str, str]) -> tuple[DemoVote, ...]:
    return tuple(DemoVote(voter, tuple(options.split())) for voter, options in cast)


CLOSING_SOON = timedelta(minutes=1)  # time enough for the seed's votes; results follow at once

# Amélie (the demo member of scripts/run) and the operator have not voted: they may, with their tokens.
DEMO_OPEN_BALLOT = DemoBallot(
    "Allonger la fenêtre d'avis à 21 jours",
    "Laisser trois semaines au lieu de deux pour publier un avis après un échange.",
    Rules(
        kind=BallotKind.YES_NO,
        quorum_percent=30,
        decision=Decision(parameter=Governed.REVIEW_WINDOW_DAYS, value=21),
    ),
    (
        *_votes(("demo-bastien", "yes"), ("demo-david", "no"), ("demo-elodie", "yes")),
        DemoVote("demo-bastien", ("yes",), on_behalf_of="demo-chloe"),
        *_votes(("demo-farid", "yes"), ("demo-hugo", "no"), ("demo-jules", "abstain")),
    ),
    timedelta(days=7),
    closed=False,
)

DEMO_BUDGET_PROJECTS = (
    Option("compost", "Bac à compost partagé", 250),
    Option("grainotheque", "Grainothèque", 120),
    Option("velo", "Atelier réparation vélo", 300),
    Option("boites-livres", "Boîtes à livres", 180),
)
# Weighted by college, compost and the bike workshop lead and fill 550 of the 600 credits: the seed
# library comes next but no longer fits.
DEMO_BUDGET = DemoBallot(
    "Budget participatif : 600 crédits pour les projets de quartier",
    "Choisissez les projets à financer depuis la cagnotte des récompenses, dans la limite de 600 crédits.",
    Rules(
        kind=BallotKind.BUDGET,
        options=DEMO_BUDGET_PROJECTS,
        budget=600,
        decision=Decision(funding_account=PlatformAccount.REWARDS_POOL.value),
    ),
    _votes(
        ("demo-amelie", "compost grainotheque"),
        ("demo-bastien", "compost velo"),
        ("demo-chloe", "compost grainotheque"),
        ("demo-david", "velo compost"),
        ("demo-elodie", "grainotheque boites-livres"),
        ("demo-gaelle", "compost grainotheque"),
        ("demo-farid", "velo compost"),
        ("demo-hugo", "velo boites-livres"),
        ("demo-jules", "compost grainotheque"),
        (OPERATOR_ID, "compost velo"),
    ),
    CLOSING_SOON,
    closed=True,
)

# Two seats: Amélie and Farid are elected (Gaëlle's votes come from the users' college alone).
DEMO_ELECTION = DemoBallot(
    "Élection des porte-parole de la coopérative",
    "Deux porte-parole pour un an, qui représentent la coopérative auprès des communes et partenaires.",
    Rules(kind=BallotKind.ELECTION, seats=2, decision=Decision(term_days=365)),
    _votes(
        ("demo-amelie", "demo-amelie demo-gaelle"),
        ("demo-bastien", "demo-amelie"),
        ("demo-chloe", "demo-gaelle demo-amelie"),
        ("demo-david", "demo-farid"),
        ("demo-elodie", "demo-amelie"),
        ("demo-gaelle", "demo-gaelle"),
        ("demo-farid", "demo-farid"),
        ("demo-hugo", "demo-farid demo-amelie"),
        ("demo-jules", "demo-farid"),
        (OPERATOR_ID, "demo-amelie demo-farid"),
    ),
    CLOSING_SOON,
    closed=True,
    candidates=("demo-amelie", "demo-farid", "demo-gaelle"),
)
DEMO_BALLOTS = (DEMO_OPEN_BALLOT, DEMO_BUDGET, DEMO_ELECTION)


def seed_governance() -> None:
    """The colleges unless some are defined, each cooperator placed unless placed already, the request
    and the proxy unless there, then each demo ballot created unless its title exists, and taken from
    where it stands: opened, voted (each vote unless cast) and, for the closed ones, closed."""
    if not governance.colleges():
        governance.set_colleges(OPERATOR_ID, list(DEMO_COLLEGES), "Demo statutes")
    active = {cooperator.member_id for cooperator in _all_cooperators(CooperatorStatus.ACTIVE)}
    for member_id, college_id in DEMO_COOPERATORS.items():
        if member_id not in active:  # a cooperator moved by hand meanwhile stays where they are
            governance.place(OPERATOR_ID, member_id, college_id, "Demo general assembly")
    requester, college_id = DEMO_COLLEGE_REQUEST
    if _cooperator(requester) is None:  # approved by hand meanwhile: left as it is
        governance.request_college(requester, college_id)
    principal, holder = DEMO_PROXY
    if not any(proxy.ballot_id is None for proxy in governance.proxies(principal)[0]):
        governance.give_proxy(principal, holder, None)
    existing = _ballots_by_title()
    for demo in DEMO_BALLOTS:
        _seed_ballot(demo, existing.get(demo.title))


def _cooperator(member_id: str) -> Cooperator | None:
    try:
        return governance.cooperator(member_id)
    except errors.NotFound:
        return None


def _all_cooperators(status: CooperatorStatus) -> list[Cooperator]:
    found: list[Cooperator] = []
    cursor: str | None = None
    while True:
        page, cursor = governance.cooperators(status, cursor, 100)
        found.extend(page)
        if cursor is None:
            return found


def _ballots_by_title() -> dict[str, str]:
    found: dict[str, str] = {}
    for state in BallotState:
        cursor: str | None = None
        while True:
            page, cursor = ballots.listing(state, cursor, 100)
            found.update((ballot.title, ballot.ballot_id) for ballot in page)
            if cursor is None:
                break
    return found


def _seed_ballot(demo: DemoBallot, ballot_id: str | None) -> None:
    """Created unless found; opened (its candidates standing first) if scheduled; then, while open, its
    votes (on a ballot found open, only those an interrupted run did not cast) and, if the demo wants it
    closed, the close."""
    if ballot_id is None:
        now = clock.now()
        draft = ballots.BallotDraft(
            demo.title, demo.description, demo.rules, clock.iso(now), clock.iso(now + demo.open_for)
        )
        if demo.rules.kind is BallotKind.BUDGET:
            _fund_pool(demo.rules.budget)
        ballot_id = ballots.create(OPERATOR_ID, draft, "Demo data").ballot_id
    ballot: Ballot = ballots.get(ballot_id)
    opened_now = ballot.state is BallotState.SCHEDULED
    if opened_now:
        for candidate in demo.candidates:
            ballot = ballots.stand_in(candidate, ballot_id)
        ballot = ballots.open_ballot(ballot)
    if ballot.state is not BallotState.OPEN:
        return
    for cast in demo.votes:
        if clock.now_iso() >= ballot.closes_at:
            break
        if opened_now or not ballots.my_vote(cast.on_behalf_of or cast.voter_id, ballot_id).voted:
            ballots.cast(cast.voter_id, ballot_id, Choice(options=cast.options), cast.on_behalf_of)
    if demo.closed:  # at a moment past its close and the grace, as the scheduled job would
        grace = timedelta(seconds=settings().ballot_close_grace_seconds + 1)
        ballots.close(ballot_id, clock.iso(clock.parse(ballot.closes_at) + grace))


def _fund_pool(budget: int) -> None:
    """The rewards pool funds the budget's winners: topped up (once) if it ever holds less than the budget."""
    if ledger.balance(PlatformAccount.REWARDS_POOL.value).available < budget:
        rewards.fund_rewards_pool(OPERATOR_ID, budget, "Demo participatory budget", "demo-pool-budget")


# Missions: two open micro-actions in each community, posted by its ambassador (Amélie, in Plainpalais)
# or the operator; in each, the first has a claim a member submitted, waiting for the poster's approval.


@dataclass(frozen=True)
class DemoMission:
    title: str
    description: str  # "{community}": the community's name
    reward: int
    places: int


DEMO_MISSIONS = (
    DemoMission(
        "Accueillir un nouveau membre",
        "Faire visiter {community} à un nouveau membre, lui présenter deux voisins et l'aider à publier sa "
        "première annonce.",
        15,
        3,
    ),
    DemoMission(
        "Photographier le marché de quartier",
        "Trois photos du marché de {community} (étals, producteurs, ambiance) pour la page de la communauté, "
        "avec l'accord des personnes photographiées.",
        10,
        2,
    ),
)
DEMO_MISSION_POSTERS = {"geneve-plainpalais": "demo-amelie"}  # elsewhere: the operator
DEMO_MISSION_CLAIMS = {  # the community's first mission, claimed and submitted by this member
    "geneve-plainpalais": ("demo-bastien", "J'ai fait visiter le quartier à Sofia samedi, café compris."),
    "lausanne-sous-gare": ("demo-elodie", "Accueil de Marc mardi : tour de la gare et de l'atelier vélo."),
    "liege-outremeuse": ("demo-ines", "Visite d'Outremeuse avec Lotte et Pieter, et leur première annonce."),
}
MISSION_DAYS = 30


def mission_poster(slug: str) -> Principal:
    ambassador = DEMO_MISSION_POSTERS.get(slug)
    if ambassador is not None:
        return Principal(ambassador, frozenset())
    return Principal(OPERATOR_ID, frozenset({"operators"}))


def seed_missions(community_ids: dict[str, str]) -> None:
    """Each demo mission posted unless an open one of its community has its title; then the first one's
    claim taken from where it stands (claimed unless claimed, submitted while only claimed)."""
    deadline = clock.iso(clock.now() + timedelta(days=MISSION_DAYS))
    for name, slug, _, _ in DEMO_COMMUNITIES:
        community_id, poster = community_ids[slug], mission_poster(slug)
        found = {mission.title: mission.mission_id for mission in missions.open_missions(community_id, None, 100)[0]}
        posted = []
        for demo in DEMO_MISSIONS:
            mission_id = found.get(demo.title)
            if mission_id is None:
                description = demo.description.format(community=name)
                draft = MissionDraft(demo.title, description, demo.reward, demo.places, deadline, community_id)
                mission_id = missions.post(poster, draft).mission_id
            posted.append(mission_id)
        member_id, text = DEMO_MISSION_CLAIMS[slug]
        claims = {claim.member_id: claim for claim in missions.claims(poster, posted[0])}
        claim = claims.get(member_id) or missions.claim(member_id, posted[0])
        if claim.state is ClaimState.CLAIMED:
            missions.submit(member_id, posted[0], text)


# The fee schedule: a version set by the operator unless one is stored (changed by hand or by a ballot
# meanwhile: left as it is), applying after the notice.

DEMO_FEES = {Operation.PUBLISH_LISTING: 2, Operation.PUBLISH_PROFESSIONAL: 10}
DEMO_FREE_LISTINGS = 5
DEMO_FEATURE_DAYS = 7


def seed_fees() -> None:
    if len(fees.schedule()) > 1:  # version 0 is configuration; a stored version is there
        return
    effective = clock.now() + fees.notice() + timedelta(seconds=5)
    fees.change(
        OPERATOR_ID,
        DEMO_FEES,
        DEMO_FREE_LISTINGS,
        feature_days=DEMO_FEATURE_DAYS,
        effective_at=effective,
        reason="Demo schedule: five free listings a month",
    )


# Last month, in Plainpalais: three paid publications under the demo schedule (then in force), an
# ambassador's two moderation decisions and an approved mission, then the month's value sharing. The
# services read time from `clock.now`, pointed at last month meanwhile: the facts carry last month's
# dates, as they would have, and the ledger reconciles.

LAST_MONTH_FEE = 10
LAST_MONTH_LISTINGS = (
    ("demo-bastien", "Vide-grenier : lot de partitions", "goods.books"),
    ("demo-chloe", "Poussette double", "goods.other"),
    ("demo-david", "Porte-vélos de toit", "goods.other"),
)
LAST_MONTH_MISSION = ("Ranger la grainothèque", "Trier et étiqueter les graines déposées ce mois-ci.", 12)


@contextmanager
def _as_of(moment: datetime) -> Iterator[None]:
    real = clock.now
    clock.now = lambda: moment
    fees.reset()
    try:
        yield
    finally:
        clock.now = real
        fees.reset()


def seed_last_month(community_id: str) -> None:
    """Once: nothing happens if last month's statement exists, or if a fee version is stored already
    (a schedule changed by hand must not be rewritten into the past)."""
    first_of_month = clock.now().replace(day=1, hour=10, minute=0, second=0, microsecond=0)
    start = first_of_month - timedelta(days=20)
    month = clock.iso(start)[:7]
    if value_sharing.share_last_month_exists(month) or len(fees.schedule()) > 1:
        return
    with _as_of(start):
        fees.change(
            OPERATOR_ID,
            {Operation.PUBLISH_LISTING: LAST_MONTH_FEE},
            0,
            feature_days=DEMO_FEATURE_DAYS,
            effective_at=start + fees.notice() + timedelta(seconds=1),
            reason="Demo: last month's prices",
        )
    with _as_of(start + timedelta(hours=1)):
        published = [
            _listing_of(owner, title, category, community_id) for owner, title, category in LAST_MONTH_LISTINGS
        ]
        ambassador = Principal("demo-amelie", frozenset())
        listings.set_hidden(ambassador, published[0], True, "Doublon signalé par un voisin")
        listings.set_hidden(ambassador, published[0], False, "Pas un doublon après vérification")
        title, description, reward = LAST_MONTH_MISSION
        deadline = clock.iso(clock.now() + timedelta(days=7))
        draft = MissionDraft(title, description, reward, 1, deadline, community_id)
        mission_id = missions.post(Principal(OPERATOR_ID, frozenset({"operators"})), draft).mission_id
        missions.claim("demo-david", mission_id)
        missions.submit("demo-david", mission_id, "Grainothèque rangée : 40 sachets triés et étiquetés.")
        missions.approve(ambassador, mission_id, "demo-david")
        fees.change(
            OPERATOR_ID,
            DEMO_FEES,
            DEMO_FREE_LISTINGS,
            feature_days=DEMO_FEATURE_DAYS,
            effective_at=clock.now() + fees.notice() + timedelta(seconds=1),
            reason="Demo schedule: five free listings a month",
        )
    value_sharing.share_month(month)


HISTORY_MONTHS = 5  # months of past activity, so the public books and their charts show a trend
HISTORY_DAYS = (3, 10, 17, 24)  # the days of each month something happened


def seed_books_history() -> None:
    """A few rewards and payments on a few days of each of the last months, at their own dates: the
    books' figures come from the facts' times, so the reconciliation's first run (two minutes after the
    start, locally) publishes those days and months. Idempotent by the transfers' ids."""
    today = clock.now().replace(hour=10, minute=0, second=0, microsecond=0)
    first_month = (today.replace(day=1) - timedelta(days=31 * HISTORY_MONTHS)).replace(day=1)
    members = [demo.member_id for demo in DEMO_MEMBERS]
    for months_ago in range(HISTORY_MONTHS, 0, -1):
        month = (first_month + timedelta(days=31 * (HISTORY_MONTHS - months_ago))).replace(day=1)
        for number, day in enumerate(HISTORY_DAYS):
            moment = month.replace(day=day)
            key = moment.date().isoformat()
            with _as_of(moment):
                rewarded = members[(number + months_ago) % len(members)]
                amount = 4 + 3 * (HISTORY_MONTHS - months_ago) + number
                rewards.reward_member(OPERATOR_ID, rewarded, amount, "community_help", "Coup de main", f"history-{key}")
                payer, payee = members[number % len(members)], members[(number + 1) % len(members)]
                payments.pay_member(payer, payee, 2 + number, TransferKind.TIP, "Merci !", f"history-{key}")


def _listing_of(owner_id: str, title: str, category: str, community_id: str) -> str:
    draft = ListingDraft(
        kind=Kind.OFFER,
        category=category,
        mode=Mode.GIFT,
        title=title,
        description="",
        community_id=community_id,
        status=Status.ACTIVE,
    )
    return listings.create_listing(owner_id, draft).listing_id

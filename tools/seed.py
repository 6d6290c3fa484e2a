"""Demo data for the local stack, written through the services so every invariant holds.
Idempotent: every id is fixed, so a second run finds everything in place and changes nothing."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.auth import Principal
from chalicelib.domain.ledger import TransferKind
from chalicelib.services import communities, ledger, members, payments, rewards

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

"""Request and response bodies. Constraints here are the API's contract: the OpenAPI document
is generated from these types and every request is validated against them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType, field

from chalicelib import errors
from chalicelib.domain.geo import END, GEOHASH_PATTERN, MAX_MEMBER_PRECISION
from chalicelib.domain.listings import CATEGORIES
from chalicelib.domain.members import IDENTIFIER_PATTERN
from chalicelib.domain.notifications import UNREAD_LOOKED_AT
from chalicelib.domain.notifications import Kind as NotificationKind
from chalicelib.services.home import BALLOTS, PENDING_SHOWN, RECENT

T = TypeVar("T")
Out = TypeVar("Out", bound=Struct)

# Control characters (and U+FFFD, the mark of text that was not UTF-8) make no sense in any text here.
CONTROL = r"\x00-\x1f\x7f-\x9f\ufffd"
LINE = f"^[^{CONTROL}]*{END}"  # one line of text
TEXT = rf"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]*{END}"  # tabs and line breaks allowed
NAME = rf"^[^{CONTROL}]*[^\s{CONTROL}][^{CONTROL}]*{END}"  # one line, not only spaces
VISIBLE_ASCII = f"^[!-~]+{END}"

Identifier = Annotated[str, Meta(min_length=1, max_length=64, pattern=IDENTIFIER_PATTERN)]
DisplayName = Annotated[str, Meta(min_length=1, max_length=60, pattern=NAME, description="One line, not only spaces")]
Bio = Annotated[str, Meta(max_length=500, pattern=TEXT)]
Language = Annotated[str, Meta(pattern=f"^[a-z]{{2}}{END}", description="ISO 639-1 code, e.g. fr")]
Tag = Annotated[str, Meta(min_length=1, max_length=30, pattern=rf"^[\w\- ]+{END}")]
CoarseLocation = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=MAX_MEMBER_PRECISION,
        pattern=GEOHASH_PATTERN,
        description="Geohash of at most 5 characters (~5 km): exact coordinates are refused.",
    ),
]
AreaCell = Annotated[str, Meta(min_length=3, max_length=5, pattern=GEOHASH_PATTERN)]
SearchCell = Annotated[str, Meta(min_length=3, max_length=5, pattern=GEOHASH_PATTERN)]
Slug = Annotated[str, Meta(min_length=2, max_length=50, pattern=f"^[a-z0-9]+(-[a-z0-9]+)*{END}")]
CommunityName = Annotated[str, Meta(min_length=2, max_length=80, pattern=NAME, description="One line, not only spaces")]
Cursor = Annotated[
    str,
    Meta(
        max_length=2048, description="Opaque: a previous page's next_cursor; any other value is a 400 `invalid-cursor`."
    ),
]
PageLimit = Annotated[int, Meta(ge=1, le=100)]
Timestamp = Annotated[str, Meta(description="ISO 8601 UTC time")]


class Page(Struct, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def project(value: object, schema: type[Out]) -> Out:
    """A domain object as its API schema, attribute by attribute (the schema names what is shown)."""
    return msgspec.convert(value, schema, from_attributes=True)


def project_each(values: Sequence[object], schema: type[Out]) -> list[Out]:
    """`project` of each value, in one conversion (a page's items)."""
    return msgspec.convert(values, list[schema], from_attributes=True)  # type: ignore[valid-type]


class Header(Struct, frozen=True):
    """A request header an operation reads: checked by the dispatcher, declared in the OpenAPI document."""

    name: str
    type: Any
    description: str
    required: bool = False
    refusal: type[errors.Malformed] = errors.Malformed


IDEMPOTENCY_KEY = Header(
    "Idempotency-Key",
    Annotated[str, Meta(min_length=1, max_length=128, pattern=VISIBLE_ASCII)],
    "1 to 128 visible ASCII characters (no spaces). The same key and body replay the first response "
    "(24 h); the same key with another body is a 422 `idempotency-key-reused`; while the first request "
    "runs, a 409. An empty or malformed key is a 400.",
)
STRIPE_SIGNATURE = Header(
    "Stripe-Signature",
    Annotated[str, Meta(min_length=1, max_length=1024, pattern=VISIBLE_ASCII)],
    "Stripe's signature of the raw body (t=<timestamp>,v1=<hex>); missing, malformed, too old or not "
    "matching: a 400 `invalid-signature`.",
    required=True,
    refusal=errors.InvalidSignature,
)


class PageQuery(Struct, forbid_unknown_fields=True):
    cursor: Cursor | None = None
    limit: PageLimit = 20


class Health(Struct):
    status: str
    stage: str


class MemberProfile(Struct):
    """The member's own profile."""

    member_id: str = field(name="id")
    display_name: str
    bio: str
    languages: list[str]
    skills: list[str]
    home_community_id: str | None
    location: str | None
    community_ids: list[str]
    created_at: Timestamp
    profile_visibility: ProfileVisibility


ProfileVisibility = Annotated[
    Literal["communities", "members"],
    Meta(
        description="Who sees your whole profile (bio, languages, skills, home community): `communities`, the "
        "members of your communities (the default), or `members`, every member. Others see your name and reputation."
    ),
]


class PublicProfile(Struct):
    """What a member sees of another: no contact details, no location finer than the community; `limited`,
    the name and reputation only (the member shows the rest to their communities' members)."""

    member_id: str = field(name="id")
    display_name: str
    bio: str
    languages: list[str]
    skills: list[str]
    home_community_id: str | None
    created_at: Timestamp
    reviews: ReviewSummaryOut | None = None  # the member's reputation
    limited: bool = False


class ProfileChanges(Struct, forbid_unknown_fields=True, omit_defaults=True):
    display_name: DisplayName | UnsetType = UNSET
    bio: Bio | UnsetType = UNSET
    languages: Annotated[list[Language], Meta(max_length=10)] | UnsetType = UNSET
    skills: Annotated[list[Tag], Meta(max_length=20)] | UnsetType = UNSET
    home_community_id: Identifier | UnsetType | None = UNSET
    location: CoarseLocation | UnsetType | None = UNSET
    profile_visibility: ProfileVisibility | UnsetType = UNSET

    def changes(self) -> dict[str, object]:
        return {name: value for name, value in msgspec.structs.asdict(self).items() if value is not UNSET}


class ErasureConfirmation(Struct, forbid_unknown_fields=True):
    confirm: Annotated[str, Meta(max_length=80, description="`erase ` followed by your member id, e.g. `erase 4f1c…`")]


class ErasureOut(Struct):
    """The receipt of an erasure; a repeated request answers the same."""

    member_id: str = field(name="id")
    erased_at: Timestamp
    forfeited_credits: int  # moved to the rewards pool: credits never turn into money
    forfeit_transfer_id: str | None  # the ledger's record of it (none when the wallet was empty)
    identity_account: Literal["deleted", "delete-at-provider"]


class NewCommunity(Struct, forbid_unknown_fields=True):
    name: CommunityName
    slug: Slug
    area: Annotated[list[AreaCell], Meta(min_length=1, max_length=50)]
    languages: Annotated[list[Language], Meta(max_length=10)] = []


class CommunityOut(Struct):
    id: str
    name: str
    slug: str
    area: list[str]
    languages: list[str]
    member_count: int
    created_at: Timestamp


class CommunitySearch(Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=80)] | None = None
    near: SearchCell | None = None
    cursor: Cursor | None = None
    limit: PageLimit = 20

    def __post_init__(self) -> None:
        if (self.name is None) == (self.near is None):
            raise ValueError("communities.give-exactly-one-name")


class MembershipOut(Struct):
    community_id: str
    member_id: str
    role: str
    joined_at: Timestamp


class CommunityMember(Struct):
    member_id: str
    display_name: str
    role: str
    joined_at: Timestamp


PeopleCount = Annotated[int | None, Meta(description="Null: fewer people than the statistics' threshold (5)")]


class CommunityStatsOut(Struct):
    community_id: str
    members: PeopleCount
    active_members_30d: PeopleCount


# Ledger

Credits = Annotated[
    int,
    Meta(
        ge=1,
        le=1_000_000_000,
        description="Whole credits. A deployment's ceiling (PWIIC_MAX_TRANSFER_AMOUNT, 100 000 by default) is "
        "lower: above it, a 422 `invalid-amount`.",
    ),
]
ClientId = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_\-]+$",
        description="Your own id for this operation: retrying with it never moves credits twice.",
    ),
]
Memo = Annotated[
    str, Meta(max_length=80, pattern=LINE, description="Up to 80 characters: a transfer record stays under 1 KB.")
]
Note = Annotated[str, Meta(min_length=1, max_length=200, pattern=TEXT)]
Month = Annotated[str, Meta(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")]
AccountId = Annotated[str, Meta(min_length=1, max_length=200)]


class Wallet(Struct):
    account_id: str
    posted: int
    held: int
    available: int
    frozen: bool


class StatementEntry(Struct):
    """One posted movement; `amount` is signed from the account's side."""

    transfer_id: str
    amount: int
    balance_after: int
    counterparty_account: str
    counterparty_name: str
    kind: str
    reason: str
    memo: str
    refs: dict[str, str]
    created_at: Timestamp


class NewTransfer(Struct, forbid_unknown_fields=True):
    to_member_id: Identifier
    amount: Credits
    kind: Literal["payment", "tip"] = "payment"
    memo: Memo = ""
    transfer_id: ClientId | None = None


class TransferOut(Struct):
    id: str
    from_account: str
    to_account: str
    amount: int
    kind: str
    reason: str
    memo: str
    created_at: Timestamp
    replayed: bool


class NewReward(Struct, forbid_unknown_fields=True):
    member_id: Identifier
    amount: Credits
    reason_code: Literal["welcome_newcomer", "moderation", "local_event", "community_help", "other"]
    note: Note
    reward_id: ClientId | None = None


class NewFunding(Struct, forbid_unknown_fields=True):
    amount: Credits
    note: Note
    funding_id: ClientId | None = None


class FundingOut(Struct):
    funding_id: str
    amount: int
    transfers: list[TransferOut]


class AccountOut(Struct):
    account_id: str
    posted: int
    held: int
    available: int
    frozen: bool
    shards: list[str]


class AuditQuery(Struct, forbid_unknown_fields=True):
    month: Month | None = None
    cursor: Cursor | None = None
    limit: PageLimit = 20


class AuditEntryOut(Struct):
    id: str
    operator_id: str
    action: str
    target: str
    reason: str
    details: dict[str, str]
    at: Timestamp


class MismatchOut(Struct):
    account_id: str
    check: str
    expected: int
    actual: int


class ReconciliationOut(Struct):
    at: Timestamp
    balanced: bool
    accounts: Annotated[int, Meta(description="Balances read: changed since the last run, or all (an audit)")]
    transfers: Annotated[int, Meta(description="Transfer records: new since the last run (an audit: before its base)")]
    purchases: int
    total_posted: Annotated[int, Meta(description="The sum of posted balances moved (0: double entry holds)")]
    mismatches: list[MismatchOut]


class JobRunOut(Struct):
    ended_at: Timestamp
    succeeded: bool
    duration_ms: int
    error: Annotated[str | None, Meta(description="The type of the error that ended a failed run")]
    last_success_at: Timestamp | None
    consecutive_failures: int


class JobStatusOut(Struct):
    job: str
    every_seconds: Annotated[int, Meta(description="How often AWS runs it")]
    last_run: Annotated[JobRunOut | None, Meta(description="Null: it never ran")]
    silent: Annotated[bool, Meta(description="No run ended within two periods and 5 minutes (or it never ran)")]


class ReconciliationAgeOut(Struct):
    last_at: Annotated[Timestamp | None, Meta(description="When the last report was written; null: never")]
    age_seconds: int | None
    balanced: bool | None
    overdue: Annotated[bool, Meta(description="No report within two hours and 5 minutes")]


class OperatorHealthOut(Struct):
    status: Annotated[
        Literal["ok", "attention"],
        Meta(
            description="`attention` when a job is silent or its last run failed, or the ledger's last "
            "reconciliation is missing, overdue or unbalanced"
        ),
    ]
    checked_at: Timestamp
    jobs: list[JobStatusOut]
    reconciliation: ReconciliationAgeOut


class LedgerAuditOut(Struct):
    audit_id: str
    state: Annotated[Literal["running", "finished"], Meta(description="A slice runs every minute until finished")]
    started_by: str
    started_at: Timestamp
    base_at: Annotated[
        Timestamp,
        Meta(description="What precedes it is proven by the audit; the hourly reconciliation proves the rest"),
    ]
    finished_at: Timestamp | None
    invocations: Annotated[int, Meta(description="Slices run so far")]
    seconds_max: Annotated[float, Meta(description="The longest slice, in seconds")]
    items_scanned: int
    accounts_checked: int
    accounts_to_check_again: Annotated[int, Meta(description="Moved while read: checked again after a pause")]
    report: ReconciliationOut | None


# Purchases


class CreditPackOut(Struct):
    id: str
    credits: int
    price_cents: int
    currency: str
    active: bool


class NewPurchase(Struct, forbid_unknown_fields=True):
    pack_id: Annotated[str, Meta(min_length=1, max_length=64, pattern=LINE)]


class PurchaseOut(Struct):
    purchase_id: str = field(name="id")
    pack_id: str
    credits: int
    amount_cents: int
    currency: str
    status: str
    payment_intent_id: str | None
    reversed_credits: int
    created_at: Timestamp


class StartedPurchaseOut(Struct):
    """What Stripe's Payment Element (web) and PaymentSheet (mobile) need to take the payment."""

    purchase: PurchaseOut
    payment_intent_id: str
    client_secret: str
    publishable_key: str
    amount_cents: int
    currency: str
    credits: int


class WebhookAck(Struct):
    received: bool


# Listings, exchanges, conversations

ListingTitle = Annotated[str, Meta(min_length=3, max_length=120, pattern=LINE)]
ListingText = Annotated[str, Meta(max_length=2000, pattern=TEXT, description="Plain text")]
CategoryName = Annotated[
    str,
    Meta(
        min_length=3,
        max_length=40,
        description="One of the taxonomy's categories (see the enum).",
        extra_json_schema={"enum": sorted(CATEGORIES)},
    ),
]
Price = Annotated[int, Meta(ge=0, le=100_000)]
Instant = Annotated[datetime, Meta(tz=True, description="ISO 8601 with a time zone, e.g. 2026-12-01T14:00:00Z")]
MessageBody = Annotated[str, Meta(min_length=1, max_length=2000, pattern=TEXT)]
ModerationReason = Annotated[str, Meta(min_length=3, max_length=500, pattern=TEXT)]


class NewListing(Struct, forbid_unknown_fields=True):
    kind: Literal["offer", "request"]
    category: CategoryName
    mode: Literal["credits", "swap", "credits_swap", "gift", "loan"]
    title: ListingTitle
    community_id: Identifier
    description: ListingText = ""
    price: Price = 0
    deposit: Price = 0
    tags: Annotated[list[Tag], Meta(max_length=10)] = []
    location: CoarseLocation | None = None
    status: Literal["draft", "active"] = "active"
    seats: Annotated[int, Meta(ge=0, le=50)] = 0
    event_at: Instant | None = None
    expected_fee: Annotated[
        int | None,
        Meta(
            description="The publication fee shown to the member (GET /fees/quote): if it changed, a 409 `fee-changed`"
        ),
    ] = None


class ListingChanges(Struct, forbid_unknown_fields=True, omit_defaults=True):
    title: ListingTitle | UnsetType = UNSET
    description: ListingText | UnsetType = UNSET
    price: Price | UnsetType = UNSET
    deposit: Price | UnsetType = UNSET
    tags: Annotated[list[Tag], Meta(max_length=10)] | UnsetType = UNSET
    location: CoarseLocation | UnsetType | None = UNSET
    status: Literal["draft", "active", "paused", "closed"] | UnsetType = UNSET
    seats: Annotated[int, Meta(ge=0, le=50)] | UnsetType = UNSET
    event_at: Instant | UnsetType | None = UNSET
    expected_fee: Annotated[
        int | None,
        Meta(
            description="The publication fee shown to the member (GET /fees/quote): if it changed, a 409 `fee-changed`"
        ),
    ] = None

    def changes(self) -> dict[str, object]:
        fields = msgspec.structs.asdict(self)
        return {name: value for name, value in fields.items() if value is not UNSET and name != "expected_fee"}


class ListingOut(Struct):
    listing_id: str = field(name="id")
    owner_id: str
    kind: str
    category: str
    family: str
    mode: str
    title: str
    description: str
    community_id: str
    status: str
    hidden: bool
    price: int
    deposit: int
    tags: list[str]
    location: str | None
    seats: int
    seats_taken: int
    event_at: str | None
    created_at: Timestamp
    featured_until: Annotated[str | None, Meta(description="First in its community's browsing until then")] = None
    owner_reviews: ReviewSummaryOut | None = None  # in browsing results: the owner's reputation


SearchText = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=100,
        pattern=LINE,
        description="Keywords (title, tags, category labels), accents and case ignored, plurals folded; the last "
        "word matches as a prefix unless followed by a space",
        examples=["perceuse", "velo enf"],
    ),
]


class ListingSearch(Struct, forbid_unknown_fields=True):
    """Exactly one way to browse: a community (optionally narrowed by ONE of category, kind, mode or
    tag), an area (`near`, a geohash of 4-5 characters: its cell and neighbours), or an owner."""

    community: Identifier | None = None
    category: CategoryName | None = None
    kind: Literal["offer", "request"] | None = None
    mode: Literal["credits", "swap", "credits_swap", "gift", "loan"] | None = None
    tag: Tag | None = None
    near: Annotated[str, Meta(min_length=4, max_length=5, pattern=GEOHASH_PATTERN)] | None = None
    owner: Identifier | None = None
    q: SearchText | None = None
    cursor: Cursor | None = None
    limit: PageLimit = 20

    def __post_init__(self) -> None:
        narrowing = [v for v in (self.category, self.kind, self.mode, self.tag) if v is not None]
        ways = [v for v in (self.community, self.near, self.owner) if v is not None]
        if len(ways) != 1:
            raise ValueError("listings.give-exactly-one-community")
        if len(narrowing) > 1 or (narrowing and self.community is None):
            raise ValueError("listings.narrow-community-most-one")
        if self.q is not None and self.owner is not None:
            raise ValueError("listings.search-words-q-community")

    def narrowing(self) -> tuple[str, str] | None:
        """The one narrowing of a community browse, if any: (name, value)."""
        for name in ("category", "kind", "mode", "tag"):
            value = getattr(self, name)
            if value is not None:
                return name, value
        return None


class Reason(Struct, forbid_unknown_fields=True):
    reason: ModerationReason


class ListingReportOut(Struct):
    listing_id: str
    reporter_id: str
    reason: str
    at: Timestamp


class NewProposal(Struct, forbid_unknown_fields=True):
    amount: Price | None = None
    swap_listing_id: Identifier | None = None
    message: MessageBody | None = None
    return_by: Instant | None = None


class NewBooking(Struct, forbid_unknown_fields=True):
    starts_at: Instant
    ends_at: Instant


class ExchangeAction(Struct, forbid_unknown_fields=True):
    action: Literal[
        "accept", "decline", "cancel", "confirm", "confirm_return", "claim_damage", "accept_claim", "dispute"
    ]
    amount: Price | None = None


class Resolution(Struct, forbid_unknown_fields=True):
    payee_share: Price
    reason: ModerationReason


class ExchangeOut(Struct):
    exchange_id: str = field(name="id")
    type: str
    listing_id: str
    owner_id: str
    proposer_id: str
    payer_id: str
    payee_id: str
    amount: int
    fee: int
    state: str
    swap_listing_id: str | None
    confirmers: list[str] = field(name="confirmed_by")
    claimed_damage: int
    posted_amount: int
    due_at: str | None
    starts_at: str | None
    overdue: bool
    conversation_id: str | None
    created_at: Timestamp
    updated_at: Timestamp


class ExchangeQuery(Struct, forbid_unknown_fields=True):
    role: Literal["proposer", "owner"] = "proposer"
    cursor: Cursor | None = None
    limit: PageLimit = 20


class NewMessage(Struct, forbid_unknown_fields=True):
    body: MessageBody


class MessageOut(Struct):
    id: str
    sender_id: str
    body: str
    at: Timestamp


class ConversationStarted(Struct):
    conversation_id: str
    message: MessageOut


class InboxEntryOut(Struct):
    conversation_id: str
    subject: str
    unread: int
    last_message_at: Timestamp


# Reviews

ReviewComment = Annotated[str, Meta(max_length=1000, pattern=TEXT, description="Plain text; may be empty")]
PrivateNote = Annotated[str, Meta(max_length=500, pattern=TEXT, description="For the other member only, never public")]
ReplyText = Annotated[str, Meta(min_length=1, max_length=1000, pattern=TEXT)]
KindWordName = Literal["punctual", "friendly", "as_described", "great_teacher", "reliable", "generous", "careful"]


class ReviewIn(Struct, forbid_unknown_fields=True):
    rating: Annotated[int, Meta(ge=1, le=5)]
    comment: ReviewComment = ""
    kind_words: Annotated[list[KindWordName], Meta(max_length=7)] = []
    private_note: PrivateNote = ""


class ReplyIn(Struct, forbid_unknown_fields=True):
    text: ReplyText


class ReviewOut(Struct):
    exchange_id: str
    author_id: str
    subject_id: str
    subject_role: Literal["provider", "receiver"]
    rating: int
    comment: str
    kind_words: list[str]
    state: Literal["sealed", "published", "hidden"]
    after_dispute: bool
    submitted_at: Timestamp
    updated_at: Timestamp
    published_at: Timestamp | None
    reply: str | None
    replied_at: Timestamp | None
    private_note: str = field(default="")  # only to the two members of the exchange


class PublicReviewOut(Struct):
    exchange_id: str
    author_id: str
    subject_id: str
    subject_role: Literal["provider", "receiver"]
    rating: int
    comment: str
    kind_words: list[str]
    after_dispute: bool
    published_at: Timestamp | None
    reply: str | None
    replied_at: Timestamp | None


class ExchangeReviewsOut(Struct):
    exchange_id: str
    closes_at: Annotated[Timestamp, Meta(description="When the sealed reviews are published anyway (UTC)")]
    published_at: Timestamp | None
    after_dispute: bool
    reviews: list[ReviewOut]


class PendingReviewOut(Struct):
    exchange_id: str
    exchange_type: str
    listing_id: str
    other_member_id: str
    your_role: Literal["provider", "receiver"]
    closes_at: Annotated[Timestamp, Meta(description="Review before this time (UTC)")]
    other_has_reviewed: bool
    after_dispute: bool


class TallyOut(Struct):
    count: int
    average: float | None
    bayesian_average: float
    histogram: Annotated[list[int], Meta(description="Reviews with 1, 2, 3, 4 and 5 stars")]
    kind_words: dict[str, int]


class ReputationOut(Struct):
    member_id: str
    overall: TallyOut
    as_provider: TallyOut
    as_receiver: TallyOut
    prior_mean: float
    prior_weight: float


class ReviewSummaryOut(Struct):
    count: int
    average: float | None
    bayesian_average: float


class KindWordOut(Struct):
    id: str
    label: Annotated[str, Meta(description="In the request's language")]
    labels: Annotated[dict[str, str], Meta(description="By language: `fr`, `en`")]


class CategoryOut(Struct):
    id: str
    family: str
    label: Annotated[str, Meta(description="In the request's language")]
    labels: Annotated[dict[str, str], Meta(description="By language: `fr`, `en`")]


class ReviewReportOut(Struct):
    exchange_id: str
    author_id: str
    reporter_id: str
    reason: str
    at: Timestamp


# Governance

Percent = Annotated[int, Meta(ge=0, le=100)]
OptionLabel = Annotated[str, Meta(min_length=1, max_length=120, pattern=NAME)]
Description = Annotated[str, Meta(max_length=5000, pattern=TEXT, description="Plain text")]
CooperatorState = Literal["requested", "active"]
BallotKindName = Literal["yes_no", "single", "approval", "score", "budget", "election"]
BallotStateName = Literal["scheduled", "open", "closed"]
GovernedName = Literal[
    "review_window_days",
    "proxy_cap",
    "proposal_supports",
    "fee_publish_listing",
    "fee_publish_professional_listing",
    "free_listings_per_month",
]
FundingAccount = Literal["platform:rewards", "platform:revenue"]


class CollegeIn(Struct, forbid_unknown_fields=True):
    college_id: Identifier
    name: DisplayName
    weight: Annotated[int, Meta(ge=1, le=100, description="Percent; the colleges' weights sum to 100")]


class CollegesIn(Struct, forbid_unknown_fields=True):
    colleges: Annotated[list[CollegeIn], Meta(min_length=1, max_length=20)]
    reason: ModerationReason


class CollegeOut(Struct):
    college_id: str
    name: str
    weight: int


class ParametersOut(Struct):
    review_window_days: int
    proxy_cap: int
    proposal_supports: int


class CollegeRequest(Struct, forbid_unknown_fields=True):
    college_id: Identifier


class Placement(Struct, forbid_unknown_fields=True):
    college_id: Identifier
    reason: ModerationReason


class CooperatorOut(Struct):
    member_id: str
    college_id: str
    status: CooperatorState
    since: Timestamp


class CooperatorQuery(Struct, forbid_unknown_fields=True):
    status: CooperatorState = "requested"
    cursor: Cursor | None = None
    limit: PageLimit = 20


class ProxyIn(Struct, forbid_unknown_fields=True):
    holder_id: Identifier
    ballot_id: Annotated[Identifier | None, Meta(description="One ballot; absent: every ballot until revoked")] = None


class ProxyScope(Struct, forbid_unknown_fields=True):
    ballot_id: Identifier | None = None


class ProxyOut(Struct):
    principal_id: str
    holder_id: str
    college_id: str
    given_at: Timestamp
    ballot_id: str | None = None


class ProxiesOut(Struct):
    given: list[ProxyOut]
    held: list[ProxyOut]


class ProposalIn(Struct, forbid_unknown_fields=True):
    title: ListingTitle
    description: Description


class ProposalOut(Struct):
    proposal_id: str
    author_id: str
    title: str
    description: str
    created_at: Timestamp
    deadline: Timestamp
    needed: int
    supports: int
    state: Literal["collecting", "qualified", "expired", "scheduled"]
    ballot_id: str | None


class OptionIn(Struct, forbid_unknown_fields=True):
    option_id: Identifier
    label: OptionLabel
    cost: Annotated[int, Meta(ge=0, le=1_000_000, description="Credits, for a budget's projects")] = 0


class OptionOut(Struct):
    option_id: str
    label: str
    cost: int


class DecisionIn(Struct, forbid_unknown_fields=True):
    """One of: a governed `parameter` and its `value` (yes/no); a `funding_account` (budget); `term_days`
    (election)."""

    parameter: GovernedName | None = None
    value: Annotated[int, Meta(ge=0, le=10_000)] | None = None
    funding_account: FundingAccount | None = None
    term_days: Annotated[int, Meta(ge=1, le=1830)] | None = None


class BallotIn(Struct, forbid_unknown_fields=True):
    title: ListingTitle
    description: Description
    kind: BallotKindName
    opens_at: Instant
    closes_at: Instant
    reason: ModerationReason
    options: Annotated[list[OptionIn], Meta(max_length=50)] = []
    majority: Literal["simple", "two_thirds", "three_quarters"] = "simple"
    quorum_percent: Percent = 0
    college_quorum_percent: Percent = 0
    empty_college: Literal["excluded", "zero"] = "excluded"
    seats: Annotated[int, Meta(ge=1, le=50)] = 1
    budget: Annotated[int, Meta(ge=0, le=10_000_000)] = 0
    min_selected: Annotated[int, Meta(ge=0, le=50)] = 0
    max_selected: Annotated[int, Meta(ge=0, le=50)] = 0
    secret: bool = False
    min_secret_voters: Annotated[int, Meta(ge=1, le=10_000)] | None = None
    decision: DecisionIn | None = None
    proposal_id: Identifier | None = None


class DecisionOut(Struct, omit_defaults=True):
    parameter: str | None = None
    value: int | None = None
    funding_account: str | None = None
    term_days: int | None = None


class BallotOut(Struct):
    ballot_id: str
    title: str
    description: str
    kind: BallotKindName
    state: BallotStateName
    opens_at: Timestamp
    closes_at: Timestamp
    options: list[OptionOut]
    majority: str
    quorum_percent: int
    college_quorum_percent: int
    empty_college: str
    seats: int
    budget: int
    min_selected: int
    max_selected: int
    secret: bool
    min_secret_voters: int
    decision: DecisionOut | None
    colleges: Annotated[list[CollegeOut], Meta(description="Frozen when the ballot opens")]
    eligible: Annotated[dict[str, int], Meta(description="Voters on the roll per college, frozen at open")]
    proposal_id: str | None
    created_by: str
    created_at: Timestamp


class BallotQuery(Struct, forbid_unknown_fields=True):
    state: BallotStateName = "open"
    cursor: Cursor | None = None
    limit: PageLimit = 20


class VoteIn(Struct, forbid_unknown_fields=True):
    """`options` for every kind but score (yes/no: one of `yes`, `no`, `abstain`); `scores` (0-5 for every
    option) for score. `on_behalf_of`: the member whose proxy you hold."""

    options: Annotated[list[Identifier], Meta(max_length=50)] = []
    scores: dict[Identifier, Annotated[int, Meta(ge=0, le=5)]] = {}
    on_behalf_of: Identifier | None = None


class ChoiceOut(Struct):
    options: list[str]
    scores: dict[str, int]


class VoteOut(Struct):
    ballot_id: str
    member_id: str
    college_id: str
    voted: bool
    voted_by: Annotated[str | None, Meta(description="The proxy holder who voted, if one did")]
    choice: Annotated[ChoiceOut | None, Meta(description="Named ballots only: a secret ballot keeps no choice")]
    receipt: Annotated[
        str | None,
        Meta(description="Secret ballots, once: keep it to find your ballot among the published receipts"),
    ] = None


class ParticipationOut(Struct):
    ballot_id: str
    state: BallotStateName
    eligible: dict[str, int]
    voted: dict[str, int]


class CollegeResultOut(Struct):
    college_id: str
    weight: int
    eligible: int
    voted: int
    quorum_met: bool
    counts: dict[str, int]
    shares: dict[str, float]


class ResultOut(Struct):
    ballot_id: str
    eligible: int
    voted: int
    quorum_met: bool
    colleges: list[CollegeResultOut]
    weighted: Annotated[
        dict[str, float], Meta(description="Sum over colleges of weight x share, / the weights counted")
    ]
    counts: dict[str, int]
    adopted: bool | None
    winners: list[str]
    digest: Annotated[str, Meta(description="sha256 of the ballots counted (see docs/governance.md)")]
    withheld: bool
    closed_at: Timestamp
    applied: list[str]


class ReceiptOut(Struct):
    receipt_hash: str
    college_id: str
    choice: ChoiceOut


class SpokespersonOut(Struct):
    member_id: str
    ballot_id: str
    until: Timestamp


class EarmarkPayment(Struct, forbid_unknown_fields=True):
    member_id: Identifier
    amount: Credits
    note: Note
    payment_id: ClientId | None = None


# The cooperative economy

FeeOperation = Literal["publish_listing", "publish_professional_listing", "feature_listing"]
FeePrice = Annotated[int, Meta(ge=0, le=10_000)]


class FeeVersionOut(Struct):
    number: int
    feature_days: int
    effective_at: Annotated[str, Meta(description="ISO 8601 UTC; empty for the configured defaults")]
    prices: Annotated[dict[str, int], Meta(description="Credits per operation; absent: free")]
    free_listings_per_month: int


class FeeScheduleOut(Struct):
    in_force: FeeVersionOut
    upcoming: list[FeeVersionOut]


class FeePrices(Struct, forbid_unknown_fields=True):
    """Credits per operation; absent or 0: free."""

    publish_listing: FeePrice = 0
    publish_professional_listing: FeePrice = 0
    feature_listing: FeePrice = 0


class FeeChangeIn(Struct, forbid_unknown_fields=True):
    prices: FeePrices
    free_listings_per_month: Annotated[int, Meta(ge=0, le=1000)]
    effective_at: Instant
    reason: ModerationReason
    feature_days: Annotated[int, Meta(ge=1, le=90)] = 7


class QuoteQuery(Struct, forbid_unknown_fields=True):
    operation: FeeOperation = "publish_listing"


class QuoteOut(Struct):
    operation: FeeOperation
    price: int
    free: bool
    free_left: int
    schedule: int


# Missions

MissionTitle = Annotated[str, Meta(min_length=3, max_length=120, pattern=NAME, description="One line")]
MissionDescription = Annotated[str, Meta(max_length=2000, pattern=TEXT, description="Plain text")]
SubmissionText = Annotated[str, Meta(min_length=1, max_length=1000, pattern=TEXT, description="What you did")]
MissionStateName = Literal["open", "expired"]
ClaimStateName = Literal["claimed", "submitted", "approved", "rejected", "abandoned", "expired"]


class NewMission(Struct, forbid_unknown_fields=True):
    title: MissionTitle
    reward: Credits
    places: Annotated[int, Meta(ge=1, le=100)]
    deadline: Instant
    description: MissionDescription = ""
    community_id: Annotated[
        Identifier | None, Meta(description="The community; absent: a platform-wide mission (operators)")
    ] = None
    mission_id: ClientId | None = None


class MissionQuery(Struct, forbid_unknown_fields=True):
    community: Annotated[Identifier | None, Meta(description="A community's id; absent: platform-wide missions")] = None
    cursor: Cursor | None = None
    limit: PageLimit = 20


class MissionOut(Struct):
    mission_id: str
    poster_id: str
    community_id: str | None
    title: str
    description: str
    reward: int
    places: int
    places_left: int
    approved: int
    deadline: Timestamp
    state: MissionStateName
    created_at: Timestamp


class SubmissionIn(Struct, forbid_unknown_fields=True):
    text: SubmissionText


class ClaimOut(Struct):
    mission_id: str
    member_id: str
    title: str
    reward: int
    deadline: Timestamp
    community_id: str | None
    state: ClaimStateName
    claimed_at: Timestamp
    updated_at: Timestamp
    submission: str | None
    submitted_at: Timestamp | None
    decided_by: str | None
    reason: str | None


class FeatureIn(Struct, forbid_unknown_fields=True):
    expected_fee: Annotated[
        int | None, Meta(description="The fee shown to the member (GET /fees/quote?operation=feature_listing)")
    ] = None


class RewardRulesOut(Struct):
    amounts: Annotated[dict[str, int], Meta(description="Credits per automatic rule; absent: off")]
    daily_cap: int
    monthly_cap: int
    newcomer_days: int


class MonthQuery(Struct, forbid_unknown_fields=True):
    month: Month | None = None


class ShareOut(Struct):
    member_id: str
    points: int
    credits: int


class ValueShareOut(Struct):
    month: str
    revenue: Annotated[int, Meta(description="Fees charged that month, in credits")]
    percent: int
    distributed: int
    shares: list[ShareOut]
    weights: dict[str, int]


class ContributionOut(Struct):
    month: str
    missions_approved: int
    reviews_written: int
    moderation_decisions: int
    points: int
    share: Annotated[int | None, Meta(description="Credits received for the month, once it is shared")]


# Home


class PendingActionOut(Struct):
    kind: Annotated[
        Literal["exchange", "review", "ballot"],
        Meta(
            description="`exchange`: POST /exchanges/{id}/actions with one of `actions`; `review`: PUT "
            "/exchanges/{id}/review; `ballot`: PUT /ballots/{id}/vote"
        ),
    ]
    id: Annotated[str, Meta(description="The exchange's id (exchange, review) or the ballot's")]
    actions: list[str]
    due_at: Annotated[
        Timestamp | None,
        Meta(description="When the review window or the ballot closes; an exchange's date (loan due, event, booking)"),
    ]


class UnreadOut(Struct):
    conversations: Annotated[int, Meta(description=f"Conversations with unread messages, among your {RECENT} latest")]
    messages: Annotated[int, Meta(description="Unread messages in those conversations")]
    exchanges: Annotated[
        int,
        Meta(
            description=f"Exchanges waiting for you, among the first {RECENT} GET /me/exchanges gives as each side "
            "(as proposer the latest; as owner, by listing)"
        ),
    ]
    reviews: Annotated[int, Meta(description=f"Reviews you still have to write (at most {RECENT} counted)")]
    ballots: Annotated[
        int,
        Meta(description=f"Open ballots (of the {BALLOTS} closing last) you are on the roll of and have not voted in"),
    ]
    notifications: Annotated[
        int, Meta(description=f"Unread notifications among your {UNREAD_LOOKED_AT} latest (GET /me/notifications)")
    ]


class HomeOut(Struct):
    wallet: Wallet
    unread: UnreadOut
    pending: Annotated[
        list[PendingActionOut], Meta(description=f"What waits for you, soonest due first (at most {PENDING_SHOWN})")
    ]
    home_community_id: Annotated[
        str | None, Meta(description="Your home community, else the first of your communities; null: none")
    ]
    listings: Annotated[
        Page[ListingOut],
        Meta(
            description="The home community's first page, as GET /listings?community={home_community_id} gives "
            "it: continue with that route and `next_cursor`"
        ),
    ]


# A member's export
class ExportQuery(Struct, forbid_unknown_fields=True):
    part: Annotated[int, Meta(ge=1, le=10_000, description="Which part (1 = the first)")] = 1


class ConversationMessageOut(Struct):
    conversation_id: str
    message: MessageOut


class ExportData(Struct):
    """Everything the platform holds about you, in the shapes the other routes give. The first part
    carries the single documents; each list runs on from part to part, in this order."""

    profile: MemberProfile | None = None
    wallet: Wallet | None = None
    cooperator: CooperatorOut | None = None
    notification_preferences: NotificationPreferences | None = None
    memberships: list[MembershipOut] = field(default_factory=list)
    listings: Annotated[list[ListingOut], Meta(description="All of them, hidden or removed ones too")] = field(
        default_factory=list
    )
    exchanges: Annotated[list[ExchangeOut], Meta(description="As proposer, then as owner")] = field(
        default_factory=list
    )
    conversations: list[InboxEntryOut] = field(default_factory=list)
    messages: Annotated[
        list[ConversationMessageOut], Meta(description="Every message of your conversations, oldest first")
    ] = field(default_factory=list)
    reviews_written: list[ReviewOut] = field(default_factory=list)
    reviews_received: Annotated[list[PublicReviewOut], Meta(description="Published ones")] = field(default_factory=list)
    proxies_given: list[ProxyOut] = field(default_factory=list)
    proxies_held: list[ProxyOut] = field(default_factory=list)
    votes: Annotated[
        list[VoteOut],
        Meta(
            description="Your place on every ballot's roll: your choice on named ballots, only whether you "
            "voted on secret ones (your receipt is yours alone: the platform cannot link it to you)"
        ),
    ] = field(default_factory=list)
    mission_claims: list[ClaimOut] = field(default_factory=list)
    purchases: list[PurchaseOut] = field(default_factory=list)
    statement: Annotated[list[StatementEntry], Meta(description="Your wallet's entries, newest first")] = field(
        default_factory=list
    )
    notifications: Annotated[list[NotificationOut], Meta(description="Those kept (90 days), newest first")] = field(
        default_factory=list
    )


class ExportOut(Struct):
    member_id: str
    generated_at: Timestamp
    part: int
    parts: Annotated[int, Meta(description="How many parts the export has: ask for each with `?part=`")]
    data: ExportData


# Notifications

NotificationKinds = Annotated[
    list[NotificationKind],
    Meta(max_length=len(NotificationKind), description="Kinds of notification turned off; every other kind is on"),
]


class NotificationOut(Struct):
    id: Annotated[str, Meta(description="Opaque; POST /me/notifications/{id}/read marks it read")]
    kind: NotificationKind
    about: Annotated[
        str,
        Meta(
            description="The id of what it is about: an exchange, conversation, transfer, purchase, mission "
            "or ballot, as the kind says"
        ),
    ]
    at: Timestamp
    read: bool
    params: Annotated[dict[str, str | int], Meta(description="The facts the text is made of, by name, per kind")]
    text: Annotated[str, Meta(description="In the request's language (French or English), made of `params`")]


class NotificationPage(Struct):
    items: list[NotificationOut]
    unread: Annotated[int, Meta(description=f"Unread among your {UNREAD_LOOKED_AT} latest notifications")]
    next_cursor: str | None = None


class ReadUntil(Struct, forbid_unknown_fields=True):
    until: Annotated[Instant, Meta(description="Notifications at or before it are read (a time to come counts as now)")]


class NotificationPreferences(Struct, forbid_unknown_fields=True):
    off: NotificationKinds = field(default_factory=list)

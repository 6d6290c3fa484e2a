"""Every key of the single table is built here, from a prefix enum, and nowhere else."""

from __future__ import annotations

import hashlib
from enum import StrEnum


class Prefix(StrEnum):
    MEMBER = "MEMBER"
    PROFILE = "PROFILE"
    COMMUNITY = "COMMUNITY"
    META = "META"
    SLUG = "SLUG"
    AREA = "AREA"
    NAME = "CNAME"
    GEO = "GEO"
    ACTIVE = "ACTIVE"
    IDEMPOTENCY = "IDEMPOTENCY"
    RATE_LIMIT = "RATE-LIMIT"
    ACCOUNT = "ACCOUNT"
    BALANCE = "BALANCE"
    TRANSFER = "TRANSFER"
    STATEMENT = "STATEMENT"
    HOLD = "HOLD"
    HOLDS_DUE = "HOLDS-DUE"
    AUDIT = "AUDIT"
    REPORT = "REPORT"
    PURCHASE = "PURCHASE"
    MEMBER_PURCHASES = "MEMBER-PURCHASES"
    PURCHASE_DAY = "PURCHASE-DAY"
    PENDING_PURCHASES = "PENDING-PURCHASES"
    PAYMENT_INTENT = "PAYMENT-INTENT"
    STRIPE_EVENT = "STRIPE-EVENT"
    LISTING = "LISTING"
    FACET = "FACET"
    OWNER_LISTINGS = "OWNER-LISTINGS"
    LISTING_EXCHANGES = "LISTING-EXCHANGES"
    REPORT_QUEUE = "REPORTS"
    EXCHANGE = "EXCHANGE"
    MEMBER_EXCHANGES = "MEMBER-EXCHANGES"
    EXCHANGES_DUE = "EXCHANGES-DUE"
    OPEN_DISPUTES = "OPEN-DISPUTES"
    SLOT = "SLOT"
    CONVERSATION = "CONVERSATION"
    MESSAGE = "MSG"
    PARTICIPANT = "PARTICIPANT"
    MEMBER_CONVERSATIONS = "MEMBER-CONVERSATIONS"
    REVIEW = "REVIEW"
    REVIEW_ROUND = "REVIEWS"
    PENDING_REVIEWS = "PENDING-REVIEWS"
    REVIEWS_DUE = "REVIEWS-DUE"
    MEMBER_REVIEWS = "MEMBER-REVIEWS"
    REPUTATION = "REPUTATION"
    REPUTATION_TOUCHED = "REPUTATION-TOUCHED"
    REVIEW_REPORTS = "REVIEW-REPORTS"
    GOVERNANCE = "GOVERNANCE"
    COLLEGES = "COLLEGES"
    PARAMETERS = "PARAMETERS"
    COOPERATOR = "COOPERATOR"
    COOPERATORS = "COOPERATORS"
    PROXY = "PROXY"
    PROXIES_HELD = "PROXIES-HELD"
    BALLOT = "BALLOT"
    BALLOTS = "BALLOTS"
    BALLOTS_DUE = "BALLOTS-DUE"
    ROLL = "ROLL"
    BOX = "BOX"
    COUNT = "COUNT"
    RESULT = "RESULT"
    PROPOSAL = "PROPOSAL"
    PROPOSALS = "PROPOSALS"
    SUPPORT = "SUPPORT"
    SPOKESPEOPLE = "SPOKESPEOPLE"
    MISSION = "MISSION"
    MISSIONS = "MISSIONS"
    MISSIONS_DUE = "MISSIONS-DUE"
    CLAIM = "CLAIM"
    MEMBER_MISSIONS = "MEMBER-MISSIONS"
    FEES = "FEES"
    LISTING_QUOTA = "LISTING-QUOTA"
    REWARDS_EARNED = "REWARDS-EARNED"
    CONTRIBUTION = "CONTRIBUTION"
    CONTRIBUTORS = "CONTRIBUTORS"
    REVENUE = "REVENUE"
    VALUE_SHARE = "VALUE-SHARE"
    RESIDUES = "RESIDUES"
    RESIDUES_WRITTEN = "RESIDUES-WRITTEN"
    RECONCILIATION = "RECONCILIATION"
    JOBS = "JOBS"
    NOTIFICATIONS = "NOTIFS"
    NOTIFICATION = "N"
    BOOKS = "BOOKS"


SEP = "#"


def key(*parts: str) -> str:
    return SEP.join(parts)


# Members
def member_pk(member_id: str) -> str:
    return key(Prefix.MEMBER, member_id)


PROFILE_SK = str(Prefix.PROFILE)


# Communities
def community_pk(community_id: str) -> str:
    return key(Prefix.COMMUNITY, community_id)


META_SK = str(Prefix.META)


def slug_pk(slug: str) -> str:
    return key(Prefix.SLUG, slug)


def community_name_pk(normalized_name: str) -> str:
    """Name search partitions by first letter so no single partition holds every community."""
    return key(Prefix.NAME, normalized_name[:1] or "_")


def community_name_sk(normalized_name: str, community_id: str) -> str:
    return key(normalized_name, community_id)


def area_sk(cell: str) -> str:
    return key(Prefix.AREA, cell)


def geo_pk(cell: str) -> str:
    """Area cells are indexed under their 3-character geohash (~156 km square)."""
    return key(Prefix.GEO, cell[:3])


def geo_sk(cell: str, community_id: str) -> str:
    return key(cell, community_id)


# Memberships: in the community's partition, indexed by last active day (GSI2) for activity stats
def membership_sk(member_id: str) -> str:
    return key(Prefix.MEMBER, member_id)


MEMBERSHIP_SK_PREFIX = Prefix.MEMBER + SEP


def active_pk(community_id: str) -> str:
    return key(Prefix.ACTIVE, community_id)


def active_sk(day: str, member_id: str) -> str:
    return key(day, member_id)


# Idempotency records are scoped to the member who sent the key
def idempotency_pk(member_id: str, idempotency_key: str) -> str:
    return key(Prefix.IDEMPOTENCY, member_id, idempotency_key)


IDEMPOTENCY_SK = str(Prefix.IDEMPOTENCY)


# Rate limits: one counter per member, action and window, in the member's own partition of them
def rate_limit_pk(member_id: str) -> str:
    return key(Prefix.RATE_LIMIT, member_id)


def rate_limit_sk(action: str, window_start: int) -> str:
    return key(action, str(window_start))


# Ledger: one balance item per account (or per shard of a sharded platform account)
def account_pk(account_id: str) -> str:
    return key(Prefix.ACCOUNT, account_id)


BALANCE_SK = str(Prefix.BALANCE)


def transfer_pk(transfer_id: str) -> str:
    return key(Prefix.TRANSFER, transfer_id)


TRANSFER_SK = str(Prefix.TRANSFER)


def statement_pk(account_id: str) -> str:
    """A transfer record is indexed twice: under its payer (GSI1) and its payee (GSI2)."""
    return key(Prefix.STATEMENT, account_id)


def statement_sk(created_at: str, transfer_id: str) -> str:
    """Time first; a short digest of the id keeps same-instant entries apart without repeating
    the (long) id in both index keys: a record must stay under 1 KB to cost one write unit."""
    return key(created_at, hashlib.blake2b(transfer_id.encode(), digest_size=6).hexdigest())


def hold_pk(hold_id: str) -> str:
    return key(Prefix.HOLD, hold_id)


HOLD_SK = str(Prefix.HOLD)
HOLD_DUE_BUCKETS = 8


def holds_due_pk(bucket: int) -> str:
    """Pending holds by expiry, spread over a few buckets so no index partition is hot."""
    return key(Prefix.HOLDS_DUE, str(bucket))


def holds_due_sk(expires_at: str, hold_id: str) -> str:
    return key(expires_at, hold_id)


AUDIT_SHARDS = 4  # rewards and mission approvals write it for many members: no single partition takes them all


def audit_pk(month: str, shard: int) -> str:
    """Shard 0 keeps the unsharded key, so entries written before sharding stay where reads find them."""
    return key(Prefix.AUDIT, month, *([str(shard)] if shard else []))


def audit_shard(entry_id: str) -> int:
    return int(hashlib.blake2b(entry_id.encode(), digest_size=2).hexdigest(), 16) % AUDIT_SHARDS


def audit_sk(at: str, entry_id: str) -> str:
    return key(at, entry_id)


def report_pk(name: str) -> str:
    return key(Prefix.REPORT, name)


LATEST_SK = "LATEST"


# Reconciliation: one residue item per stream batch, keyed by the batch's first record (a redelivered batch
# finds it), indexed by the hour it was written (GSI3) over a few buckets, where the scheduled job reads
# what was written since its last run; its checkpoint and the full audit's progress, one item each.
def residues_pk(event_id: str) -> str:
    return key(Prefix.RESIDUES, event_id)


RESIDUES_SK = str(Prefix.RESIDUES)
RESIDUE_BUCKETS = 4


def residues_written_pk(hour: str, bucket: int) -> str:
    return key(Prefix.RESIDUES_WRITTEN, hour, str(bucket))


def residues_written_sk(written_at: str, event_id: str) -> str:
    return key(written_at, event_id)


def books_pk(kind: str) -> str:
    """The closed periods of one kind (`DAY`, `MONTH`), sorted by period: one Query reads a range."""
    return key(Prefix.BOOKS, kind)


def community_stats_pk(community_id: str) -> str:
    """A community's counted months, sorted by month."""
    return key(Prefix.BOOKS, "COMMUNITY", community_id)


RECONCILIATION_PK = str(Prefix.RECONCILIATION)
CHECKPOINT_SK = "CHECKPOINT"
AUDIT_SK = "AUDIT"

# The last run of every scheduled job, one item each in one partition (a few writes a minute in all).
JOBS_PK = str(Prefix.JOBS)


# Purchases: by id, by PaymentIntent, a member's history (GSI1), a member's daily spending
def purchase_pk(purchase_id: str) -> str:
    return key(Prefix.PURCHASE, purchase_id)


PURCHASE_SK = str(Prefix.PURCHASE)


def member_purchases_pk(member_id: str) -> str:
    return key(Prefix.MEMBER_PURCHASES, member_id)


def member_purchases_sk(created_at: str, purchase_id: str) -> str:
    return key(created_at, purchase_id)


PENDING_PURCHASES_SK = str(Prefix.PENDING_PURCHASES)


def purchase_day_sk(day: str, currency: str) -> str:
    """In the member's partition: money started on purchases that day, in one currency."""
    return key(Prefix.PURCHASE_DAY, day, currency)


def payment_intent_pk(payment_intent_id: str) -> str:
    return key(Prefix.PAYMENT_INTENT, payment_intent_id)


PAYMENT_INTENT_SK = str(Prefix.PAYMENT_INTENT)


def stripe_event_pk(event_id: str) -> str:
    return key(Prefix.STRIPE_EVENT, event_id)


STRIPE_EVENT_SK = str(Prefix.STRIPE_EVENT)


# Listings. Each visible listing has index entries ("facets"), one per way to browse it, in GSI1:
# by community, category, kind, mode, tag (all within a community) and by area cell.
def listing_pk(listing_id: str) -> str:
    return key(Prefix.LISTING, listing_id)


LISTING_SK = str(Prefix.LISTING)


def facet_sk(facet: str) -> str:
    return key(Prefix.FACET, facet)


FACET_SK_PREFIX = Prefix.FACET + SEP


def browse_pk(*facet: str) -> str:
    """e.g. browse_pk("community", cid), browse_pk("tag", cid, "velo"), browse_pk("geo", "u0hq")."""
    return key(Prefix.LISTING, *facet)


def newest_sk(created_at: str, item_id: str) -> str:
    return key(created_at, item_id)


WINDOW_END = "~"  # after a time, every `newest_sk` of that time sorts before it: a window's bound


FEATURED_MARK = "~"  # sorts after every timestamp: newest-first browsing shows featured listings first
FEATURED_DUE_PK = "FEATURED-DUE"  # listings whose featuring ends (a few a day: one partition)


def browse_sk(created_at: str, listing_id: str, featured_until: str | None) -> str:
    """A browse entry's sort key: newest first, and a featured listing before all others."""
    if featured_until is not None:
        return FEATURED_MARK + key(featured_until, created_at, listing_id)
    return newest_sk(created_at, listing_id)


def word_sk(word: str, created_at: str, listing_id: str) -> str:
    """A keyword entry's sort key: its word, then newest first (a Query reads one word, or a prefix)."""
    return key(word, created_at, listing_id)


def word_lookup(word: str, prefix: bool) -> str:
    """The sort key prefix of the entries of a whole word, or of every word starting with `word`."""
    return word if prefix else word + SEP


def owner_listings_pk(owner_id: str) -> str:
    return key(Prefix.OWNER_LISTINGS, owner_id)


def report_queue_pk(community_id: str) -> str:
    """Reported listings of a community, waiting for its ambassadors or an operator."""
    return key(Prefix.REPORT_QUEUE, community_id)


def report_sk(reporter_id: str) -> str:
    return key(Prefix.REPORT_QUEUE, reporter_id)


# Exchanges: by id; by member and role (GSI2 proposer side, GSI3 owner side); by listing; by deadline (GSI1)
def exchange_pk(exchange_id: str) -> str:
    return key(Prefix.EXCHANGE, exchange_id)


EXCHANGE_SK = str(Prefix.EXCHANGE)


def member_exchanges_pk(member_id: str, role: str) -> str:
    return key(Prefix.MEMBER_EXCHANGES, role, member_id)


def listing_exchanges_sk(exchange_id: str) -> str:
    return key(Prefix.LISTING_EXCHANGES, exchange_id)


EXCHANGE_DUE_BUCKETS = 8


def exchanges_due_pk(bucket: int) -> str:
    return key(Prefix.EXCHANGES_DUE, str(bucket))


OPEN_DISPUTES_PK = str(Prefix.OPEN_DISPUTES)  # disputes are rare: one partition is plenty


def slot_pk(listing_id: str, hour: str) -> str:
    """One item per booked hour of a pooled object: two bookings of one hour cannot both be written."""
    return key(Prefix.SLOT, listing_id, hour)


SLOT_SK = str(Prefix.SLOT)


# Conversations: messages in the conversation's partition; one participant item per member,
# indexed by the member's latest activity (GSI1) for their inbox
def conversation_pk(conversation_id: str) -> str:
    return key(Prefix.CONVERSATION, conversation_id)


CONVERSATION_SK = str(Prefix.CONVERSATION)


def message_sk(at: str, message_id: str) -> str:
    return key(Prefix.MESSAGE, at, message_id)


MESSAGE_SK_PREFIX = Prefix.MESSAGE + SEP


def participant_sk(member_id: str) -> str:
    return key(Prefix.PARTICIPANT, member_id)


def member_conversations_pk(member_id: str) -> str:
    return key(Prefix.MEMBER_CONVERSATIONS, member_id)


# Reviews: an exchange's round and its two reviews share the exchange's partition (one Query reads them).
REVIEW_ROUND_SK = str(Prefix.REVIEW_ROUND)
REVIEW_BUCKETS = 8


def review_sk(author_id: str) -> str:
    return key(Prefix.REVIEW, author_id)


def pending_reviews_pk(member_id: str) -> str:
    return key(Prefix.PENDING_REVIEWS, member_id)


def reviews_due_pk(bucket: int) -> str:
    return key(Prefix.REVIEWS_DUE, str(bucket))


def member_reviews_pk(member_id: str) -> str:
    return key(Prefix.MEMBER_REVIEWS, member_id)


REPUTATION_SK = str(Prefix.REPUTATION)


def reputation_touched_pk(bucket: int) -> str:
    return key(Prefix.REPUTATION_TOUCHED, str(bucket))


def review_reports_pk(community_id: str) -> str:
    return key(Prefix.REVIEW_REPORTS, community_id)


def review_report_sk(exchange_id: str, author_id: str, reporter_id: str) -> str:
    return key(exchange_id, author_id, reporter_id)


# Governance: the cooperative's configuration, cooperators, proxies, proposals and ballots
GOVERNANCE_PK = str(Prefix.GOVERNANCE)
COLLEGES_SK = str(Prefix.COLLEGES)
PARAMETERS_SK = str(Prefix.PARAMETERS)
COOPERATOR_SK = str(Prefix.COOPERATOR)
PROXIES_HELD_SK = str(Prefix.PROXIES_HELD)
SPOKESPEOPLE_PK = str(Prefix.SPOKESPEOPLE)
FEES_SK = str(Prefix.FEES)


def contribution_sk(month: str) -> str:
    return key(Prefix.CONTRIBUTION, month)


def contributors_pk(month: str) -> str:
    return key(Prefix.CONTRIBUTORS, month)


def revenue_pk(month: str) -> str:
    """Fees charged in a month, over shards (every paid operation adds to one)."""
    return key(Prefix.REVENUE, month)


def value_share_pk(month: str) -> str:
    return key(Prefix.VALUE_SHARE, month)


def rewards_earned_sk(period: str) -> str:
    """Automatic rewards a member earned in a day (YYYY-MM-DD) or a month (YYYY-MM)."""
    return key(Prefix.REWARDS_EARNED, period)


def listing_quota_sk(month: str) -> str:
    return key(Prefix.LISTING_QUOTA, month)


BALLOT_SK = str(Prefix.BALLOT)
RESULT_SK = str(Prefix.RESULT)
PROPOSAL_SK = str(Prefix.PROPOSAL)
PROPOSALS_PK = str(Prefix.PROPOSALS)
BALLOTS_DUE_PK = str(Prefix.BALLOTS_DUE)  # a ballot opens or closes every few days: one partition is plenty
BALLOT_COUNT_SHARDS = 8  # live participation counters per college: no single item takes every vote


def cooperators_pk(status: str) -> str:
    return key(Prefix.COOPERATORS, status)


def proxy_sk(ballot_id: str | None) -> str:
    return key(Prefix.PROXY, ballot_id or "*")


def proxies_held_pk(holder_id: str) -> str:
    return key(Prefix.PROXIES_HELD, holder_id)


def ballot_pk(ballot_id: str) -> str:
    return key(Prefix.BALLOT, ballot_id)


def ballots_pk(state: str) -> str:
    return key(Prefix.BALLOTS, state)


def roll_sk(member_id: str) -> str:
    return key(Prefix.ROLL, member_id)


PROXY_SK_PREFIX = Prefix.PROXY + SEP
ROLL_SK_PREFIX = Prefix.ROLL + SEP
BOX_SK_PREFIX = Prefix.BOX + SEP
COUNT_SK_PREFIX = Prefix.COUNT + SEP


def box_sk(receipt_hash: str) -> str:
    return key(Prefix.BOX, receipt_hash)


def count_sk(college_id: str, shard: int) -> str:
    return key(Prefix.COUNT, college_id, str(shard))


def proposal_pk(proposal_id: str) -> str:
    return key(Prefix.PROPOSAL, proposal_id)


def support_sk(member_id: str) -> str:
    return key(Prefix.SUPPORT, member_id)


# Missions: a mission and its claims share the mission's partition; open missions are browsed by scope
# (a community or the platform) and state, soonest deadline first (GSI1); open missions wait for their
# deadline in GSI2; a member's claims are indexed under the member, newest first (GSI1).
MISSION_SK = str(Prefix.MISSION)
MISSION_DUE_BUCKETS = 4
PLATFORM_SCOPE = "PLATFORM"


def mission_pk(mission_id: str) -> str:
    return key(Prefix.MISSION, mission_id)


def missions_pk(community_id: str | None, state: str) -> str:
    return key(Prefix.MISSIONS, community_id or PLATFORM_SCOPE, state)


def missions_due_pk(bucket: int) -> str:
    return key(Prefix.MISSIONS_DUE, str(bucket))


def claim_sk(member_id: str) -> str:
    return key(Prefix.CLAIM, member_id)


CLAIM_SK_PREFIX = Prefix.CLAIM + SEP


def member_missions_pk(member_id: str) -> str:
    return key(Prefix.MEMBER_MISSIONS, member_id)


def bucket_of(item_id: str, buckets: int) -> int:
    """A stable spread of items over index partitions, so no single partition is hot."""
    return int.from_bytes(hashlib.sha256(item_id.encode()).digest()[:4], "big") % buckets


# Notifications: a member's partition, newest last in sort order (read newest first); its one state item
# (read mark and preferences) sorts after every notification, so one Query reads it with the latest.
def notifications_pk(member_id: str) -> str:
    return key(Prefix.NOTIFICATIONS, member_id)


def notification_sk(at: str, kind: str, ref: str) -> str:
    return key(Prefix.NOTIFICATION, at, kind, ref)


NOTIFICATION_SK_PREFIX = Prefix.NOTIFICATION + SEP
NOTIFICATION_STATE_SK = "~"
# The reminders' job: how far ahead it has looked (`SK=CHECKPOINT`, written over its version each run).
REMINDERS_PK = "REMINDERS"

"""PynamoDB models of the single table. One base class carries the key schema and the indexes;
every entity subclasses it, so all of them share one connection (one botocore client)."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    DiscriminatorAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.connection import Connection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.config import Settings


class _Index(GlobalSecondaryIndex[Any]):
    class Meta:
        projection = AllProjection()


class GSI1(_Index):
    class Meta(_Index.Meta):
        index_name = "GSI1"

    GSI1PK = UnicodeAttribute(hash_key=True)
    GSI1SK = UnicodeAttribute(range_key=True)


class GSI2(_Index):
    class Meta(_Index.Meta):
        index_name = "GSI2"

    GSI2PK = UnicodeAttribute(hash_key=True)
    GSI2SK = UnicodeAttribute(range_key=True)


class GSI3(_Index):
    class Meta(_Index.Meta):
        index_name = "GSI3"

    GSI3PK = UnicodeAttribute(hash_key=True)
    GSI3SK = UnicodeAttribute(range_key=True)


class TableItem(Model):
    class Meta:
        table_name = "unbound"  # set by bind() from configuration, before first use
        region: str | None = None
        host: str | None = None
        connect_timeout_seconds = 1
        read_timeout_seconds = 3.0  # set by bind() from configuration
        max_retry_attempts = 0  # the unit-of-work runner is the only retry (services/transaction.py)

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)
    GSI1PK = UnicodeAttribute(null=True)
    GSI1SK = UnicodeAttribute(null=True)
    GSI2PK = UnicodeAttribute(null=True)
    GSI2SK = UnicodeAttribute(null=True)
    GSI3PK = UnicodeAttribute(null=True)
    GSI3SK = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)  # the table's TTL attribute (epoch seconds)

    gsi1 = GSI1()
    gsi2 = GSI2()
    gsi3 = GSI3()


class MemberItem(TableItem):
    member_id = UnicodeAttribute()
    display_name = UnicodeAttribute()
    bio = UnicodeAttribute(default="")
    languages = ListAttribute(of=UnicodeAttribute, default=list)
    skills = ListAttribute(of=UnicodeAttribute, default=list)
    home_community_id = UnicodeAttribute(null=True)
    location = UnicodeAttribute(null=True)  # geohash, at most 5 characters
    community_ids = UnicodeSetAttribute(default=set)
    active_day = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    erased_at = UnicodeAttribute(null=True)
    erasure_step = UnicodeAttribute(null=True)
    profile_visibility = UnicodeAttribute(null=True)  # absent: the default (communities)


class CommunityItem(TableItem):
    community_id = UnicodeAttribute()
    name = UnicodeAttribute()
    slug = UnicodeAttribute()
    area = ListAttribute(of=UnicodeAttribute)
    languages = ListAttribute(of=UnicodeAttribute, default=list)
    member_count = NumberAttribute(default=0)
    created_at = UnicodeAttribute()
    created_by = UnicodeAttribute()


class SlugItem(TableItem):
    community_id = UnicodeAttribute()


class AreaCellItem(TableItem):
    community_id = UnicodeAttribute()
    cell = UnicodeAttribute()


class MembershipItem(TableItem):
    community_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    role = UnicodeAttribute()
    joined_at = UnicodeAttribute()
    active_day = UnicodeAttribute(null=True)


class IdempotencyItem(TableItem):
    fingerprint = UnicodeAttribute()
    state = UnicodeAttribute()
    lease_until = NumberAttribute(null=True)  # epoch seconds; a dead request's claim can be taken over
    status_code = NumberAttribute(null=True)
    body = UnicodeAttribute(null=True)


class RateWindowItem(TableItem):
    """Calls a member made in one fixed window of a limited action (expires with the window)."""

    hits = NumberAttribute(null=True)


class AccountItem(TableItem):
    account_id = UnicodeAttribute()
    posted = NumberAttribute(default=0)
    held = NumberAttribute(default=0)
    available = NumberAttribute(default=0)  # posted - held, kept so the overdraft check fits a condition
    frozen = BooleanAttribute(default=False)  # spending refused while credits are owed or a dispute is open
    owed = NumberAttribute(default=0)  # credits reversed after being spent, carried by the receivable account
    open_disputes = NumberAttribute(default=0)
    created_at = UnicodeAttribute()
    moved_at = UnicodeAttribute(null=True)  # the time of the ledger contribution that last changed it
    closed_at = UnicodeAttribute(null=True)  # its member was erased: it is empty and is never credited again


class TransferItem(TableItem):
    payer = UnicodeAttribute()  # logical accounts, as requested
    payee = UnicodeAttribute()
    payer_account = UnicodeAttribute()  # the balance items actually moved (a shard for platform accounts)
    payee_account = UnicodeAttribute()
    amount = NumberAttribute()
    kind = UnicodeAttribute()
    reason = UnicodeAttribute(default="")
    memo = UnicodeAttribute(default="")
    refs = UnicodeAttribute(default="{}")  # JSON object of string references (exchange, purchase...)
    fingerprint = UnicodeAttribute()
    created_at = UnicodeAttribute()


class HoldItem(TableItem):
    hold_id = UnicodeAttribute()
    payer = UnicodeAttribute()
    payee = UnicodeAttribute()
    amount = NumberAttribute()
    hold_expires_at = UnicodeAttribute()  # enforced in write conditions; never the table's TTL
    status = UnicodeAttribute()
    posted_amount = NumberAttribute(default=0)
    reason = UnicodeAttribute(default="")
    refs = UnicodeAttribute(default="{}")  # JSON object of string references (exchange, purchase...)
    fingerprint = UnicodeAttribute()
    created_at = UnicodeAttribute()
    settled_at = UnicodeAttribute(null=True)  # the time of the ledger contribution that posted or voided it


class AuditItem(TableItem):
    operator_id = UnicodeAttribute()
    action = UnicodeAttribute()
    target = UnicodeAttribute()
    reason = UnicodeAttribute(default="")
    details = UnicodeAttribute(default="{}")  # JSON
    at = UnicodeAttribute()


class ReportItem(TableItem):
    body = UnicodeAttribute()  # JSON
    at = UnicodeAttribute()


class PurchaseItem(TableItem):
    purchase_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    pack_id = UnicodeAttribute()
    credits = NumberAttribute()
    amount_cents = NumberAttribute()
    currency = UnicodeAttribute()
    status = UnicodeAttribute()
    payment_intent_id = UnicodeAttribute(null=True)
    reversed_credits = NumberAttribute(default=0)
    refunded_cents = NumberAttribute(default=0)
    lost_dispute_cents = NumberAttribute(default=0)
    open_dispute_ids = UnicodeSetAttribute(null=True)
    closed_dispute_ids = UnicodeSetAttribute(null=True)
    version = NumberAttribute(default=0)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class PendingPurchasesItem(TableItem):
    """A member's unfinished purchases ("<created_at>#<purchase_id>"): the pending cap is counted here."""

    entries = UnicodeSetAttribute(null=True)
    version = NumberAttribute(default=0)


class PaymentIntentItem(TableItem):
    purchase_id = UnicodeAttribute()


class PurchaseDayItem(TableItem):
    cents = NumberAttribute(default=0)


class StripeEventItem(TableItem):
    event_type = UnicodeAttribute()
    received_at = UnicodeAttribute()


class ListingItem(TableItem):
    listing_id = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    category = UnicodeAttribute()
    mode = UnicodeAttribute()
    title = UnicodeAttribute()
    description = UnicodeAttribute()
    community_id = UnicodeAttribute()
    status = UnicodeAttribute()
    price = NumberAttribute(default=0)
    deposit = NumberAttribute(default=0)
    tags = ListAttribute(of=UnicodeAttribute, default=list)
    location = UnicodeAttribute(null=True)
    seats = NumberAttribute(default=0)
    seats_taken = NumberAttribute(default=0)
    event_at = UnicodeAttribute(null=True)
    hidden = BooleanAttribute(default=False)
    version = NumberAttribute(default=0)
    created_at = UnicodeAttribute()
    published_at = UnicodeAttribute(null=True)
    featured_until = UnicodeAttribute(null=True)
    packed = BinaryAttribute(legacy_encoding=False, null=True)  # a copy for hot reads (mapping.from_packed)


class FacetItem(TableItem):
    """A browse entry of a visible listing: a copy of its summary under one GSI1 key."""

    listing_id = UnicodeAttribute()
    summary = UnicodeAttribute()  # JSON of the listing as shown in search results


class ListingReportItem(TableItem):
    listing_id = UnicodeAttribute()
    reporter_id = UnicodeAttribute()
    reason = UnicodeAttribute()
    at = UnicodeAttribute()


class ExchangeItem(TableItem):
    exchange_id = UnicodeAttribute()
    type = UnicodeAttribute()
    listing_id = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    proposer_id = UnicodeAttribute()
    payer_id = UnicodeAttribute()
    payee_id = UnicodeAttribute()
    amount = NumberAttribute()
    fee = NumberAttribute(default=0)
    state = UnicodeAttribute()
    swap_listing_id = UnicodeAttribute(null=True)
    message = UnicodeAttribute(default="")
    confirmed_by = UnicodeSetAttribute(null=True)
    claimed_damage = NumberAttribute(default=0)
    posted_amount = NumberAttribute(default=0)
    due_at = UnicodeAttribute(null=True)
    starts_at = UnicodeAttribute(null=True)
    overdue = BooleanAttribute(default=False)
    version = NumberAttribute(default=0)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    community_id = UnicodeAttribute(default="")
    family = UnicodeAttribute(default="")
    packed = BinaryAttribute(legacy_encoding=False, null=True)  # a copy for hot reads (mapping.from_packed)


class SlotItem(TableItem):
    exchange_id = UnicodeAttribute()


class ConversationItem(TableItem):
    conversation_id = UnicodeAttribute()
    subject = UnicodeAttribute()  # "listing:<id>" or "exchange:<id>"
    participants = UnicodeSetAttribute()
    created_at = UnicodeAttribute()


class MessageItem(TableItem):
    sender_id = UnicodeAttribute()
    body = UnicodeAttribute()
    at = UnicodeAttribute()


class ParticipantItem(TableItem):
    conversation_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    unread = NumberAttribute(default=0)
    last_message_at = UnicodeAttribute()
    subject = UnicodeAttribute()


class ReviewPartItem(TableItem):
    """The round and the reviews of an exchange share its partition and are read together: the
    discriminator tells which each item is."""

    part = DiscriminatorAttribute()


class ReviewRoundItem(ReviewPartItem, discriminator="round"):
    exchange_id = UnicodeAttribute()
    exchange_type = UnicodeAttribute()
    listing_id = UnicodeAttribute()
    provider_id = UnicodeAttribute()
    receiver_id = UnicodeAttribute()
    completed_at = UnicodeAttribute()
    closes_at = UnicodeAttribute()
    after_dispute = BooleanAttribute(default=False)
    submitted = UnicodeSetAttribute(null=True)
    published_at = UnicodeAttribute(null=True)
    version = NumberAttribute(default=0)


class ReviewItem(ReviewPartItem, discriminator="review"):
    exchange_id = UnicodeAttribute()
    author_id = UnicodeAttribute()
    subject_id = UnicodeAttribute()
    subject_role = UnicodeAttribute()
    rating = NumberAttribute()
    comment = UnicodeAttribute(default="")
    kind_words = ListAttribute(of=UnicodeAttribute, default=list)
    private_note = UnicodeAttribute(default="")
    state = UnicodeAttribute()
    after_dispute = BooleanAttribute(default=False)
    submitted_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    published_at = UnicodeAttribute(null=True)
    reply = UnicodeAttribute(null=True)
    replied_at = UnicodeAttribute(null=True)


class ReputationItem(TableItem):
    """A member's reputation (JSON of its tallies); indexed while a recount has not checked it."""

    member_id = UnicodeAttribute()
    tallies = UnicodeAttribute()
    version = NumberAttribute(default=0)


class ReviewReportItem(TableItem):
    exchange_id = UnicodeAttribute()
    author_id = UnicodeAttribute()
    reporter_id = UnicodeAttribute()
    reason = UnicodeAttribute()
    at = UnicodeAttribute()


class DocumentItem(TableItem):
    """A small aggregate kept whole as JSON, written over the version read: the cooperative's colleges and
    governed parameters, a ballot, a proposal, a ballot's result."""

    doc = UnicodeAttribute()
    version = NumberAttribute(default=0)


class CooperatorItem(TableItem):
    member_id = UnicodeAttribute()
    college_id = UnicodeAttribute()
    status = UnicodeAttribute()
    since = UnicodeAttribute()


class ProxyItem(TableItem):
    principal_id = UnicodeAttribute()
    holder_id = UnicodeAttribute()
    college_id = UnicodeAttribute()
    given_at = UnicodeAttribute()
    ballot_id = UnicodeAttribute(null=True)


class CounterItem(TableItem):
    """A count changed by ADD: proxies a cooperator holds, a shard of a ballot's live participation, a
    shard of a month's revenue (with the time of the fee that last moved it)."""

    total = NumberAttribute(default=0)
    moved_at = UnicodeAttribute(null=True)


class RollEntryItem(TableItem):
    ballot_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    college_id = UnicodeAttribute()
    closes_at = UnicodeAttribute()  # a vote's write condition: no vote lands after the close
    voted = BooleanAttribute(default=False)
    voted_by = UnicodeAttribute(null=True)
    choice = UnicodeAttribute(null=True)  # JSON; named ballots only
    version = NumberAttribute(default=0)


class SealedBallotItem(TableItem):
    """A secret ballot's vote: no member id and no time, under its receipt's hash."""

    receipt_hash = UnicodeAttribute()
    college_id = UnicodeAttribute()
    choice = UnicodeAttribute()  # JSON


class ContributionItem(TableItem):
    """A member's contribution facts of a month, indexed under the month (GSI1) for value sharing."""

    member_id = UnicodeAttribute()
    month = UnicodeAttribute()
    missions_approved = NumberAttribute(default=0)
    reviews_written = NumberAttribute(default=0)
    moderation_decisions = NumberAttribute(default=0)


class SpokespersonItem(TableItem):
    member_id = UnicodeAttribute()
    ballot_id = UnicodeAttribute()
    until = UnicodeAttribute()


class MissionItem(TableItem):
    mission_id = UnicodeAttribute()
    poster_id = UnicodeAttribute()
    community_id = UnicodeAttribute(null=True)
    title = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    reward = NumberAttribute()
    places = NumberAttribute()
    taken = NumberAttribute(default=0)  # changed by ADD, under the condition taken < places on a claim
    approved = NumberAttribute(default=0)
    deadline = UnicodeAttribute()
    state = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class ClaimItem(TableItem):
    mission_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    community_id = UnicodeAttribute(null=True)
    title = UnicodeAttribute()
    reward = NumberAttribute()
    deadline = UnicodeAttribute()
    state = UnicodeAttribute()
    claimed_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    submission = UnicodeAttribute(null=True)
    submitted_at = UnicodeAttribute(null=True)
    decided_by = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)


class ResidueItem(TableItem):
    """What one batch of stream records adds to the reconciliation (zlib-compressed JSON)."""

    body = BinaryAttribute(legacy_encoding=False)
    last_sequence = UnicodeAttribute()  # the batch's last stream sequence number
    written_at = UnicodeAttribute()


class ReconciliationStateItem(TableItem):
    """The scheduled reconciliation's checkpoint, or the full audit's progress (zlib-compressed JSON)."""

    body = BinaryAttribute(legacy_encoding=False, null=True)
    base_at = UnicodeAttribute(null=True)  # checkpoint: what happened before it is proven by an audit
    version = NumberAttribute(default=0)


class JobRunItem(TableItem):
    """A scheduled job's last run (key: JOBS, the job's name)."""

    ended_at = UnicodeAttribute()
    succeeded = BooleanAttribute()
    duration_ms = NumberAttribute()
    error = UnicodeAttribute(null=True)
    last_success_at = UnicodeAttribute(null=True)
    consecutive_failures = NumberAttribute(default=0)


class NotificationItem(TableItem):
    """One notification (short attribute names: one is written per event and member). Expires (TTL)."""

    kind = UnicodeAttribute(attr_name="k")
    params = UnicodeAttribute(attr_name="p", default="{}")  # JSON object
    read = BooleanAttribute(attr_name="r", null=True)


class NotificationStateItem(TableItem):
    """A member's notification state: everything at or before `until` is read; kinds turned off."""

    until = UnicodeAttribute(attr_name="u", null=True)
    off = UnicodeSetAttribute(null=True)


def bind(config: Settings) -> None:
    """Point every model at the configured table. The entities share the base's `Meta`, and PynamoDB
    reuses a connection whose table name matches: connecting the base first gives all of them its one
    connection (one botocore client), which transactions use too."""
    TableItem.Meta.table_name = config.table_name
    TableItem.Meta.host = config.dynamodb_endpoint
    TableItem.Meta.region = config.region
    TableItem.Meta.read_timeout_seconds = config.dynamodb_read_timeout_seconds
    connection()


def connection() -> Connection:
    """The connection every model shares; transactions are sent through it."""
    return TableItem._get_connection().connection

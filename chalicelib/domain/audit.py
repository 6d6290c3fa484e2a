"""The operators' audit log: who did what, to what, when and why."""

from __future__ import annotations

from enum import StrEnum

from msgspec import Struct, field


class AuditAction(StrEnum):
    REWARD = "reward"
    FUND_REWARDS_POOL = "fund_rewards_pool"
    CREATE_COMMUNITY = "create_community"
    GRANT_AMBASSADOR = "grant_ambassador"
    REVOKE_AMBASSADOR = "revoke_ambassador"
    HIDE_LISTING = "hide_listing"
    UNHIDE_LISTING = "unhide_listing"
    DISMISS_REPORTS = "dismiss_reports"
    RESOLVE_DISPUTE = "resolve_dispute"
    HIDE_REVIEW = "hide_review"
    KEEP_REVIEW = "keep_review"
    SET_COLLEGES = "set_colleges"
    PLACE_COOPERATOR = "place_cooperator"
    CREATE_BALLOT = "create_ballot"
    APPLY_DECISION = "apply_decision"
    SPEND_EARMARK = "spend_earmark"
    POST_MISSION = "post_mission"
    APPROVE_MISSION_CLAIM = "approve_mission_claim"
    REJECT_MISSION_CLAIM = "reject_mission_claim"
    CHANGE_FEES = "change_fees"
    AUDIT_LEDGER = "audit_ledger"  # a full audit of the ledger started


class AuditEntry(Struct, frozen=True):
    entry_id: str
    operator_id: str
    action: AuditAction
    target: str
    reason: str
    at: str
    details: dict[str, str] = field(default_factory=dict)

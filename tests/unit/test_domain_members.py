"""Member profile rules, without any database."""

from __future__ import annotations

import pytest

from chalicelib.api.problems import status_of
from chalicelib.domain.members import (
    Member,
    active_week,
    apply_profile_changes,
    default_display_name,
    home_community,
    join_community,
    leave_community,
)
from chalicelib.errors import AppError


def member(**fields) -> Member:
    base = {"member_id": "alice", "display_name": "Alice", "created_at": "2025-01-01T00:00:00.000000Z"}
    return Member(**{**base, **fields})


class TestDefaultDisplayName:
    def test_uses_the_claimed_name_stripped(self):
        assert default_display_name("abc123xyz", "  Alice Liddell  ") == "Alice Liddell"

    @pytest.mark.parametrize("claimed", [None, "", "   ", "\t\n"])
    def test_falls_back_to_a_name_built_from_the_id(self, claimed):
        assert default_display_name("abc123xyz", claimed) == "Member abc123"

    def test_fallback_never_shows_the_whole_identifier(self):
        sub = "4f1c2a9e-0000-4000-8000-123456789abc"
        assert sub not in default_display_name(sub, None)

    def test_is_cut_to_the_display_name_limit(self):
        name = default_display_name("x", "A" * 200)
        assert name == "A" * 60


class TestApplyProfileChanges:
    def test_changes_only_the_given_fields(self):
        before = member(bio="old", languages=("fr",), location="u0hqg")
        after = apply_profile_changes(before, {"bio": "new"})
        assert after.bio == "new"
        assert after.languages == ("fr",)
        assert after.location == "u0hqg"
        assert after.display_name == "Alice"
        assert before.bio == "old", "the original is never mutated"

    def test_no_changes_is_the_same_profile(self):
        before = member(bio="b", skills=("x",))
        assert apply_profile_changes(before, {}) == before

    def test_languages_and_skills_are_lowercased_and_deduplicated_in_order(self):
        after = apply_profile_changes(
            member(), {"languages": ["fr", "de", "fr"], "skills": ["Gardening", "gardening", "Bike Repair"]}
        )
        assert after.languages == ("fr", "de")
        assert after.skills == ("gardening", "bike repair")
        assert isinstance(after.languages, tuple)
        assert isinstance(after.skills, tuple)

    def test_home_community_must_be_one_the_member_joined(self):
        with pytest.raises(AppError) as raised:
            apply_profile_changes(member(community_ids=("c1",)), {"home_community_id": "c2"})
        assert status_of(raised.value) == 422
        assert raised.value.code == "validation-failed"
        assert [e.field for e in raised.value.errors] == ["home_community_id"]

    def test_home_community_without_any_membership_is_refused(self):
        with pytest.raises(AppError):
            apply_profile_changes(member(), {"home_community_id": "c1"})

    def test_home_community_among_joined_ones_is_accepted(self):
        after = apply_profile_changes(member(community_ids=("c1", "c2")), {"home_community_id": "c2"})
        assert after.home_community_id == "c2"

    def test_null_clears_home_and_location(self):
        before = member(community_ids=("c1",), home_community_id="c1", location="u0hqg")
        after = apply_profile_changes(before, {"home_community_id": None, "location": None})
        assert after.home_community_id is None
        assert after.location is None

    def test_a_stale_home_can_be_cleared(self):
        before = member(community_ids=(), home_community_id="gone")
        assert apply_profile_changes(before, {"home_community_id": None}).home_community_id is None


class TestMembershipChanges:
    def test_join_appends_once(self):
        joined = join_community(member(community_ids=("c1",)), "c2")
        assert joined.community_ids == ("c1", "c2")
        assert join_community(joined, "c2") is joined

    def test_leave_removes_the_community_and_keeps_another_home(self):
        before = member(community_ids=("c1", "c2"), home_community_id="c1")
        after = leave_community(before, "c2")
        assert after.community_ids == ("c1",)
        assert after.home_community_id == "c1"

    def test_leaving_the_home_community_clears_home(self):
        before = member(community_ids=("c1", "c2"), home_community_id="c1")
        after = leave_community(before, "c1")
        assert after.community_ids == ("c2",)
        assert after.home_community_id is None

    def test_leaving_a_community_not_joined_changes_nothing(self):
        before = member(community_ids=("c1",), home_community_id="c1")
        assert leave_community(before, "zz") == before


@pytest.mark.parametrize(
    ("day", "monday"),
    [
        ("2030-01-07", "2030-01-07"),
        ("2030-01-13", "2030-01-07"),
        ("2030-01-01", "2029-12-31"),
        ("2024-03-03", "2024-02-26"),
    ],
)
def test_activity_is_marked_by_the_week_starting_on_monday(day, monday):
    assert active_week(day) == monday


def test_the_home_community_is_the_chosen_one_else_the_first():
    assert home_community(member()) is None
    assert home_community(member(community_ids=("b", "c"))) == "b"
    assert home_community(member(community_ids=("b", "c"), home_community_id="c")) == "c"

"""Every scheduled job of app.py has a reserved concurrency of 1 on the deployed stages, as Chalice resolves
.chalice/config.json for it: one run of a job at a time (a run outlasting its period is throttled, and its
Throttles alarm says so), and no job can take the account's concurrency from the API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from chalice.app import ScheduledEventConfig
from chalice.config import Config

from app import app

CONFIG = json.loads((Path(__file__).resolve().parents[2] / ".chalice" / "config.json").read_text())
JOBS = [source.name for source in app.event_sources if isinstance(source, ScheduledEventConfig)]


def reserved(stage: str, function: str) -> int | None:
    return Config(chalice_stage=stage, function_name=function, config_from_disk=CONFIG).reserved_concurrency


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_scheduled_job_runs_one_at_a_time(stage: str):
    assert JOBS, "app.py schedules jobs"
    assert {job: reserved(stage, job) for job in JOBS} == dict.fromkeys(JOBS, 1)


def test_the_api_and_the_stream_handler_are_not_capped():
    assert reserved("prod", "api_handler") is None
    assert reserved("prod", "table_changes") is None

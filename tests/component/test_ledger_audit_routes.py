"""Operators start a full audit of the ledger and follow it; the job scheduled every minute works on it."""

from __future__ import annotations

from chalicelib.jobs import scheduled
from tests.component.support import assert_problem
from tests.conftest import OPERATOR


def test_an_operator_starts_the_audit_and_follows_it_to_its_report(api):
    assert api.get("/operator/reconciliation/audit", as_="op", groups=OPERATOR).status_code == 404
    assert api.post("/operator/reconciliation/audit", as_="alice").status_code == 403
    started = api.post("/operator/reconciliation/audit", as_="op", groups=OPERATOR)
    assert started.status_code == 202, started.body
    assert (started.json["state"], started.json["started_by"], started.json["report"]) == ("running", "op", None)
    assert_problem(api.post("/operator/reconciliation/audit", as_="op", groups=OPERATOR), 409, "audit-running")
    while scheduled.continue_ledger_audit():
        progress = api.get("/operator/reconciliation/audit", as_="op", groups=OPERATOR).json
        if progress["state"] == "finished":
            break
    audit = api.get("/operator/reconciliation/audit", as_="op", groups=OPERATOR)
    assert audit.status_code == 200, audit.body
    assert audit.json["state"] == "finished" and audit.json["invocations"] >= 1
    assert audit.json["report"]["balanced"] is True and audit.json["report"]["accounts"] >= 1, audit.body
    assert audit.json["audit_id"] == started.json["audit_id"]
    assert scheduled.continue_ledger_audit() is False  # nothing left to do: one read
    log = api.get("/operator/audit", as_="op", groups=OPERATOR).json["items"]
    assert [(entry["action"], entry["target"]) for entry in log] == [("audit_ledger", started.json["audit_id"])]

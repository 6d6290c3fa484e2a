"""Chalice wiring: CORS, blueprints and schedules. Nothing else lives here."""

from typing import Any

from chalice.app import Chalice, CORSConfig, Rate

from chalicelib.api import communities, members, meta, operator, purchases, wallet
from chalicelib.jobs import scheduled

app = Chalice(app_name="pwiic")
app.api.cors = CORSConfig(
    allow_origin="*",  # bearer tokens, no cookies: any web client origin may call the API
    allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
    max_age=600,
)
for router in (meta.router, members.router, communities.router, wallet.router, purchases.router, operator.router):
    app.register_blueprint(router.blueprint)


@app.schedule(Rate(5, unit=Rate.MINUTES))
def void_expired_holds(event: Any) -> None:
    scheduled.void_expired_holds()


@app.schedule(Rate(1, unit=Rate.HOURS))
def reconcile_ledger(event: Any) -> None:
    scheduled.reconcile_ledger()

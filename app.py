"""Chalice wiring: CORS, blueprints and schedules. Nothing else lives here."""

from chalice.app import Chalice, CORSConfig

from chalicelib.api import communities, members, meta

app = Chalice(app_name="pwiic")
app.api.cors = CORSConfig(
    allow_origin="*",  # bearer tokens, no cookies: any web client origin may call the API
    allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
    max_age=600,
)
for router in (meta.router, members.router, communities.router):
    app.register_blueprint(router.blueprint)

"""The run command: the local stack with demo data, then the API on http://127.0.0.1:8000, and the
scheduled jobs on local timers (tools/jobs.py).

DynamoDB Local keeps its data under .local/dynamodb-data, so a second run reuses it. Ctrl-C stops
every process this started."""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

from tools import devkeys, jobs, localstack, table

TABLE_NAME = "pwiic-local"
API_PORT = int(os.environ.get("PWIIC_API_PORT", "8000"))
DYNAMODB_PORT = int(os.environ.get("PWIIC_DYNAMODB_PORT", "8001"))
STRIPE_PORT = int(os.environ.get("PWIIC_STRIPE_PORT", "8420"))


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def demo_notifications(member_id: str, api: str) -> list[str]:
    """The demo member's unread count and latest notifications: the jobs' first run has handed the seed's
    stream records to the stream handler."""
    from chalicelib.api.notifications import text
    from chalicelib.services import notifications

    found = notifications.page(member_id, None, 3)
    return [
        f"  {found.unread} unread notifications; the latest:",
        *(f"    - {text(stored.kind, stored.params)}" for stored, _ in found.items),
        f'  curl -H "Authorization: Bearer $TOKEN" -H "Accept-Language: fr" {api}/me/notifications',
    ]


def main() -> None:
    signal.signal(signal.SIGTERM, _stop)
    localstack.check_java()
    secrets = devkeys.ensure_local_secrets()
    tasks = jobs.local_tasks()  # a bad interval stops here, before anything starts
    try:
        with (
            localstack.dynamodb_local(DYNAMODB_PORT, localstack.LOCAL_DIR / "dynamodb-data") as dynamodb,
            localstack.localstripe(STRIPE_PORT) as stripe_url,
        ):
            table.ensure_table(table.dynamodb_client(dynamodb), TABLE_NAME)
            env = devkeys.local_env(
                secrets, dynamodb_endpoint=dynamodb, table_name=TABLE_NAME, stripe_api_base=stripe_url
            )
            os.environ.update(env)
            webhook = f"http://127.0.0.1:{API_PORT}/webhooks/stripe"
            localstack.register_stripe_webhook(stripe_url, webhook, secrets.stripe_webhook_secret)
            from tools.seed import DEMO_MEMBERS, OPERATOR_ID, seed

            seed()
            with localstack.periodic_tasks(env), localstack.chalice_local(API_PORT, env) as api:
                member = DEMO_MEMBERS[0]
                print(f"\nPwiic API: {api}  (OpenAPI: {api}/openapi.json; logs: .local/logs/)")
                print(f"DynamoDB Local: {dynamodb}   localstripe: {stripe_url}")
                token = devkeys.mint_token(member.member_id, name=member.name)
                print(f"\nDemo member ({member.name}):\n  export TOKEN={token}")
                print("\n".join(demo_notifications(member.member_id, api)))
                operator = devkeys.mint_token(OPERATOR_ID, groups=[devkeys.OPERATOR_GROUP], name="Demo operator")
                print(f"Demo operator:\n  export OPERATOR_TOKEN={operator}")
                print(f"\nScheduled jobs on local timers: {jobs.describe(tasks)} (log: .local/logs/jobs.log)")
                home = f"{api}/listings?near={member.location}&q=perceuse"
                print('\nTry: curl -H "Authorization: Bearer $TOKEN" ' + f"{api}/me/wallet")
                print(f'     curl -H "Authorization: Bearer $TOKEN" "{home}"   (keyword search)')
                print(f"     curl {api}/books/months   (the public books, published 2 minutes in)")
                print("Ctrl-C stops everything.")
                sys.stdout.flush()
                signal.pause()
    except KeyboardInterrupt:
        print("\nStopped.")


if __name__ == "__main__":
    main()

"""Print a fresh token of a dev user of the running local cloud (`make token ROLE=sales`).

    python -m localcloud.token [--role admin|sales] [--aws-url http://127.0.0.1:4566] [--id-token]

It signs in with the emulator's own Cognito API (InitiateAuth, USER_PASSWORD_AUTH), exactly as a
client of a deployed stack does, as the user `make dev` created for that group
(``<role>@example.com``). The user pool and app client are found in the emulator: the pool that
has that user, and its only app client or else the one named as template.yaml's.
"""

from __future__ import annotations

import argparse
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from localcloud import authorizer
from localcloud.provision import DEV_PASSWORD
from localcloud.sam_template import REGION, USER_POOL_CLIENT, SamTemplate


def _client(aws_url: str) -> object:
    return boto3.client(
        "cognito-idp",
        endpoint_url=aws_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}, connect_timeout=3, read_timeout=10),
    )


def _template_client_names(template_path: str) -> set[str]:
    template = SamTemplate.load(template_path)
    resolver = template.resolver()
    return {
        resolver.resolve(props.get("ClientName", logical_id), logical_id)
        for logical_id, props in template.of_type(USER_POOL_CLIENT).items()
    }


def find_client_id(client: object, username: str, template_path: str) -> str:
    """The app client of the emulator's user pool that has `username`."""
    pools = client.list_user_pools(MaxResults=60)["UserPools"]  # type: ignore[attr-defined]
    for pool in pools:
        try:
            client.admin_get_user(UserPoolId=pool["Id"], Username=username)  # type: ignore[attr-defined]
        except ClientError:
            continue
        clients = client.list_user_pool_clients(UserPoolId=pool["Id"], MaxResults=60)["UserPoolClients"]  # type: ignore[attr-defined]
        if len(clients) != 1:
            names = _template_client_names(template_path)
            clients = [c for c in clients if c["ClientName"] in names]
        if len(clients) == 1:
            return str(clients[0]["ClientId"])
        raise SystemExit(f"error: cannot tell which app client of pool {pool['Id']} to use; pass --client-id")
    raise SystemExit(f"error: no user pool in the emulator has the user {username} (is `make dev` running?)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localcloud.token", description=__doc__.split("\n")[0])
    parser.add_argument("--role", default="admin", help="the dev user's group (default: %(default)s)")
    parser.add_argument("--aws-url", default="http://127.0.0.1:4566", help="the emulator (default: %(default)s)")
    parser.add_argument("--client-id", help="app client id (default: found in the emulator)")
    parser.add_argument("--template", default="template.yaml", help="names the app client (default: %(default)s)")
    parser.add_argument("--id-token", action="store_true", help="print the ID token instead of the access token")
    args = parser.parse_args(argv)

    username = f"{args.role}@example.com"
    client = _client(args.aws_url)
    try:
        client_id = args.client_id or find_client_id(client, username, args.template)
        result = authorizer.initiate_auth(client, client_id, username, DEV_PASSWORD)
    except (BotoCoreError, ClientError) as exc:
        print(f"error: cannot sign in as {username} at {args.aws_url}: {exc}", file=sys.stderr)
        return 1
    print(result["IdToken" if args.id_token else "AccessToken"])
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The emulated AWS behind `sam local start-api`: a moto server that Lambda containers can reach.

    python -m localcloud.samlocal.backend --port 5005 --env-out .localcloud/samlocal/env.json \
        [--host 0.0.0.0] [--template template.yaml] [--env-vars USER.json] [--parameter-overrides K=V ...]

It is the moto of the Docker-free local cloud (:func:`localcloud.serving.start_moto`: the same
patches; the same resources from template.yaml via :func:`localcloud.provision.provision`),
served on an address the containers can reach, and it writes the ``--env-vars`` file for SAM:

* ``Parameters.AWS_ENDPOINT_URL = http://host.docker.internal:PORT`` (SAM must run with
  ``--add-host host.docker.internal:host-gateway``);
* ``Parameters.AWS_DISABLE_HOST_PREFIX_INJECTION = true`` (StartSyncExecution's ``sync-`` prefix);
* the real ARNs of the state machines for variables set to ``!Ref``/``!GetAtt ...Arn`` of one;
* then the user's own ``--env-vars`` file on top.

It also creates template.yaml's Cognito user pool, app client and groups, and one dev user per
group (as the local cloud does); ``--auth-out`` writes their ids for the JWT authorizer that
:mod:`localcloud.samlocal.sam_cli` puts in front of SAM's gateway, and for tests, with the pools'
pre token generation triggers (``token_triggers``).

Cognito's triggers run as Cognito runs them (:mod:`localcloud.cognito_triggers`): for each pool
whose template ``LambdaConfig`` names a pre token generation function
(:meth:`SamTemplate.pre_token_triggers`), every sign-in or refresh invokes that function with
``lambda:Invoke`` on ``--lambda-url``, the ``sam local start-lambda`` that start-api.sh runs for
it (a real Lambda container), before the tokens are signed. It is called only at sign-in time,
so SAM may start after the backend. A function error, an error answer, an unreachable endpoint or
no answer within Cognito's 5 seconds fails the sign-in (``UserLambdaValidationException``).
Without ``--lambda-url`` no trigger runs and the tokens carry no claim a trigger would add.

SAM applies an entry only to variables a function declares in template.yaml.

When the env file is written, the server is ready; it serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localcloud.sam_template import SamTemplate

CONTAINER_HOST = "host.docker.internal"
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
REGION = "us-east-1"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m localcloud.samlocal.backend", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="0.0.0.0", help="bind address; containers need 0.0.0.0 (default)")
    parser.add_argument("--port", type=int, required=True, help="moto port")
    parser.add_argument("--template", default="template.yaml")
    parser.add_argument("--env-out", required=True, help="write SAM's --env-vars JSON here when ready")
    parser.add_argument("--env-vars", help="user env-vars JSON merged on top")
    parser.add_argument(
        "--auth-out", help="write the user pools' ids and the dev users here (for the JWT authorizer and tests)"
    )
    parser.add_argument("--parameter-overrides", nargs="*", default=[], metavar="KEY=VALUE")
    parser.add_argument(
        "--lambda-url",
        help="`sam local start-lambda` serving the pools' pre token generation functions (called at sign-in)",
    )
    return parser.parse_args(argv)


#: Cognito waits this long for a trigger, then fails the sign-in.
COGNITO_TRIGGER_TIMEOUT = 5.0


def lambda_client(lambda_url: str) -> Any:
    """A Lambda client of `lambda_url` as Cognito calls a trigger: one attempt, Cognito's 5 s."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=2, read_timeout=COGNITO_TRIGGER_TIMEOUT, retries={"total_max_attempts": 1, "mode": "standard"}
    )
    return boto3.client(
        "lambda",
        endpoint_url=lambda_url,
        region_name=REGION,
        config=config,
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def invoke_trigger(client: Any, function: str, event: dict[str, Any]) -> Any:
    """`function`'s answer to `event` through ``lambda:Invoke`` (RequestResponse). Raises
    :class:`TriggerInvokeError` when the function failed (``FunctionError``: its error document);
    the client raises for an error answer (unknown function, endpoint down, timeout)."""
    response = client.invoke(FunctionName=function, InvocationType="RequestResponse", Payload=json.dumps(event))
    payload = response["Payload"].read()
    if response.get("FunctionError"):
        raise TriggerInvokeError(f"{function}: {response['FunctionError']}: {payload.decode(errors='replace')[:500]}")
    return json.loads(payload or b"null")


class TriggerInvokeError(Exception):
    """The trigger function failed (Lambda's ``FunctionError``)."""


def serve_token_triggers(template: SamTemplate, user_pools: Mapping[str, str], lambda_url: str) -> list[dict[str, str]]:
    """Registers each pool's pre token generation trigger with :func:`cognito_triggers.serve`,
    invoked on `lambda_url` by its logical id (as ``sam local start-lambda`` names it). Returns
    the triggers served: pool (logical id), pool_id, function, version."""
    from localcloud import cognito_triggers

    client = lambda_client(lambda_url)
    served = []
    for trigger in template.pre_token_triggers():
        pool_id = user_pools.get(trigger.pool)
        if pool_id is None:
            continue

        def invoke(event: dict[str, Any], function: str = trigger.function) -> Any:
            return invoke_trigger(client, function, event)

        cognito_triggers.serve(pool_id, trigger.version, invoke)
        served.append(
            {"pool": trigger.pool, "pool_id": pool_id, "function": trigger.function, "version": trigger.version}
        )
    return served


def _write_atomically(out: Path, text: str) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)


def serve(args: argparse.Namespace) -> int:
    import boto3

    from localcloud.provision import provision
    from localcloud.sam_template import SamTemplate
    from localcloud.server import load_env_vars_file, merge_env_vars, state_machine_env_overrides
    from localcloud.serving import start_moto

    os.environ.update({**DUMMY_CREDENTIALS, "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION})
    os.environ.pop("AWS_ENDPOINT_URL", None)
    moto = start_moto(args.host, args.port, log_requests=True)
    os.environ.update(moto.env)

    template = SamTemplate.load(args.template)
    overrides = dict(item.split("=", 1) for item in args.parameter_overrides)

    # The workflow sends pending releases to the template's queue; `sam local start-api` runs no
    # SQS event source, so they wait there (the Docker-free local cloud polls it). The secrets
    # (the cursor-signing key) are fresh per backend run.
    def client(service: str) -> object:
        return boto3.client(service, endpoint_url=moto.url, region_name=REGION)  # type: ignore[call-overload]

    made = provision(client, template, overrides)
    triggers = serve_token_triggers(template, made.user_pools, args.lambda_url) if args.lambda_url else []
    if args.auth_out:
        auth = {
            "user_pools": dict(made.user_pools),
            "dev_users": dataclasses.asdict(made.dev_users) if made.dev_users else None,
            "token_triggers": triggers,
        }
        _write_atomically(Path(args.auth_out), json.dumps(auth, indent=2) + "\n")
    env = merge_env_vars(
        {
            "Parameters": {
                "AWS_ENDPOINT_URL": f"http://{CONTAINER_HOST}:{moto.port}",
                "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
            }
        },
        state_machine_env_overrides(template, made.state_machines),
        load_env_vars_file(args.env_vars),
    )
    _write_atomically(Path(args.env_out), json.dumps(env, indent=2) + "\n")  # its appearing means "ready"
    print(json.dumps({"aws_url": moto.url, "tables": made.tables, "state_machines": made.state_machines}), flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass
    moto.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    return serve(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

"""The emulated AWS behind `sam local start-api`: a moto server that Lambda containers can reach.

    python -m localcloud.samlocal.backend --port 5005 --env-out .localcloud/samlocal/env.json \
        [--host 0.0.0.0] [--template template.yaml] [--env-vars USER.json] [--parameter-overrides K=V ...]

It is the moto of the Docker-free local cloud (same StartSyncExecution, DynamoDB-atomicity and
parse-once patches, same tables and state machines from template.yaml via
:mod:`localcloud.template`), served on an address the containers can reach, and it writes the
``--env-vars`` file for SAM:

* ``Parameters.AWS_ENDPOINT_URL = http://host.docker.internal:PORT`` (SAM must run with
  ``--add-host host.docker.internal:host-gateway``);
* ``Parameters.AWS_DISABLE_HOST_PREFIX_INJECTION = true`` (StartSyncExecution's ``sync-`` prefix);
* the real ARNs of the state machines for variables set to ``!Ref``/``!GetAtt ...Arn`` of one;
* then the user's own ``--env-vars`` file on top.

It also creates template.yaml's Cognito user pool, app client and groups, and one dev user per
group (as the local cloud does); ``--auth-out`` writes their ids for the JWT authorizer that
:mod:`localcloud.samlocal.sam_cli` puts in front of SAM's gateway, and for tests.

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
import urllib.request
from pathlib import Path

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
    return parser.parse_args(argv)


def _post_config(url: str) -> None:
    body = json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode()
    request = urllib.request.Request(f"{url}/moto-api/config", data=body, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def _install_patches() -> None:
    from localcloud import asl_cache, dynamodb_atomic, sync_execution

    sync_execution.install()
    dynamodb_atomic.install()
    asl_cache.install()


def _write_atomically(out: Path, text: str) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)


def serve(args: argparse.Namespace) -> int:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    from localcloud.authorizer import create_dev_users
    from localcloud.server import load_env_vars_file, merge_env_vars, state_machine_env_overrides
    from localcloud.template import (
        create_queues,
        create_secrets,
        create_state_machines,
        create_tables,
        create_user_pools,
        load_template,
    )

    os.environ.update({**DUMMY_CREDENTIALS, "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION})
    os.environ.pop("AWS_ENDPOINT_URL", None)
    # moto's ASL interpreter calls DynamoDB at localhost:$MOTO_PORT.
    os.environ["MOTO_PORT"] = str(args.port)
    _install_patches()

    server = make_server(
        args.host,
        args.port,
        DomainDispatcherApplication(create_backend_app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )
    thread = threading.Thread(target=server.serve_forever, name="samlocal-moto", daemon=True)
    thread.start()
    local_url = f"http://127.0.0.1:{args.port}"
    _post_config(local_url)

    import boto3

    template_path = Path(args.template).resolve()
    template = load_template(template_path)
    overrides = dict(item.split("=", 1) for item in args.parameter_overrides)
    tables = create_tables(boto3.client("dynamodb", endpoint_url=local_url, region_name=REGION), template)
    # The workflow sends pending releases here; `sam local start-api` runs no SQS event source,
    # so they wait in the queue (the Docker-free local cloud polls it).
    create_queues(boto3.client("sqs", endpoint_url=local_url, region_name=REGION), template)
    # A fresh cursor-signing key (and any other secret) per backend run.
    create_secrets(boto3.client("secretsmanager", endpoint_url=local_url, region_name=REGION), template)
    arns = create_state_machines(
        boto3.client("stepfunctions", endpoint_url=local_url, region_name=REGION),
        template,
        template_path.parent,
        overrides,
    )
    cognito = boto3.client("cognito-idp", endpoint_url=local_url, region_name=REGION)
    pools = create_user_pools(cognito, template, overrides)
    dev = create_dev_users(cognito, pools, template)
    if args.auth_out:
        auth = {"user_pools": dict(pools), "dev_users": dataclasses.asdict(dev) if dev else None}
        _write_atomically(Path(args.auth_out), json.dumps(auth, indent=2) + "\n")
    env = merge_env_vars(
        {
            "Parameters": {
                "AWS_ENDPOINT_URL": f"http://{CONTAINER_HOST}:{args.port}",
                "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
            }
        },
        state_machine_env_overrides(template, arns),
        load_env_vars_file(args.env_vars),
    )
    _write_atomically(Path(args.env_out), json.dumps(env, indent=2) + "\n")  # its appearing means "ready"
    print(json.dumps({"aws_url": local_url, "tables": tables, "state_machines": arns}), flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass
    server.shutdown()
    return 0


def main(argv: list[str] | None = None) -> int:
    return serve(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

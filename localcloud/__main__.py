"""python -m localcloud [--port 8080] [--aws-port N] [--host 127.0.0.1] [--aws-host 127.0.0.1] [--seed]
[--env-vars FILE] [--template template.yaml] [--state-file .localcloud/state.json] [--max-concurrency N]
[--idle-timeout SECONDS] [--no-auth] [--signing-key FILE]"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import signal
import sys
import threading
from typing import Any

from localcloud.runtime import DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONCURRENCY
from localcloud.server import DEFAULT_AWS_PORT, LocalCloud, LocalCloudError, port_is_free


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m localcloud",
        description="Serve template.yaml's API, each function in its own Lambda-like worker processes, "
        "backed by moto (no Docker).",
    )
    parser.add_argument("--template", default="template.yaml", help="SAM template (default: %(default)s)")
    parser.add_argument("--host", default="127.0.0.1", help="bind address of the API (default: %(default)s)")
    parser.add_argument(
        "--aws-host",
        default="127.0.0.1",
        help="bind address of the AWS endpoint (moto, with its unauthenticated reset API; default: %(default)s, "
        "whatever --host is)",
    )
    parser.add_argument("--port", type=int, default=8080, help="API port (default: %(default)s; 0 = any free)")
    parser.add_argument(
        "--aws-port",
        type=int,
        default=None,
        help=f"moto (AWS endpoint) port (default: {DEFAULT_AWS_PORT}, or any free port if that is taken; 0 = any free)",
    )
    parser.add_argument("--env-vars", metavar="FILE", help="JSON like `sam local start-api --env-vars`")
    parser.add_argument(
        "--parameter-overrides",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="template parameters, e.g. Stage=dev LogLevel=DEBUG",
    )
    parser.add_argument("--seed", action="store_true", help="create sample products and customers via the API")
    parser.add_argument(
        "--state-file",
        metavar="FILE",
        help="persist DynamoDB items across restarts in this JSON file (e.g. .localcloud/state.json)",
    )
    parser.add_argument(
        "--signing-key",
        metavar="FILE",
        help="keep the key that signs Cognito tokens in this file (made if missing; default: beside "
        "--state-file, else a new key per run)",
    )
    parser.add_argument(
        "--max-concurrency",
        type=_positive_int,
        default=DEFAULT_MAX_CONCURRENCY,
        metavar="N",
        help="execution environments (worker processes) per function at most; more requests wait "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=DEFAULT_IDLE_TIMEOUT,
        metavar="SECONDS",
        help="stop an execution environment unused for this long (default: %(default)g)",
    )
    parser.add_argument(
        "--no-auth",
        action="store_true",
        help="do not check tokens: every request runs as the dev admin user (a loud banner says so)",
    )
    parser.add_argument(
        "--function-aws-url",
        metavar="URL",
        help="AWS endpoint the functions use instead of the emulator's (e.g. a proxy in front of it that "
        "records or disturbs their requests)",
    )
    parser.add_argument(
        "--task-timeout-scale",
        type=float,
        default=1.0,
        metavar="K",
        help="stretch every workflow Task's TimeoutSeconds K times, for a machine so loaded that the emulator "
        "answers in seconds (default: %(default)g, the template's own numbers)",
    )
    parser.add_argument("--ready-json", action="store_true", help=argparse.SUPPRESS)  # for LocalCloudProcess
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="debug logging, including moto's workflow interpreter"
    )
    return parser.parse_args(argv)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    overrides: dict[str, Any] = {}
    for item in args.parameter_overrides:
        key, sep, value = item.partition("=")
        if not sep:
            print(f"error: --parameter-overrides expects KEY=VALUE, got {item!r}", file=sys.stderr)
            return 2
        overrides[key] = value
    return _serve(args, overrides)


def _serve(args: argparse.Namespace, overrides: dict[str, Any]) -> int:
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)

    aws_port = args.aws_port
    if aws_port is None:
        aws_port = DEFAULT_AWS_PORT if port_is_free(args.aws_host, DEFAULT_AWS_PORT) else 0
    cloud = LocalCloud(
        args.template,
        api_port=args.port,
        aws_port=aws_port,
        host=args.host,
        env_vars=args.env_vars,
        parameter_overrides=overrides,
        state_file=args.state_file,
        seed=args.seed,
        workflow_logs=args.verbose,
        aws_host=args.aws_host,
        max_concurrency=args.max_concurrency,
        idle_timeout=args.idle_timeout,
        on_fatal=lambda _exc: stop.set(),
        auth=not args.no_auth,
        signing_key_file=args.signing_key,
        function_aws_url=args.function_aws_url,
        task_timeout_scale=args.task_timeout_scale,
    )
    try:
        cloud.start()
    except LocalCloudError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        print(cloud.banner(), flush=True)
        if cloud.seeded:
            counts = ", ".join(f"{len(v)} {k}" for k, v in cloud.seeded.items())
            print(f"  Seeded:        {counts}", flush=True)
        elif cloud.seed_kept:
            print(f"  Seeded:        earlier, into {args.state_file} (the samples are not created again)", flush=True)
        if args.ready_json:
            info = {
                "api_url": cloud.api_url,
                "aws_url": cloud.aws_url,
                "tables": cloud.tables,
                "event_buses": cloud.event_buses,
                "state_machine_arns": cloud.state_machine_arns,
                "user_pools": cloud.user_pools,
                "dev_users": dataclasses.asdict(cloud.dev_users) if cloud.dev_users else None,
                "auth": cloud.auth,
                "signing_key_file": str(cloud.signing_key_file) if cloud.signing_key_file else None,
            }
            print("LOCALCLOUD_READY " + json.dumps(info), flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        while not stop.wait(0.5):
            pass
        print("Stopping...", flush=True)
    finally:
        try:
            cloud.stop()
        except LocalCloudError as exc:
            print(f"error: {exc}", file=sys.stderr, flush=True)
            return 1
    return 1 if cloud.fatal_error is not None else 0


if __name__ == "__main__":
    code = main()
    # Everything is stopped and saved by now; skip interpreter finalisation, which takes seconds
    # after the handlers' imports (measured ~3 s for template.yaml's functions).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

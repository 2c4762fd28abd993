"""python -m localcloud [--port 8080] [--aws-port N] [--host 127.0.0.1] [--seed] [--env-vars FILE]
[--template template.yaml] [--state-file .localcloud/state.json]"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from typing import Any

from localcloud.server import DEFAULT_AWS_PORT, LocalCloud, LocalCloudError, port_is_free


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m localcloud",
        description="Serve template.yaml's API with in-process handlers, backed by moto (no Docker).",
    )
    parser.add_argument("--template", default="template.yaml", help="SAM template (default: %(default)s)")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default: %(default)s)")
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
    parser.add_argument("--ready-json", action="store_true", help=argparse.SUPPRESS)  # for LocalCloudProcess
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="debug logging, including moto's workflow interpreter"
    )
    return parser.parse_args(argv)


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

    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    aws_port = args.aws_port
    if aws_port is None:
        aws_port = DEFAULT_AWS_PORT if port_is_free(args.host, DEFAULT_AWS_PORT) else 0
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
        if args.ready_json:
            info = {
                "api_url": cloud.api_url,
                "aws_url": cloud.aws_url,
                "tables": cloud.tables,
                "state_machine_arns": cloud.state_machine_arns,
            }
            print("LOCALCLOUD_READY " + json.dumps(info), flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        while not stop.wait(0.5):
            pass
        print("Stopping...", flush=True)
    finally:
        cloud.stop()
    return 0


if __name__ == "__main__":
    code = main()
    # Everything is stopped and saved by now; skip interpreter finalisation, which takes seconds
    # after the handlers' imports (measured ~3 s for template.yaml's functions).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

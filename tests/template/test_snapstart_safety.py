"""SnapStart restores many execution environments from one snapshot taken after init, so the init
phase (importing a handler module) must not create anything unique, random, time-based or
connected that invocations would then reuse. Each handler of template.yaml is imported in a fresh
interpreter with its function's environment, and what the import did is recorded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.support.apigw import ROOT, Function, functions, template

PROBE = textwrap.dedent(
    """
    import datetime, importlib, json, os, random, sys, uuid
    calls = []

    def audit(event, args):
        if event in {"socket.connect", "socket.getaddrinfo", "socket.sendto", "http.client.connect"}:
            calls.append(event)
    sys.addaudithook(audit)

    # Callers whose value is never used by a handler: the stdlib's multiprocessing authkey (boto3
    # imports s3transfer, which imports multiprocessing; no handler starts a process manager).
    ALLOWED = ("multiprocessing/process.py",)

    def recorder(name, real):
        def wrapped(*a, **k):
            caller = sys._getframe(1).f_code.co_filename
            if not caller.endswith(ALLOWED):
                calls.append(f"{name} from {caller}")
            return real(*a, **k)
        return wrapped

    for mod, names in ((uuid, ("uuid1", "uuid4")), (os, ("urandom",)), (random, ("seed", "random", "getrandbits"))):
        for name in names:
            setattr(mod, name, recorder(f"{mod.__name__}.{name}", getattr(mod, name)))
    import botocore.session
    botocore.session.Session.__init__ = recorder("botocore.Session", botocore.session.Session.__init__)

    module_name, _, attr = sys.argv[1].rpartition(".")
    importlib.import_module(module_name)
    ours = (os.path.join(sys.argv[2], "functions"), os.path.join(sys.argv[2], "layers"))
    import boto3.session
    suspicious = (datetime.date, datetime.datetime, uuid.UUID, bytes, boto3.session.Session, botocore.session.Session)
    for mod in list(sys.modules.values()):
        if not (getattr(mod, "__file__", None) or "").startswith(ours):
            continue
        for key, value in vars(mod).items():
            if isinstance(value, suspicious) or hasattr(value, "_endpoint"):  # a botocore client
                calls.append(f"{mod.__name__}.{key} = {type(value).__name__}")
    print(json.dumps(calls))
    """
)


@pytest.mark.parametrize("fn", functions(), ids=lambda fn: fn.logical_id)
def test_importing_the_handler_creates_nothing_unique_random_or_connected(fn: Function) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))},
        **fn.resolved_environment({name: str(p["Default"]) for name, p in template().parameters.items()}),
        "PYTHONPATH": os.pathsep.join(str(ROOT / d) for d in ("functions", "layers/shared")),
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    out = subprocess.run(
        [sys.executable, "-c", PROBE, fn.handler, str(ROOT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []

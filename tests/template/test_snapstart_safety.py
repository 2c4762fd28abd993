"""SnapStart restores many execution environments from one snapshot taken after init, so the init
phase (importing a handler module) must not create anything unique, random, time-based or
connected that invocations would then reuse. Each handler of template.yaml is imported in a fresh
interpreter with its function's environment (a child forked before any of our modules is
imported), and what the import did is recorded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.support.apigw import ROOT, Function, front_door, functions, template

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
    import boto3.session

    # The libraries every handler imports, imported once here, under the same recorders: what
    # they do at import is checked once; each handler's own modules are then imported fresh.
    for library in sys.argv[2].split(","):
        importlib.import_module(library)
    preloaded = list(calls)
    ours = (os.path.join(sys.argv[1], "functions"), os.path.join(sys.argv[1], "layers"))
    suspicious = (datetime.date, datetime.datetime, uuid.UUID, bytes, boto3.session.Session, botocore.session.Session)

    results = {"(libraries)": preloaded}
    for job in json.loads(sys.stdin.read()):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # a fresh import of this handler, with its function's environment
            os.close(read)
            calls.clear()
            os.environ.clear()
            os.environ.update(job["env"])
            module_name, _, attr = job["handler"].rpartition(".")
            try:
                importlib.import_module(module_name)
                for mod in list(sys.modules.values()):
                    if not (getattr(mod, "__file__", None) or "").startswith(ours):
                        continue
                    for key, value in vars(mod).items():
                        if isinstance(value, suspicious) or hasattr(value, "_endpoint"):  # a botocore client
                            calls.append(f"{mod.__name__}.{key} = {type(value).__name__}")
            except BaseException as exc:
                calls.append(f"import failed: {exc!r}")
            os.write(write, json.dumps(calls).encode())
            os._exit(0)
        os.close(write)
        with os.fdopen(read, "rb") as pipe:
            results[job["handler"]] = json.loads(pipe.read() or b'["no answer"]')
        os.waitpid(pid, 0)
    print(json.dumps(results))
    """
)
# Imported by every handler; preloading them once is what makes one process enough.
LIBRARIES = (
    "boto3",
    "botocore.client",
    "pydantic",
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.metrics",
)


def _environment(fn: Function) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))},
        **fn.resolved_environment({name: str(p["Default"]) for name, p in template().parameters.items()}),
        "PYTHONPATH": os.pathsep.join(str(ROOT / d) for d in ("functions", "layers/shared")),
        "AWS_DEFAULT_REGION": "us-east-1",
    }


@pytest.fixture(scope="module")
def imports() -> dict[str, list[str]]:
    """{handler: what importing it did}, each handler imported in its own fresh child process
    (forked from one interpreter that has the shared libraries loaded), plus "(libraries)"."""
    jobs = [{"handler": fn.handler, "env": _environment(fn)} for fn in (*functions(), *front_door())]
    base = _environment(functions()[0])
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(ROOT), ",".join(LIBRARIES)],
        input=json.dumps(jobs),
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_the_shared_libraries_creates_nothing_unique_random_or_connected(imports) -> None:
    assert imports["(libraries)"] == []


@pytest.mark.parametrize("fn", (*functions(), *front_door()), ids=lambda fn: f"{fn.logical_id} {fn.method} {fn.route}")
def test_importing_the_handler_creates_nothing_unique_random_or_connected(fn: Function, imports) -> None:
    assert imports[fn.handler] == []

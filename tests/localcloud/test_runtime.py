"""ProcessRuntime with a stand-in for SAM's FunctionConfig: awslambdaric in worker processes."""

from __future__ import annotations

import io
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest
from samcli.lib.utils.stream_writer import StreamWriter

from localcloud.runtime import ProcessRuntime

HANDLER = """\
import os, time
from decimal import Decimal
BUSY = 0
def handler(event, context):
    global BUSY
    BUSY += 1
    try:
        if event.get("fail"):
            raise ValueError("boom")
        if event.get("unserialisable"):
            return {"x": object()}
        time.sleep(event.get("sleep", 0))
        return {"env": os.environ.get("MY_VAR"), "fixed": os.environ.get("FIXED"), "price": Decimal("9.5"),
                "qty": Decimal("3"), "fn": context.function_name, "pid": os.getpid(), "overlap": BUSY > 1}
    finally:
        BUSY -= 1
"""


def _config(code: Path, env: dict[str, str], name: str = "Fn") -> SimpleNamespace:
    return SimpleNamespace(
        name=name,
        handler="rtpkg.h.handler",
        code_abs_path=str(code),
        layers=[],
        memory=128,
        timeout=5,
        runtime="python3.13",
        env_vars=SimpleNamespace(resolve=lambda: dict(env)),
    )


def _invoke(runtime: ProcessRuntime, config: SimpleNamespace, event: dict) -> tuple[dict, str]:
    out, err = io.StringIO(), io.StringIO()
    runtime.invoke(config, json.dumps(event), None, stdout=StreamWriter(out), stderr=StreamWriter(err), future_kw=1)
    return json.loads(out.getvalue()), err.getvalue()


@pytest.fixture
def code(tmp_path: Path) -> Path:
    pkg = tmp_path / "rtpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "h.py").write_text(HANDLER)
    return tmp_path


def test_invoke_env_decimals_and_errors(code: Path) -> None:
    lines: list[str] = []
    runtime = ProcessRuntime(fixed_env={"FIXED": "f"}, log=lines.append)
    config = _config(code, {"MY_VAR": "mine"})
    try:
        out, _ = _invoke(runtime, config, {})
        assert {k: out[k] for k in ("env", "fixed", "price", "qty", "fn")} == {
            "env": "mine", "fixed": "f", "price": 9.5, "qty": 3, "fn": "Fn",
        }  # fmt: skip
        assert out["pid"] != os.getpid()
        assert "MY_VAR" not in os.environ

        out, err = _invoke(runtime, config, {"fail": True})
        assert (out["errorType"], out["errorMessage"]) == ("ValueError", "boom")
        assert set(out) <= {"errorMessage", "errorType", "stackTrace"}  # what SAM's gateway takes for an error
        assert "ValueError: boom" in err

        out, _ = _invoke(runtime, config, {"unserialisable": True})
        assert "errorType" in out and "errorMessage" in out

        assert "Init Duration: " in lines[0] and "Init Duration" not in lines[1]
        assert all(line.startswith("Fn REPORT RequestId: ") for line in lines)
    finally:
        runtime.close()


def test_one_invocation_per_environment_and_excess_requests_wait(code: Path) -> None:
    runtime = ProcessRuntime(max_concurrency=2)
    config = _config(code, {})
    try:
        with ThreadPoolExecutor(6) as pool:
            results = list(pool.map(lambda _: _invoke(runtime, config, {"sleep": 0.2})[0], range(6)))
        assert all("pid" in r for r in results), results
        assert not any(r["overlap"] for r in results)  # never two invocations in one environment
        assert len({r["pid"] for r in results}) <= 2
        assert runtime.environments() == {"Fn": len({r["pid"] for r in results})}
    finally:
        runtime.close()
    assert runtime.environments() == {}


def test_max_concurrency_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ProcessRuntime(max_concurrency=0)

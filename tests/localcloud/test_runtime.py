"""InProcessRuntime with a stand-in for SAM's FunctionConfig."""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path
from types import SimpleNamespace

from samcli.lib.utils.stream_writer import StreamWriter

from localcloud.runtime import InProcessRuntime


def _config(code: Path, handler: str, env: dict[str, str]) -> SimpleNamespace:
    return SimpleNamespace(
        name="Fn",
        handler=handler,
        code_abs_path=str(code),
        layers=[],
        memory=128,
        timeout=3,
        env_vars=SimpleNamespace(resolve=lambda: dict(env)),
    )


def _invoke(runtime: InProcessRuntime, config: SimpleNamespace, event: dict) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    runtime.invoke(config, json.dumps(event), None, stdout=StreamWriter(out), stderr=StreamWriter(err), future_kw=1)
    return out.getvalue(), err.getvalue()


def _write(path: Path, text: str) -> None:
    path.write_text(text)
    # make the change visible even on coarse-mtime filesystems
    stamp = time.time() + 2
    os.utime(path, (stamp, stamp))


def test_invoke_reload_errors_and_decimals(tmp_path: Path) -> None:
    pkg = tmp_path / "rtpkg_a"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    _write(
        pkg / "h.py",
        "import os\nfrom decimal import Decimal\n"
        "def handler(event, context):\n"
        "    if event.get('fail'): raise ValueError('boom')\n"
        "    return {'v': 1, 'env': os.environ['MY_VAR'], 'fixed': os.environ['FIXED'],\n"
        "            'price': Decimal('9.5'), 'qty': Decimal('3'), 'fn': context.function_name,\n"
        "            'left': context.get_remaining_time_in_millis() > 0}\n",
    )
    runtime = InProcessRuntime(fixed_env={"FIXED": "f"})
    config = _config(tmp_path, "rtpkg_a.h.handler", {"MY_VAR": "mine"})
    try:
        out, _ = _invoke(runtime, config, {})
        assert json.loads(out) == {
            "v": 1, "env": "mine", "fixed": "f", "price": 9.5, "qty": 3, "fn": "Fn", "left": True,
        }  # fmt: skip
        assert "MY_VAR" not in os.environ

        out, err = _invoke(runtime, config, {"fail": True})
        assert json.loads(out) == {"errorMessage": "boom", "errorType": "ValueError"}
        assert "Traceback" in err and "ValueError: boom" in err

        _write(pkg / "h.py", "def handler(event, context):\n    return {'v': 2}\n")
        out, _ = _invoke(runtime, config, {})
        assert json.loads(out) == {"v": 2}
    finally:
        runtime.reloader.close()


def test_unserialisable_result_is_an_error(tmp_path: Path) -> None:
    pkg = tmp_path / "rtpkg_c"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "h.py").write_text("def handler(event, context):\n    return {'x': object()}\n")
    runtime = InProcessRuntime()
    try:
        out, _ = _invoke(runtime, _config(tmp_path, "rtpkg_c.h.handler", {}), {})
        assert json.loads(out)["errorType"] == "TypeError"
    finally:
        runtime.reloader.close()

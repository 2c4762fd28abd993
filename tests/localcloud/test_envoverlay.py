from __future__ import annotations

import os
import threading

from localcloud import envoverlay


def test_overlay_reads_writes_and_restores(monkeypatch) -> None:
    monkeypatch.setenv("LC_BASE", "base")
    monkeypatch.delenv("LC_ONLY", raising=False)
    with envoverlay.overlay({"LC_BASE": "over", "LC_ONLY": "x"}):
        assert os.environ["LC_BASE"] == "over"
        assert os.getenv("LC_ONLY") == "x"
        assert "LC_ONLY" in os.environ
        assert dict(os.environ)["LC_ONLY"] == "x"
        assert os.environ.copy()["LC_BASE"] == "over"
        assert len(os.environ) == len(set(os.environ))
        os.environ["LC_WRITTEN"] = "w"  # goes to this invocation's overlay
        assert os.environ["LC_WRITTEN"] == "w"
        del os.environ["LC_ONLY"]
        assert "LC_ONLY" not in os.environ
    assert os.environ["LC_BASE"] == "base"
    assert "LC_ONLY" not in os.environ
    assert "LC_WRITTEN" not in os.environ


def test_overlay_is_per_thread() -> None:
    barrier = threading.Barrier(8)
    seen: dict[int, list[str | None]] = {}

    def worker(i: int) -> None:
        with envoverlay.overlay({"LC_WHO": f"fn{i}"}):
            barrier.wait()
            seen[i] = [os.environ.get("LC_WHO") for _ in range(200)]

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, values in seen.items():
        assert set(values) == {f"fn{i}"}
    assert "LC_WHO" not in os.environ


def test_new_threads_do_not_inherit_the_overlay() -> None:
    out: list[str | None] = []
    with envoverlay.overlay({"LC_X": "1"}):
        t = threading.Thread(target=lambda: out.append(os.environ.get("LC_X")))
        t.start()
        t.join()
    assert out == [None]


def test_process_environment_is_untouched_without_overlay(monkeypatch) -> None:
    envoverlay.install()
    monkeypatch.setenv("LC_PLAIN", "1")
    assert os.environ["LC_PLAIN"] == "1"
    monkeypatch.delenv("LC_PLAIN")
    assert "LC_PLAIN" not in os.environ

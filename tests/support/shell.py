"""The environment a developer's shell gives `make dev`: this test process's, without the quieter
POWERTOOLS_* settings tests/conftest.py sets for in-process handlers (SAM lets the shell's value
of a variable the template declares win, as `sam local` does)."""

from __future__ import annotations

import os


def developer_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("POWERTOOLS_")}

"""What the local cloud prints, read back: the lines a quiet session must not have, and the
lines of one request."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

# A warning or an error in any of the forms the pieces print them: Python's logging, warnings,
# tracebacks, powertools' JSON lines.
NOISE = re.compile(
    r"\bWARNING\b|\bERROR\b|\bCRITICAL\b|Warning: |Traceback \(most recent call last\)"
    r'|"level":\s*"(?:WARNING|ERROR|CRITICAL)"'
)


def noise(lines: Iterable[str]) -> list[str]:
    """The lines that warn or report an error."""
    return [line for line in lines if NOISE.search(line)]


def json_lines(lines: Iterable[str]) -> list[dict[str, Any]]:
    """The structured (powertools) log lines."""
    out = []
    for line in lines:
        text = line.strip()
        if text.startswith("{") and '"level"' in text:
            try:
                out.append(json.loads(text))
            except ValueError:
                continue
    return out

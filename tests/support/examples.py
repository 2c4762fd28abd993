"""The docs' shell examples, run as printed against a local cloud (see docs/testing.md, "Examples
that run").

* :func:`examples_in` finds the ```bash blocks of a Markdown page that talk to the local API.
* :func:`expected_statuses` reads what each ``curl`` of a block must answer: any 1xx-3xx, or
  exactly ``NNN`` when the command ends with ``# expect NNN``.
* :class:`Runner` runs blocks verbatim in one bash session, with a ``curl`` wrapper first on PATH
  that sends ``localhost:8080`` to the test's local cloud (``--connect-to``) and records the
  status of every call, and ``AWS_URL`` pointing ``make -s token`` at the test's emulator.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC_PAGES = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
LOCAL_API = ("localhost:8080", "127.0.0.1:8080")
# A command mentioning one of these talks to `make dev` (the token comes from its emulator).
_TALKS_TO_LOCAL = re.compile(r"localhost:8080|127\.0\.0\.1:8080|make -s token")
_FENCE = re.compile(r"^```(\S*)\s*$")
_EXPECT = re.compile(r"#\s*expect\s+([1-5][0-9]{2})\s*$")
_CURL = re.compile(r"(?:^|[\s;&|(`])curl(?=\s)")
ANY_SUCCESS = "1xx-3xx"


@dataclass(frozen=True)
class Example:
    page: Path
    line: int  # 1-based line of the opening fence
    text: str

    @property
    def where(self) -> str:
        page = self.page.relative_to(ROOT) if self.page.is_relative_to(ROOT) else self.page
        return f"{page}:{self.line}"


def _code(line: str) -> str:
    """A shell line without its comment: a `#` at the start or after whitespace, outside quotes."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def commands(text: str) -> list[str]:
    """The block's logical commands: backslash-continued lines joined, blank lines and comments dropped."""
    out: list[str] = []
    current = ""
    for raw in text.splitlines():
        if raw.rstrip().endswith("\\"):
            current += raw.rstrip()[:-1] + " "
            continue
        current += raw
        if current.strip() and not current.strip().startswith("#"):
            out.append(current.strip())
        current = ""
    if current.strip():
        out.append(current.strip())
    return out


def talks_to_local_api(text: str) -> bool:
    return any(_TALKS_TO_LOCAL.search(_code(command)) for command in commands(text))


def examples_in(page: Path) -> list[Example]:
    """The page's ```bash blocks that talk to the local API, in order."""
    found: list[Example] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if match and match.group(1):
            end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith("```")), len(lines))
            text = "\n".join(lines[i + 1 : end])
            if match.group(1) in ("bash", "sh", "shell") and talks_to_local_api(text):
                found.append(Example(page, i + 1, text))
            i = end + 1
        else:
            i += 1
    return found


def expected_statuses(text: str) -> list[str]:
    """For each curl the block runs, in order: "NNN" (from `# expect NNN`) or :data:`ANY_SUCCESS`."""
    out: list[str] = []
    for command in commands(text):
        calls = len(_CURL.findall(_code(command)))
        expect = _EXPECT.search(command)
        out += [expect.group(1) if expect else ANY_SUCCESS] * calls
    return out


def status_ok(expected: str, actual: str) -> bool:
    if expected == ANY_SUCCESS:
        return actual[:1] in ("1", "2", "3")
    return actual == expected


_WRAPPER = r"""#!/usr/bin/env bash
# The docs examples' curl: the real one, with localhost:8080 sent to the test's local cloud;
# appends "<status> <exit code>" of every call to $EXAMPLES_LOG.
headers=$(mktemp)
"$EXAMPLES_REAL_CURL" --connect-to "localhost:8080:127.0.0.1:$EXAMPLES_API_PORT" \
  --connect-to "127.0.0.1:8080:127.0.0.1:$EXAMPLES_API_PORT" --no-progress-meter -D "$headers" "$@"
rc=$?
status=$(awk '/^HTTP\//{s=$2} END{print s}' "$headers")
rm -f "$headers"
echo "${status:-000} $rc" >> "$EXAMPLES_LOG"
exit $rc
"""


@dataclass
class BlockResult:
    example: Example
    statuses: list[str] = field(default_factory=list)  # what each curl answered, in order
    exit_codes: list[int] = field(default_factory=list)

    def problems(self) -> list[str]:
        """What is wrong with this block's run (empty: it ran as its text says)."""
        expected = expected_statuses(self.example.text)
        if len(expected) != len(self.statuses):
            return [f"{self.example.where}: expected {len(expected)} curl calls, {len(self.statuses)} ran"]
        return [
            f"{self.example.where}: curl #{n} answered {got}, the text expects {want}"
            for n, (want, got) in enumerate(zip(expected, self.statuses, strict=True), 1)
            if not status_ok(want, got)
        ]


@dataclass
class SessionResult:
    blocks: list[BlockResult]
    returncode: int
    output: str

    def problems(self) -> list[str]:
        out = [p for block in self.blocks for p in block.problems()]
        if self.returncode != 0:
            out.append(f"the shell session failed (exit {self.returncode}); output:\n{self.output[-3000:]}")
        return out


class Runner:
    """Runs examples verbatim against the local cloud at `api_url`/`aws_url` (the emulator)."""

    def __init__(self, api_url: str, aws_url: str, workdir: Path) -> None:
        real = shutil.which("curl")
        if real is None:
            raise RuntimeError("curl is not installed")
        self.workdir = workdir
        bin_dir = workdir / "bin"
        bin_dir.mkdir(parents=True, exist_ok=True)
        wrapper = bin_dir / "curl"
        wrapper.write_text(_WRAPPER)
        wrapper.chmod(0o755)
        self.log = workdir / "statuses.log"
        env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
        env.update(
            PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
            AWS_URL=aws_url,
            EXAMPLES_REAL_CURL=real,
            EXAMPLES_API_PORT=api_url.rsplit(":", 1)[1],
            EXAMPLES_LOG=str(self.log),
        )
        for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
            env.pop(name, None)
        self.env = env

    def run(self, blocks: Sequence[Example], prelude: str = "", timeout: float = 300) -> SessionResult:
        """Run `blocks` in order in one `bash -e` session (after `prelude`), from the project root."""
        self.log.write_text("")
        script = ["set -e", prelude]
        for n, example in enumerate(blocks):
            script += [f'echo "::block {n}" >> "$EXAMPLES_LOG"', example.text]
        done = subprocess.run(
            ["bash", "-c", "\n".join(script)],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        results = [BlockResult(example) for example in blocks]
        current: BlockResult | None = None
        for line in self.log.read_text().splitlines():
            if line.startswith("::block "):
                current = results[int(line.split()[1])]
            elif current is not None:
                status, rc = line.split()
                current.statuses.append(status)
                current.exit_codes.append(int(rc))
        return SessionResult(results, done.returncode, done.stdout + done.stderr)


def pages_with_examples() -> Iterator[tuple[Path, list[Example]]]:
    for page in DOC_PAGES:
        found = examples_in(page)
        if found:
            yield page, found

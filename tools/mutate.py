"""`make mutate`: mutation testing of the critical modules (docs/testing.md#mutation-testing).

    .venv/bin/python -m tools.mutate [--paths PATH ...] [--max-children N] [--list]
                                     [--mutants GLOB ... [--tests FILE ...]] [--survivors]

Three kinds of mutants, each run against only the tests that cover its module (`TARGETS`):

* **functions**: mutmut mutates every function body of the Python modules. The tests import the
  code as Lambda does (`orders.placement`, `sales_common.auth`: pytest's `pythonpath` is
  `functions` and `layers/shared`), but mutmut names a module after its path from the directory
  it runs in (`functions.orders.placement`), so its trampolines would never see their mutant
  active. mutmut therefore runs in a workspace (`.localcloud/mutate/mutmut/`) whose top level
  holds the packages under the names Lambda imports (`orders -> functions/orders`,
  `sales_common -> layers/shared/sales_common`) and the rest of the project beside them, with
  `pythonpath = [".", "functions", "layers/shared"]`: the path is the module name again.
* **module tables**: mutmut leaves module-level code alone, but tables such as `PERMISSIONS`,
  `TRANSITIONS` or `MAX_DEPTH` are behaviour. `table_mutants` drops each entry of a dict or set,
  swaps a dict value for another value of the same dict, and moves each number by one.
* **the workflow**: `asl_mutants` drops each conjunct of every `ConditionExpression`, each clause
  of every `UpdateExpression`, and each rule of every `Choice` state of the ASL.

Tables and workflow mutants run as `pytest -x` in a plain copy of the project
(`.localcloud/mutate/plain/`) with the one file changed; the repository is never modified.

A surviving mutant that no test can tell apart from the code is listed in
`tools/mutate_equivalent.toml` with the reason; it counts as `equivalent`. An entry names the
mutant and the changed line, so an entry that no longer matches (the code moved) is reported
stale instead of hiding a new survivor.

Writes `.localcloud/mutation.json` ({module: {mutants, killed, survived, equivalent}}), the
survivors with their diffs to `.localcloud/mutation-survivors.txt`, and prints a table.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import fnmatch
import hashlib
import json
import re
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".localcloud" / "mutate"
REPORT = ROOT / ".localcloud" / "mutation.json"
SURVIVORS = ROOT / ".localcloud" / "mutation-survivors.txt"
EQUIVALENT = ROOT / "tools" / "mutate_equivalent.toml"
ASL = "functions/orders/statemachine/place_order.asl.json"
# Lambda's import roots: a package's path below one of these is its module name.
IMPORT_ROOTS = ("functions", "layers/shared")
# What the tests read besides the code: copied into each workspace.
PROJECT = ("functions", "layers", "localcloud", "tests", "events", "docs", "tools", "template.yaml", "samconfig.toml")

_ORDERS_IT = "tests/integration/test_orders.py"
_WORKFLOW = "tests/integration/test_place_order_workflow.py"
_RACES = "tests/integration/test_conditional_writes.py"
_CURSORS = "tests/integration/test_cursors.py"


@dataclass(frozen=True)
class Target:
    """A module to mutate and the tests that cover it (the only tests its mutants run)."""

    tests: tuple[str, ...]
    tables: tuple[str, ...] = ()  # module-level names whose values are mutated (see table_mutants)
    # Its tests use no fixture of tests/conftest.py (no AWS): the table mutants run them without
    # it, whose imports (SAM CLI, moto) would take most of each short run.
    pure: bool = False


TARGETS: dict[str, Target] = {
    # The parser's and the role table's own unit tests state every documented rule; the
    # integration tiers (test_hostile_input.py's hypothesis properties, test_roles.py through every
    # function) would make each surviving mutant cost minutes.
    "layers/shared/sales_common/jsonbody.py": Target(
        ("tests/unit/test_jsonbody.py",),
        ("MAX_DEPTH", "MAX_NUMBER_CHARS", "MIN_ADJUSTED_EXPONENT", "MAX_ADJUSTED_EXPONENT"),
        pure=True,
    ),
    "layers/shared/sales_common/auth.py": Target(
        ("tests/unit/test_auth.py", "tests/template/test_security_docs.py"),
        ("PERMISSIONS", "OTHERS_RECORDS", "ROLES", "KNOWN_GROUPS", "_ANYONE", "_ADMINS"),
        pure=True,
    ),
    "layers/shared/sales_common/shards.py": Target(
        # the merge of a sharded list's pages against a model of DynamoDB's Query
        # (and the cursor's positions checked, over the API)
        ("tests/unit/test_shards.py", "tests/integration/test_sharded_lists.py", _CURSORS),
        ("MAX_ROUNDS",),
    ),
    "functions/orders/lifecycle.py": Target(
        # list_orders' filters (createdBy with customerId and status) and the cursor bound to them;
        # its dates (test_finding) and which list is read by id first (test_sharded_lists)
        (
            "tests/unit/test_order_status.py",
            _RACES,
            _ORDERS_IT,
            "tests/integration/test_audit.py",
            _CURSORS,
            "tests/integration/test_finding.py",
            "tests/integration/test_sharded_lists.py",
        ),
        ("FULFILLED",),
    ),
    "functions/orders/models.py": Target(
        (
            "tests/unit/test_order_status.py",
            "tests/unit/test_limits.py",
            "tests/unit/test_order_lines.py",
            _RACES,
            _ORDERS_IT,
        ),
        ("TRANSITIONS", "MAX_ITEMS", "MAX_QUANTITY"),
    ),
    "functions/orders/repository.py": Target(
        # test_audit: who changed an order's status, as stored; test_domain_events: who deleted it
        # test_order_status: a store without the Products table refuses to restock
        (
            "tests/unit/test_order_status.py",
            _RACES,
            _ORDERS_IT,
            "tests/integration/test_audit.py",
            "tests/integration/test_domain_events.py",
        ),
        ("HOLDS_STOCK",),
    ),
    "functions/orders/quota.py": Target(
        # the per-user order limit: bursts, refill, groups, a lost answer's retry counted once
        ("tests/integration/test_order_limit.py",),
        ("_ATTEMPTS",),
    ),
    "functions/orders/placement.py": Target(
        (
            "tests/unit/test_order_lines.py",
            "tests/unit/test_order_rejections.py",
            "tests/integration/test_order_idempotency.py",
            _WORKFLOW,
            "tests/integration/test_placement_faults.py",
            _ORDERS_IT,
            # prepare's correlationId: the workflow's input carries the request's correlation id
            "tests/integration/test_caller_logs.py",
        ),
        ("DECIDED_FAILURES", "UNLEARNT", "UNAVAILABLE", "ANSWER_MARGIN_SECONDS"),
    ),
    ASL: Target(
        (
            _WORKFLOW,
            "tests/integration/test_sweeper.py",
            "tests/integration/test_placement_faults.py",
            _ORDERS_IT,
        )
    ),
}

# mutmut's exit codes of a mutant's test run (mutmut.__main__.status_by_exit_code)
_KILLED_CODES = {1, 3, 24, 36, 152, 255, -9, -11, 37}  # failed, timed out, crashed, type error
# -24 (the child killed by SIGXCPU) is left out on purpose, though mutmut calls it a timeout: its
# CPU budget comes from the tests' call durations, without the moto fixtures' setup, so a survivor
# running every test that covers it, or a mutant whose failing test comes late, exhausts it. It
# tells nothing either way: it counts as survived, to be checked by hand.
_SURVIVED_CODES = {0, 5, 33, 34, 35}  # passed, no tests, skipped, suspicious


@dataclass
class Mutant:
    name: str
    module: str
    killed: bool
    diff: str = ""
    change: str = ""  # the mutated line (or expression), as the equivalents list names it


@dataclass
class Tally:
    mutants: int = 0
    killed: int = 0
    survived: int = 0
    equivalent: int = 0
    seconds: float = 0.0
    survivors: list[Mutant] = field(default_factory=list)


# ---------------------------------------------------------------- workspaces
def _copy_project(into: Path, pythonpath: list[str], mutmut: dict[str, Any] | None = None) -> None:
    """A copy of what the tests need in `into`, with pytest's pythonpath (and mutmut's config)."""
    if into.exists():
        shutil.rmtree(into)
    into.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    for name in PROJECT:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, into / name, ignore=ignore)
        elif source.exists():
            shutil.copy2(source, into / name)
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    text, count = re.subn(r"(?m)^pythonpath = .*$", "pythonpath = " + json.dumps(pythonpath), text)
    assert count == 1, "pyproject.toml: [tool.pytest.ini_options] pythonpath not found"
    if mutmut is not None:
        text += "\n[tool.mutmut]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in mutmut.items())
    (into / "pyproject.toml").write_text(text, encoding="utf-8")


def module_name(path: str) -> str:
    """`functions/orders/placement.py` -> `orders.placement`, as Lambda (and the tests) import it."""
    for root in IMPORT_ROOTS:
        if path.startswith(root + "/"):
            return path[len(root) + 1 : -len(".py")].replace("/", ".")
    raise ValueError(f"{path} is not below {IMPORT_ROOTS}")


# ---------------------------------------------------------------- mutmut: function bodies
def run_mutmut(
    paths: list[str],
    max_children: int,
    survivors_only: bool = False,
    only: tuple[str, ...] = (),
    tests_override: tuple[str, ...] = (),
) -> list[Mutant]:
    """mutmut over the function bodies of `paths` (Python modules), in the workspace whose top
    level names the packages as Lambda imports them. `survivors_only`: in the workspace of the
    previous run, with the current tests, again only the mutants that survived it. `only`: just
    the mutants whose names match these globs (`orders.lifecycle.x_change_status__mutmut_*`);
    `tests_override`: these test files instead of the modules' `TARGETS` tests (a subset of
    them: the files that exercise the functions `only` names, so the baseline runs are short)."""
    work = WORK / "mutmut"
    mutmut = [str(ROOT / ".venv" / "bin" / "mutmut")]
    if survivors_only:
        return _rerun_survivors(work, paths, mutmut, max_children, only)
    packages = sorted({module_name(p).split(".")[0] for p in paths})
    sources = {pkg: next(root for root in IMPORT_ROOTS if (ROOT / root / pkg).is_dir()) for pkg in packages}
    tests = sorted(tests_override or {t for p in paths for t in TARGETS[p].tests if (ROOT / t).exists()})
    _copy_project(
        work,
        [".", *IMPORT_ROOTS],
        {
            "source_paths": packages,
            "only_mutate": [f"{module_name(p).replace('.', '/')}.py" for p in paths],
            "also_copy": [*PROJECT],
            "pytest_add_cli_args": ["-p", "no:cacheprovider", "-p", "tools.mutmut_plugin"],
            "pytest_add_cli_args_test_selection": tests,
            "use_git_change_detection": False,
            # a mutant that makes the code slow fails after 5x its tests' time (mutmut's default: 15x)
            "timeout_multiplier": 5.0,
            # mutmut's budget is (tests' time + this) x the multiplier, in wall time (and twice that
            # in CPU time). The tests' time it measures leaves out the fixtures' setup (the moto
            # cloud, several seconds on a loaded machine), which mutmut's default of 1 s does not
            # cover: mutants of functions whose tests are short then died of the budget (exit -24)
            # whatever the tests said. 20 s gives every mutant at least 100 s.
            "timeout_constant": 20.0,
        },
    )
    for pkg, root in sources.items():  # the package under its import name, at the top
        shutil.copytree(ROOT / root / pkg, work / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    print(f"==> mutmut: {', '.join(paths)} {' '.join(only)} against {len(tests)} test files", flush=True)
    run = subprocess.run([*mutmut, "run", "--max-children", str(max_children), *only], cwd=work, check=False)
    return _results(work, paths, mutmut, run.returncode, only)


def _has_functions(path: str) -> bool:
    """Whether `path` defines a function or method: mutmut mutates nothing else (models.py's
    classes are fields only: its mutants are its tables')."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    return any(isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) for node in ast.walk(tree))


def _codes(work: Path, path: str) -> dict[str, int | None]:
    meta = work / "mutants" / f"{module_name(path).replace('.', '/')}.py.meta"
    if not meta.exists() and not _has_functions(path):
        return {}
    if not meta.exists():
        raise SystemExit(f"mutmut wrote no results for {path}; see its output above")
    codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
    return codes


def _selected(name: str, only: tuple[str, ...]) -> bool:
    return not only or any(fnmatch.fnmatchcase(name, glob) for glob in only)


def _rerun_survivors(
    work: Path, paths: list[str], mutmut: list[str], max_children: int, only: tuple[str, ...] = ()
) -> list[Mutant]:
    survived = sorted(
        n
        for p in paths
        for n, code in _codes(work, p).items()
        if code is not None and code not in _KILLED_CODES and _selected(n, only)
    )
    for into in (work / "tests", work / "mutants" / "tests"):
        shutil.copytree(ROOT / "tests", into, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    print(f"==> mutmut: the {len(survived)} survivors of the last run, against the current tests", flush=True)
    if survived:
        command = [*mutmut, "run", "--max-children", str(max_children), *survived]
        subprocess.run(command, cwd=work, check=False)
    return _results(work, paths, mutmut, 0, only)


def _results(
    work: Path, paths: list[str], mutmut: list[str], returncode: int, only: tuple[str, ...] = ()
) -> list[Mutant]:
    mutants: list[Mutant] = []
    for path in paths:
        for name, code in sorted(_codes(work, path).items()):
            if not _selected(name, only):
                continue
            if code is None:
                raise SystemExit(f"mutmut did not finish ({name} not run, exit {returncode})")
            mutant = Mutant(name, path, code in _KILLED_CODES)
            if code not in _KILLED_CODES | _SURVIVED_CODES:
                print(f"    {name}: unknown mutmut exit code {code}, counted as survived")
            if not mutant.killed:
                shown = subprocess.run([*mutmut, "show", name], cwd=work, capture_output=True, text=True, check=False)
                mutant.diff = shown.stdout
                mutant.change = _changed_line(shown.stdout)
            mutants.append(mutant)
    return mutants


def _changed_line(diff: str) -> str:
    added = [line[1:].strip() for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    return added[0] if added else ""


# ---------------------------------------------------------------- module tables
def table_mutants(source: str, names: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    """(label, mutated source) for each mutation of the module-level values bound to `names`."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def splice(node: ast.expr, text: str) -> str:
        start = offsets[node.lineno - 1] + node.col_offset
        end = offsets[node.end_lineno - 1] + node.end_col_offset  # type: ignore[operator]
        return source[:start] + text + source[end:]

    for statement in tree.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target, value = statement.targets[0], statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            target, value = statement.target, statement.value
        else:
            continue
        if not isinstance(target, ast.Name) or target.id not in names:
            continue
        for label, node, text in _value_mutations(value):
            yield f"{target.id}: {label}", splice(node, text)


def _elements(node: ast.expr) -> list[ast.expr] | None:
    """The elements of a set display or of `frozenset({...})`, else None."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "frozenset" and node.args:
        node = node.args[0]
    return list(node.elts) if isinstance(node, ast.Set) else None


def _value_mutations(value: ast.expr) -> Iterator[tuple[str, ast.expr, str]]:
    """(label, node to replace, replacement source)."""
    number = _number(value)
    if number is not None:
        for delta in (1, -1):
            yield f"{number} -> {number + delta}", value, repr(number + delta)
    elif isinstance(value, ast.Constant) and isinstance(value.value, str):
        yield f"{value.value!r} -> ''", value, "''"
    elif isinstance(value, ast.BinOp):  # e.g. ROLES | {INTEGRATION}: mutate each side
        yield from _value_mutations(value.left)
        yield from _value_mutations(value.right)
    elif _elements(value) is not None:
        elements = _elements(value) or []
        for i, element in enumerate(elements):
            rest = ", ".join(ast.unparse(e) for j, e in enumerate(elements) if j != i)
            yield f"without {ast.unparse(element)}", value, f"frozenset({{{rest}}})" if rest else "frozenset()"
    elif isinstance(value, ast.Dict):
        yield from _dict_mutations(value)


def _number(value: ast.expr) -> int | float | None:
    """The number a literal (or a negated literal) stands for, else None."""
    sign = 1
    if isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub):
        sign, value = -1, value.operand
    if isinstance(value, ast.Constant) and isinstance(value.value, int | float) and not isinstance(value.value, bool):
        return sign * value.value
    return None


def _dict_mutations(value: ast.Dict) -> Iterator[tuple[str, ast.expr, str]]:
    """Each entry dropped; each value that is a name swapped for another name the dict maps to;
    the other values mutated as values."""
    pairs = [(k, v) for k, v in zip(value.keys, value.values, strict=True) if k is not None]
    for i, (key, _v) in enumerate(pairs):
        rest = ", ".join(f"{ast.unparse(k)}: {ast.unparse(v)}" for j, (k, v) in enumerate(pairs) if j != i)
        yield f"without {ast.unparse(key)}", value, "{" + rest + "}"
    names = sorted({v.id for _k, v in pairs if isinstance(v, ast.Name)})
    for key, v in pairs:
        if isinstance(v, ast.Name):
            for other in names:
                if other != v.id:
                    yield f"{ast.unparse(key)}: {v.id} -> {other}", v, other
        else:
            for label, node, text in _value_mutations(v):
                yield f"{ast.unparse(key)}: {label}", node, text


# ---------------------------------------------------------------- the workflow definition
def asl_mutants(definition: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(label, mutated definition) for each dropped condition conjunct, update clause item and
    Choice rule of the ASL."""
    for path in list(_paths(definition, ())):
        key, expression = path[-1], _at(definition, path)
        where = ".".join(p for p in path[:-1] if p not in ("States", "Parameters", "ItemProcessor"))
        if key == "Choices":
            for i, rule in enumerate(expression):
                kept = expression[:i] + expression[i + 1 :]
                label = f"{where}: without the rule to {rule.get('Next')}"
                if kept:
                    yield label, _replaced(definition, path, kept)
                else:  # a Choice needs a rule: without its only one it always takes its Default
                    default = {"Type": "Pass", "Next": _at(definition, path[:-1])["Default"]}
                    yield label, _replaced(definition, path[:-1], default)
        elif key == "ConditionExpression":
            parts = re.split(r"\s+AND\s+", expression)
            if len(parts) == 1:
                yield f"{where}.{key}: no condition", _replaced(definition, path, None)
            for i, part in enumerate(parts if len(parts) > 1 else []):
                kept = " AND ".join(parts[:i] + parts[i + 1 :])
                yield f"{where}.{key}: without {part}", _replaced(definition, path, kept)
        else:
            for clause, rebuilt in _update_variants(expression):
                yield f"{where}.{key}: without {clause}", _replaced(definition, path, rebuilt)


def _paths(node: Any, path: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
    """Where the ASL has a condition or update expression, or a Choice state's rules."""
    if isinstance(node, dict):
        for key, value in node.items():
            expression = key in ("ConditionExpression", "UpdateExpression") and isinstance(value, str)
            if expression or (key == "Choices" and node.get("Type") == "Choice"):
                yield (*path, key)
            else:
                yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*path, i))


def _at(node: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        node = node[step]
    return node


def _update_variants(expression: str) -> Iterator[tuple[str, str]]:
    """Each item of each SET/REMOVE/ADD clause dropped (a clause left empty goes with it)."""
    pattern = r"(SET|REMOVE|ADD)\s+(.*?)(?=\s+(?:SET|REMOVE|ADD)\s|$)"
    clauses = [(m.group(1), m.group(2).strip()) for m in re.finditer(pattern, expression)]
    for c, (verb, body) in enumerate(clauses):
        items = [i.strip() for i in re.split(r",(?![^()]*\))", body)]
        for i, item in enumerate(items):
            kept = items[:i] + items[i + 1 :]
            rebuilt = [f"{v} {b}" for j, (v, b) in enumerate(clauses) if j != c]
            if kept:
                rebuilt.insert(c, f"{verb} {', '.join(kept)}")
            if rebuilt:
                yield f"{verb} {item}", " ".join(rebuilt)


def _replaced(definition: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """A copy of `definition` with the value at `path` replaced by `value` (removed when None),
    and the expression placeholders no expression of that request uses any more dropped."""
    copy: dict[str, Any] = json.loads(json.dumps(definition))
    holder = _at(copy, path[:-1])
    if value is None:
        del holder[path[-1]]
    else:
        holder[path[-1]] = value
    if isinstance(holder, dict) and path[-1] != "Choices":
        _drop_unused_placeholders(holder)
    return copy


_EXPRESSIONS = ("ConditionExpression", "UpdateExpression", "ProjectionExpression", "KeyConditionExpression")


def _drop_unused_placeholders(request: dict[str, Any]) -> None:
    """DynamoDB refuses a request that names a placeholder (`#name`, `:value`) no expression uses:
    a mutant that keeps one would be killed by that ValidationException, by every test that makes
    the request, whatever the condition it drops. A developer removing the clause removes its
    placeholders too; so does the mutant (ASL's `"#hold.$"` names the placeholder `#hold`)."""
    text = " ".join(str(request.get(key, "")) for key in _EXPRESSIONS)
    for table in ("ExpressionAttributeNames", "ExpressionAttributeValues"):
        placeholders = request.get(table)
        if not isinstance(placeholders, dict):
            continue
        for key in list(placeholders):
            name = key.removesuffix(".$")
            if not re.search(re.escape(name) + r"(?![A-Za-z0-9_])", text):
                del placeholders[key]
        if not placeholders:
            del request[table]


# ---------------------------------------------------------------- running text mutants
def run_text_mutants(
    path: str, mutants: list[tuple[str, str]], original: str, known_kills: set[str]
) -> Iterator[Mutant]:
    """Each mutated text of `path` against its module's tests in the plain workspace, `pytest -x`;
    those in `known_kills` (killed by the previous run of the same text) are not run again."""
    plain = WORK / "plain"
    target = plain / path
    tests = [t for t in TARGETS[path].tests if (ROOT / t).exists()]
    command = [str(ROOT / ".venv" / "bin" / "python"), "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]
    command += ["--noconftest", *tests] if TARGETS[path].pure else tests
    started = time.monotonic()
    baseline = subprocess.run(command, cwd=plain, capture_output=True, text=True, check=False)
    if baseline.returncode != 0:
        raise SystemExit(f"the tests of {path} fail without any mutant:\n{baseline.stdout[-3000:]}")
    limit = 3 * (time.monotonic() - started) + 30
    print(f"==> {len(mutants)} mutants of {path}'s tables/expressions, each up to {limit:.0f} s", flush=True)
    for label, text in mutants:
        if label in known_kills:
            yield Mutant(f"{path}: {label}", path, True)
            continue
        target.write_text(text, encoding="utf-8")
        try:
            killed = subprocess.run(command, cwd=plain, capture_output=True, timeout=limit, check=False).returncode != 0
        except subprocess.TimeoutExpired:
            killed = True
        finally:
            target.write_text(original, encoding="utf-8")
        diff = "".join(difflib.unified_diff(original.splitlines(True), text.splitlines(True), path, path, n=1))
        print(f"    {'killed  ' if killed else 'SURVIVED'} {label}", flush=True)
        yield Mutant(f"{path}: {label}", path, killed, diff, label)


def tables_and_workflow(paths: list[str], survivors_only: bool = False) -> list[Mutant]:
    """The table and workflow mutants of `paths`. `survivors_only`: run only those the previous
    run of the same file text did not kill (kills are kept in .localcloud/mutate/kills.json)."""
    kills_file = WORK / "kills.json"
    kills: dict[str, list[str]] = json.loads(kills_file.read_text()) if kills_file.exists() else {}
    plain = WORK / "plain"
    _copy_project(plain, [*IMPORT_ROOTS, "."])
    found: list[Mutant] = []
    for path in paths:
        original = (ROOT / path).read_text(encoding="utf-8")
        version = f"{path}@{hashlib.sha1(original.encode()).hexdigest()[:12]}"
        known = set(kills.get(version, [])) if survivors_only else set()
        if path == ASL:
            definition = json.loads(original)
            mutants = [(label, json.dumps(d, indent=2) + "\n") for label, d in asl_mutants(definition)]
        else:
            mutants = list(table_mutants(original, TARGETS[path].tables))
        ran = list(run_text_mutants(path, mutants, original, known))
        kills[version] = [m.change or m.name.split(": ", 1)[1] for m in ran if m.killed]
        kills_file.write_text(json.dumps(kills, indent=2))
        found.extend(ran)
    return found


# ---------------------------------------------------------------- equivalents, report
def load_equivalents() -> dict[str, dict[str, str]]:
    if not EQUIVALENT.exists():
        return {}
    entries = tomllib.loads(EQUIVALENT.read_text(encoding="utf-8")).get("equivalent", [])
    return {entry["mutant"]: entry for entry in entries}


def tally(mutants: list[Mutant], paths: list[str], seconds: dict[str, float]) -> dict[str, Tally]:
    equivalents = load_equivalents()
    result = {path: Tally(seconds=seconds.get(path, 0.0)) for path in paths}
    for mutant in mutants:
        t = result[mutant.module]
        t.mutants += 1
        if mutant.killed:
            t.killed += 1
            if mutant.name in equivalents:
                print(f"    note: {mutant.name} is listed as equivalent but a test kills it: drop the entry")
            continue
        entry = equivalents.get(mutant.name)
        if entry is not None and entry.get("change", "").strip() == mutant.change:
            t.equivalent += 1
        else:
            if entry is not None:
                print(
                    f"    stale equivalent entry {mutant.name}: it names {entry.get('change')!r}, now {mutant.change!r}"
                )
            t.survived += 1
            t.survivors.append(mutant)
    return result


def report(result: dict[str, Tally], partial: bool = False) -> None:
    """The table, the survivors file and (for a whole module's run, not `partial`) mutation.json."""
    if not partial:
        previous = json.loads(REPORT.read_text()) if REPORT.exists() else {}
        for path, t in result.items():
            previous[path] = {
                "mutants": t.mutants,
                "killed": t.killed,
                "survived": t.survived,
                "equivalent": t.equivalent,
            }
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        REPORT.write_text(json.dumps(previous, indent=2, sort_keys=True) + "\n")
    with SURVIVORS.open("w", encoding="utf-8") as out:
        for t in result.values():
            for mutant in t.survivors:
                out.write(f"=== {mutant.name}\n{mutant.diff}\n")
    print()
    print(f"| {'module':<55} | mutants | killed | survived | equivalent | score |")
    print(f"|{'-' * 57}|---------|--------|----------|------------|-------|")
    for path, t in result.items():
        score = f"{100 * t.killed / max(1, t.mutants - t.equivalent):.0f}%"
        print(f"| {path:<55} | {t.mutants:>7} | {t.killed:>6} | {t.survived:>8} | {t.equivalent:>10} | {score:>5} |")
    written = f"wrote {REPORT.relative_to(ROOT)}"
    if partial:
        written = "a partial run (--mutants): mutation.json left as it was"
    print(f"\n{written}; survivors and their diffs: {SURVIVORS.relative_to(ROOT)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--paths", nargs="*", default=[], help="modules to mutate (default: all of TARGETS)")
    parser.add_argument("--max-children", type=int, default=2, help="mutants tested at once by mutmut")
    parser.add_argument("--list", action="store_true", help="print the table and workflow mutants and exit")
    parser.add_argument(
        "--survivors",
        action="store_true",
        help="mutmut only the survivors of the previous run again, with the current tests (after writing a test)",
    )
    parser.add_argument(
        "--mutants",
        nargs="*",
        default=[],
        help="only the mutmut mutants whose names match these globs (e.g. 'orders.lifecycle.x_change_status__*');"
        " no table or workflow mutants; mutation.json is not updated (a partial run)",
    )
    parser.add_argument(
        "--tests",
        nargs="*",
        default=[],
        help="with --mutants: run these test files (a subset of the modules' TARGETS tests that exercise them)",
    )
    args = parser.parse_args(argv)
    if args.tests and not args.mutants:
        parser.error("--tests narrows a --mutants run only (a whole module runs all its TARGETS tests)")
    paths = [p for chunk in args.paths for p in chunk.split()] or list(TARGETS)
    unknown = [p for p in paths if p not in TARGETS]
    if unknown:
        parser.error(f"not a mutation target: {', '.join(unknown)} (known: {', '.join(TARGETS)})")
    if args.list:
        for path in paths:
            text = (ROOT / path).read_text(encoding="utf-8")
            labels = (
                [label for label, _d in asl_mutants(json.loads(text))]
                if path == ASL
                else [label for label, _t in table_mutants(text, TARGETS[path].tables)]
            )
            print(f"{path}: {len(labels)}\n  " + "\n  ".join(labels))
        return 0
    started = time.monotonic()
    seconds: dict[str, float] = {}
    python = [p for p in paths if p.endswith(".py") and _has_functions(p)]
    mutants: list[Mutant] = []
    only, partial = tuple(args.mutants), bool(args.mutants)
    if python:
        mutants += run_mutmut(python, args.max_children, args.survivors, only, tuple(args.tests))
        seconds["functions"] = time.monotonic() - started
    if not partial:
        mutants += tables_and_workflow([p for p in paths if p == ASL or TARGETS[p].tables], args.survivors)
    result = tally(mutants, paths, seconds)
    report(result, partial)
    print(f"total {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

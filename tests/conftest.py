"""Shared fixtures. AWS is moto's `mock_aws`, with every resource of template.yaml provisioned as
the local cloud provisions it (never from a second, hand-written copy), and state machines
really executed."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

# Before boto3 is imported anywhere: never talk to real AWS from tests.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_METRICS_NAMESPACE": "SalesManagementTests",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)

# moto's interception joins botocore's handlers when moto is imported, and a boto3 session only
# copies the handlers that exist when it is made: import it before any session (e.g. the default
# one a test over HTTP creates), or later `mock_aws` tests in the process would reach for real AWS.
import moto.core.models  # noqa: F401

from localcloud.sam_template import SamTemplate
from tests.support import catalog, iam
from tests.support.apigw import Api, template

# Record every AWS call the functions make (for the least-privilege check, tests/iam).
iam.install()
# Keep every domain event published in this process (checked against docs/events/ after each test).
catalog.install()


@pytest.fixture(autouse=True)
def _events_match_the_catalogue() -> Iterator[None]:
    """Every domain event a test publishes is one the catalogue describes, field for field."""
    start = catalog.mark()
    yield
    problems = [p for entry in catalog.published_since(start) for p in catalog.entry_problems(entry)]
    assert not problems, "published events differ from docs/events/ (run `make events-catalog`?):\n" + "\n".join(
        problems
    )


# ---------------------------------------------------------------- tiers (docs/testing.md, "Tiers")
# `make test` (the fast loop) runs the in-process tiers; the others have targets of their own:
# `make test-e2e` (marker `e2e`: every test of tests/e2e and tests/docs, over HTTP on a local
# cloud), `make test-protocol` (marker `protocol`, a module's `pytestmark`: the protocols under
# faults, replays and reruns) and `make test-slow` (marker `slow`); CI runs them all (`make
# test-pytest`). A test is slow when it is marked `slow` (its module's `pytestmark`, or the test
# itself), or lives in a folder that is slow as a whole: the contract tests (schemathesis), and the
# local cloud's own machinery, whose tests start clouds, emulators and worker processes of their own.
SLOW_FOLDERS = ("tests/contract/", "tests/localcloud/")
# A test of the fast tier that takes longer than this (call phase, seconds) is listed at the end of
# the run: mark it `slow`, or make it faster.
FAST_BUDGET_SECONDS = float(os.environ.get("FAST_TEST_BUDGET", "5"))
_over_budget: list[tuple[float, str]] = []


def _deselects_every_slow_test(config: pytest.Config) -> bool:
    """Whether `-m` leaves out every test marked slow, whatever its other markers."""
    import itertools
    import re

    from _pytest.mark.expression import Expression

    text = config.getoption("markexpr") or ""
    try:
        expression = Expression.compile(text)
    except Exception:  # let pytest report a bad expression
        return False
    names = sorted(set(re.findall(r"[A-Za-z_]\w*", text)) - {"and", "or", "not", "slow"})
    for values in itertools.product((False, True), repeat=len(names)):
        marked = {"slow", *(n for n, v in zip(names, values, strict=True) if v)}
        if expression.evaluate(lambda name, /, marked=marked, **_: name in marked):
            return False
    return bool(text)


def pytest_ignore_collect(collection_path: Any, config: pytest.Config) -> bool | None:
    """A run without the slow tier (`make test`) does not import the folders that are slow as a
    whole (schemathesis alone takes seconds per worker to import and collect)."""
    relative = str(collection_path).removeprefix(str(config.rootpath) + os.sep).replace(os.sep, "/") + "/"
    if relative.startswith(SLOW_FOLDERS) and _deselects_every_slow_test(config):
        return True
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.startswith(SLOW_FOLDERS):
            item.add_marker(pytest.mark.slow)
        if item.nodeid.startswith(CLOUD_FOLDERS):
            item.add_marker(pytest.mark.e2e)


# With `--dist loadgroup` (the Makefile's), the tests over HTTP, which share the worker's local
# cloud (`local_cloud`), all go to one xdist worker: one cloud starts (and cold-starts its
# functions) per run, not one per worker, while the other worker takes the in-process tiers. Other
# tests go by module, so a module's fixtures are set up once. (xdist's own grouping by the
# `xdist_group` marker renames node ids, which pytest 9 no longer allows; this scheduler groups by
# folder instead.)
CLOUD_FOLDERS = ("tests/e2e/", "tests/docs/")


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getoption("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class OneCloud(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return "local_cloud" if nodeid.startswith(CLOUD_FOLDERS) else nodeid.split("::", 1)[0]

        def add_node_collection(self, node: Any, collection: Sequence[str]) -> None:
            # Scope scheduling keys tests by node id: tests sharing one (schemathesis' cases of
            # every operation) would silently run once. The slow tier uses `--dist load`.
            if len(set(collection)) != len(collection):
                raise pytest.UsageError("tests share node ids (tests/contract?): run them with --dist load")
            super().add_node_collection(node, collection)

    return OneCloud(config, log)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.duration > FAST_BUDGET_SECONDS and "slow" not in report.keywords:
        _over_budget.append((report.duration, report.nodeid))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _over_budget:
        terminalreporter.section("fast-tier tests over budget")
        terminalreporter.write_line(
            f"These tests are not marked slow but took over {FAST_BUDGET_SECONDS:g} s (on this machine, now): "
            "mark them @pytest.mark.slow or make them faster."
        )
        for seconds, nodeid in sorted(_over_budget, reverse=True):
            terminalreporter.write_line(f"  {seconds:6.1f} s  {nodeid}")


def pytest_sessionfinish(session: pytest.Session) -> None:
    directory = os.environ.get(iam.RECORDS_ENV)
    if directory and iam.recorded():
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        iam.dump(directory, f"{worker}-{os.getpid()}")


@dataclass
class Cloud:
    dynamodb: Any
    stepfunctions: Any
    tables: dict[str, str]
    state_machines: dict[str, str]
    sqs: Any = None
    queues: dict[str, str] | None = None
    secretsmanager: Any = None
    secrets: dict[str, str] | None = None
    event_buses: dict[str, str] | None = None

    @property
    def refs(self) -> dict[str, str]:
        """What `!Ref` of the state machines and event buses resolves to in the emulator."""
        return {**self.state_machines, **(self.event_buses or {})}

    def item(self, table: str, pk: str) -> dict[str, Any] | None:
        from sales_common.dynamo import from_item

        found = self.dynamodb.get_item(TableName=self.tables[table], Key={"pk": {"S": pk}}, ConsistentRead=True)
        return from_item(found["Item"]) if "Item" in found else None

    def scan(self, table: str) -> list[dict[str, Any]]:
        from sales_common.dynamo import from_item

        return [from_item(i) for i in self.dynamodb.scan(TableName=self.tables[table])["Items"]]


@pytest.fixture(scope="session")
def _aws_setup() -> tuple[dict[str, Any], SamTemplate]:
    """Once per session: the local cloud's patches, the parsed template and boto3 clients. moto
    intercepts clients created before a mock starts, so they (and the handlers' cached clients)
    are reused across tests; each test still gets a fresh, empty emulated account."""
    import boto3

    from localcloud.patching import install_all

    install_all()
    services = ("dynamodb", "stepfunctions", "sqs", "secretsmanager", "events")
    return {name: boto3.client(name, region_name="us-east-1") for name in services}, template()  # type: ignore[call-overload]


MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}}


def _put_back(snapshot: Any) -> None:
    """moto as the snapshot saw it, and the product's in-process caches (id blocks, cursor keys)
    dropped, as on new containers."""
    from sales_common.dynamo import forget_id_blocks
    from sales_common.listing import forget_signing_keys

    snapshot.restore()
    forget_signing_keys()
    forget_id_blocks()


@pytest.fixture(scope="session")
def _provisioned(_aws_setup: tuple[dict[str, Any], SamTemplate]) -> tuple[Any, Any]:
    """Once per test process (per xdist worker): every resource of template.yaml provisioned in
    moto, and a snapshot of moto's state right after, which `cloud` puts back before each test
    (provisioning for each test cost a fifth of the fast loop: ADR 0041)."""
    from moto import mock_aws

    from localcloud.provision import provision
    from tests.support.moto_state import Snapshot

    clients, template = _aws_setup
    with mock_aws(config=MOTO_CONFIG):  # type: ignore[arg-type]
        # No user pool: requests carry the JWT authorizer's claims already (tests/support/apigw).
        made = provision(clients.__getitem__, template, sign_in=False)
        return made, Snapshot()


@pytest.fixture
def cloud(_aws_setup: tuple[dict[str, Any], SamTemplate], _provisioned: tuple[Any, Any]) -> Iterator[Cloud]:
    """A freshly deployed stack for each test: every table empty, no message, execution or event
    left by another test (moto's state put back to the snapshot taken after provisioning)."""
    from moto import mock_aws

    from localcloud import task_timeouts

    clients, _ = _aws_setup
    made, snapshot = _provisioned
    # moto answers far slower than AWS on a loaded machine: workflow Task timeouts get room
    # (tests of task timeouts put the template's own numbers back: faults.real_task_timeouts).
    task_timeouts.set_scale(task_timeouts.TEST_SCALE)
    mock = mock_aws(config=MOTO_CONFIG)  # type: ignore[arg-type]
    mock.start(reset=False)
    try:
        _put_back(snapshot)
        yield Cloud(
            clients["dynamodb"],
            clients["stepfunctions"],
            made.tables,
            made.state_machines,
            clients["sqs"],
            made.queues,
            secretsmanager=clients["secretsmanager"],
            secrets=made.secrets,
            event_buses=made.event_buses,
        )
    finally:
        mock.stop()


@pytest.fixture(scope="session")
def _prepared_states() -> dict[str, tuple[Any, Any]]:
    return {}


@pytest.fixture
def prepared(cloud: Cloud, _prepared_states: dict[str, tuple[Any, Any]]) -> Any:
    """`prepared(key, build)`: what `build()` returns, on the data it made. The first test of the
    process to ask for `key` builds it on its fresh stack, and moto's state is saved then; every
    later test asking for `key` gets that state put back instead of building it again (for data
    that many parametrized tests read, e.g. orders placed through the workflow). Each test still
    gets its own copy: what one changes, the next does not see."""
    from tests.support.moto_state import Snapshot

    def use(key: str, build: Any) -> Any:
        if key not in _prepared_states:
            result = build()
            _prepared_states[key] = (result, Snapshot())
        # As on new containers, whether this test built the data or not (ids come in blocks: a
        # block a build reserved is not reused).
        result, snapshot = _prepared_states[key]
        _put_back(snapshot)
        return result

    return use


@pytest.fixture(scope="session")
def local_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The local cloud (`python -m localcloud`) in a subprocess on free ports, shared by the
    session (one per xdist worker): tests over HTTP never assume ids or an empty table."""
    with started_local_cloud(tmp_path_factory) as cloud:
        yield cloud


@contextmanager
def started_local_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A local cloud as the tests start it. Its token-signing key is kept in a file
    (`cloud.signing_key_file`) so that tests can sign tokens the way it does, with exactly one
    thing wrong."""
    from localcloud.server import LocalCloudProcess
    from localcloud.task_timeouts import TEST_SCALE
    from tests.support.apigw import TEMPLATE
    from tests.support.shell import developer_env

    key = tmp_path_factory.mktemp("signing") / "signing-key.json"
    # `make test-e2e` gives each function 1 execution environment (fewer cold starts); everything
    # else, CI included, the default 4 of `make dev`.
    concurrency = os.environ.get("LOCAL_CLOUD_MAX_CONCURRENCY", "4")
    # The emulator answers far slower than AWS on a loaded machine: workflow Task timeouts get room.
    args = ["--signing-key", str(key), "--task-timeout-scale", str(TEST_SCALE), "--max-concurrency", concurrency]
    # startup_timeout: on this shared 2-core machine a start took 60-70 s at a load average of 15
    with LocalCloudProcess(TEMPLATE, env=developer_env(), extra_args=args, startup_timeout=180) as cloud:
        cloud.signing_key_file = key
        # The suite's admin places orders from many threads at once, as a storefront does: it is
        # in the `integration` group (the higher per-user order limit). Other users keep the defaults.
        cloud.add_to_group("admin", "integration")
        yield cloud


@pytest.fixture
def api(cloud: Cloud) -> Api:
    """The API, each request through the function template.yaml routes it to."""
    return Api(refs=cloud.state_machines)

"""Every shell example of README.md and docs/*.md that talks to the local API runs as printed,
and so do the examples `make dev`'s banner prints (docs/testing.md, "Examples that run")."""

from __future__ import annotations

import re
import shutil

import pytest

from tests.support.examples import (
    DOC_PAGES,
    ROOT,
    Example,
    Runner,
    examples_in,
    expected_statuses,
    pages_with_examples,
    talks_to_local_api,
)
from tests.support.logs import noise
from tests.support.tables import empty_tables

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")

PAGES = dict(pages_with_examples())
README = ROOT / "README.md"
FIRST_LINE = "TOKEN=$(make -s token ROLE=admin)"


@pytest.fixture(scope="module")
def runner(local_cloud, tmp_path_factory) -> Runner:
    return Runner(local_cloud.api_url, local_cloud.aws_url, tmp_path_factory.mktemp("examples"))


@pytest.mark.parametrize("page", sorted(PAGES), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_examples_of_a_page_run_as_printed(page, local_cloud, runner):
    """Each page on empty tables (ids from 1 again), as a reader who has just started `make dev`."""
    empty_tables(local_cloud.client("dynamodb"))
    mark = local_cloud.printed
    result = runner.run(PAGES[page], prelude=FIRST_LINE)
    assert not result.problems(), "\n".join(result.problems()) + "\n" + result.output[-4000:]
    # A normal session is quiet: the local cloud printed no warning and no traceback meanwhile.
    session = local_cloud.printed_since(mark)
    assert noise(session) == [], "".join(session[-200:])


def test_starting_the_local_cloud_is_quiet(local_cloud):
    """`make dev` starts without a warning (e.g. none from SAM's gateway about the JWT authorizer
    the local cloud enforces itself)."""
    assert any(line.startswith("Local cloud ready in") for line in local_cloud.startup_output)
    assert noise(local_cloud.startup_output) == [], "".join(local_cloud.startup_output)


def test_the_readme_starts_with_a_session_that_signs_in_first():
    examples = PAGES[README]
    assert examples[0].text.splitlines()[0] == FIRST_LINE
    assert len(README.read_text().splitlines()) <= 250
    calls = [status for example in examples for status in expected_statuses(example.text)]
    assert len(calls) >= 6, "the first session shows the API at work"


def test_every_docs_page_is_linked_from_the_readme():
    text = README.read_text()
    linked = set(re.findall(r"\]\((docs/[^)#]+)", text))
    for page in DOC_PAGES[1:]:
        assert f"docs/{page.name}" in linked, f"README.md does not link docs/{page.name}"
    for target in linked:
        assert (ROOT / target).exists(), f"README.md links {target}, which does not exist"


def test_the_banner_examples_run_as_printed(local_cloud, runner):
    """`make dev` prints `Try:` lines with the real ports; they run as they are."""
    output = "".join(local_cloud.output)
    lines = output.split("  Try:\n", 1)[1].splitlines()
    commands = []
    for line in lines:
        if not line.startswith("    "):
            break
        commands.append(line.strip())
    assert any(c.startswith("curl ") for c in commands), output
    if shutil.which("aws") is None:  # the AWS CLI is optional; the rest still runs
        commands = [c for c in commands if " aws " not in f" {c}"]
    banner = Example(ROOT / "README.md", 0, "\n".join(commands))
    assert talks_to_local_api(banner.text.replace(local_cloud.api_url, "http://localhost:8080"))
    result = runner.run([banner])
    assert not result.problems(), "\n".join(result.problems())


# ---------------------------------------------------------------- the runner itself
def test_the_runner_fails_an_unexpected_error_and_accepts_an_expected_one(local_cloud, runner, tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        '```bash\ncurl http://localhost:8080/api/products/999999 -H "Authorization: Bearer $TOKEN"\n```\n\n'
        '```bash\ncurl http://localhost:8080/api/products/999999 -H "Authorization: Bearer $TOKEN"  # expect 404\n'
        "curl http://localhost:8080/api/products  # expect 401\n```\n\n"
        "```bash\ncurl http://localhost:8080/api/products  # expect 200\n```\n"
    )
    first, second, third = examples_in(page)
    result = runner.run([first, second, third], prelude=FIRST_LINE)
    assert [b.statuses for b in result.blocks] == [["404"], ["404", "401"], ["401"]]
    problems = result.problems()
    assert len(problems) == 2 and "curl #1 answered 404" in problems[0] and "answered 401" in problems[1]
    assert result.blocks[1].problems() == []


def test_a_failing_command_fails_the_session(local_cloud, runner, tmp_path):
    page = tmp_path / "page.md"
    page.write_text('```bash\nfalse\ncurl http://localhost:8080/api/products -H "Authorization: Bearer $TOKEN"\n```\n')
    result = runner.run(examples_in(page), prelude=FIRST_LINE)
    assert result.returncode != 0 and result.problems()


def test_what_counts_as_an_example():
    assert talks_to_local_api('curl http://localhost:8080/api/products -H "Authorization: Bearer $TOKEN"')
    assert talks_to_local_api("TOKEN=$(make -s token ROLE=sales)")
    assert not talks_to_local_api("make dev   # serves http://localhost:8080")
    assert not talks_to_local_api("curl https://abc.execute-api.us-east-1.amazonaws.com/api/products")
    text = 'curl -X POST http://localhost:8080/a \\\n  -d \'{"a": "#1"}\'  # expect 409\ncurl x | jq .\n# curl no\n'
    assert expected_statuses(text) == ["409", "1xx-3xx"]

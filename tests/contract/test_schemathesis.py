"""Contract and fuzz tests with schemathesis, from the API's own OpenAPI document.

Every operation of the document is generated against (positive and negative data, the coverage
phase's boundary values, then bounded fuzzing) and each answer must:

* never be a 5xx (`not_a_server_error`),
* carry a status code the operation documents (`status_code_conformance`),
* carry the documented content type (`content_type_conformance`) and headers
  (`response_headers_conformance`),
* have a body that validates against the documented schema (`response_schema_conformance`).

The cases come from the committed `localcloud/openapi.json` (so pytest collects one test per
operation and xdist can spread them); `test_served_document_is_the_committed_one` ties that copy
to what the cloud serves at `/api/openapi.json`, and `tests/unit/test_openapi.py` ties it to the
code. A fixed seed and Hypothesis' derandomize make every run send the same requests.
"""

from __future__ import annotations

import json

import pytest
import requests
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from localcloud import openapi

pytestmark = pytest.mark.contract

SEED = 20_260_101
MAX_EXAMPLES = 30  # fuzzing phase, per operation; the coverage phase adds its own bounded set
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

DOCUMENT = json.loads(openapi.COMMITTED.read_text(encoding="utf-8"))

config = schemathesis.Config(seed=SEED)
config.projects.default.generation.update(max_examples=MAX_EXAMPLES, deterministic=True, database="none")
config.projects.default.update(request_timeout=30)
schema = schemathesis.openapi.from_dict(DOCUMENT, config=config)


def test_served_document_is_the_committed_one(contract_cloud) -> None:
    served = requests.get(f"{contract_cloud.api_url}/api/openapi.json", timeout=60)
    assert served.status_code == 200
    assert served.headers["Content-Type"].startswith("application/json")
    assert served.json() == DOCUMENT


def test_every_operation_is_covered() -> None:
    operations = {(op.method.upper(), op.path) for op in (r.ok() for r in schema.get_all_operations())}
    documented = {(m.upper(), p) for p, ops in DOCUMENT["paths"].items() for m in ops}
    assert operations == documented
    assert len(operations) == 16


@schema.parametrize()
def test_api_conforms_to_its_contract(case, contract_cloud) -> None:
    case.call_and_validate(base_url=contract_cloud.api_url, checks=CHECKS)

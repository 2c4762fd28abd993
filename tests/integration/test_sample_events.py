"""events/ holds one sample API Gateway event per function (for `sam local invoke -e`); each
matches its route in template.yaml and is answered by its handler."""

from __future__ import annotations

import json

import pytest

from tests.support.apigw import functions, invoke


@pytest.mark.parametrize("fn", functions(), ids=lambda f: f.logical_id)
def test_sample_event_matches_its_route_and_is_answered(cloud, fn):
    event = json.loads(fn.event_file.read_text())
    assert event["routeKey"] == f"{fn.method} {fn.route}"
    assert event["requestContext"]["http"]["method"] == fn.method

    reply = invoke(fn, event, cloud.state_machines)

    # On an empty account: lists answer 200, reads and writes of id 1 answer 404/422, creates 201.
    assert reply["statusCode"] < 500, reply
    assert json.loads(reply["body"] or "null") is not None or reply["statusCode"] == 204


def test_every_function_has_a_sample_event():
    assert all(fn.event_file.is_file() for fn in functions())
    assert len(functions()) == 21  # GET /api/me: events/me/get_me.json

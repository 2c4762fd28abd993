"""The pre token generation trigger (V2_0) adds the user's email to the access token, and nothing else."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

EVENT = Path(__file__).resolve().parents[2] / "events" / "me" / "pre_token_generation.json"


def context() -> Any:
    return SimpleNamespace(
        function_name="PreTokenGenerationFunction",
        memory_limit_in_mb=512,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:PreTokenGenerationFunction",
        aws_request_id="00000000-0000-0000-0000-000000000000",
    )


def v2_event(**attributes: str) -> dict[str, Any]:
    """AWS's V2 event shape (events/me/pre_token_generation.json), with these user attributes."""
    event: dict[str, Any] = json.loads(EVENT.read_text())
    if attributes:
        event["request"]["userAttributes"] = {"sub": event["request"]["userAttributes"]["sub"], **attributes}
    return event


def run(event: dict[str, Any]) -> dict[str, Any]:
    from identity.handlers.pre_token import handler

    result: dict[str, Any] = handler(copy.deepcopy(event), context())
    return result


def test_the_sample_event_is_a_v2_event():
    event = v2_event()
    assert event["version"] == "2"
    assert event["response"] == {"claimsAndScopeOverrideDetails": None}


@pytest.mark.parametrize("trigger", ["TokenGeneration_Authentication", "TokenGeneration_RefreshTokens"])
def test_the_email_goes_into_the_access_token(trigger):
    event = v2_event()
    event["triggerSource"] = trigger
    result = run(event)
    assert result["response"] == {
        "claimsAndScopeOverrideDetails": {
            "accessTokenGeneration": {"claimsToAddOrOverride": {"email": "ann@example.com"}}
        }
    }


def test_everything_else_comes_back_unchanged():
    event = v2_event()
    result = run(event)
    assert {k: v for k, v in result.items() if k != "response"} == {k: v for k, v in event.items() if k != "response"}


@pytest.mark.parametrize("attributes", [{"email_verified": "false"}, {"email": ""}])
def test_a_user_without_an_email_gets_no_claim(attributes):
    result = run(v2_event(**attributes))
    assert not (result["response"].get("claimsAndScopeOverrideDetails") or {}).get("accessTokenGeneration")


def test_the_id_token_groups_and_scopes_are_left_alone():
    details = run(v2_event())["response"]["claimsAndScopeOverrideDetails"]
    assert set(details) == {"accessTokenGeneration"}
    assert set(details["accessTokenGeneration"]) == {"claimsToAddOrOverride"}

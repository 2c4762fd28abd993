"""What a deployment gets from template.yaml's Architecture and SnapStart parameters, checked on
the CloudFormation that SAM's own translator (samtranslator) produces from it, offline."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pytest

from tests.support.apigw import ROOT, template


def deployed(**parameters: str) -> dict[str, Any]:
    """The translated template with its conditions and parameters resolved, as CloudFormation would."""
    return template().translated(**parameters)


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in template["Resources"].items() if v["Type"] == kind}


def test_every_function_and_the_layer_target_python313_on_the_chosen_architecture() -> None:
    for arch in ("arm64", "x86_64"):
        template = deployed(Architecture=arch)
        functions = of_type(template, "AWS::Lambda::Function")
        assert len(functions) >= 15
        assert {(f["Runtime"], tuple(f["Architectures"])) for f in functions.values()} == {("python3.13", (arch,))}
        (layer,) = of_type(template, "AWS::Lambda::LayerVersion").values()
        assert layer["CompatibleRuntimes"] == ["python3.13"]
        assert layer["CompatibleArchitectures"] == [arch]


def test_deployments_default_to_arm64() -> None:
    functions = of_type(deployed(), "AWS::Lambda::Function")
    assert {tuple(f["Architectures"]) for f in functions.values()} == {("arm64",)}


@pytest.mark.parametrize("snapstart", ["true", "false"])
def test_snapstart_parameter_turns_it_on_for_every_function_and_only_then(snapstart: str) -> None:
    functions = of_type(deployed(SnapStart=snapstart), "AWS::Lambda::Function")
    expected = {"ApplyOn": "PublishedVersions"} if snapstart == "true" else None
    assert {name: f.get("SnapStart") for name, f in functions.items()} == dict.fromkeys(functions, expected)


def test_the_api_invokes_each_functions_live_alias() -> None:
    template = deployed(SnapStart="true")
    functions = of_type(template, "AWS::Lambda::Function")
    aliases = of_type(template, "AWS::Lambda::Alias")
    alias_of = {a["FunctionName"]["Ref"]: logical for logical, a in aliases.items() if a["Name"] == "live"}
    assert set(alias_of) == set(functions)

    (api,) = of_type(template, "AWS::ApiGatewayV2::Api").values()
    uris = [
        op["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
        for path in api["Body"]["paths"].values()
        for op in path.values()
        if "x-amazon-apigateway-integration" in op
    ]
    # Every function is invoked through its alias: by the API (the front door, ApiDocsFunction,
    # through several routes), by event sources (SQS, streams), by a schedule (an EventBridge
    # rule whose target is the alias), by Secrets Manager's rotation, or by the user pool's
    # token trigger.
    mappings = of_type(template, "AWS::Lambda::EventSourceMapping").values()
    targets = [
        t["Arn"]["Ref"]
        for rule in of_type(template, "AWS::Events::Rule").values()
        for t in rule.get("Targets", [])
        if isinstance(t.get("Arn"), dict) and "Ref" in t["Arn"]
    ]
    rotations = of_type(template, "AWS::SecretsManager::RotationSchedule").values()
    rotators = {r["RotationLambdaARN"]["Ref"] for r in rotations}
    assert rotators <= set(alias_of.values())
    pools = of_type(template, "AWS::Cognito::UserPool").values()
    triggers = {p["LambdaConfig"]["PreTokenGenerationConfig"]["LambdaArn"]["Ref"] for p in pools if "LambdaConfig" in p}
    assert triggers <= set(alias_of.values())
    invokers = [set(uris), {m["FunctionName"]["Ref"] for m in mappings}, targets, rotators, triggers]
    assert sum(len(i) for i in invokers) == len(functions)
    assert all(any(f"${{{alias}}}" in uri for alias in alias_of.values()) for uri in uris)
    assert set(targets) <= set(alias_of.values())
    permissions = of_type(template, "AWS::Lambda::Permission").values()
    invoked = {p["FunctionName"]["Ref"] for p in permissions} | {m["FunctionName"]["Ref"] for m in mappings}
    assert invoked == set(alias_of.values())


def test_samconfig_keeps_snapstart_off_in_dev_and_on_in_prod() -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())

    def overrides(env: str) -> dict[str, str]:
        pairs = config[env]["deploy"]["parameters"]["parameter_overrides"].split()
        return dict(pair.split("=", 1) for pair in pairs)

    assert overrides("dev")["SnapStart"] == "false"
    assert overrides("default")["SnapStart"] == "false"
    assert overrides("prod")["SnapStart"] == "true"


SIGNING_PROFILE = "arn:aws:signer:us-east-1:123456789012:/signing-profiles/SalesManagement/abcdEFGH12"


def test_code_signing_is_off_by_default() -> None:
    template = deployed()
    assert of_type(template, "AWS::Lambda::CodeSigningConfig") == {}
    assert [n for n, f in of_type(template, "AWS::Lambda::Function").items() if "CodeSigningConfigArn" in f] == []


def test_a_signing_profile_makes_every_function_refuse_code_it_did_not_sign() -> None:
    template = deployed(SigningProfileVersionArn=SIGNING_PROFILE)
    (name, config), *others = of_type(template, "AWS::Lambda::CodeSigningConfig").items()
    assert others == []
    assert config["AllowedPublishers"] == {"SigningProfileVersionArns": [SIGNING_PROFILE]}
    assert config["CodeSigningPolicies"] == {"UntrustedArtifactOnDeployment": "Enforce"}
    functions = of_type(template, "AWS::Lambda::Function")
    assert len(functions) >= 20
    arn = {"Fn::GetAtt": [name, "CodeSigningConfigArn"]}
    assert {n: f.get("CodeSigningConfigArn") for n, f in functions.items()} == dict.fromkeys(functions, arn)


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("", True),
        (SIGNING_PROFILE, True),
        ("arn:aws-us-gov:signer:us-gov-west-1:123456789012:/signing-profiles/Sales_2/a1B2c3D4e5", True),
        ("arn:aws:signer:us-east-1:123456789012:/signing-profiles/SalesManagement", False),  # no version
        ("arn:aws:lambda:us-east-1:123456789012:code-signing-config:csc-0123456789abcdef0", False),
        ("SalesManagement", False),
    ],
)
def test_the_signing_profile_parameter_takes_a_profile_version_arn_or_nothing(value: str, accepted: bool) -> None:
    pattern = template().parameters["SigningProfileVersionArn"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, value)) is accepted

"""Sign-in as deployed: the Cognito pool, its client and groups, the HTTP API's JWT authorizer on
every route, and CORS, checked on what SAM's translator makes of template.yaml (offline)."""

from __future__ import annotations

from typing import Any

import pytest

from sales_common import auth
from tests.support.apigw import front_door, functions, template
from tests.template.test_deploy_options import deployed


def resources(out: dict[str, Any], rtype: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in out["Resources"].items() if v["Type"] == rtype}


def test_every_route_requires_the_cognito_jwt_authorizer():
    body = deployed()["Resources"]["SalesApi"]["Properties"]["Body"]
    scheme = body["components"]["securitySchemes"]["CognitoJwt"]
    config = scheme["x-amazon-apigateway-authorizer"]
    assert config["type"] == "jwt"
    assert config["identitySource"] == "$request.header.Authorization"
    assert config["jwtConfiguration"] == {
        "issuer": {"Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}"},
        "audience": [{"Ref": "UserPoolClient"}],
    }
    operations = {
        (m.upper().replace("X-AMAZON-APIGATEWAY-ANY-METHOD", "ANY"), p): op
        for p, ops in body["paths"].items()
        for m, op in ops.items()
    }
    assert set(operations) == {(fn.method, fn.route) for fn in (*functions(), *front_door())}
    # Public: only the front door's docs (GET /, the page, the document), which hold no data.
    public = {("GET", "/"), ("GET", "/api/docs"), ("GET", "/api/openapi.json")}
    for key, op in operations.items():
        assert op["security"] == ([{"NONE": []}] if key in public else [{"CognitoJwt": []}]), key
    # No OPTIONS route: with a CORS configuration API Gateway answers preflight itself, unauthenticated.
    assert not any(method == "OPTIONS" for method, _ in operations)


def test_cors_names_the_parameter_origins_and_allows_the_authorization_header():
    cors = deployed(CorsAllowOrigins="https://sales.example.com")["Resources"]["SalesApi"]["Properties"]["Body"][
        "x-amazon-apigateway-cors"
    ]
    assert cors["allowOrigins"] == "https://sales.example.com"
    assert "Authorization" in cors["allowHeaders"]
    assert template().parameters["CorsAllowOrigins"]["Default"] != "*"


def _evaluate(node: Any, values: dict[str, Any]) -> Any:
    """The few intrinsic functions CloudFormation Rules use here."""
    if isinstance(node, dict) and len(node) == 1:
        ((fn, arg),) = node.items()
        if fn == "Ref":
            return values[arg]
        if fn == "Fn::Equals":
            return _evaluate(arg[0], values) == _evaluate(arg[1], values)
        if fn == "Fn::Not":
            return not _evaluate(arg[0], values)
        if fn == "Fn::Contains":
            return _evaluate(arg[1], values) in _evaluate(arg[0], values)
    return node


@pytest.mark.parametrize(
    ("stage", "origins", "accepted"),
    [
        ("dev", ["*"], True),
        ("dev", ["http://localhost:3000"], True),
        ("staging", ["*"], False),
        ("prod", ["https://sales.example.com", "*"], False),
        ("prod", ["https://sales.example.com"], True),
    ],
)
def test_a_wildcard_origin_is_refused_outside_dev(stage, origins, accepted):
    values = {"Stage": stage, "CorsAllowOrigins": origins}
    for rule in template().data["Rules"].values():
        if not _evaluate(rule["RuleCondition"], values):
            continue
        if not all(_evaluate(a["Assert"], values) for a in rule["Assertions"]):
            assert not accepted
            return
    assert accepted


def test_the_user_pool_is_admin_created_email_sign_in_with_strong_passwords_and_optional_totp():
    (pool,) = resources(deployed(), "AWS::Cognito::UserPool").values()
    props = pool["Properties"]
    assert props["UsernameAttributes"] == ["email"]
    assert props["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert (props["MfaConfiguration"], props["EnabledMfas"]) == ("OPTIONAL", ["SOFTWARE_TOKEN_MFA"])
    policy = props["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] >= 12
    assert all(policy[k] for k in ("RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols"))
    assert deployed(Stage="prod")["Resources"]["UserPool"]["Properties"]["DeletionProtection"] == "ACTIVE"


def test_the_app_client_is_public_with_srp_password_and_refresh_flows():
    (client,) = resources(deployed(), "AWS::Cognito::UserPoolClient").values()
    props = client["Properties"]
    assert props["GenerateSecret"] is False
    assert set(props["ExplicitAuthFlows"]) == {
        "ALLOW_USER_SRP_AUTH",
        "ALLOW_USER_PASSWORD_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH",
    }
    assert props["UserPoolId"] == {"Ref": "UserPool"}


def test_the_groups_are_the_roles_the_functions_enforce_and_the_integration_limit():
    groups = {g["Properties"]["GroupName"] for g in resources(deployed(), "AWS::Cognito::UserPoolGroup").values()}
    assert groups == set(auth.KNOWN_GROUPS) == {"admin", "sales", "integration"}
    granted = set().union(*auth.PERMISSIONS.values())
    assert granted == set(auth.ROLES) == {"admin", "sales"}  # integration grants no route


SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


def _lifetime(props: dict[str, Any], token: str) -> int:
    """Seconds a token of the client lives (Cognito's default unit is hours)."""
    unit = (props.get("TokenValidityUnits") or {}).get(token, "hours")
    return int(props[f"{token}Validity"]) * SECONDS[unit]


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_access_and_id_tokens_live_15_minutes_at_most_and_can_be_revoked(stage):
    (client,) = resources(deployed(Stage=stage), "AWS::Cognito::UserPoolClient").values()
    props = client["Properties"]
    assert _lifetime(props, "AccessToken") <= 15 * 60
    assert _lifetime(props, "IdToken") <= 15 * 60
    assert _lifetime(props, "RefreshToken") == 12 * 3600  # docs/security.md says so
    assert props["EnableTokenRevocation"] is True
    assert props["PreventUserExistenceErrors"] == "ENABLED"


def test_pool_and_client_ids_are_outputs():
    outputs = template().data["Outputs"]
    assert outputs["UserPoolId"]["Value"] == {"Ref": "UserPool"}
    assert outputs["UserPoolClientId"]["Value"] == {"Ref": "UserPoolClient"}


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_pool_runs_the_email_trigger_as_v2_0_and_only_it_may_invoke_it(stage):
    """The access token gets the user's email from a V2_0 pre token generation trigger (V1_0 would
    customize the ID token only), which needs the Essentials or Plus feature plan; Cognito may invoke
    the trigger's `live` alias on behalf of this pool only."""
    out = deployed(Stage=stage)
    pool = out["Resources"]["UserPool"]["Properties"]
    config = pool["LambdaConfig"]
    assert set(config) == {"PreTokenGenerationConfig"}  # no other trigger
    assert config["PreTokenGenerationConfig"]["LambdaVersion"] == "V2_0"
    alias = config["PreTokenGenerationConfig"]["LambdaArn"]
    assert alias == {"Ref": "PreTokenGenerationFunctionAliaslive"}
    assert pool["UserPoolTier"] in ("ESSENTIALS", "PLUS")
    aliases = resources(out, "AWS::Lambda::Alias")
    function = aliases[alias["Ref"]]["Properties"]["FunctionName"]["Ref"]
    assert out["Resources"][function]["Properties"]["Handler"] == "identity.handlers.pre_token.handler"
    permissions = [
        p["Properties"]
        for p in resources(out, "AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == alias
    ]
    assert permissions == [
        {
            "FunctionName": alias,
            "Action": "lambda:InvokeFunction",
            "Principal": "cognito-idp.amazonaws.com",
            "SourceAccount": {"Ref": "AWS::AccountId"},
            "SourceArn": {"Fn::GetAtt": ["UserPool", "Arn"]},
        }
    ]
    # It calls no AWS API: its role holds only what every function's does (logs and traces).
    role = out["Resources"][out["Resources"][function]["Properties"]["Role"]["Fn::GetAtt"][0]]["Properties"]
    assert not role.get("Policies")

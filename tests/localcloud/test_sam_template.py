"""localcloud.sam_template: template.yaml read once, answered as typed questions."""

from __future__ import annotations

from pathlib import Path

import pytest

from localcloud.sam_template import Route, SamTemplate, TemplateError


def test_load_expands_short_form_tags(project: Path) -> None:
    template = SamTemplate.load(project)
    fn = template.properties("ItemsFunction")
    assert fn["Environment"]["Variables"]["TABLE_NAME"] == {"Ref": "ItemsTable"}
    subs = template.properties("Flow")["DefinitionSubstitutions"]
    assert subs["ItemsTableArn"] == {"Fn::GetAtt": ["ItemsTable", "Arn"]}
    assert subs["Greeting"] == {"Fn::Sub": "hello-${Stage}"}
    assert type(template.data["Resources"]) is dict


def test_load_rejects_non_templates(tmp_path: Path) -> None:
    bad = tmp_path / "t.yaml"
    bad.write_text("just: a mapping\n")
    with pytest.raises(TemplateError, match="no Resources"):
        SamTemplate.load(bad)


def test_functions_merge_the_globals(project: Path) -> None:
    template = SamTemplate.load(project)
    items, slow = template.function("ItemsFunction"), template.function("SlowFunction")
    assert items.handler == "svc.handlers.items.handler"
    assert items.code_uri == "functions/"
    assert (items.timeout, slow.timeout) == (10, 1)
    assert items.environment == {
        "STAGE": {"Ref": "Stage"},
        "AWS_ENDPOINT_URL": "",
        "TABLE_NAME": {"Ref": "ItemsTable"},
        "FLOW_ARN": {"Ref": "Flow"},
        "WHO": "items",
    }
    assert "STAGE" not in items.own_environment
    assert [f.logical_id for f in template.functions()] == [
        "ItemsFunction",
        "OtherFunction",
        "SlowFunction",
        "BrokenFunction",
    ]
    with pytest.raises(TemplateError, match="ItemsTable: not an AWS::Serverless::Function"):
        template.function("ItemsTable")


def test_routes_in_template_order_with_their_authorizer(project: Path) -> None:
    template = SamTemplate.load(project)
    routes = template.routes()
    assert routes[0] == Route(
        "ItemsFunction", "svc.handlers.items.handler", "GET", "/api/items/{id}", "Get", "Api", None
    )
    assert [(r.method, r.path) for r in routes] == [
        ("GET", "/api/items/{id}"),
        ("POST", "/api/items"),
        ("GET", "/api/other"),
        ("GET", "/api/boom"),
        ("GET", "/api/slow"),
        ("GET", "/api/broken"),
    ]
    variant = template.variant()
    variant.data["Resources"]["Api"]["Properties"] = {"Auth": {"DefaultAuthorizer": "Jwt", "Authorizers": {}}}
    variant.data["Resources"]["OtherFunction"]["Properties"]["Events"]["Get"]["Properties"]["Auth"] = {
        "Authorizer": "NONE"
    }
    by_path = {r.path: r.authorizer for r in variant.routes()}
    assert by_path["/api/items"] == "Jwt" and by_path["/api/other"] is None
    assert template.routes()[2].authorizer is None  # the variant is a copy


def test_code_roots_are_the_functions_and_layers_folders(project: Path) -> None:
    assert SamTemplate.load(project).code_roots() == [project.parent / "functions", project.parent / "layers/shared"]


def test_resolver_resolves_what_the_local_cloud_names_and_refuses_the_rest(project: Path) -> None:
    resolver = SamTemplate.load(project).resolver({"Stage": "prod"})
    assert resolver.resolve({"Ref": "ItemsTable"}, "w") == "ItemsTable"
    assert resolver.resolve({"Ref": "Stage"}, "w") == "prod"
    assert resolver.resolve({"Fn::Sub": "${AWS::Region}-${Stage}-${!Literal}"}, "w") == "us-east-1-prod-${Literal}"
    assert resolver.resolve({"Fn::GetAtt": "Flow.Arn"}, "w").endswith(":stateMachine:Flow")
    # the list form, as samtranslator expands a policy template
    listed = {"Fn::Sub": ["arn:${AWS::Partition}:dynamodb:${AWS::Region}:x:table/${t}", {"t": {"Ref": "ItemsTable"}}]}
    assert resolver.resolve(listed, "w") == "arn:aws:dynamodb:us-east-1:x:table/ItemsTable"
    for unsupported in (
        {"Fn::GetAtt": ["ItemsFunction", "Arn"]},  # no Lambda ARNs locally
        {"Fn::ImportValue": "x"},
        {"Ref": "Nope"},
    ):
        with pytest.raises(TemplateError, match="w: "):
            resolver.resolve(unsupported, "w")


def test_translated_applies_parameters_and_conditions() -> None:
    from tests.support.apigw import template

    prod = template().translated(Stage="prod")
    assert prod["Resources"]["UserPool"]["Properties"]["DeletionProtection"] == "ACTIVE"
    assert "AWS::Serverless-2016-10-31" not in str(prod.get("Transform"))


def test_the_resolver_takes_an_if_by_the_parameters_conditions() -> None:
    from localcloud.sam_template import Resolver

    t = SamTemplate.load(Path(__file__).resolve().parents[2] / "template.yaml")
    mfa = t.properties("UserPool")["MfaConfiguration"]
    assert Resolver(t).resolve(mfa, "mfa") == "OPTIONAL"  # Stage defaults to dev
    assert Resolver(t, {"Stage": "prod"}).resolve(mfa, "mfa") == "ON"
    assert Resolver(t, {"Stage": "prod", "AlarmSubscriptionEndpoint": "x@example.com"}).condition(
        "HasAlarmSubscription", "c"
    )
    assert not Resolver(t).condition("HasAlarmSubscription", "c")


def _pool_with(config: object) -> SamTemplate:
    return SamTemplate(
        {
            "Resources": {
                "Fn": {"Type": "AWS::Serverless::Function", "Properties": {"Handler": "a.b"}},
                "Pool": {"Type": "AWS::Cognito::UserPool", "Properties": {"LambdaConfig": config}},
                "Plain": {"Type": "AWS::Cognito::UserPool", "Properties": {}},
            }
        }
    )


@pytest.mark.parametrize(
    ("arn", "version", "expected"),
    [
        ({"Ref": "Fn.Alias"}, "V2_0", "V2_0"),
        ({"Ref": "Fn"}, "V3_0", "V3_0"),
        ({"Fn::GetAtt": ["Fn", "Arn"]}, None, "V1_0"),  # Cognito's default version
    ],
)
def test_pre_token_triggers_name_the_function_and_event_version(arn, version, expected) -> None:
    config = {"LambdaArn": arn, **({"LambdaVersion": version} if version else {})}
    (trigger,) = _pool_with({"PreTokenGenerationConfig": config}).pre_token_triggers()
    assert (trigger.pool, trigger.function, trigger.version) == ("Pool", "Fn", expected)


@pytest.mark.parametrize(
    ("config", "error"),
    [
        ({"LambdaArn": "arn:aws:lambda:us-east-1:123456789012:function:elsewhere"}, "LambdaArn"),
        ({"LambdaArn": {"Ref": "Plain"}}, "LambdaArn"),
        ({"LambdaArn": {"Ref": "Fn"}, "LambdaVersion": "V9_0"}, "LambdaVersion"),
    ],
)
def test_a_pre_token_trigger_outside_the_template_is_an_error(config, error) -> None:
    with pytest.raises(TemplateError, match=error):
        _pool_with({"PreTokenGenerationConfig": config}).pre_token_triggers()


def test_the_projects_pool_runs_its_email_trigger_as_v2_0() -> None:
    from tests.support.apigw import template

    assert [(t.pool, t.function, t.version) for t in template().pre_token_triggers()] == [
        ("UserPool", "PreTokenGenerationFunction", "V2_0")
    ]

"""What template.yaml and samconfig.toml promise about secrets, retention and logging."""

from __future__ import annotations

import tomllib

import pytest

from tests.support.apigw import ROOT, template

LIST_FUNCTIONS = [
    "ListProductsFunction",
    "ListCustomersFunction",
    "ListOrdersFunction",
    "ListStockAdjustmentsFunction",
    "LowStockReportFunction",
]


def resources(kind: str) -> dict[str, dict]:
    return template().resources(kind)


def test_cursor_key_is_a_generated_per_deployment_secret():
    (secret,) = resources("AWS::SecretsManager::Secret").values()
    assert "SecretString" not in secret["Properties"]
    assert secret["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32


def test_only_list_functions_may_read_the_cursor_secret():
    for name, fn in resources("AWS::Serverless::Function").items():
        props = fn["Properties"]
        env = props.get("Environment", {}).get("Variables", {})
        grants = [p for p in props.get("Policies", []) if "AWSSecretsManagerGetSecretValuePolicy" in p]
        if name in LIST_FUNCTIONS:
            assert env["CURSOR_SECRET_ID"] == {"Ref": "CursorSigningSecret"}
            assert grants == [{"AWSSecretsManagerGetSecretValuePolicy": {"SecretArn": {"Ref": "CursorSigningSecret"}}}]
        elif name == "RotateCursorKeyFunction":  # rotates it: tests/integration/test_cursor_rotation.py
            assert env["CURSOR_SECRET_ID"] == {"Ref": "CursorSigningSecret"}
            (rotate, random) = props["Policies"][0]["Statement"]
            assert rotate["Resource"] == {"Ref": "CursorSigningSecret"}
            assert random["Action"] == "secretsmanager:GetRandomPassword"
        else:
            assert "CURSOR_SECRET_ID" not in env and grants == [], name


def test_no_cursor_key_lives_in_code():
    code = "\n".join(p.read_text() for p in (ROOT / "layers" / "shared" / "sales_common").glob("*.py"))
    assert "sales-cursor-v1" not in code and "CURSOR_SIGNING_KEY" not in code


def test_missing_cursor_secret_setting_refuses_with_a_clear_error(monkeypatch):
    from sales_common.errors import ConfigurationError
    from sales_common.listing import signing_key

    monkeypatch.setenv("TABLE_NAME", "ProductsTable")
    monkeypatch.delenv("CURSOR_SECRET_ID", raising=False)
    with pytest.raises(ConfigurationError, match="CURSOR_SECRET_ID"):
        signing_key()


def test_tables_are_retained_outside_dev():
    assert template().data["Conditions"]["IsDev"] == {"Fn::Equals": [{"Ref": "Stage"}, "dev"]}
    tables = resources("AWS::DynamoDB::Table")
    services = {"ProductsTable", "CustomersTable", "OrdersTable", "ReportsTable"}
    assert services | {"IdempotencyTable", "OrderQuotaTable"} <= set(tables)
    for name, table in tables.items():
        for policy in ("DeletionPolicy", "UpdateReplacePolicy"):
            assert table[policy] == {"Fn::If": ["IsDev", "Delete", "Retain"]}, name
    assert "AWS::LanguageExtensions" in template().data["Transform"]


def test_every_function_logs_to_a_log_group_with_retention():
    group = template().function_globals["LoggingConfig"]["LogGroup"]["Ref"]
    log_group = template().resources()[group]
    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert log_group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    for name, fn in resources("AWS::Serverless::Function").items():
        assert "LoggingConfig" not in fn["Properties"], f"{name} overrides the retained log group"


def test_no_stage_logs_at_debug_by_default():
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    assert template().parameters["LogLevel"]["Default"] != "DEBUG"
    for env, commands in config.items():
        if not isinstance(commands, dict):  # `version = 0.1`
            continue
        overrides = (commands.get("deploy") or {}).get("parameters", {}).get("parameter_overrides", "")
        assert "LogLevel=DEBUG" not in overrides, env


def test_stock_adjustment_function_has_exactly_what_it_calls():
    fn = template().properties("AdjustStockFunction")
    (policy,) = fn["Policies"]
    # the product's stock (UpdateItem), its audit records (PutItem): each on its own key prefix
    granted = {
        (s["Action"], s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"][0])
        for s in policy["Statement"]
        if s["Resource"] == {"Fn::GetAtt": ["ProductsTable", "Arn"]}
    }
    assert len(policy["Statement"]) == 2
    assert granted == {("dynamodb:UpdateItem", "PRODUCT#*"), ("dynamodb:PutItem", "STOCKADJ#*")}

"""What a deployment keeps and protects (docs/adr/0029): deletion protection and Retain outside dev,
point-in-time recovery on the business tables, the CustomerManagedKey option, and Cognito's
hardening -- on the CloudFormation SAM's translator makes of template.yaml, parameters resolved."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.apigw import template

BUSINESS_TABLES = {"ProductsTable", "CustomersTable", "OrdersTable"}
KEPT = ("AWS::DynamoDB::Table", "AWS::Cognito::UserPool", "AWS::Logs::LogGroup")


def deployed(**parameters: str) -> dict[str, dict[str, Any]]:
    return dict(template().translated(**parameters)["Resources"])


def of_type(resources: dict[str, dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in resources.items() if v["Type"] == kind}


@pytest.mark.parametrize("stage", ["staging", "prod"])
def test_outside_dev_tables_user_pool_and_log_groups_are_kept_and_tables_protected(stage: str) -> None:
    resources = deployed(Stage=stage)
    kept = {k: v for k, v in resources.items() if v["Type"] in KEPT}
    assert len(kept) >= 9
    for name, resource in kept.items():
        assert (resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy")) == ("Retain", "Retain"), name
    for name, table in of_type(resources, "AWS::DynamoDB::Table").items():
        assert table["Properties"]["DeletionProtectionEnabled"] is True, name


def test_dev_stacks_can_be_deleted() -> None:
    resources = deployed(Stage="dev")
    for name, resource in resources.items():
        if resource["Type"] in KEPT:
            assert resource.get("DeletionPolicy") == "Delete", name
    for table in of_type(resources, "AWS::DynamoDB::Table").values():
        assert table["Properties"]["DeletionProtectionEnabled"] is False


def test_business_tables_have_point_in_time_recovery() -> None:
    tables = of_type(deployed(), "AWS::DynamoDB::Table")
    assert set(tables) >= BUSINESS_TABLES
    for name in BUSINESS_TABLES:
        assert tables[name]["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def encrypted_with(resource: dict[str, Any]) -> Any:
    props, kind = resource["Properties"], resource["Type"]
    if kind == "AWS::DynamoDB::Table":
        return props.get("SSESpecification", {}).get("KMSMasterKeyId")
    if kind in ("AWS::SQS::Queue", "AWS::SNS::Topic"):
        return props.get("KmsMasterKeyId")
    return props.get("KmsKeyId")  # log groups, the secret


STORES = (
    "AWS::DynamoDB::Table",
    "AWS::SQS::Queue",
    "AWS::SNS::Topic",
    "AWS::Logs::LogGroup",
    "AWS::SecretsManager::Secret",
)


def test_with_a_customer_managed_key_every_store_is_encrypted_with_the_stacks_key() -> None:
    resources = deployed(CustomerManagedKey="true")
    assert resources["DataKey"]["Properties"]["EnableKeyRotation"] is True
    stores = {k: v for k, v in resources.items() if v["Type"] in STORES}
    assert len(stores) >= 12
    for name, resource in stores.items():
        assert encrypted_with(resource) in ({"Ref": "DataKey"}, {"Fn::GetAtt": ["DataKey", "Arn"]}), name
        if resource["Type"] == "AWS::SQS::Queue":
            assert "SqsManagedSseEnabled" not in resource["Properties"], name


def test_without_it_no_key_is_created_and_aws_managed_encryption_stays() -> None:
    resources = deployed()
    assert not of_type(resources, "AWS::KMS::Key") and not of_type(resources, "AWS::KMS::Alias")
    for name, resource in resources.items():
        if resource["Type"] in STORES:
            assert encrypted_with(resource) is None, name
    for queue in of_type(resources, "AWS::SQS::Queue").values():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True


def test_the_key_policy_lets_no_one_use_the_key_directly() -> None:
    """The account administers the key through IAM; using it (Encrypt, Decrypt, data keys) is
    granted only through the services that store this stack's data, or to CloudWatch Logs for the
    stack's own log groups and to CloudWatch alarms for the topic."""
    statements = deployed(CustomerManagedKey="true")["DataKey"]["Properties"]["KeyPolicy"]["Statement"]
    use = {"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:GenerateDataKey"}
    for statement in statements:
        actions = set(statement["Action"])
        if statement["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}:
            assert not actions & use and not any(a in ("kms:*", "*") for a in actions)
            continue
        assert actions & use, statement["Sid"]
        condition = statement["Condition"]
        if statement["Principal"] == {"AWS": "*"}:
            assert set(condition["StringEquals"]) == {"kms:CallerAccount", "kms:ViaService"}, statement["Sid"]
        else:
            assert statement["Principal"]["Service"], statement["Sid"]
            assert "ArnEquals" in condition or "ArnLike" in condition, statement["Sid"]


def test_cognito_outside_dev_enforces_threat_protection_and_mfa() -> None:
    for stage, mode, mfa in (("dev", "OFF", "OPTIONAL"), ("staging", "ENFORCED", "ON"), ("prod", "ENFORCED", "ON")):
        pool = deployed(Stage=stage)["UserPool"]["Properties"]
        assert pool["UserPoolAddOns"] == {"AdvancedSecurityMode": mode}, stage
        assert pool["UserPoolTier"] == ("ESSENTIALS" if stage == "dev" else "PLUS")
        assert pool["MfaConfiguration"] == mfa
        assert pool["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
        assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert deployed(Stage="prod")["UserPool"]["Properties"]["DeletionProtection"] == "ACTIVE"
    (client,) = of_type(deployed(), "AWS::Cognito::UserPoolClient").values()
    assert client["Properties"]["PreventUserExistenceErrors"] == "ENABLED"


def test_every_checkov_skip_is_beside_its_resource_with_a_reason_the_adr_explains() -> None:
    """`make validate` runs checkov; a finding is fixed or skipped here, never silenced globally."""
    from tests.support.apigw import ROOT

    adr = (ROOT / "docs/adr/0029-data-protection-and-what-the-scanners-may-skip.md").read_text(encoding="utf-8")
    from tools.validate import CHECKOV_COMMAND

    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "$(CHECKOV)" in makefile.split("\nvalidate:")[1].splitlines()[0]
    assert CHECKOV_COMMAND[1:3] == ["--file", "template.yaml"]
    assert not any(arg.startswith(("--skip-check", "--check", "--soft-fail")) for arg in CHECKOV_COMMAND)
    skipped = 0
    for name, resource in template().resources().items():
        for skip in ((resource.get("Metadata") or {}).get("checkov") or {}).get("skip", []):
            assert skip["id"] in adr, (name, skip["id"])
            assert len(skip.get("comment", "")) >= 40, (name, skip["id"])
            skipped += 1
    assert skipped

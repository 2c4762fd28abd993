"""template.yaml -> local DynamoDB tables and Step Functions state machines.

template.yaml is the single source of truth: nothing here hard-codes a table or a workflow.
Everything works with any boto3 client, so the same calls serve moto's decorator mode
(``mock_aws``) in unit-test fixtures and the moto server behind ``python -m localcloud``.

Local naming follows ``sam local``: ``!Ref Table`` resolves to the table's logical id, so the
table is created under its logical id. Pseudo parameters use SAM's local values (us-east-1,
123456789012).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "ACCOUNT_ID",
    "REGION",
    "Resolver",
    "TemplateError",
    "UserPools",
    "create_queues",
    "create_secrets",
    "create_state_machines",
    "create_tables",
    "create_user_pools",
    "load_template",
    "queue_arn",
    "queue_url",
    "resources_of_type",
    "state_machine_arn",
    "table_arn",
]

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
PARTITION = "aws"
DUMMY_ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/localcloud-state-machine-role"

TABLE_TYPES = ("AWS::DynamoDB::Table",)
STATE_MACHINE_TYPES = ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine")
SECRET_TYPES = ("AWS::SecretsManager::Secret",)
FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")
QUEUE_TYPE = "AWS::SQS::Queue"
USER_POOL_TYPE = "AWS::Cognito::UserPool"
USER_POOL_CLIENT_TYPE = "AWS::Cognito::UserPoolClient"
USER_POOL_GROUP_TYPE = "AWS::Cognito::UserPoolGroup"


class TemplateError(ValueError):
    """The template asks for something the local cloud cannot resolve."""


# ------------------------------------------------------------------ loading
def load_template(path: str | Path) -> dict[str, Any]:
    """Parse template.yaml (or JSON) with SAM CLI's own parser.

    Short-form tags become their long form: ``!Ref X`` -> ``{"Ref": "X"}``,
    ``!GetAtt X.Arn`` -> ``{"Fn::GetAtt": ["X", "Arn"]}``, ``!Sub s`` -> ``{"Fn::Sub": "s"}``.
    """
    from samcli.yamlhelper import yaml_parse

    text = Path(path).read_text(encoding="utf-8")
    template = yaml_parse(text)
    if not isinstance(template, Mapping) or not isinstance(template.get("Resources"), Mapping):
        raise TemplateError(f"{path}: not a CloudFormation/SAM template (no Resources)")
    return _plain(template)  # type: ignore[no-any-return]


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def resources_of_type(template: Mapping[str, Any], *types: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template.get("Resources", {}).items()
        if isinstance(resource, dict) and resource.get("Type") in types
    }


def table_arn(table_name: str) -> str:
    return f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT_ID}:table/{table_name}"


def state_machine_arn(name: str) -> str:
    return f"arn:{PARTITION}:states:{REGION}:{ACCOUNT_ID}:stateMachine:{name}"


def queue_arn(name: str) -> str:
    return f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT_ID}:{name}"


def queue_url(name: str) -> str:
    return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/{name}"


# ------------------------------------------------------------------ intrinsics
class _Resolver:
    """Resolves the handful of intrinsics that make sense locally; anything else is an error."""

    def __init__(
        self,
        template: Mapping[str, Any],
        parameter_overrides: Mapping[str, str] | None = None,
        state_machine_arns: Mapping[str, str] | None = None,
        physical_ids: Mapping[str, str] | None = None,
    ) -> None:
        self.template = template
        self.resources: Mapping[str, Any] = template.get("Resources", {})
        self.parameters: Mapping[str, Any] = template.get("Parameters", {}) or {}
        self.overrides = dict(parameter_overrides or {})
        self.state_machine_arns = dict(state_machine_arns or {})
        # Resources whose Ref is an id the emulator chose (user pools, app clients).
        self.physical_ids: Mapping[str, str] = physical_ids if physical_ids is not None else {}

    def resolve(self, value: Any, where: str) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str | int | float):
            return str(value)
        if isinstance(value, Mapping) and len(value) == 1:
            ((fn, arg),) = value.items()
            if fn == "Ref":
                return self.ref(arg, where)
            if fn == "Fn::GetAtt":
                parts = arg.split(".", 1) if isinstance(arg, str) else list(arg)
                if len(parts) == 2:
                    return self.get_att(str(parts[0]), str(parts[1]), where)
            if fn == "Fn::Sub" and isinstance(arg, str):
                return self.sub(arg, {}, where)
            if fn == "Fn::Sub" and isinstance(arg, list) and len(arg) == 2:
                local = {k: self.resolve(v, where) for k, v in arg[1].items()}
                return self.sub(arg[0], local, where)
        raise TemplateError(f"{where}: cannot resolve {json.dumps(value, default=str)} locally")

    def ref(self, name: str, where: str) -> str:
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": "local",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.overrides:
            return str(self.overrides[name])
        if name in self.parameters:
            default = self.parameters[name].get("Default")
            if default is None:
                raise TemplateError(f"{where}: parameter {name} has no Default and no override")
            return str(default)
        resource = self.resources.get(name)
        if resource is None:
            raise TemplateError(f"{where}: !Ref {name}: no such parameter or resource")
        if resource.get("Type") in STATE_MACHINE_TYPES:  # Ref of a state machine is its ARN
            return self.state_machine_arns.get(name, state_machine_arn(name))
        if resource.get("Type") == QUEUE_TYPE:  # Ref of a queue is its URL
            return queue_url(name)
        if name in self.physical_ids:
            return self.physical_ids[name]
        if resource.get("Type") in (USER_POOL_TYPE, USER_POOL_CLIENT_TYPE):
            raise TemplateError(f"{where}: !Ref {name}: the user pool (client) is not created yet")
        return name  # tables, functions, queues, ...: the logical id, as sam local does

    def get_att(self, name: str, attribute: str, where: str) -> str:
        resource = self.resources.get(name)
        if resource is None:
            raise TemplateError(f"{where}: !GetAtt {name}.{attribute}: no such resource")
        rtype = resource.get("Type")
        if rtype in TABLE_TYPES and attribute == "Arn":
            return table_arn(name)
        if rtype in FUNCTION_TYPES and attribute == "Arn":
            return f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"
        if rtype in STATE_MACHINE_TYPES and attribute in ("Arn", "Name"):
            arn = self.state_machine_arns.get(name, state_machine_arn(name))
            return arn if attribute == "Arn" else arn.rsplit(":", 1)[-1]
        if rtype == QUEUE_TYPE and attribute == "Arn":
            return queue_arn(name)
        if rtype == QUEUE_TYPE and attribute == "QueueName":
            return name
        if rtype == QUEUE_TYPE and attribute == "QueueUrl":
            return queue_url(name)
        raise TemplateError(f"{where}: !GetAtt {name}.{attribute} ({rtype}) is not supported locally")

    def sub(self, text: str, local: Mapping[str, str], where: str) -> str:
        def repl(match: re.Match[str]) -> str:
            expr = match.group(1)
            if expr.startswith("!"):
                return "${" + expr[1:] + "}"
            if expr in local:
                return local[expr]
            if "." in expr and not expr.startswith("AWS::"):
                res, att = expr.split(".", 1)
                return self.get_att(res, att, where)
            return self.ref(expr, where)

        return re.sub(r"\$\{([^}]+)\}", repl, text)


#: Public name of the resolver (the IAM policy check in tests resolves policy resources with it).
Resolver = _Resolver


# ------------------------------------------------------------------ tables
def table_definitions(template: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """CreateTable kwargs (plus ``_ttl``) for every table in the template, keyed by logical id."""
    resolver = _Resolver(template)
    out: dict[str, dict[str, Any]] = {}
    for logical_id, resource in resources_of_type(template, *TABLE_TYPES).items():
        props = resource.get("Properties") or {}
        out[logical_id] = _dynamodb_table(logical_id, props, resolver)
    return out


def _dynamodb_table(logical_id: str, props: Mapping[str, Any], resolver: _Resolver) -> dict[str, Any]:
    where = f"Resources.{logical_id}"
    if "KeySchema" not in props or "AttributeDefinitions" not in props:
        raise TemplateError(f"{where}: KeySchema and AttributeDefinitions are required")
    billing = props.get("BillingMode", "PROVISIONED")
    if isinstance(billing, Mapping):
        billing = resolver.resolve(billing, f"{where}.BillingMode")
    provisioned = billing == "PROVISIONED"
    kwargs: dict[str, Any] = {
        "TableName": logical_id,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": billing,
    }
    if provisioned:
        kwargs["ProvisionedThroughput"] = _throughput(props.get("ProvisionedThroughput"))
    gsis = [_index(gsi, provisioned) for gsi in props.get("GlobalSecondaryIndexes") or []]
    if gsis:
        kwargs["GlobalSecondaryIndexes"] = gsis
    lsis = [_index(lsi, False) for lsi in props.get("LocalSecondaryIndexes") or []]
    if lsis:
        kwargs["LocalSecondaryIndexes"] = lsis
    stream = props.get("StreamSpecification") or {}
    if stream.get("StreamViewType"):
        kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    ttl = props.get("TimeToLiveSpecification") or {}
    if ttl.get("Enabled") in (True, "true", "True"):
        kwargs["_ttl"] = {"Enabled": True, "AttributeName": ttl["AttributeName"]}
    return kwargs


def _index(spec: Mapping[str, Any], provisioned: bool) -> dict[str, Any]:
    index = {k: spec[k] for k in ("IndexName", "KeySchema", "Projection")}
    if provisioned:
        index["ProvisionedThroughput"] = _throughput(spec.get("ProvisionedThroughput"))
    return index


def _throughput(value: Mapping[str, Any] | None) -> dict[str, int]:
    value = value or {}
    return {
        "ReadCapacityUnits": int(value.get("ReadCapacityUnits", 5)),
        "WriteCapacityUnits": int(value.get("WriteCapacityUnits", 5)),
    }


def create_tables(dynamodb_client: Any, template: Mapping[str, Any]) -> dict[str, str]:
    """Create every table of the template; returns {logical id: table name}.

    Idempotent: a table that already exists (e.g. restored from persisted state) is left alone.
    """
    created: dict[str, str] = {}
    existing = set(_list_tables(dynamodb_client))
    for logical_id, definition in table_definitions(template).items():
        kwargs = dict(definition)
        ttl = kwargs.pop("_ttl", None)
        name = kwargs["TableName"]
        if name not in existing:
            dynamodb_client.create_table(**kwargs)
            if ttl:
                dynamodb_client.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        created[logical_id] = name
    return created


def _list_tables(client: Any) -> list[str]:
    names: list[str] = []
    kwargs: dict[str, Any] = {}
    while True:
        page = client.list_tables(**kwargs)
        names.extend(page.get("TableNames", []))
        if not page.get("LastEvaluatedTableName"):
            return names
        kwargs["ExclusiveStartTableName"] = page["LastEvaluatedTableName"]


# ------------------------------------------------------------------ state machines
def state_machine_definitions(
    template: Mapping[str, Any],
    template_dir: str | Path,
    parameter_overrides: Mapping[str, str] | None = None,
) -> dict[str, dict[str, str]]:
    """{logical id: {"name", "type", "definition"}} with DefinitionSubstitutions applied."""
    resolver = _Resolver(template, parameter_overrides)
    out: dict[str, dict[str, str]] = {}
    for logical_id, resource in resources_of_type(template, *STATE_MACHINE_TYPES).items():
        props = resource.get("Properties") or {}
        where = f"Resources.{logical_id}"
        if resource["Type"] == "AWS::StepFunctions::StateMachine":
            text = _cfn_definition(props, template_dir, where)
            subs = props.get("DefinitionSubstitutions") or {}
            sm_type = props.get("StateMachineType", "STANDARD")
        else:
            text = _sam_definition(props, template_dir, where)
            subs = props.get("DefinitionSubstitutions") or {}
            sm_type = props.get("Type", "STANDARD")
        values = {key: resolver.resolve(value, f"{where}.DefinitionSubstitutions.{key}") for key, value in subs.items()}
        definition = _substitute(text, values, where)
        try:
            json.loads(definition)
        except ValueError as exc:
            raise TemplateError(f"{where}: definition is not valid JSON after substitution: {exc}") from exc
        out[logical_id] = {"name": logical_id, "type": str(sm_type), "definition": definition}
    return out


def _sam_definition(props: Mapping[str, Any], template_dir: str | Path, where: str) -> str:
    if "Definition" in props:
        return json.dumps(props["Definition"])
    uri = props.get("DefinitionUri")
    if isinstance(uri, str):
        return _read_definition_file(Path(template_dir) / uri, where)
    raise TemplateError(f"{where}: needs Definition or a local DefinitionUri path (got {uri!r})")


def _cfn_definition(props: Mapping[str, Any], template_dir: str | Path, where: str) -> str:
    if "Definition" in props:
        return json.dumps(props["Definition"])
    if isinstance(props.get("DefinitionString"), str):
        return str(props["DefinitionString"])
    raise TemplateError(f"{where}: only Definition / literal DefinitionString are supported locally")


def _read_definition_file(path: Path, where: str) -> str:
    if not path.is_file():
        raise TemplateError(f"{where}: DefinitionUri file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".yaml", ".yml"):
        from samcli.yamlhelper import yaml_parse

        return json.dumps(yaml_parse(text))
    return text


_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_.:-]+)\}")


def _substitute(text: str, values: Mapping[str, str], where: str) -> str:
    missing: set[str] = set()

    def repl(match: re.Match[str]) -> str:
        key = match.group(1)
        if key in values:
            # values land inside JSON strings: escape them as JSON string content
            return json.dumps(values[key])[1:-1]
        missing.add(key)
        return match.group(0)

    result = _PLACEHOLDER.sub(repl, text)
    if missing:
        raise TemplateError(
            f"{where}: definition uses ${{{'}, ${'.join(sorted(missing))}}} "
            "but DefinitionSubstitutions does not define it"
        )
    return result


def create_state_machines(
    sfn_client: Any,
    template: Mapping[str, Any],
    template_dir: str | Path,
    parameter_overrides: Mapping[str, str] | None = None,
    role_arn: str = DUMMY_ROLE_ARN,
) -> dict[str, str]:
    """Create every state machine of the template; returns {logical id: state machine ARN}.

    Idempotent: an existing state machine of the same name gets its definition updated.
    """
    existing = {sm["name"]: sm["stateMachineArn"] for sm in _list_state_machines(sfn_client)}
    arns: dict[str, str] = {}
    for logical_id, spec in state_machine_definitions(template, template_dir, parameter_overrides).items():
        if spec["name"] in existing:
            arn = existing[spec["name"]]
            sfn_client.update_state_machine(stateMachineArn=arn, definition=spec["definition"], roleArn=role_arn)
        else:
            arn = sfn_client.create_state_machine(
                name=spec["name"], definition=spec["definition"], roleArn=role_arn, type=spec["type"]
            )["stateMachineArn"]
        arns[logical_id] = arn
    return arns


def _list_state_machines(client: Any) -> list[dict[str, Any]]:
    machines: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {}
    while True:
        page = client.list_state_machines(**kwargs)
        machines.extend(page.get("stateMachines", []))
        if not page.get("nextToken"):
            return machines
        kwargs["nextToken"] = page["nextToken"]


# ------------------------------------------------------------------ queues
# Queue properties that map 1:1 to SQS attributes (CloudFormation name -> SetQueueAttributes name).
_QUEUE_ATTRIBUTES = {
    "DelaySeconds": "DelaySeconds",
    "MaximumMessageSize": "MaximumMessageSize",
    "MessageRetentionPeriod": "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout": "VisibilityTimeout",
    "FifoQueue": "FifoQueue",
    "ContentBasedDeduplication": "ContentBasedDeduplication",
}


def queue_definitions(template: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """{logical id: SQS attributes} for every AWS::SQS::Queue, RedrivePolicy resolved to JSON."""
    resolver = _Resolver(template)
    out: dict[str, dict[str, str]] = {}
    for logical_id, resource in resources_of_type(template, QUEUE_TYPE).items():
        props = resource.get("Properties") or {}
        where = f"Resources.{logical_id}"
        if "QueueName" in props:
            raise TemplateError(f"{where}: an explicit QueueName is not supported locally (queues take the logical id)")
        attributes = {
            sqs_name: resolver.resolve(props[cfn_name], f"{where}.{cfn_name}")
            for cfn_name, sqs_name in _QUEUE_ATTRIBUTES.items()
            if cfn_name in props
        }
        redrive = props.get("RedrivePolicy")
        if redrive:
            attributes["RedrivePolicy"] = json.dumps(
                {
                    "deadLetterTargetArn": resolver.resolve(redrive["deadLetterTargetArn"], f"{where}.RedrivePolicy"),
                    "maxReceiveCount": int(redrive["maxReceiveCount"]),
                }
            )
        out[logical_id] = attributes
    return out


def create_queues(sqs_client: Any, template: Mapping[str, Any]) -> dict[str, str]:
    """Create every SQS queue of the template (named by logical id); returns {logical id: URL}.
    Redrive policies are set once every queue exists, so a queue may name any dead-letter queue.
    Idempotent: an existing queue gets its attributes updated."""
    definitions = queue_definitions(template)
    urls: dict[str, str] = {}
    for logical_id, attributes in definitions.items():
        plain = {k: v for k, v in attributes.items() if k != "RedrivePolicy"}
        urls[logical_id] = sqs_client.create_queue(QueueName=logical_id, Attributes=plain)["QueueUrl"]
    for logical_id, attributes in definitions.items():
        if "RedrivePolicy" in attributes:
            sqs_client.set_queue_attributes(
                QueueUrl=urls[logical_id], Attributes={"RedrivePolicy": attributes["RedrivePolicy"]}
            )
    return urls


# ------------------------------------------------------------------ secrets
def generate_secret_value(spec: Mapping[str, Any]) -> str:
    """A fresh random value as Secrets Manager's GenerateSecretString makes it (length, excluded
    characters; SecretStringTemplate/GenerateStringKey give a JSON object)."""
    import secrets
    import string

    alphabet = string.ascii_letters + string.digits
    if spec.get("ExcludePunctuation") not in (True, "true", "True"):
        alphabet += string.punctuation
    excluded = str(spec.get("ExcludeCharacters", ""))
    alphabet = "".join(c for c in alphabet if c not in excluded)
    value = "".join(secrets.choice(alphabet) for _ in range(int(spec.get("PasswordLength", 32))))
    template = spec.get("SecretStringTemplate")
    if isinstance(template, str) and spec.get("GenerateStringKey"):
        return json.dumps({**json.loads(template), str(spec["GenerateStringKey"]): value})
    return value


def create_secrets(client: Any, template: Mapping[str, Any], values: Mapping[str, str] | None = None) -> dict[str, str]:
    """Create every Secrets Manager secret of the template under its logical id (what ``!Ref``
    resolves to locally); returns {logical id: value}.

    A secret takes its value from `values` when given there (e.g. kept in a state file, so that
    cursors survive a restart), else its literal SecretString, else a value generated as
    GenerateSecretString describes. Idempotent: an existing secret gets the value as a new version.
    """
    out: dict[str, str] = {}
    for logical_id, resource in resources_of_type(template, *SECRET_TYPES).items():
        props = resource.get("Properties") or {}
        value = (values or {}).get(logical_id)
        if value is None:
            literal = props.get("SecretString")
            if literal is not None and not isinstance(literal, str):
                raise TemplateError(f"Resources.{logical_id}.SecretString: only a literal string is supported locally")
            value = literal if literal is not None else generate_secret_value(props.get("GenerateSecretString") or {})
        try:
            client.create_secret(Name=logical_id, SecretString=value)
        except client.exceptions.ResourceExistsException:
            client.put_secret_value(SecretId=logical_id, SecretString=value)
        out[logical_id] = value
    return out


# ------------------------------------------------------------------ user pools (Cognito)
# CloudFormation properties passed to the API unchanged (same names, literal values only).
_POOL_PROPERTIES = (
    "Policies",
    "UsernameAttributes",
    "AliasAttributes",
    "UsernameConfiguration",
    "AutoVerifiedAttributes",
    "AdminCreateUserConfig",
    "MfaConfiguration",
    "AccountRecoverySetting",
    "Schema",
)
_CLIENT_PROPERTIES = (
    "GenerateSecret",
    "ExplicitAuthFlows",
    "PreventUserExistenceErrors",
    "EnableTokenRevocation",
    "AccessTokenValidity",
    "IdTokenValidity",
    "RefreshTokenValidity",
    "TokenValidityUnits",
    "AllowedOAuthFlows",
    "AllowedOAuthScopes",
    "AllowedOAuthFlowsUserPoolClient",
    "CallbackURLs",
    "SupportedIdentityProviders",
)


class UserPools(dict[str, str]):
    """{logical id: physical id} of the template's user pools and app clients, plus ``groups``:
    {pool logical id: [group names]}."""

    def __init__(self) -> None:
        super().__init__()
        self.groups: dict[str, list[str]] = {}


def _literal(value: Any, where: str) -> Any:
    if isinstance(value, Mapping):
        if any(k == "Ref" or str(k).startswith("Fn::") for k in value):
            raise TemplateError(f"{where}: intrinsic functions are not supported locally here")
        return {k: _literal(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_literal(v, where) for v in value]
    return value


def create_user_pools(
    cognito_client: Any,
    template: Mapping[str, Any],
    parameter_overrides: Mapping[str, str] | None = None,
) -> UserPools:
    """Create every Cognito user pool, app client and group of the template in the emulator.

    Returns the physical ids (``!Ref`` of a pool is its id, of a client its client id); with
    them, `resolver_with` resolves e.g. a JWT authorizer's issuer. Idempotent: a pool or client of
    the same name is reused.
    """
    ids = UserPools()
    resolver = _Resolver(template, parameter_overrides, physical_ids=ids)
    existing_pools = {p["Name"]: p["Id"] for p in cognito_client.list_user_pools(MaxResults=60)["UserPools"]}
    for logical_id, resource in resources_of_type(template, USER_POOL_TYPE).items():
        props = resource.get("Properties") or {}
        where = f"Resources.{logical_id}"
        name = resolver.resolve(props.get("UserPoolName", logical_id), f"{where}.UserPoolName")
        if name in existing_pools:
            ids[logical_id] = existing_pools[name]
            continue
        kwargs = {k: _literal(props[k], f"{where}.{k}") for k in _POOL_PROPERTIES if k in props}
        pool_id = cognito_client.create_user_pool(PoolName=name, **kwargs)["UserPool"]["Id"]
        if "SOFTWARE_TOKEN_MFA" in (props.get("EnabledMfas") or []):
            cognito_client.set_user_pool_mfa_config(
                UserPoolId=pool_id,
                SoftwareTokenMfaConfiguration={"Enabled": True},
                MfaConfiguration=props.get("MfaConfiguration", "OPTIONAL"),
            )
        ids[logical_id] = pool_id
    for logical_id, resource in resources_of_type(template, USER_POOL_CLIENT_TYPE).items():
        props = resource.get("Properties") or {}
        where = f"Resources.{logical_id}"
        pool_id = resolver.resolve(props.get("UserPoolId"), f"{where}.UserPoolId")
        name = resolver.resolve(props.get("ClientName", logical_id), f"{where}.ClientName")
        clients = cognito_client.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]
        found = next((c["ClientId"] for c in clients if c["ClientName"] == name), None)
        if found is None:
            kwargs = {k: _literal(props[k], f"{where}.{k}") for k in _CLIENT_PROPERTIES if k in props}
            found = cognito_client.create_user_pool_client(UserPoolId=pool_id, ClientName=name, **kwargs)[
                "UserPoolClient"
            ]["ClientId"]
        ids[logical_id] = found
    for logical_id, resource in resources_of_type(template, USER_POOL_GROUP_TYPE).items():
        props = resource.get("Properties") or {}
        where = f"Resources.{logical_id}"
        pool_ref = props.get("UserPoolId")
        pool_id = resolver.resolve(pool_ref, f"{where}.UserPoolId")
        group = resolver.resolve(props.get("GroupName", logical_id), f"{where}.GroupName")
        names = {g["GroupName"] for g in cognito_client.list_groups(UserPoolId=pool_id)["Groups"]}
        if group not in names:
            extra = {k: _literal(props[k], f"{where}.{k}") for k in ("Description", "Precedence") if k in props}
            cognito_client.create_group(UserPoolId=pool_id, GroupName=group, **extra)
        pool_logical = next((k for k, v in ids.items() if v == pool_id), pool_id)
        ids.groups.setdefault(pool_logical, []).append(group)
    return ids


def resolver_with(
    template: Mapping[str, Any],
    parameter_overrides: Mapping[str, str] | None = None,
    physical_ids: Mapping[str, str] | None = None,
) -> Any:
    """A resolver for template values (``!Ref``, ``!Sub``, ``!GetAtt``) once the emulator has
    given physical ids to some resources: ``resolver_with(...).resolve(value, where)``."""
    return _Resolver(template, parameter_overrides, physical_ids=physical_ids)

"""template.yaml's resources, created in the emulator: one :func:`provision` for every caller.

The local cloud (``python -m localcloud``), the Docker tier's backend and the ``mock_aws`` test
fixtures all provision the same way, in one order -- tables (with their streams), queues, event
buses (with their archives and rules), secrets, state machines, user pools (with their app
clients and groups), one dev user per group -- from the template
(:mod:`localcloud.sam_template`), never from a second copy. Everything works with any boto3
client, so the same calls serve moto's decorator mode and the moto server.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localcloud.sam_template import (
    ACCOUNT_ID,
    EVENT_ARCHIVE,
    EVENT_BUS,
    EVENT_RULE,
    QUEUE,
    SECRET,
    STATE_MACHINE,
    TABLE,
    USER_POOL,
    USER_POOL_CLIENT,
    USER_POOL_GROUP,
    Resolver,
    SamTemplate,
    TemplateError,
)

__all__ = [
    "DEV_PASSWORD",
    "DevUsers",
    "Provisioned",
    "UserPools",
    "create_dev_users",
    "create_event_buses",
    "create_queues",
    "create_secrets",
    "create_state_machines",
    "create_tables",
    "create_user_pools",
    "provision",
    "state_machine_definitions",
]

DUMMY_ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/localcloud-state-machine-role"
# A password that meets template.yaml's policy; the dev users exist only in the emulator.
DEV_PASSWORD = "Local-dev-Passw0rd!"


# ------------------------------------------------------------------ everything, in order
@dataclass
class Provisioned:
    """What :func:`provision` created, by logical id."""

    tables: dict[str, str]  # -> table name
    queues: dict[str, str]  # -> queue URL
    secrets: dict[str, str]  # -> secret value
    state_machines: dict[str, str]  # -> state machine ARN
    user_pools: UserPools  # -> pool id / client id, plus .groups
    dev_users: DevUsers | None = None
    event_buses: dict[str, str] = field(default_factory=dict)  # -> bus name (its archives and rules too)


def provision(
    client: Callable[[str], Any],
    template: SamTemplate,
    parameter_overrides: Mapping[str, str] | None = None,
    secret_values: Mapping[str, str] | None = None,
    sign_in: bool = True,
) -> Provisioned:
    """Create every resource of the template that the emulator serves; `client(service)` gives
    the boto3 client of a service. Secrets take their value from `secret_values` when given there
    (e.g. kept in a state file). Without `sign_in` no user pool (nor dev user) is created: for
    callers that pass the authorizer's claims themselves (moto takes ~0.2 s per pool).
    Idempotent, as each ``create_*`` is."""
    tables = create_tables(client("dynamodb"), template)
    queues = create_queues(client("sqs"), template)
    buses = create_event_buses(client("events"), template, parameter_overrides)
    secrets = create_secrets(client("secretsmanager"), template, secret_values)
    machines = create_state_machines(client("stepfunctions"), template, parameter_overrides)
    if not sign_in:
        return Provisioned(tables, queues, secrets, machines, UserPools(), event_buses=buses)
    cognito = client("cognito-idp")
    pools = create_user_pools(cognito, template, parameter_overrides)
    dev_users = create_dev_users(cognito, pools, template)
    return Provisioned(tables, queues, secrets, machines, pools, dev_users, event_buses=buses)


# ------------------------------------------------------------------ tables
def table_definitions(template: SamTemplate) -> dict[str, dict[str, Any]]:
    """CreateTable kwargs (plus ``_ttl``) for every table in the template, keyed by logical id."""
    return {logical_id: _dynamodb_table(logical_id, props) for logical_id, props in template.of_type(TABLE).items()}


def _dynamodb_table(logical_id: str, props: Mapping[str, Any]) -> dict[str, Any]:
    where = f"Resources.{logical_id}"
    if "KeySchema" not in props or "AttributeDefinitions" not in props:
        raise TemplateError(f"{where}: KeySchema and AttributeDefinitions are required")
    if props.get("BillingMode") != "PAY_PER_REQUEST":
        raise TemplateError(f"{where}: BillingMode {props.get('BillingMode')} not supported locally (PAY_PER_REQUEST)")
    kwargs: dict[str, Any] = {
        "TableName": logical_id,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if "LocalSecondaryIndexes" in props:
        raise TemplateError(f"{where}: LocalSecondaryIndexes not supported locally")
    stream = props.get("StreamSpecification")
    if stream:
        kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    index_keys = ("IndexName", "KeySchema", "Projection")
    gsis = [{k: gsi[k] for k in index_keys} for gsi in props.get("GlobalSecondaryIndexes") or []]
    if gsis:
        kwargs["GlobalSecondaryIndexes"] = gsis
    ttl = props.get("TimeToLiveSpecification") or {}
    if ttl.get("Enabled") in (True, "true", "True"):
        kwargs["_ttl"] = {"Enabled": True, "AttributeName": ttl["AttributeName"]}
    return kwargs


def create_tables(dynamodb_client: Any, template: SamTemplate) -> dict[str, str]:
    """Create every table of the template; returns {logical id: table name}.

    Idempotent: a table that already exists (e.g. restored from persisted state) is left alone.
    """
    definitions = table_definitions(template)
    created: dict[str, str] = {}
    existing = {name for page in dynamodb_client.get_paginator("list_tables").paginate() for name in page["TableNames"]}
    for logical_id, definition in definitions.items():
        kwargs = dict(definition)
        ttl = kwargs.pop("_ttl", None)
        name = kwargs["TableName"]
        if name not in existing:
            dynamodb_client.create_table(**kwargs)
            if ttl:
                dynamodb_client.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        created[logical_id] = name
    return created


# ------------------------------------------------------------------ state machines
def state_machine_definitions(
    template: SamTemplate, parameter_overrides: Mapping[str, str] | None = None
) -> dict[str, dict[str, str]]:
    """{logical id: {"name", "type", "definition"}} with DefinitionSubstitutions applied."""
    resolver = template.resolver(parameter_overrides)
    out: dict[str, dict[str, str]] = {}
    for logical_id, props in template.of_type(STATE_MACHINE).items():
        where = f"Resources.{logical_id}"
        text = _definition_file(template.root, props.get("DefinitionUri"), where)
        subs = props.get("DefinitionSubstitutions") or {}
        values = {key: resolver.resolve(value, f"{where}.DefinitionSubstitutions.{key}") for key, value in subs.items()}
        definition = _substitute(text, values, where)
        try:
            json.loads(definition)
        except ValueError as exc:
            raise TemplateError(f"{where}: definition is not valid JSON after substitution: {exc}") from exc
        out[logical_id] = {"name": logical_id, "type": str(props.get("Type", "STANDARD")), "definition": definition}
    return out


def _definition_file(root: Path, uri: Any, where: str) -> str:
    if not isinstance(uri, str):
        raise TemplateError(f"{where}: needs a local DefinitionUri path (got {uri!r})")
    path = root / uri
    if not path.is_file():
        raise TemplateError(f"{where}: DefinitionUri file {path} does not exist")
    return path.read_text(encoding="utf-8")


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
    template: SamTemplate,
    parameter_overrides: Mapping[str, str] | None = None,
    role_arn: str = DUMMY_ROLE_ARN,
) -> dict[str, str]:
    """Create every state machine of the template; returns {logical id: state machine ARN}.

    Idempotent: an existing state machine of the same name gets its definition updated.
    """
    pages = sfn_client.get_paginator("list_state_machines").paginate()
    existing = {sm["name"]: sm["stateMachineArn"] for page in pages for sm in page["stateMachines"]}
    arns: dict[str, str] = {}
    for logical_id, spec in state_machine_definitions(template, parameter_overrides).items():
        if spec["name"] in existing:
            arn = existing[spec["name"]]
            sfn_client.update_state_machine(stateMachineArn=arn, definition=spec["definition"], roleArn=role_arn)
        else:
            arn = sfn_client.create_state_machine(
                name=spec["name"], definition=spec["definition"], roleArn=role_arn, type=spec["type"]
            )["stateMachineArn"]
        arns[logical_id] = arn
    return arns


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


def queue_definitions(template: SamTemplate) -> dict[str, dict[str, str]]:
    """{logical id: SQS attributes} for every AWS::SQS::Queue, RedrivePolicy resolved to JSON."""
    resolver = template.resolver()
    out: dict[str, dict[str, str]] = {}
    for logical_id, props in template.of_type(QUEUE).items():
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


def create_queues(sqs_client: Any, template: SamTemplate) -> dict[str, str]:
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


# ------------------------------------------------------------------ event buses, archives, rules
def create_event_buses(
    events_client: Any, template: SamTemplate, parameter_overrides: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Create every EventBridge bus of the template under its ``Name``, then the archives and rules
    on them; returns {logical id: bus name}. Idempotent: what exists already is left alone (an
    existing rule gets its pattern and targets again)."""
    resolver = template.resolver(parameter_overrides)
    buses: dict[str, str] = {}
    for logical_id in template.of_type(EVENT_BUS):
        name = resolver.event_bus_name(logical_id, f"Resources.{logical_id}")
        with contextlib.suppress(events_client.exceptions.ResourceAlreadyExistsException):
            events_client.create_event_bus(Name=name)
        buses[logical_id] = name
    for logical_id, props in template.of_type(EVENT_ARCHIVE).items():
        _create_archive(events_client, resolver, logical_id, props)
    for logical_id, props in template.of_type(EVENT_RULE).items():
        _create_rule(events_client, resolver, logical_id, props)
    return buses


def _create_archive(events_client: Any, resolver: Any, logical_id: str, props: Mapping[str, Any]) -> None:
    where = f"Resources.{logical_id}"
    kwargs: dict[str, Any] = {
        "ArchiveName": resolver.resolve(props.get("ArchiveName", logical_id), f"{where}.ArchiveName"),
        "EventSourceArn": resolver.resolve(props["SourceArn"], f"{where}.SourceArn"),
    }
    if "EventPattern" in props:
        kwargs["EventPattern"] = json.dumps(_literal(props["EventPattern"], f"{where}.EventPattern"))
    if "RetentionDays" in props:
        kwargs["RetentionDays"] = int(resolver.resolve(props["RetentionDays"], f"{where}.RetentionDays"))
    if "Description" in props:
        kwargs["Description"] = resolver.resolve(props["Description"], f"{where}.Description")
    with contextlib.suppress(events_client.exceptions.ResourceAlreadyExistsException):
        events_client.create_archive(**kwargs)


def _create_rule(events_client: Any, resolver: Any, logical_id: str, props: Mapping[str, Any]) -> None:
    """A rule with SQS targets (the emulator delivers to queues; it cannot invoke a function from
    a rule: route events to a function through a queue, see docs/events.md)."""
    where = f"Resources.{logical_id}"
    bus = resolver.resolve(props.get("EventBusName", "default"), f"{where}.EventBusName")
    name = resolver.resolve(props.get("Name", logical_id), f"{where}.Name")
    kwargs: dict[str, Any] = {"Name": name, "EventBusName": bus, "State": str(props.get("State", "ENABLED"))}
    if "EventPattern" in props:
        kwargs["EventPattern"] = json.dumps(_literal(props["EventPattern"], f"{where}.EventPattern"))
    if "ScheduleExpression" in props:
        raise TemplateError(f"{where}: scheduled rules do not run locally")
    events_client.put_rule(**kwargs)
    targets = []
    for i, target in enumerate(props.get("Targets") or []):
        arn = resolver.resolve(target.get("Arn"), f"{where}.Targets[{i}].Arn")
        if ":sqs:" not in arn:
            raise TemplateError(
                f"{where}.Targets[{i}]: only SQS queue targets run locally ({arn}); put a queue between "
                "the rule and a function (docs/events.md)"
            )
        entry: dict[str, Any] = {"Id": str(target.get("Id", f"target{i}")), "Arn": arn}
        for key in ("Input", "InputPath", "InputTransformer", "SqsParameters"):
            if key in target:
                entry[key] = _literal(target[key], f"{where}.Targets[{i}].{key}")
        targets.append(entry)
    if targets:
        events_client.put_targets(Rule=name, EventBusName=bus, Targets=targets)


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


def create_secrets(client: Any, template: SamTemplate, values: Mapping[str, str] | None = None) -> dict[str, str]:
    """Create every Secrets Manager secret of the template under its logical id (what ``!Ref``
    resolves to locally); returns {logical id: value}.

    A secret takes its value from `values` when given there (e.g. kept in a state file, so that
    cursors survive a restart), else a value generated as GenerateSecretString describes.
    Idempotent: an existing secret gets the value as a new version.
    """
    out: dict[str, str] = {}
    for logical_id, props in template.of_type(SECRET).items():
        value = (values or {}).get(logical_id)
        if value is None:
            if "GenerateSecretString" not in props:
                raise TemplateError(f"Resources.{logical_id}: only GenerateSecretString is supported locally")
            value = generate_secret_value(props["GenerateSecretString"])
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


def _literal(value: Any, where: str, resolver: Resolver | None = None) -> Any:
    """A property's value; an ``Fn::If`` takes its branch for the parameters (a stage's setting),
    any other intrinsic is refused."""
    if isinstance(value, Mapping):
        if set(value) == {"Fn::If"} and resolver is not None:
            return _literal(resolver.choose(value, where), where, resolver)
        if any(k == "Ref" or str(k).startswith("Fn::") for k in value):
            raise TemplateError(f"{where}: intrinsic functions are not supported locally here")
        return {k: _literal(v, f"{where}.{k}", resolver) for k, v in value.items()}
    if isinstance(value, list):
        return [_literal(v, where, resolver) for v in value]
    return value


def create_user_pools(
    cognito_client: Any,
    template: SamTemplate,
    parameter_overrides: Mapping[str, str] | None = None,
) -> UserPools:
    """Create every Cognito user pool, app client and group of the template in the emulator.

    Returns the physical ids (``!Ref`` of a pool is its id, of a client its client id); with
    them, ``template.resolver(physical_ids=...)`` resolves e.g. a JWT authorizer's issuer.
    Idempotent: a pool or client of the same name is reused.
    """
    ids = UserPools()
    resolver = template.resolver(parameter_overrides, physical_ids=ids)
    existing_pools = {p["Name"]: p["Id"] for p in cognito_client.list_user_pools(MaxResults=60)["UserPools"]}
    for logical_id, props in template.of_type(USER_POOL).items():
        where = f"Resources.{logical_id}"
        name = resolver.resolve(props.get("UserPoolName", logical_id), f"{where}.UserPoolName")
        if name in existing_pools:
            ids[logical_id] = existing_pools[name]
            continue
        kwargs = {k: _literal(props[k], f"{where}.{k}", resolver) for k in _POOL_PROPERTIES if k in props}
        pool_id = cognito_client.create_user_pool(PoolName=name, **kwargs)["UserPool"]["Id"]
        if "SOFTWARE_TOKEN_MFA" in (props.get("EnabledMfas") or []):
            cognito_client.set_user_pool_mfa_config(
                UserPoolId=pool_id,
                SoftwareTokenMfaConfiguration={"Enabled": True},
                MfaConfiguration=kwargs.get("MfaConfiguration", "OPTIONAL"),
            )
        ids[logical_id] = pool_id
    for logical_id, props in template.of_type(USER_POOL_CLIENT).items():
        where = f"Resources.{logical_id}"
        pool_id = resolver.resolve(props.get("UserPoolId"), f"{where}.UserPoolId")
        name = resolver.resolve(props.get("ClientName", logical_id), f"{where}.ClientName")
        clients = cognito_client.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]
        found = next((c["ClientId"] for c in clients if c["ClientName"] == name), None)
        if found is None:
            kwargs = {k: _literal(props[k], f"{where}.{k}", resolver) for k in _CLIENT_PROPERTIES if k in props}
            found = cognito_client.create_user_pool_client(UserPoolId=pool_id, ClientName=name, **kwargs)[
                "UserPoolClient"
            ]["ClientId"]
        ids[logical_id] = found
    for logical_id, props in template.of_type(USER_POOL_GROUP).items():
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


# ------------------------------------------------------------------ dev users
@dataclass(frozen=True)
class DevUsers:
    pool_id: str
    client_id: str
    issuer: str
    users: dict[str, str]  # group -> email (the sign-in name)
    password: str = DEV_PASSWORD


def _dev_user_also_in(template: SamTemplate) -> dict[str, list[str]]:
    """{group name: other groups its dev user joins}: a group resource's
    ``Metadata.LocalDevUserAlsoIn`` (for a group that grants no rights by itself)."""
    out: dict[str, list[str]] = {}
    for logical_id, resource in template.resources(USER_POOL_GROUP).items():
        also = (resource.get("Metadata") or {}).get("LocalDevUserAlsoIn") or []
        name = (resource.get("Properties") or {}).get("GroupName", logical_id)
        if also and isinstance(name, str):
            out[name] = [str(g) for g in also]
    return out


def create_dev_users(cognito_client: Any, pools: UserPools, template: SamTemplate) -> DevUsers | None:
    """One user per group of the template's (first) user pool: ``<group>@example.com`` with
    :data:`DEV_PASSWORD`, confirmed and in that group (and in the groups its resource's
    ``Metadata.LocalDevUserAlsoIn`` names). None when the template has no pool."""
    pool_logical = next(iter(template.resources(USER_POOL)), None)
    if pool_logical is None:
        return None
    pool_id = pools[pool_logical]
    client_logical = next(
        (k for k, p in template.of_type(USER_POOL_CLIENT).items() if p.get("UserPoolId") == {"Ref": pool_logical}),
        None,
    )
    if client_logical is None:
        return None
    users: dict[str, str] = {}
    also_in = _dev_user_also_in(template)
    for group in pools.groups.get(pool_logical, []):
        email = f"{group}@example.com"
        with contextlib.suppress(cognito_client.exceptions.UsernameExistsException):
            cognito_client.admin_create_user(
                UserPoolId=pool_id,
                Username=email,
                MessageAction="SUPPRESS",
                UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
            )
        cognito_client.admin_set_user_password(
            UserPoolId=pool_id, Username=email, Password=DEV_PASSWORD, Permanent=True
        )
        for member_of in (group, *also_in.get(group, [])):
            cognito_client.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=member_of)
        users[group] = email
    region = cognito_client.meta.region_name
    return DevUsers(pool_id, pools[client_logical], f"https://cognito-idp.{region}.amazonaws.com/{pool_id}", users)

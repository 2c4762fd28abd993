"""The one reader of template.yaml: parsed once with SAM CLI's own parser, asked typed questions.

    template = SamTemplate.load("template.yaml")
    template.functions()          # logical id, handler, code uri, environment, timeout, policies, events
    template.routes()             # HttpApi events: method, path, function, authorizer
    template.sqs_event_sources()  # which function polls which queue
    template.stream_event_sources()  # which function reads which table's DynamoDB stream, and how
    template.resources(TABLE)     # tables, state machines, queues, secrets, user pools, ...
    template.resolver()           # the intrinsics that make sense locally (!Ref, !GetAtt, !Sub)
    template.translated(Stage="prod")  # what SAM's translator makes of it, conditions applied

The local cloud, its provisioning (:mod:`localcloud.provision`), the OpenAPI generator and the
tests all read the template through this module; nobody else walks ``Resources``. A test that
builds a variant of the template edits ``template.variant().data`` and passes that on.

Local naming follows ``sam local``: ``!Ref Table`` resolves to the table's logical id, so the
table is created under its logical id. Pseudo parameters use SAM's local values (us-east-1,
123456789012).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "ACCOUNT_ID",
    "EVENT_ARCHIVE",
    "EVENT_BUS",
    "EVENT_RULE",
    "FUNCTION",
    "QUEUE",
    "REGION",
    "SECRET",
    "STATE_MACHINE",
    "TABLE",
    "USER_POOL",
    "USER_POOL_CLIENT",
    "USER_POOL_GROUP",
    "Function",
    "PreTokenTrigger",
    "Resolver",
    "Route",
    "SamTemplate",
    "SqsEventSource",
    "StreamEventSource",
    "TemplateError",
    "event_bus_arn",
    "queue_arn",
    "queue_url",
    "secret_arn",
    "state_machine_arn",
    "table_arn",
]

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
PARTITION = "aws"

FUNCTION = "AWS::Serverless::Function"
LAYER = "AWS::Serverless::LayerVersion"
HTTP_API = "AWS::Serverless::HttpApi"
TABLE = "AWS::DynamoDB::Table"
STATE_MACHINE = "AWS::Serverless::StateMachine"
SECRET = "AWS::SecretsManager::Secret"
QUEUE = "AWS::SQS::Queue"
USER_POOL = "AWS::Cognito::UserPool"
USER_POOL_CLIENT = "AWS::Cognito::UserPoolClient"
USER_POOL_GROUP = "AWS::Cognito::UserPoolGroup"
EVENT_BUS = "AWS::Events::EventBus"
EVENT_ARCHIVE = "AWS::Events::Archive"
EVENT_RULE = "AWS::Events::Rule"


class TemplateError(ValueError):
    """The template asks for something the local cloud cannot resolve."""


def table_arn(table_name: str) -> str:
    return f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT_ID}:table/{table_name}"


def state_machine_arn(name: str) -> str:
    return f"arn:{PARTITION}:states:{REGION}:{ACCOUNT_ID}:stateMachine:{name}"


def queue_arn(name: str) -> str:
    return f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT_ID}:{name}"


def secret_arn(name: str) -> str:
    """Locally a secret is named by its logical id; its ARN has no random suffix."""
    return f"arn:{PARTITION}:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:{name}"


def event_bus_arn(name: str) -> str:
    return f"arn:{PARTITION}:events:{REGION}:{ACCOUNT_ID}:event-bus/{name}"


def stream_arn_pattern(table_name: str) -> str:
    """What ``!GetAtt Table.StreamArn`` stands for locally: any stream of the table (the label is
    the stream's creation time, known once it exists)."""
    return f"{table_arn(table_name)}/stream/*"


def queue_url(name: str) -> str:
    return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/{name}"


# ------------------------------------------------------------------ what the template declares
@dataclass(frozen=True)
class Function:
    logical_id: str
    handler: str
    code_uri: str | None
    #: Globals' variables, then the function's own (raw template values: ``{"Ref": ...}`` stays).
    environment: dict[str, Any]
    #: The function's own variables only (without Globals').
    own_environment: dict[str, Any]
    timeout: int | None
    policies: list[Any]
    events: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    """One HttpApi event: ``method`` upper case (``ANY`` when absent), ``path`` as written."""

    function: str  # logical id
    handler: str  # module.attribute
    method: str
    path: str
    event: str  # the event's name under Events
    api: str | None  # logical id of the HttpApi (``ApiId: !Ref ...``)
    #: The route's authorizer name: its own ``Auth.Authorizer``, else the API's default; None for
    #: no authorizer (``NONE`` or none configured).
    authorizer: str | None
    #: An operation of the API (in its OpenAPI document); False for the routes of a function whose
    #: ``Metadata`` says ``ApiOperations: false`` (the docs page, the unknown-route answer).
    operation: bool = True


@dataclass(frozen=True)
class SqsEventSource:
    function: str  # logical id
    queue: str  # logical id of the AWS::SQS::Queue
    batch_size: int
    report_batch_item_failures: bool


@dataclass(frozen=True)
class StreamEventSource:
    """A function's ``Type: DynamoDB`` event: the table whose stream it reads, and the mapping's
    settings as Lambda applies them (absent ones take Lambda's defaults)."""

    function: str  # logical id
    event: str  # the event's name under Events
    table: str  # logical id of the AWS::DynamoDB::Table
    starting_position: str
    batch_size: int = 100
    report_batch_item_failures: bool = False
    bisect_on_error: bool = False
    maximum_retry_attempts: int = -1  # -1: until the record expires
    maximum_record_age_seconds: int = -1  # -1: the stream's retention (24 hours)
    on_failure_queue: str | None = None  # logical id of the AWS::SQS::Queue


@dataclass(frozen=True)
class ScheduleEventSource:
    """A function's ``Type: Schedule`` event (an EventBridge rule that invokes it)."""

    function: str  # logical id
    event: str  # the event's name under Events
    expression: str  # rate(...) or cron(...)
    enabled: bool


@dataclass(frozen=True)
class PreTokenTrigger:
    """A user pool's pre token generation trigger (``LambdaConfig.PreTokenGenerationConfig``)."""

    pool: str  # logical id of the AWS::Cognito::UserPool
    function: str  # logical id of the AWS::Serverless::Function it invokes
    version: str  # the event version Cognito sends: V1_0 (ID token only) or V2_0 (both tokens)


class SamTemplate:
    """template.yaml, parsed once. ``data`` is the plain dict (short-form tags in long form)."""

    def __init__(self, data: Mapping[str, Any], path: str | Path | None = None) -> None:
        if not isinstance(data, Mapping) or not isinstance(data.get("Resources"), Mapping):
            raise TemplateError(f"{path or 'template'}: not a CloudFormation/SAM template (no Resources)")
        self.data: dict[str, Any] = _plain(data)
        self.path = Path(path).resolve() if path is not None else None

    @classmethod
    def load(cls, path: str | Path) -> SamTemplate:
        """Parse template.yaml (or JSON) with SAM CLI's own parser.

        Short-form tags become their long form: ``!Ref X`` -> ``{"Ref": "X"}``,
        ``!GetAtt X.Arn`` -> ``{"Fn::GetAtt": ["X", "Arn"]}``, ``!Sub s`` -> ``{"Fn::Sub": "s"}``.
        """
        from samcli.yamlhelper import yaml_parse

        return cls(yaml_parse(Path(path).read_text(encoding="utf-8")), path)

    @property
    def root(self) -> Path:
        """The project directory (CodeUri, DefinitionUri are relative to it)."""
        return self.path.parent if self.path is not None else Path.cwd()

    def variant(self) -> SamTemplate:
        """A deep copy to edit (``variant.data["Resources"]...``), e.g. a test's broken template."""
        return SamTemplate(copy.deepcopy(self.data), self.path)

    # -------------------------------------------------------------- resources
    def resources(self, *types: str) -> dict[str, dict[str, Any]]:
        """{logical id: resource} of the given types (every resource without types), in order."""
        return {
            logical_id: resource
            for logical_id, resource in self.data["Resources"].items()
            if isinstance(resource, dict) and (not types or resource.get("Type") in types)
        }

    def type_of(self, logical_id: str) -> str | None:
        resource = self.data["Resources"].get(logical_id)
        return resource.get("Type") if isinstance(resource, dict) else None

    def properties(self, logical_id: str) -> dict[str, Any]:
        resource = self.data["Resources"].get(logical_id)
        if not isinstance(resource, dict):
            raise TemplateError(f"Resources.{logical_id}: no such resource")
        return resource.get("Properties") or {}

    def of_type(self, *types: str) -> dict[str, dict[str, Any]]:
        """{logical id: Properties} of the given types."""
        return {logical_id: r.get("Properties") or {} for logical_id, r in self.resources(*types).items()}

    @property
    def parameters(self) -> dict[str, Any]:
        return self.data.get("Parameters") or {}

    @property
    def function_globals(self) -> dict[str, Any]:
        return (self.data.get("Globals") or {}).get("Function") or {}

    def policies(self, logical_id: str) -> list[Any]:
        """A function's or state machine's ``Policies`` as a list."""
        policies = self.properties(logical_id).get("Policies") or []
        return policies if isinstance(policies, list) else [policies]

    # -------------------------------------------------------------- functions and their events
    def functions(self) -> list[Function]:
        return [self.function(logical_id) for logical_id in self.resources(FUNCTION)]

    def function(self, logical_id: str) -> Function:
        if self.type_of(logical_id) != FUNCTION:
            raise TemplateError(f"Resources.{logical_id}: not an {FUNCTION}")
        props = self.properties(logical_id)
        glob = self.function_globals
        own = _variables(props)
        timeout = props.get("Timeout", glob.get("Timeout"))
        return Function(
            logical_id=logical_id,
            handler=str(props.get("Handler", glob.get("Handler", ""))),
            code_uri=props.get("CodeUri", glob.get("CodeUri")),
            environment={**_variables(glob), **own},
            own_environment=own,
            timeout=int(timeout) if timeout is not None else None,
            policies=self.policies(logical_id),
            events={name: event for name, event in (props.get("Events") or {}).items() if isinstance(event, dict)},
        )

    def routes(self) -> list[Route]:
        """Every HttpApi event of every function, in template order."""
        routes = []
        for fn, name, props in self._events("HttpApi"):
            api_ref = props.get("ApiId")
            api = str(api_ref["Ref"]) if isinstance(api_ref, Mapping) and "Ref" in api_ref else None
            default = self.http_api_auth(api).get("DefaultAuthorizer")
            authorizer = (props.get("Auth") or {}).get("Authorizer") or default
            routes.append(
                Route(
                    function=fn.logical_id,
                    handler=fn.handler,
                    method=str(props.get("Method", "ANY")).upper(),
                    path=str(props.get("Path", "/")),
                    event=name,
                    api=api,
                    authorizer=None if not authorizer or authorizer == "NONE" else str(authorizer),
                    operation=self._metadata(fn.logical_id).get("ApiOperations") is not False,
                )
            )
        return routes

    def _metadata(self, logical_id: str) -> dict[str, Any]:
        return self.data["Resources"][logical_id].get("Metadata") or {}

    def _events(self, event_type: str) -> list[tuple[Function, str, dict[str, Any]]]:
        """(function, event name, event Properties) of every event of `event_type`."""
        return [
            (fn, name, event.get("Properties") or {})
            for fn in self.functions()
            for name, event in fn.events.items()
            if event.get("Type") == event_type
        ]

    def http_api_auth(self, api: str | None) -> dict[str, Any]:
        """The ``Auth`` section of an HttpApi ({} when there is none)."""
        if api is None or self.type_of(api) != HTTP_API:
            return {}
        return self.properties(api).get("Auth") or {}

    def sqs_event_sources(self) -> list[SqsEventSource]:
        """The functions' SQS event sources; a queue given other than as ``!GetAtt Queue.Arn`` of a
        queue in the template cannot be polled locally (TemplateError)."""
        found = []
        for fn, name, props in self._events("SQS"):
            queue = props.get("Queue")
            where = f"Resources.{fn.logical_id}.Events.{name}.Properties.Queue"
            queue_id, attribute = _get_att(queue)
            if not queue_id:
                raise TemplateError(f"{where}: only !GetAtt <Queue>.Arn of a queue in the template is supported")
            if attribute != "Arn" or self.type_of(queue_id) != QUEUE:
                raise TemplateError(f"{where}: {queue_id}.{attribute} is not the ARN of a queue in the template")
            found.append(
                SqsEventSource(
                    function=fn.logical_id,
                    queue=queue_id,
                    batch_size=int(props.get("BatchSize", 10)),
                    report_batch_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
                )
            )
        return found

    def stream_event_sources(self) -> list[StreamEventSource]:
        """The functions' DynamoDB stream event sources. The stream must be ``!GetAtt
        <Table>.StreamArn`` of a table in the template with a StreamSpecification, and an
        on-failure destination ``!GetAtt <Queue>.Arn`` of a queue in the template (TemplateError)."""
        found = []
        for fn, name, props in self._events("DynamoDB"):
            where = f"Resources.{fn.logical_id}.Events.{name}.Properties"
            table, attribute = _get_att(props.get("Stream"))
            if attribute != "StreamArn" or self.type_of(table) != TABLE:
                raise TemplateError(f"{where}.Stream: only !GetAtt <Table>.StreamArn of a table in the template")
            if not self.properties(table).get("StreamSpecification"):
                raise TemplateError(f"{where}.Stream: {table} has no StreamSpecification")
            destination = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
            queue = None
            if destination is not None:
                queue, attribute = _get_att(destination)
                if attribute != "Arn" or self.type_of(queue) != QUEUE:
                    raise TemplateError(
                        f"{where}.DestinationConfig.OnFailure.Destination: only !GetAtt <Queue>.Arn of a queue"
                    )
            found.append(
                StreamEventSource(
                    function=fn.logical_id,
                    event=name,
                    table=table,
                    starting_position=str(props.get("StartingPosition", "LATEST")),
                    batch_size=int(props.get("BatchSize", 100)),
                    report_batch_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
                    bisect_on_error=props.get("BisectBatchOnFunctionError") in (True, "true", "True"),
                    maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
                    maximum_record_age_seconds=int(props.get("MaximumRecordAgeInSeconds", -1)),
                    on_failure_queue=queue,
                )
            )
        return found

    def schedule_event_sources(self) -> list[ScheduleEventSource]:
        """The functions' ``Schedule`` events (SAM's ``Enabled``/``State`` honoured)."""
        found = []
        for fn, name, props in self._events("Schedule"):
            expression = props.get("Schedule")
            if not isinstance(expression, str):
                raise TemplateError(
                    f"Resources.{fn.logical_id}.Events.{name}.Properties.Schedule: a literal expression"
                )
            state = props.get("State", "ENABLED")
            enabled = props.get("Enabled", True) not in (False, "false", "False") and state == "ENABLED"
            found.append(ScheduleEventSource(fn.logical_id, name, expression, enabled))
        return found

    def pre_token_triggers(self) -> list[PreTokenTrigger]:
        """The user pools' pre token generation triggers. ``LambdaArn`` names a function of the
        template (``!Ref Fn.Alias``, ``!Ref Fn``, ``!GetAtt Fn.Arn``); ``LambdaVersion`` defaults to
        ``V1_0``, as Cognito's does."""
        found = []
        for pool, props in self.of_type(USER_POOL).items():
            config = (props.get("LambdaConfig") or {}).get("PreTokenGenerationConfig")
            if not config:
                continue
            where = f"Resources.{pool}.LambdaConfig.PreTokenGenerationConfig"
            arn = config.get("LambdaArn")
            target, attribute = _get_att(arn)
            if not target and isinstance(arn, Mapping) and list(arn) == ["Ref"] and isinstance(arn["Ref"], str):
                target, attribute = arn["Ref"].removesuffix(".Alias"), "Arn"
            if attribute != "Arn" or self.type_of(target) != FUNCTION:
                raise TemplateError(f"{where}.LambdaArn: !Ref or !GetAtt of a function of the template")
            version = config.get("LambdaVersion", "V1_0")
            if version not in ("V1_0", "V2_0", "V3_0"):
                raise TemplateError(f"{where}.LambdaVersion: V1_0, V2_0 or V3_0, not {version!r}")
            found.append(PreTokenTrigger(pool, target, version))
        return found

    def code_roots(self) -> list[Path]:
        """The functions' CodeUri folders and the layers' ContentUri folders (what sys.path needs)."""
        uris = [fn.code_uri for fn in self.functions()] + [p.get("ContentUri") for p in self.of_type(LAYER).values()]
        roots: list[Path] = []
        for uri in uris:
            if isinstance(uri, str) and (self.root / uri).resolve() not in roots:
                roots.append((self.root / uri).resolve())
        return roots

    # -------------------------------------------------------------- intrinsics
    def resolver(
        self,
        parameter_overrides: Mapping[str, str] | None = None,
        physical_ids: Mapping[str, str] | None = None,
        state_machine_arns: Mapping[str, str] | None = None,
    ) -> Resolver:
        """Resolves template values (``!Ref``, ``!Sub``, ``!GetAtt``) as the local cloud names
        things; `physical_ids` are ids the emulator chose (user pools, app clients)."""
        return Resolver(self, parameter_overrides, physical_ids, state_machine_arns)

    # -------------------------------------------------------------- SAM's expansion
    def translated(self, **parameters: str) -> dict[str, Any]:
        """The CloudFormation that SAM's translator (samtranslator) makes of the template, offline,
        with its parameters (defaults, then `parameters`) and conditions resolved as CloudFormation
        would. Artifacts are S3 placeholders, as after ``sam deploy`` uploaded them."""
        from samtranslator.translator.transform import transform

        source = self.variant().data
        source.setdefault("Globals", {}).setdefault("Function", {})["CodeUri"] = "s3://bucket/code.zip"
        for resource in source["Resources"].values():
            props = resource.get("Properties") or {}
            for key in ("ContentUri", "DefinitionUri", "CodeUri"):
                if key in props:
                    props[key] = "s3://bucket/artifact"
        values = {name: spec.get("Default") for name, spec in self.parameters.items()}
        values.update(parameters)
        out = transform(source, {**values, "AWS::Region": REGION}, _NoManagedPolicies())
        return _as_deployed(out, values)


def _as_deployed(out: dict[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """`out` with parameter Refs, Fn::Equals, Fn::Not, Fn::If (its Conditions) and AWS::NoValue
    resolved, without the resources whose Condition is false."""
    conditions: dict[str, bool] = {}

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"Ref"} and node["Ref"] in values:
                return values[node["Ref"]]
            if set(node) == {"Fn::Equals"}:
                left, right = (resolve(x) for x in node["Fn::Equals"])
                return left == right
            if set(node) == {"Fn::Not"}:
                return not resolve(node["Fn::Not"][0])
            if set(node) == {"Fn::If"}:
                name, yes, no = node["Fn::If"]
                return resolve(yes if conditions[name] else no)
            resolved = {k: resolve(v) for k, v in node.items()}
            return {k: v for k, v in resolved.items() if v != {"Ref": "AWS::NoValue"}}
        if isinstance(node, list):
            return [resolve(x) for x in node]
        return node

    for name, expression in (out.get("Conditions") or {}).items():
        conditions[name] = bool(resolve(expression))
    deployed: dict[str, Any] = resolve(out)
    # a resource whose Condition is false is not created
    deployed["Resources"] = {
        k: v for k, v in deployed["Resources"].items() if conditions.get(v.get("Condition", ""), True)
    }
    return deployed


class _NoManagedPolicies:
    """samtranslator's managed-policy loader, offline (the template names no managed policy)."""

    def load(self) -> dict[str, str]:
        return {}


def expand_policy_template(name: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
    """A SAM policy template (``DynamoDBReadPolicy: {TableName: ...}``) as samtranslator expands it:
    a policy document whose values may still hold intrinsics."""
    from samtranslator.policy_template_processor.processor import PolicyTemplatesProcessor

    global _policy_templates
    if _policy_templates is None:
        _policy_templates = PolicyTemplatesProcessor(PolicyTemplatesProcessor.get_default_policy_templates_json())
    return dict(_policy_templates.convert(name, dict(parameters)))


_policy_templates: Any = None


def _get_att(value: Any) -> tuple[str, str]:
    """(resource, attribute) of a ``!GetAtt Resource.Attribute``; ("", "") for anything else."""
    if not (isinstance(value, Mapping) and list(value) == ["Fn::GetAtt"]):
        return "", ""
    target = value["Fn::GetAtt"]
    parts = target.split(".", 1) if isinstance(target, str) else [str(p) for p in target]
    return (parts[0], parts[1]) if len(parts) == 2 else ("", "")


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _variables(holder: Mapping[str, Any]) -> dict[str, Any]:
    return dict(((holder.get("Environment") or {}).get("Variables")) or {})


# ------------------------------------------------------------------ intrinsics
class Resolver:
    """Resolves the handful of intrinsics that make sense locally; anything else is an error."""

    def __init__(
        self,
        template: SamTemplate,
        parameter_overrides: Mapping[str, str] | None = None,
        physical_ids: Mapping[str, str] | None = None,
        state_machine_arns: Mapping[str, str] | None = None,
    ) -> None:
        self.template = template
        self.overrides = dict(parameter_overrides or {})
        self.state_machine_arns = dict(state_machine_arns or {})
        # Resources whose Ref is an id the emulator chose (user pools, app clients); kept by
        # reference: provisioning fills it in as it creates them.
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
            if fn == "Fn::Sub" and isinstance(arg, list) and len(arg) == 2:  # as SAM's policy templates expand
                local = {k: self.resolve(v, where) for k, v in arg[1].items()}
                return self.sub(arg[0], local, where)
            if fn == "Fn::If" and isinstance(arg, list) and len(arg) == 3:
                return self.resolve(self.choose(value, where), where)
        raise TemplateError(f"{where}: cannot resolve {json.dumps(value, default=str)} locally")

    def choose(self, value: Mapping[str, Any], where: str) -> Any:
        """The branch an ``Fn::If`` takes with the parameters' values (not resolved further)."""
        name, yes, no = value["Fn::If"]
        return yes if self.condition(str(name), where) else no

    def condition(self, name: str, where: str) -> bool:
        """A template condition (Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition) with the
        parameters' values."""
        expression = (self.template.data.get("Conditions") or {}).get(name)
        if expression is None:
            raise TemplateError(f"{where}: no condition {name}")
        return self._holds(expression, where)

    def _holds(self, expression: Any, where: str) -> bool:
        ((fn, arg),) = expression.items()
        if fn == "Fn::Equals":
            return self.resolve(arg[0], where) == self.resolve(arg[1], where)
        if fn == "Fn::Not":
            return not self._holds(arg[0], where)
        if fn == "Fn::And":
            return all(self._holds(x, where) for x in arg)
        if fn == "Fn::Or":
            return any(self._holds(x, where) for x in arg)
        if fn == "Condition":
            return self.condition(str(arg), where)
        raise TemplateError(f"{where}: condition {json.dumps(expression, default=str)} is not supported locally")

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
        if name in self.overrides or name in self.template.parameters:
            return self.parameter(name, where)
        rtype = self.template.type_of(name)
        if rtype is None:
            raise TemplateError(f"{where}: !Ref {name}: no such parameter or resource")
        if rtype == STATE_MACHINE:  # Ref of a state machine is its ARN
            return self.state_machine_arns.get(name, state_machine_arn(name))
        if rtype == QUEUE:  # Ref of a queue is its URL
            return queue_url(name)
        if rtype == EVENT_BUS:  # Ref of an event bus is its name
            return self.event_bus_name(name, where)
        if name in self.physical_ids:
            return self.physical_ids[name]
        if rtype in (USER_POOL, USER_POOL_CLIENT):
            raise TemplateError(f"{where}: !Ref {name}: the user pool (client) is not created yet")
        return name  # tables, functions, secrets, ...: the logical id, as sam local does

    def parameter(self, name: str, where: str) -> str:
        if name in self.overrides:
            return str(self.overrides[name])
        default = self.template.parameters[name].get("Default")
        if default is None:
            raise TemplateError(f"{where}: parameter {name} has no Default and no override")
        return str(default)

    def get_att(self, name: str, attribute: str, where: str) -> str:
        rtype = self.template.type_of(name)
        if rtype is None:
            raise TemplateError(f"{where}: !GetAtt {name}.{attribute}: no such resource")
        if rtype == TABLE and attribute == "Arn":
            return table_arn(name)
        if rtype == TABLE and attribute == "StreamArn":
            return stream_arn_pattern(name)
        if rtype == EVENT_BUS and attribute in ("Arn", "Name"):
            bus = self.event_bus_name(name, where)
            return event_bus_arn(bus) if attribute == "Arn" else bus
        if rtype == STATE_MACHINE and attribute in ("Arn", "Name"):
            arn = self.state_machine_arns.get(name, state_machine_arn(name))
            return arn if attribute == "Arn" else arn.rsplit(":", 1)[-1]
        if rtype == QUEUE and attribute == "Arn":
            return queue_arn(name)
        raise TemplateError(f"{where}: !GetAtt {name}.{attribute} ({rtype}) is not supported locally")

    def event_bus_name(self, logical_id: str, where: str) -> str:
        """An event bus is created under its ``Name`` (required by CloudFormation), resolved."""
        name = self.template.properties(logical_id).get("Name", logical_id)
        return self.resolve(name, f"{where} ({logical_id}.Name)")

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

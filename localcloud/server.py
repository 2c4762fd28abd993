"""The Docker-free local cloud: moto (DynamoDB + Step Functions) and template.yaml's HTTP API.

    with LocalCloud("template.yaml", api_port=0, aws_port=0) as cloud:
        requests.get(f"{cloud.api_url}/api/products")
        cloud.client("dynamodb").scan(TableName="ProductsTable")

* moto runs in-process (:func:`localcloud.serving.start_moto`) with ``execute_state_machine`` on
  and the local cloud's patches (:func:`localcloud.patching.install_all`, e.g. StartSyncExecution);
  template.yaml (read by :mod:`localcloud.sam_template`) says what to create in it
  (:func:`localcloud.provision.provision`).
* The API is SAM CLI's own gateway (``ApiProvider`` + ``LocalApigwService``, template parsing by
  ``SamLocalStackProvider``/``SamFunctionProvider``, env resolution by ``LocalLambdaRunner``) with
  :class:`localcloud.runtime.ProcessRuntime` instead of Docker: every function runs in its own
  execution environments, worker processes driven by AWS's runtime interface client.
* :meth:`LocalCloud.invoke` invokes a function directly (for event sources other than the API).
* The emulator listens on loopback (``aws_host``) whatever ``host`` the API is exposed on.

moto keeps its state in module globals: one LocalCloud per process, and do not run ``mock_aws``
tests in the same process while it is up (``mock_aws`` resets every moto backend). For e2e tests
prefer :class:`LocalCloudProcess` (same interface, separate process).
"""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from localcloud import authorizer, cognito_triggers, event_sources, schedules, signing_key, sync_execution
from localcloud.provision import DevUsers, Provisioned, provision
from localcloud.runtime import DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONCURRENCY, FunctionError
from localcloud.sam_template import ACCOUNT_ID, QUEUE, REGION, TABLE, SamTemplate, event_bus_arn
from localcloud.serving import LocalCloudError, PortInUseError, quiet, serve_in_thread, start_moto
from localcloud.state import StateFile, StateFileError

__all__ = ["FunctionError", "LocalCloud", "LocalCloudError", "LocalCloudProcess", "PortInUseError", "free_port"]

LOG = logging.getLogger(__name__)

DEFAULT_AWS_PORT = 4566
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(host: str, port: int) -> bool:
    try:
        _check_port_free(host, port, "")
    except PortInUseError:
        return False
    return True


def _check_port_free(host: str, port: int, what: str) -> None:
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise PortInUseError(
                f"{what} port {host}:{port} is already in use ({exc.strerror}); "
                f"stop whatever listens there or pick another port"
            ) from exc


class _EnvPatch:
    """Set process-wide variables once; restore the previous values on undo()."""

    def __init__(self) -> None:
        self._saved: dict[str, str | None] = {}

    def set(self, key: str, value: str | None) -> None:
        if key not in self._saved:
            self._saved[key] = os.environ.get(key)
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value

    def undo(self) -> None:
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved.clear()


def load_env_vars_file(path: str | os.PathLike[str] | None) -> dict[str, dict[str, str]]:
    """Read a ``sam local --env-vars`` JSON file: {"FunctionLogicalId": {...}, "Parameters": {...}}."""
    if not path:
        return {}
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise LocalCloudError(f'{path}: expected {{"FunctionLogicalId": {{"VAR": "value"}}, ...}}')
    return data


def _physical_value_for(value: Any, arns: Mapping[str, str], buses: Mapping[str, str]) -> str | None:
    if not (isinstance(value, dict) and len(value) == 1):
        return None
    ((fn, arg),) = value.items()
    if fn == "Ref":
        return arns.get(arg) or buses.get(arg)  # a state machine's ARN, an event bus's name
    if fn == "Fn::GetAtt":
        parts = arg.split(".", 1) if isinstance(arg, str) else list(arg)
        if len(parts) == 2 and parts[1] == "Arn":
            return arns.get(parts[0]) or (event_bus_arn(buses[parts[0]]) if parts[0] in buses else None)
    return None


def state_machine_env_overrides(
    template: SamTemplate, arns: Mapping[str, str], event_buses: Mapping[str, str] | None = None
) -> dict[str, dict[str, str]]:
    """env-vars entries replacing ``!Ref StateMachine`` / ``!GetAtt StateMachine.Arn`` by the real
    ARN, and ``!Ref EventBus`` / ``!GetAtt EventBus.Arn`` by the bus's name / ARN.

    SAM resolves a Ref to a logical id locally; moto needs the ARN it gave the state machine, and
    the name the bus was created under. Globals go under "Parameters" (all functions), function
    variables under the logical id.
    """
    buses = event_buses or {}
    variables = {"Parameters": ((template.function_globals.get("Environment") or {}).get("Variables")) or {}}
    variables.update({fn.logical_id: fn.own_environment for fn in template.functions()})
    out: dict[str, dict[str, str]] = {}
    for key, values in variables.items():
        found = {
            name: physical
            for name, value in values.items()
            if (physical := _physical_value_for(value, arns, buses)) is not None
        }
        if found:
            out[key] = found
    return out


def merge_env_vars(*layers: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for layer in layers:
        for key, values in layer.items():
            merged.setdefault(key, {}).update(values)
    return merged


_active_lock = threading.Lock()
_active: LocalCloud | None = None


class _Endpoints:
    """Where a local cloud answers, and clients and tokens for it: the same for the in-process
    :class:`LocalCloud` and the subprocess :class:`LocalCloudProcess`."""

    host: str
    aws_host: str
    api_port: int
    aws_port: int
    dev_users: DevUsers | None

    @staticmethod
    def _connect_host(host: str) -> str:
        return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host

    @property
    def api_url(self) -> str:
        return f"http://{self._connect_host(self.host)}:{self.api_port}"

    @property
    def aws_url(self) -> str:
        return f"http://{self._connect_host(self.aws_host)}:{self.aws_port}"

    def client(self, service: str) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.aws_url,
            region_name=REGION,
            aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            config=Config(inject_host_prefix=False),
        )

    def add_to_group(self, role: str, group: str) -> None:
        """Put the dev user of `role` in `group` too (e.g. `integration`, for a test or load run
        whose admin places orders as fast as an integration does); tokens minted afterwards say so."""
        if self.dev_users is None or role not in self.dev_users.users:
            raise LocalCloudError(f"no dev user for role {role!r}")
        self.client("cognito-idp").admin_add_user_to_group(
            UserPoolId=self.dev_users.pool_id, Username=self.dev_users.users[role], GroupName=group
        )

    def token(self, role: str = "admin", kind: str = "AccessToken") -> str:
        """A fresh token of the dev user of `role` (a group), from the emulator's InitiateAuth."""
        if self.dev_users is None or role not in self.dev_users.users:
            raise LocalCloudError(f"no dev user for role {role!r}")
        result = authorizer.initiate_auth(
            self.client("cognito-idp"), self.dev_users.client_id, self.dev_users.users[role], self.dev_users.password
        )
        return str(result[kind])


class LocalCloud(_Endpoints):
    """moto + template.yaml's API, in this process. Use as a context manager or start()/stop().

    :param template: path to template.yaml (its directory is the project root for CodeUri etc.)
    :param api_port: port of the API gateway; 0 picks a free one (see ``api_url``)
    :param aws_port: port of moto; 0 picks a free one (see ``aws_url``)
    :param env_vars: a ``--env-vars`` JSON file path or the same structure as a dict; wins over the
        template and over the state machine ARNs the local cloud injects
    :param parameter_overrides: template Parameters, e.g. ``{"Stage": "dev"}``
    :param aws_host: bind address of the emulator (default loopback, whatever ``host`` is)
    :param state_file: optional JSON file; DynamoDB items are loaded from it at start and saved
        within a second of every write (:mod:`localcloud.state`)
    :param max_concurrency: execution environments per function at most (more requests wait)
    :param idle_timeout: seconds an unused execution environment stays warm
    :param function_aws_url: the AWS endpoint the functions use instead of the emulator's own URL
        (a proxy in front of it); the local cloud itself still talks to the emulator
    :param task_timeout_scale: stretch every workflow Task's TimeoutSeconds (default 1, as on AWS)
    :param on_fatal: called (from a background thread) when the cloud cannot go on, e.g. a failed
        save of the state file; the CLI prints the message and exits non-zero
    :param signing_key_file: where the key that signs Cognito tokens is kept (a private JWK; made
        there if missing). Default: beside the state file when there is one
        (``<state>.signing-key.json``), else a fresh key per start that lives in memory only
        (:mod:`localcloud.signing_key`)
    :param seed: create the sample products/customers through the API after start
    :param workflow_logs: keep moto's ASL interpreter logging (it logs every Fail state and caught
        error at ERROR; the execution's error/cause already carry them). Off by default.
    """

    def __init__(
        self,
        template: str | os.PathLike[str] = "template.yaml",
        api_port: int = 8080,
        aws_port: int = 0,
        host: str = "127.0.0.1",
        env_vars: str | os.PathLike[str] | Mapping[str, Mapping[str, str]] | None = None,
        parameter_overrides: Mapping[str, str] | None = None,
        state_file: str | os.PathLike[str] | None = None,
        seed: bool = False,
        sync_timeout_seconds: float = sync_execution.DEFAULT_TIMEOUT_SECONDS,
        workflow_logs: bool = False,
        aws_host: str = "127.0.0.1",
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        on_fatal: Any = None,
        auth: bool = True,
        signing_key_file: str | os.PathLike[str] | None = None,
        function_aws_url: str | None = None,
        task_timeout_scale: float = 1.0,
    ) -> None:
        self.workflow_logs = workflow_logs
        # Where the functions send their AWS requests (default: the emulator): e.g. a proxy that
        # records or disturbs that traffic on its way to the emulator.
        self.function_aws_url = function_aws_url
        # Workflow Task timeouts stretched by this factor (localcloud.task_timeouts): for an
        # overloaded machine, where the emulator answers far slower than AWS.
        self.task_timeout_scale = task_timeout_scale
        # False (--no-auth): tokens are not checked; every request gets the dev admin's claims.
        self.auth = auth
        self.user_pools: dict[str, str] = {}
        self.dev_users: DevUsers | None = None
        self.provisioned: Provisioned | None = None
        self._saved_log_level: int | None = None
        self.template_path = Path(template).resolve()
        self.project_dir = self.template_path.parent
        self.host = host
        self.aws_host = aws_host
        self.max_concurrency = int(max_concurrency)
        self.idle_timeout = float(idle_timeout)
        self.on_fatal = on_fatal
        self.fatal_error: BaseException | None = None
        self._state: StateFile | None = None
        self._runner: Any = None
        self.api_port = int(api_port)
        self.aws_port = int(aws_port)
        self._env_vars_arg = env_vars
        self.parameter_overrides = dict(parameter_overrides or {})
        self.state_file = Path(state_file) if state_file else None
        if signing_key_file is None and self.state_file is not None:
            signing_key_file = self.state_file.with_name(self.state_file.stem + ".signing-key.json")
        self.signing_key_file = Path(signing_key_file) if signing_key_file else None
        self.signing_kid: str | None = None
        self.seed = seed
        self.sync_timeout_seconds = sync_timeout_seconds
        self.tables: dict[str, str] = {}
        self.state_machine_arns: dict[str, str] = {}
        self.queues: dict[str, str] = {}  # logical id -> URL
        self.event_buses: dict[str, str] = {}  # logical id -> bus name
        self._pollers: list[Any] = []  # SQS and DynamoDB stream event sources (localcloud.event_sources)
        self._schedulers: list[Any] = []  # Schedule events (localcloud.schedules)
        self._token_triggers: list[str] = []  # pools whose token trigger runs (localcloud.cognito_triggers)
        self.secrets: dict[str, str] = {}
        self.routes: list[tuple[str, str, str]] = []  # (method, path, function)
        self._front_door: set[str] = set()  # functions whose routes are not API operations (docs)
        self.seeded: dict[str, list[dict[str, Any]]] = {}
        self.seed_kept = False  # --seed, but the state file already holds the samples
        self.startup_seconds: float | None = None
        self._env = _EnvPatch()
        self._moto: Any = None
        self._api_server: Any = None
        self._api_thread: Any = None
        self._runtime: Any = None
        self._started = False

    # ------------------------------------------------------------- lifecycle
    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> LocalCloud:
        global _active
        if self._started:
            return self
        with _active_lock:
            if _active is not None:
                raise LocalCloudError(
                    "another LocalCloud is running in this process (moto's state is per process); "
                    "stop it first or use LocalCloudProcess"
                )
            _active = self
        began = time.monotonic()
        try:
            if not self.template_path.is_file():
                raise LocalCloudError(f"template not found: {self.template_path}")
            _check_port_free(self.host, self.api_port, "API")
            _check_port_free(self.aws_host, self.aws_port, "AWS (moto)")
            template = SamTemplate.load(self.template_path)
            if not self.workflow_logs:
                asl_logger = logging.getLogger("moto.stepfunctions.parser")
                self._saved_log_level = asl_logger.level
                asl_logger.setLevel(logging.CRITICAL)
            self._start_moto()
            self._use_signing_key()
            self._set_process_env()
            self._provision(template)
            # The stream mappings start here, after the state file's items were put back (they are
            # history, not new changes) and before anything is served, so no change is missed.
            streams = self.client("dynamodbstreams")
            arns = event_sources.stream_arns(self.client("dynamodb"), template)
            positions = event_sources.stream_positions(streams, template, arns, at="LATEST")
            self._start_api(template)
            self._pollers = event_sources.start_pollers(
                template, self._runner, self.client("sqs"), self.queues, streams=streams, positions=positions
            )
            self._schedulers = schedules.start_schedulers(template, self._runner)
            self._started = True
            self._start_autosave()
            if self.seed:
                self._seed()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def stop(self) -> None:
        """Stop everything; raises :class:`LocalCloudError` (after stopping) if the final save failed."""
        global _active
        event_sources.stop_pollers(self._pollers)
        self._pollers = []
        schedules.stop_schedulers(self._schedulers)
        self._schedulers = []
        self._stop_token_triggers()
        if self._api_server is not None:
            self._api_server.shutdown()
            self._api_server.server_close()
            self._api_thread.join(timeout=10)
            self._api_server = None
        if self._runtime is not None:
            self._runtime.close()
            self._runtime = None
        save_error: BaseException | None = None
        if self._state is not None:
            self._state.stop_autosave()
            if self._moto is not None and self._state.error is None:
                try:
                    self._state.save()
                except StateFileError as exc:
                    save_error = exc
            self._state.close()
            self._state = None
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
        self._env.undo()
        if self._saved_log_level is not None:
            logging.getLogger("moto.stepfunctions.parser").setLevel(self._saved_log_level)
            self._saved_log_level = None
        self._started = False
        with _active_lock:
            if _active is self:
                _active = None
        if save_error is not None:
            raise LocalCloudError(str(save_error)) from save_error

    # ------------------------------------------------------------- moto
    def _start_moto(self) -> None:
        self._moto = start_moto(
            self.aws_host, self.aws_port, self.sync_timeout_seconds, task_timeout_scale=self.task_timeout_scale
        )
        self.aws_port = self._moto.port
        for key, value in self._moto.env.items():
            self._env.set(key, value)

    def _use_signing_key(self) -> None:
        """This run's Cognito signing key: kept in `signing_key_file`, else a fresh one."""
        if self.signing_key_file is None:
            key = signing_key.generate()
        else:
            try:
                key = signing_key.load_or_create(self.signing_key_file)
            except (OSError, ValueError) as exc:
                raise LocalCloudError(str(exc)) from None
        signing_key.use(key)
        self.signing_kid = key.kid

    def _set_process_env(self) -> None:
        """What every function (and SAM, and boto3 in tests) shares; set once, restored at stop."""
        for key, value in self.fixed_env().items():
            self._env.set(key, value)
        self._env.set("AWS_SESSION_TOKEN", None)
        self._env.set("AWS_PROFILE", None)
        self._env.set("SAM_CLI_TELEMETRY", "0")

    @property
    def functions_aws_url(self) -> str:
        return self.function_aws_url or self.aws_url

    def fixed_env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.aws_url,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            **DUMMY_CREDENTIALS,
            **sync_execution.LOCAL_ENV,
        }

    # ------------------------------------------------------------- API
    def _env_vars_values(self, template: SamTemplate) -> dict[str, dict[str, str]]:
        if isinstance(self._env_vars_arg, Mapping):
            user = {k: dict(v) for k, v in self._env_vars_arg.items()}
        else:
            user = load_env_vars_file(self._env_vars_arg)
        ours = merge_env_vars(
            {"Parameters": {"AWS_ENDPOINT_URL": self.functions_aws_url}},
            state_machine_env_overrides(template, self.state_machine_arns, self.event_buses),
        )
        return merge_env_vars(ours, user)

    def _start_api(self, template: SamTemplate) -> None:
        from samcli.commands.local.lib.local_lambda import LocalLambdaRunner
        from samcli.lib.providers.api_provider import ApiProvider
        from samcli.lib.providers.sam_function_provider import SamFunctionProvider
        from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider
        from samcli.lib.utils.stream_writer import StreamWriter
        from samcli.local.apigw.local_apigw_service import LocalApigwService

        from localcloud.runtime import ProcessRuntime

        cwd = str(self.project_dir)
        stacks, _ = SamLocalStackProvider.get_stacks(
            str(self.template_path), parameter_overrides=self.parameter_overrides or None
        )
        for stack in stacks:  # JWT authorizers are enforced in front of SAM's gateway (_gateway_class)
            stack.template_dict = authorizer.without_jwt_authorizers(stack.template_dict)
        function_provider = SamFunctionProvider(stacks, ignore_code_extraction_warnings=True)
        api = ApiProvider(stacks, cwd=cwd).api
        if not api.routes:
            raise LocalCloudError(f"{self.template_path}: no Api/HttpApi events, nothing to serve")
        self._runtime = ProcessRuntime(
            fixed_env={**self.fixed_env(), "AWS_ENDPOINT_URL": self.functions_aws_url},
            cwd=cwd,
            region=REGION,
            account=ACCOUNT_ID,
            max_concurrency=self.max_concurrency,
            idle_timeout=self.idle_timeout,
            log=_log_line,
        )
        self._runner = LocalLambdaRunner(
            local_runtime=self._runtime,
            function_provider=function_provider,
            cwd=cwd,
            real_path=cwd,
            aws_region=REGION,
            env_vars_values=self._env_vars_values(template),
        )
        # Before anything signs a token (the --no-auth claims below are a dev admin's token's).
        self._serve_token_triggers(template)
        stderr = StreamWriter(_CurrentStderr(), auto_flush=True)
        gateway = self._gateway_class(LocalApigwService, template)
        service = gateway(api=api, lambda_runner=self._runner, port=self.api_port, host=self.host, stderr=stderr)
        service.create()
        self.routes = [
            (",".join(sorted(m for m in r.methods if m != "OPTIONS")) or "OPTIONS", r.path, r.function_name)
            for r in api.routes
        ]
        self._front_door = {r.function for r in template.routes() if not r.operation}
        # One REPORT line per invocation says what ran; werkzeug's request lines only with -v.
        from werkzeug.serving import WSGIRequestHandler

        handler = None if self.workflow_logs else quiet(WSGIRequestHandler)
        self._api_server, self._api_thread = serve_in_thread(service._app, self.host, self.api_port, "api", handler)
        self.api_port = int(self._api_server.server_address[1])

    def _gateway_class(self, base: type, template: SamTemplate) -> type:
        """SAM's gateway with template.yaml's JWT authorizers (:mod:`localcloud.authorizer`)."""
        fixed = None
        if not self.auth and self.dev_users is not None and "admin" in self.dev_users.users:
            fixed = authorizer.dev_claims(self.client("cognito-idp"), self.dev_users, "admin", self.aws_url)
        return authorizer.local_gateway(
            base, template, self.user_pools, self.aws_url, self.parameter_overrides, fixed, LOG.info
        )

    def _serve_token_triggers(self, template: SamTemplate) -> None:
        """Each user pool's pre token generation trigger runs, as Cognito runs it, before the
        emulator signs a token of that pool: the template's function, invoked like any other."""
        for trigger in template.pre_token_triggers():
            pool_id = self.user_pools.get(trigger.pool)
            if pool_id is None:
                continue

            def invoke(event: dict[str, Any], function: str = trigger.function) -> Any:
                return self.invoke(function, event)

            cognito_triggers.serve(pool_id, trigger.version, invoke)
            self._token_triggers.append(pool_id)

    def _stop_token_triggers(self) -> None:
        for pool_id in self._token_triggers:
            cognito_triggers.stop_serving(pool_id)
        self._token_triggers = []

    # ------------------------------------------------------------- direct invocation
    def invoke(self, logical_id: str, event: Any) -> Any:
        """Invoke a function of the template with ``event`` (any JSON value) and return its result,
        as ``lambda:Invoke`` (RequestResponse) does: through the function's execution environments,
        one invocation per environment at a time. Raises :class:`FunctionError` (with Lambda's error
        document) when the invocation fails, times out or the handler cannot be loaded.
        """
        from samcli.lib.utils.stream_writer import StreamWriter

        if self._runner is None:
            raise LocalCloudError("the local cloud is not running")
        out = io.StringIO()
        self._runner.invoke(
            logical_id,
            json.dumps(event),
            stdout=StreamWriter(out),
            stderr=StreamWriter(_CurrentStderr(), auto_flush=True),
        )
        result = json.loads(out.getvalue() or "null")
        if (
            isinstance(result, dict)
            and {"errorMessage", "errorType"} <= result.keys()
            and set(result)
            <= {
                "errorMessage",
                "errorType",
                "stackTrace",
            }
        ):
            raise FunctionError(result)
        return result

    def environments(self) -> dict[str, int]:
        """{function logical id: execution environments running}."""
        return self._runtime.environments() if self._runtime is not None else {}

    def worker_pids(self) -> list[int]:
        return self._runtime.worker_pids() if self._runtime is not None else []

    # ------------------------------------------------------------- provisioning and persistence
    def _provision(self, template: SamTemplate) -> None:
        """The template's resources (:func:`localcloud.provision.provision`), then the state file's
        items. The secrets (the cursor key) are kept in the state file with the items, so cursors
        handed out before a restart stay valid; without a state file they are new per start."""
        state = None
        if self.state_file:
            state = StateFile(self.state_file, template.of_type(TABLE), ACCOUNT_ID, REGION, template.of_type(QUEUE))
            try:
                items = state.read()
            except StateFileError as exc:
                raise LocalCloudError(str(exc)) from None
        self.provisioned = provision(self.client, template, self.parameter_overrides, state.secrets if state else None)
        self.tables = self.provisioned.tables
        self.queues = self.provisioned.queues
        self.event_buses = self.provisioned.event_buses
        self.state_machine_arns = self.provisioned.state_machines
        self.user_pools = dict(self.provisioned.user_pools)
        self.dev_users = self.provisioned.dev_users
        self.secrets = self.provisioned.secrets
        if state is None:
            return
        try:
            kept = state.restore(self.client("dynamodb"), items)
            changed = self._keep_dev_user_ids(state)
            if self.secrets != state.secrets:
                state.secrets = self.secrets
                changed = True
            if changed:
                state.save()  # a new key is on disk before any cursor is signed with it
        except StateFileError as exc:
            raise LocalCloudError(str(exc)) from None
        if kept:
            print(
                f"warning: state file {self.state_file}: tables {', '.join(kept)} are not in the template; "
                "they are kept in the file but not served",
                file=sys.stderr,
                flush=True,
            )
        self._state = state

    def _seed(self) -> None:
        """The samples, through the API, once per state file (every start without one)."""
        from localcloud.seed import seed_through_api

        if self._state is not None and self._state.seeded:
            self.seed_kept = True
            return
        signed_in = self.auth and self.dev_users is not None and "admin" in self.dev_users.users
        self.seeded = seed_through_api(self.api_url, self.token("admin") if signed_in else None)
        if self._state is not None:
            self._state.seeded = True
            self._state.save()

    def _keep_dev_user_ids(self, state: StateFile) -> bool:
        """Dev users get the ids the state file remembers (new ones are remembered); True when the
        file must be saved."""
        from localcloud import cognito_users

        if self.dev_users is None:
            return False
        names = list(self.dev_users.users.values())
        try:
            cognito_users.restore_subs(self.dev_users.pool_id, {n: s for n, s in state.users.items() if n in names})
        except ValueError as exc:
            raise StateFileError(f"state file {self.state_file}: {exc}") from None
        subs = cognito_users.current_subs(self.dev_users.pool_id, names)
        if all(state.users.get(n) == s for n, s in subs.items()):
            return False
        state.users.update(subs)
        return True

    def _start_autosave(self) -> None:
        if self._state is not None:
            self._state.start_autosave(self._fatal)

    def _fatal(self, exc: BaseException) -> None:
        self.fatal_error = exc
        print(f"error: {exc}", file=sys.stderr, flush=True)
        if self.on_fatal is not None:
            self.on_fatal(exc)

    # ------------------------------------------------------------- banner
    def banner(self) -> str:
        first_table = next(iter(self.tables.values()), "ProductsTable")
        simple_get = [
            p for m, p, f in self.routes if "GET" in m.split(",") and "{" not in p and f not in self._front_door
        ]
        example = simple_get[0] if simple_get else (self.routes[0][1] if self.routes else "/")
        lines = [
            f"Local cloud ready in {self.startup_seconds or 0:.1f}s (template {self.template_path})",
            f"  API:           {self.api_url}",
            f"  AWS endpoint:  {self.aws_url}   (moto; region {REGION}, any credentials)",
            f"  Tables:        {', '.join(self.tables.values()) or '-'}",
            f"  Workflows:     {', '.join(self.state_machine_arns.values()) or '-'}",
            f"  Queues:        {', '.join(self.queues) or '-'}"
            + (f" (polled for {', '.join(sorted(sqs))})" if (sqs := self._polled(event_sources.SqsPoller)) else ""),
            *self._event_lines(),
            "  Schedules:     "
            + (", ".join(f"{s.source.function} {s.source.expression}" for s in self._schedulers) or "-"),
            "  Routes:",
            *[f"    {m:<7} {self.api_url}{p}  -> {f}" for m, p, f in sorted(self.routes, key=lambda r: r[1])],
        ]
        if self.state_file:
            lines.append(f"  State file:    {self.state_file} (DynamoDB items; a write is journaled before its answer)")
        if self.auth and self.dev_users is not None:
            kept = f"kept in {self.signing_key_file}" if self.signing_key_file else "new for this run"
            lines.append(f"  Token signing: this run's own RSA key, kid {self.signing_kid} ({kept})")
        lines.append(
            f"  Functions:     up to {self.max_concurrency} execution environments each (processes), "
            f"idle ones stop after {self.idle_timeout:g}s"
        )
        lines += authorizer.banner_lines(self.dev_users, self.auth)
        # Every line under "Try:" runs as printed (tests/docs/test_examples.py runs them).
        lines += [
            "  Try:",
            *[
                f"    {line}"
                for line in authorizer.banner_examples(self.dev_users, self.auth, self.api_url, self.aws_url, example)
            ],
            f"    AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x aws dynamodb scan --table-name {first_table} "
            f"--endpoint-url {self.aws_url} --region {REGION}",
        ]
        return "\n".join(lines)

    def _polled(self, kind: type[event_sources.SqsPoller | event_sources.StreamPoller]) -> set[str]:
        return {str(p.source.function) for p in self._pollers if isinstance(p, kind)}

    def _event_lines(self) -> list[str]:
        if not self.event_buses:
            return []
        streams = sorted({p.source.table for p in self._pollers if isinstance(p, event_sources.StreamPoller)})
        readers = sorted(self._polled(event_sources.StreamPoller))
        lines = [f"  Event bus:     {', '.join(self.event_buses.values())} (rules to SQS queues get every event)"]
        if streams:
            lines.append(f"  Streams:       {', '.join(streams)} (read for {', '.join(readers)})")
        lines.append(f"    Watch the events: make events AWS_URL={self.aws_url}")
        return lines


class _CurrentStderr:
    """Whatever ``sys.stderr`` is at write time (pytest swaps it per test)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _log_line(line: str) -> None:
    """REPORT lines and the like, to the local cloud's stderr (as ``sam local`` prints them)."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


# ---------------------------------------------------------------- out-of-process variant
class LocalCloudProcess(_Endpoints):
    """``python -m localcloud`` in a subprocess, with the same ``api_url``/``aws_url``/``client()``.

    Isolated from the test process's moto state and environment -- the safe choice for e2e
    fixtures that share a pytest run with ``mock_aws`` unit tests.
    """

    def __init__(
        self,
        template: str | os.PathLike[str] = "template.yaml",
        api_port: int = 0,
        aws_port: int = 0,
        host: str = "127.0.0.1",
        env_vars: str | os.PathLike[str] | None = None,
        seed: bool = False,
        python: str = sys.executable,
        startup_timeout: float = 60.0,
        extra_args: list[str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        """`env`: the process's environment (default: this process's). SAM lets the shell's value of
        a variable the template declares win (e.g. POWERTOOLS_LOG_LEVEL), as `sam local` does."""
        self.base_env = dict(env) if env is not None else None
        self.template = str(Path(template).resolve())
        self.host = host
        self.api_port = api_port or free_port(host)
        self.aws_port = aws_port or free_port(host)
        self.env_vars = env_vars
        self.seed = seed
        self.python = python
        self.startup_timeout = startup_timeout
        self.extra_args = list(extra_args or [])
        self.proc: subprocess.Popen[str] | None = None
        self.output: list[str] = []
        self.startup_output: list[str] = []  # what it printed until it was ready (kept whole)
        self._dropped = 0  # lines dropped from the front of `output` (it keeps the recent ones)
        self.state_machine_arns: dict[str, str] = {}
        self.tables: dict[str, str] = {}
        self.event_buses: dict[str, str] = {}
        self.user_pools: dict[str, str] = {}
        self.dev_users: DevUsers | None = None

    aws_host = "127.0.0.1"

    def __enter__(self) -> LocalCloudProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> LocalCloudProcess:
        cmd = [
            self.python, "-m", "localcloud", "--template", self.template, "--host", self.host,
            "--port", str(self.api_port), "--aws-port", str(self.aws_port), "--ready-json",
            *self.extra_args,
        ]  # fmt: skip
        if self.env_vars:
            cmd += ["--env-vars", str(Path(self.env_vars).resolve())]
        if self.seed:
            cmd.append("--seed")
        root = str(Path(__file__).resolve().parent.parent)
        env = dict(self.base_env if self.base_env is not None else os.environ)
        env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
        env["PYTHONUNBUFFERED"] = "1"
        self.proc = subprocess.Popen(
            cmd, cwd=str(Path(self.template).parent), env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        ready = threading.Event()
        threading.Thread(target=self._pump, args=(ready,), daemon=True).start()
        if not ready.wait(self.startup_timeout) or self.proc.poll() is not None:
            self.stop()
            raise LocalCloudError("local cloud did not start:\n" + "".join(self.output[-40:]))
        return self

    def _pump(self, ready: threading.Event) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)
            if len(self.output) > 5000:  # REPORT and log lines: keep the recent ones
                self._dropped += len(self.output) - 2000
                del self.output[:-2000]
            if line.startswith("LOCALCLOUD_READY "):
                self.startup_output = list(self.output)
                info = json.loads(line.split(" ", 1)[1])
                self.state_machine_arns = info["state_machine_arns"]
                self.tables = info["tables"]
                self.event_buses = info.get("event_buses") or {}
                self.user_pools = info.get("user_pools") or {}
                dev = info.get("dev_users")
                self.dev_users = DevUsers(**dev) if dev else None
                ready.set()
        ready.set()

    @property
    def printed(self) -> int:
        """How many lines the local cloud has printed so far (a mark for :meth:`printed_since`)."""
        return self._dropped + len(self.output)

    def printed_since(self, mark: int) -> list[str]:
        """The lines printed since `mark` (those still kept)."""
        return self.output[max(0, mark - self._dropped) :]

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

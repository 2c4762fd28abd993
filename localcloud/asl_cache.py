"""Parse each state machine definition once, as Step Functions does, instead of per execution;
and give the interpreter's service integrations one client per service, not one per task.

moto's ASL interpreter re-parses the definition (an ANTLR grammar in pure Python) at the start of
every execution: 70-250 ms per order on this machine, more than the rest of the workflow. The
parsed program is a tree of components that keep no per-execution state (that lives in each
execution's environment), so :func:`install` memoises the parse by definition text. Likewise it
memoises the parsing of each JSONPath expression, which moto otherwise repeats (building a new
parser, tables included) at every evaluation; a parsed path is immutable.

The one lazily-set attribute on a component, the key its retry counters use in the execution's
heap, is fixed at parse time here, so concurrent executions of one cached program agree on it.

moto's interpreter also creates a new boto3 client for every Task it runs (``boto_client_for``):
tens of milliseconds of model loading per DynamoDB request, seconds under concurrent executions
on a loaded machine -- enough to trip a Task's ``TimeoutSeconds`` (1 s in PlaceOrder) where AWS
answers in milliseconds. :func:`install` reuses one client per (service, region, endpoint);
botocore clients are safe to share between threads.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from localcloud.patching import patch

_CACHE_SIZE = 32
_PATHS_CACHE_SIZE = 1024
_lock = threading.Lock()


def _fix_heap_keys(program: Any) -> None:
    """Read every component's heap key once, so it is set before executions share the program."""
    from moto.stepfunctions.parser.asl.component.component import Component
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent

    seen: set[int] = set()
    pending = [program]
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, EvalComponent):
            _ = node.heap_key
        if isinstance(node, Component):
            pending.extend(getattr(node, "__dict__", {}).values())
        elif isinstance(node, (list, tuple, set, frozenset)):
            pending.extend(node)
        elif isinstance(node, dict):
            pending.extend(node.values())


@patch
def install() -> None:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    parse = AmazonStateLanguageParser.parse

    @functools.lru_cache(maxsize=_CACHE_SIZE)
    def parse_once(definition: str) -> Any:
        with _lock:
            program, tree = parse(definition)
            _fix_heap_keys(program)
        return program, tree

    AmazonStateLanguageParser.parse = staticmethod(parse_once)  # type: ignore[method-assign]

    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    for module in (json_path, result_path):  # each imports its own jsonpath_ng `parse`
        module.parse = functools.lru_cache(maxsize=_PATHS_CACHE_SIZE)(module.parse)  # type: ignore[attr-defined]

    _share_service_clients()


def _share_service_clients() -> None:
    """Every module of moto's interpreter that imported ``boto_client_for`` gets a memoised one."""
    import importlib
    import pkgutil

    from moto.stepfunctions.parser.asl.component.state.exec.state_task import service
    from moto.stepfunctions.parser.asl.utils import boto_client

    create = boto_client.boto_client_for
    clients: dict[tuple[str, str, str | None], Any] = {}

    def shared_client(region: str, service: str, state_credentials: Any = None) -> Any:
        from moto.core.models import botocore_stubber
        from moto.settings import moto_server_port

        endpoint = None if botocore_stubber.enabled else moto_server_port()
        key = (region, service, endpoint)
        with _lock:
            if key not in clients:
                clients[key] = create(region=region, service=service, state_credentials=state_credentials)
            return clients[key]

    modules = [boto_client] + [
        importlib.import_module(f"{service.__name__}.{info.name}") for info in pkgutil.iter_modules(service.__path__)
    ]
    for module in modules:
        if getattr(module, "boto_client_for", None) is create:
            module.boto_client_for = shared_client  # type: ignore[attr-defined]

"""Docker-free local cloud: template.yaml's API, each function in its own Lambda-like worker
processes (AWS's runtime interface client against a local Runtime API), backed by moto.

Entry points:

* ``python -m localcloud`` -- the developer server (see ``localcloud/__main__.py``);
* :class:`localcloud.server.LocalCloud` / :class:`localcloud.server.LocalCloudProcess` -- the same
  from a pytest fixture; ``LocalCloud.invoke(logical_id, event)`` for non-HTTP event sources;
* :func:`localcloud.template.create_tables` / :func:`localcloud.template.create_state_machines` and
  :func:`localcloud.sync_execution.install` -- for ``mock_aws`` unit-test fixtures.
"""

__all__ = ["runtime", "runtime_api", "server", "state", "sync_execution", "template"]

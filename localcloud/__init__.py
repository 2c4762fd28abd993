"""Docker-free local cloud: template.yaml's API served in-process, backed by moto.

Entry points:

* ``python -m localcloud`` -- the developer server (see ``localcloud/__main__.py``);
* :class:`localcloud.server.LocalCloud` / :class:`localcloud.server.LocalCloudProcess` -- the same
  from a pytest fixture;
* :func:`localcloud.template.create_tables` / :func:`localcloud.template.create_state_machines` and
  :func:`localcloud.sync_execution.install` -- for ``mock_aws`` unit-test fixtures.
"""

__all__ = ["envoverlay", "runtime", "server", "sync_execution", "template"]

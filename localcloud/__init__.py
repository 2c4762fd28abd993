"""Docker-free local cloud: template.yaml's API, each function in its own Lambda-like worker
processes (AWS's runtime interface client against a local Runtime API), backed by moto.

Entry points:

* ``python -m localcloud`` -- the developer server (see ``localcloud/__main__.py``);
* :class:`localcloud.server.LocalCloud` / :class:`localcloud.server.LocalCloudProcess` -- the same
  from a pytest fixture; ``LocalCloud.invoke(logical_id, event)`` for non-HTTP event sources;
* :class:`localcloud.sam_template.SamTemplate` -- the one reader of template.yaml;
* :func:`localcloud.provision.provision` and :func:`localcloud.patching.install_all` -- for
  ``mock_aws`` test fixtures; :func:`localcloud.serving.start_moto` -- moto's server.
"""

__all__ = ["patching", "provision", "runtime", "runtime_api", "sam_template", "server", "serving", "state"]

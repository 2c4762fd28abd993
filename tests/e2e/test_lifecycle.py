"""Starting and stopping the local cloud leaves no process and no port behind."""

from __future__ import annotations

import os

import pytest
import requests

from tests.support.apigw import TEMPLATE
from tests.support.ports import port_is_closed

# The slow tier (make test-slow): starts and stops a local cloud of its own.
pytestmark = pytest.mark.slow


def test_start_then_stop_frees_ports_and_process():
    from localcloud.server import LocalCloudProcess

    cloud = LocalCloudProcess(TEMPLATE)
    cloud.start()
    api_port = int(cloud.api_url.rsplit(":", 1)[1])
    aws_port = int(cloud.aws_url.rsplit(":", 1)[1])
    assert requests.get(cloud.api_url + "/api/products", timeout=10).status_code == 401  # up, and signed-in only
    proc = cloud.proc
    cloud.stop()
    assert proc.poll() is not None
    try:
        os.kill(proc.pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive
    assert port_is_closed(api_port) and port_is_closed(aws_port)

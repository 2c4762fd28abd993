"""Starting and stopping the local cloud leaves no process and no port behind."""

from __future__ import annotations

import os
import socket

import requests

from tests.support.apigw import TEMPLATE


def port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_start_then_stop_frees_ports_and_process():
    from localcloud.server import LocalCloudProcess

    cloud = LocalCloudProcess(TEMPLATE)
    cloud.start()
    api_port = int(cloud.api_url.rsplit(":", 1)[1])
    aws_port = int(cloud.aws_url.rsplit(":", 1)[1])
    assert requests.get(cloud.api_url + "/api/products", timeout=10).status_code == 200
    proc = cloud.proc
    cloud.stop()
    assert proc.poll() is not None
    try:
        os.kill(proc.pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive
    assert port_free(api_port) and port_free(aws_port)

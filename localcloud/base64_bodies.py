"""Bodies that are not UTF-8, passed to the function as API Gateway does.

API Gateway hands a function any body; one it cannot pass as text arrives base64-encoded
(`isBase64Encoded: true`), and our handlers answer 400. SAM CLI's local gateway instead decodes
text-typed bodies itself and answers 502 when that fails. :func:`install` makes it fall back to
the base64 form, so the local cloud answers what the deployed API answers.
"""

from __future__ import annotations

from typing import Any

from localcloud.patching import patch


@patch
def install() -> None:
    # local_apigw_service imported the function by name: patch that name.
    from samcli.local.apigw import local_apigw_service as service

    original = service.construct_v2_event_http

    def construct_v2_event_http(flask_request: Any, port: int, binary_types: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return original(flask_request, port, binary_types, *args, **kwargs)
        except UnicodeDecodeError:
            return original(flask_request, port, ["*/*"], *args, **kwargs)

    service.construct_v2_event_http = construct_v2_event_http

"""SAM CLI with the HTTP API JWT authorizer emulated: ``python -m localcloud.samlocal.sam_cli ARGS``
runs ``sam ARGS`` (the Docker tier runs ``local start-api``), with one difference.

``sam local start-api`` runs only Lambda authorizers. For a route whose authorizer is a JWT
authorizer (template.yaml's ``CognitoJwt`` on every route) it logs that the authorizer is not
supported and invokes the function with no ``requestContext.authorizer`` at all, so every
function answers 401 (they fail closed). Here SAM's gateway class is wrapped by
:func:`localcloud.authorizer.local_gateway`, the same JWT authorizer as the Docker-free local
cloud: the token is verified against the pool's JWKS in the moto backend, and its claims are
passed in ``requestContext.authorizer.jwt.claims``, or the request is answered 401 without
starting a container. Everything else (containers, event shape, CORS) is SAM's own.

Environment: ``SAMLOCAL_AUTH_FILE`` (written by :mod:`localcloud.samlocal.backend`: the pool and
client ids the backend created), ``SAMLOCAL_AWS_URL`` (the backend, as this host reaches it) and
``SAMLOCAL_TEMPLATE`` (the source template.yaml). Without ``SAMLOCAL_AUTH_FILE`` this is plain
``sam``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def install_jwt_authorizer(auth_file: str, aws_url: str, template_path: str) -> None:
    from samcli.commands.local.lib import local_api_service

    from localcloud import authorizer
    from localcloud.sam_template import SamTemplate

    info = json.loads(Path(auth_file).read_text(encoding="utf-8"))
    base = local_api_service.LocalApigwService
    local_api_service.LocalApigwService = authorizer.local_gateway(
        base,
        SamTemplate.load(template_path),
        info["user_pools"],
        aws_url,
        log=lambda line: print(f"[jwt-authorizer] {line}", file=sys.stderr, flush=True),
    )


def main() -> None:
    auth_file = os.environ.get("SAMLOCAL_AUTH_FILE")
    if auth_file:
        install_jwt_authorizer(auth_file, os.environ["SAMLOCAL_AWS_URL"], os.environ["SAMLOCAL_TEMPLATE"])
    from samcli.cli.main import cli

    cli(prog_name="sam")  # exits, as the `sam` command does


if __name__ == "__main__":
    main()

"""What an HTTP API answers when its Lambda integration fails: ``500 {"message":"Internal Server Error"}``.

A deployed HTTP API gives that answer, byte for byte, for every failed invocation: the function
raised, timed out or could not be loaded, or returned a response it cannot map ("Troubleshooting
issues with HTTP API Lambda integrations" in the API Gateway developer guide; the access log shows
``"status": "500"`` and ``"responseLength": "35"``). SAM's local gateway answers with the REST
API's wording instead: ``500 {"message": "Internal server error"}`` for a failed function and
502 for a response it cannot map. :func:`http_api_failures` wraps SAM's gateway class so that
routes of an ``HttpApi`` answer as the HTTP API does; ``Api`` (REST) routes keep SAM's answers.

A request that matches no route gets ``404 {"message":"Not Found"}`` from an HTTP API, before
any authorizer runs ("Routing API requests" in the HTTP API developer guide: a route matches on
its method and path; without an ``ANY`` or ``$default`` route nothing else does). SAM's gateway
answers the REST API's ``403 {"message":"Missing Authentication Token"}`` instead, and 502 for
``HEAD`` on a ``GET`` route (Flask adds ``HEAD`` to every ``GET`` rule, SAM has no route for it).
:func:`http_api_routing` makes an API whose routes are all ``HttpApi`` routes answer as the HTTP
API does; ``HEAD`` included (its answer has no body, as HTTP requires). With a greedy route
(the front door's ``ANY /{proxy+}``) nothing is unmatched but ``/`` itself: every other request
no route takes reaches that route, ``HEAD`` on a ``GET`` route too, as on an HTTP API.

Both local tiers build their gateway with :func:`localcloud.authorizer.local_gateway`, which
applies both: the Docker-free local cloud and ``sam local start-api`` answer alike.
"""

from __future__ import annotations

from typing import Any

HTTP_API_FAILURE_STATUS = 500
HTTP_API_FAILURE_BODY = '{"message":"Internal Server Error"}'
HTTP_API_NOT_FOUND_STATUS = 404
HTTP_API_NOT_FOUND_BODY = '{"message":"Not Found"}'


def http_api_failures(base: type) -> type:
    """SAM's ``LocalApigwService`` (``base``) answering a failed integration of an HTTP API route
    as the HTTP API does."""
    from flask import Response, g, request
    from samcli.local.apigw.exceptions import LambdaResponseParseException
    from samcli.local.apigw.route import Route

    sam: Any = base

    def failing(call: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return call(*args, **kwargs)
        except LambdaResponseParseException:
            g.localcloud_integration_failed = True
            raise

    class HttpApiFailures(base):
        # SAM raises LambdaResponseParseException for a function error (the invocation's output is
        # Lambda's error document) and for output it cannot map, and answers either itself.
        def _invoke_lambda_function(self, *args: Any, **kwargs: Any) -> Any:
            return failing(super()._invoke_lambda_function, *args, **kwargs)

        @staticmethod
        def _parse_v1_payload_format_lambda_output(*args: Any) -> Any:
            return failing(sam._parse_v1_payload_format_lambda_output, *args)

        @staticmethod
        def _parse_v2_payload_format_lambda_output(*args: Any) -> Any:
            return failing(sam._parse_v2_payload_format_lambda_output, *args)

        def _request_handler(self, **kwargs: Any) -> Any:
            response = super()._request_handler(**kwargs)
            if (
                g.pop("localcloud_integration_failed", False)
                and self._get_current_route(request).event_type == Route.HTTP
            ):
                return Response(HTTP_API_FAILURE_BODY, status=HTTP_API_FAILURE_STATUS, mimetype="application/json")
            return response

    return HttpApiFailures


def http_api_routing(base: type) -> type:
    """SAM's ``LocalApigwService`` (``base``) answering a request that matches no route (method
    and path) as an HTTP API does, when every route of the API is an HTTP API route."""
    from flask import Response, request
    from samcli.local.apigw.route import Route

    def not_found(*_args: Any) -> Any:
        return Response(HTTP_API_NOT_FOUND_BODY, status=HTTP_API_NOT_FOUND_STATUS, mimetype="application/json")

    class HttpApiRouting(base):
        def _http_api_only(self) -> bool:
            return bool(self.api.routes) and all(r.event_type == Route.HTTP for r in self.api.routes)

        def _construct_error_handling(self) -> None:
            super()._construct_error_handling()
            if self._http_api_only():
                self._app.register_error_handler(404, self._unmatched)  # no such path
                self._app.register_error_handler(405, self._unmatched)  # the path, but not this method

        def _unmatched(self, *_args: Any) -> Any:
            """No route has this method and path: a greedy route of the API (`ANY /{proxy+}`)
            takes it, as it takes every request no other route matches; else 404."""
            kwargs = to_greedy_route(self, request)
            return not_found() if kwargs is None else super()._request_handler(**kwargs)

        def _request_handler(self, **kwargs: Any) -> Any:
            method, endpoint = self.get_request_methods_endpoints(request)
            if self._http_api_only() and not routed(self, method, endpoint):
                return self._unmatched()  # e.g. HEAD, which Flask routes to every GET rule
            return super()._request_handler(**kwargs)

        def _get_current_route(self, flask_request: Any) -> Any:
            method, endpoint = self.get_request_methods_endpoints(flask_request)
            if self._route_key(method, endpoint) not in self._dict_of_routes and routed(self, method, endpoint):
                # a method outside SAM's list for ANY (e.g. TRACE): the ANY route's own
                return self._dict_of_routes[self._route_key("GET", endpoint)]
            return super()._get_current_route(flask_request)

    return HttpApiRouting


def routed(service: Any, method: str, endpoint: str) -> bool:
    """Does a route of SAM's gateway ``service`` take `method` on the Flask rule `endpoint`? An
    ``ANY`` route takes every method, also those SAM leaves out of ``ANY`` (TRACE, CONNECT)."""
    from samcli.local.apigw.route import Route

    keys = service._dict_of_routes
    if service._route_key(method, endpoint) in keys:
        return True
    return method not in Route.ANY_HTTP_METHODS and all(
        service._route_key(m, endpoint) in keys for m in Route.ANY_HTTP_METHODS
    )


def to_greedy_route(service: Any, flask_request: Any) -> dict[str, str] | None:
    """Match `flask_request` to the greedy route that takes it (see :func:`greedy_rule`), for
    SAM's gateway to handle it as that route's; its path parameters, or None if none takes it."""
    greedy = greedy_rule(service, flask_request.method, flask_request.path)
    if greedy is None:
        return None
    flask_request.url_rule, flask_request.view_args = greedy
    return greedy[1]


def greedy_rule(service: Any, method: str, path: str) -> tuple[Any, dict[str, str]] | None:
    """The Flask rule of a greedy path route of SAM's gateway ``service`` (`/{proxy+}`,
    `/api/{rest+}`) that takes `method` on `path`, with its path parameter; None if none does."""
    for rule in service._app.url_map.iter_rules():
        prefix, greedy, _ = rule.rule.partition("<path:")
        if greedy and routed(service, method, rule.endpoint) and path.startswith(prefix) and len(path) > len(prefix):
            return rule, {name: path[len(prefix) :] for name in rule.arguments}
    return None

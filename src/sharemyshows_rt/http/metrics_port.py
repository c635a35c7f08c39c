"""METRICS_PORT: the metrics on a port of their own, behind METRICS_TOKEN as `/metrics` is,
listening on one address (`serve --host`, or METRICS_HOST), never on every one by default."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import orjson

from .. import metrics
from ..errors import Unauthorized

log = logging.getLogger(__name__)


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a scrape in progress does not hold up the shutdown


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """A scrape every few seconds is not worth a line."""


class MetricsListener:
    """Prometheus's text format on `host:port` (every path), from a thread of its own."""

    def __init__(self, host: str, port: int, token: str | None) -> None:
        self._host = host
        self._port = port
        self._token = token
        self._server: WSGIServer | None = None

    def start(self) -> None:
        infos = socket.getaddrinfo(
            self._host or None, self._port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        family, _, _, _, address = infos[0]
        server_class = type("MetricsServer", (_ThreadingServer,), {"address_family": family})
        self._server = make_server(
            address[0], self._port, self._app, server_class, handler_class=_QuietHandler
        )
        threading.Thread(
            target=self._server.serve_forever, name="metrics-port", daemon=True
        ).start()
        log.info(
            "metrics on %s port %d%s",
            address[0],
            self._port,
            " (METRICS_TOKEN required)" if self._token else "",
        )

    def stop(self) -> None:
        """Stop serving (blocks up to half a second: the server's poll interval)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not metrics.authorized(environ.get("HTTP_AUTHORIZATION", ""), self._token):
            error = Unauthorized("METRICS_PORT needs the METRICS_TOKEN bearer token")
            start_response(
                "401 Unauthorized",
                [("Content-Type", "application/json"), ("WWW-Authenticate", "Bearer")],
            )
            return [orjson.dumps(error.http_body())]
        body, content_type = metrics.exposition()
        start_response("200 OK", [("Content-Type", content_type), ("Cache-Control", "no-store")])
        return [body]

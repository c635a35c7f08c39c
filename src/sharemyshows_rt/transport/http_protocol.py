"""uvicorn's httptools HTTP protocol, which lets go of itself when a request upgrades to a
WebSocket."""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class UpgradingHttpProtocol(HttpToolsProtocol):
    """HttpToolsProtocol, freed as soon as its connection becomes a WebSocket."""

    def handle_websocket_upgrade(self) -> None:
        super().handle_websocket_upgrade()
        # The parser holds this protocol's bound methods as its callbacks: a reference cycle,
        # so every connection's spent HTTP protocol (26 objects) waited for a garbage
        # collection, walked by the collector meanwhile. Without the parser it goes now.
        self.parser = None  # type: ignore[assignment]

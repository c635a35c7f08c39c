"""A generator worker's hub: what its clients report (bytes, events, deliveries, acks,
refusals, closes) and the scenario behaviour that follows (joining once connected, sending
the next message on an ack), with the latency windows the orchestrator reads back."""

from __future__ import annotations

import asyncio
import collections
import time
from dataclasses import dataclass, field

import orjson

from .histogram import Histogram
from .protocol import CONNECTED, SioClient

_monotonic_ns = time.monotonic_ns
_TAG = b'"message":"@b'


@dataclass
class Window:
    """A measurement window: messages tagged `wid` were sent in [t0, t1)."""

    wid: int
    t0: int
    t1: int
    latency: Histogram = field(default_factory=Histogram)  # deliveries of tagged messages
    arrivals: int = 0  # deliveries (any message) arriving in [t0, t1)
    lag: Histogram = field(default_factory=Histogram)  # this loop's timer lag in [t0, t1)
    acks: Histogram = field(default_factory=Histogram)  # send -> ack, tagged messages
    acked_ok: int = 0  # acks of tagged messages that said ok
    acked_error: int = 0
    acks_in_window: int = 0  # ok acks (any message) arriving in [t0, t1)
    sent: int = 0  # tagged messages sent

    def report(self) -> dict:
        return {
            "wid": self.wid,
            "t0": self.t0,
            "t1": self.t1,
            "latency": self.latency.to_dict(),
            "delivered": self.latency.count,
            "arrivals": self.arrivals,
            "lag": self.lag.to_dict(),
            "acks": self.acks.to_dict(),
            "acked_ok": self.acked_ok,
            "acked_error": self.acked_error,
            "acks_in_window": self.acks_in_window,
            "sent": self.sent,
        }


@dataclass
class Sending:
    """One running `send` command."""

    end: int
    closed_loop: bool
    record: bool  # keep (id, text) of every ok ack (the durability check)
    size: int
    windows: list[tuple[int, int, int]]  # (wid, t0, t1) by send time


class Hub:
    """Everything one worker's clients report, and the scenario behaviour they trigger."""

    # Events whose content is read (everything else is counted and skipped when large).
    needs_payload = frozenset({b"new_message", b"error"})

    def __init__(self, worker: int) -> None:
        self.worker = worker
        self.now = 0
        self.bytes_in = 0
        self.frames_in = 0
        self.events: collections.Counter[bytes] = collections.Counter()
        self.errors: collections.Counter[str] = collections.Counter()
        self.closed: collections.Counter[str] = collections.Counter()
        self.refused: collections.Counter[str] = collections.Counter()
        self.windows: dict[int, Window] = {}
        self.deliveries = 0
        self.connected_count = 0
        self.sending: Sending | None = None
        self.seq = 0
        self.acked: list[tuple[int, str]] = []
        self.ack_errors: collections.Counter[str] = collections.Counter()
        self.sent_total = 0
        # Per monotonic second: deliveries received and ok acks (throughput over time).
        self.delivery_seconds: collections.Counter[int] = collections.Counter()
        self.ack_seconds: collections.Counter[int] = collections.Counter()

    # ------------------------------------------------------------------ client callbacks

    def on_connected(self, client: SioClient) -> None:
        self.connected_count += 1
        if client.show_id:
            client.join(client.show_id)
        elif client.waiter is not None and not client.waiter.done():
            client.waiter.set_result(True)

    def on_event(self, client: SioClient, name: bytes, payload: bytes | None) -> None:
        self.events[name] += 1
        if name == b"new_message":
            self.deliveries += 1
            now = self.now
            self.delivery_seconds[now // 1_000_000_000] += 1
            if payload is None:
                return
            for window in self.windows.values():
                if window.t0 <= now < window.t1:
                    window.arrivals += 1
            at = payload.find(_TAG)
            if at < 0:
                return
            parts = payload[at + 13 : at + 64].split(b" ", 2)
            window = self.windows.get(int(parts[0]))
            if window is not None:
                window.latency.add((now - int(parts[1])) / 1000.0)
        elif name == b"active_users":
            if client.t_join_sent and not client.t_joined:
                client.t_joined = self.now
                if client.waiter is not None and not client.waiter.done():
                    client.waiter.set_result(True)
        elif name == b"error" and payload is not None:
            try:
                body = orjson.loads(payload[2:])[1]
            except Exception:
                self.errors["unparseable error event"] += 1
                return
            what = f"{body.get('event')}: {body.get('message')}"
            self.errors[what] += 1
            if body.get("event") == "join_show" and client.t_join_sent and not client.t_joined:
                self.refused[
                    _short(f"join refused: {body.get('message')} ({body.get('details')})")
                ] += 1
                if client.waiter is not None and not client.waiter.done():
                    client.waiter.set_result(False)

    def on_ack(self, client: SioClient, ack_id: int, payload: bytes) -> None:
        pending = client.pending.pop(ack_id, None)
        if pending is None:
            return
        what, sent_at, text, wid = pending
        if what != "send":
            return
        now = self.now
        try:
            body = orjson.loads(payload)[0]
        except Exception:
            body = {}
        ok = bool(body.get("ok"))
        window = self.windows.get(wid)
        if window is not None:
            window.acks.add((now - sent_at) / 1000.0)
            if ok:
                window.acked_ok += 1
            else:
                window.acked_error += 1
        if ok:
            self.ack_seconds[now // 1_000_000_000] += 1
            for other in self.windows.values():
                if other.t0 <= now < other.t1:
                    other.acks_in_window += 1
        else:
            error = body.get("error") or {}
            self.ack_errors[str(error.get("message"))] += 1
        sending = self.sending
        if sending is None:
            return
        if ok and sending.record:
            message = body.get("message") or {}
            self.acked.append((int(message.get("id", 0)), text))
        if sending.closed_loop and now < sending.end and client.state == CONNECTED:
            if ok:
                self.send_one(client, now)
            else:  # a refused message is not retried in a tight loop
                asyncio.get_running_loop().call_later(0.1, self._resend, client)

    def _resend(self, client: SioClient) -> None:
        sending = self.sending
        now = _monotonic_ns()
        if (
            sending is not None
            and sending.closed_loop
            and now < sending.end
            and client.state == CONNECTED
        ):
            self.send_one(client, now)

    def on_refused(self, client: SioClient, reason: str) -> None:
        self.refused[_short(reason)] += 1
        if client.waiter is not None and not client.waiter.done():
            client.waiter.set_result(False)

    def on_closed(self, client: SioClient, reason: str) -> None:
        self.closed[_short(reason)] += 1
        if client.waiter is not None and not client.waiter.done():
            client.waiter.set_result(False)

    # ------------------------------------------------------------------ sending

    def send_one(self, client: SioClient, now: int) -> bool:
        """Send one chat message from `client`, tagged with the window of its send time."""
        sending = self.sending
        assert sending is not None
        wid = 0
        for window_id, t0, t1 in sending.windows:
            if t0 <= now < t1:
                wid = window_id
                break
        self.seq += 1
        head = b"@b%d %d %d.%d " % (wid, now, self.worker, self.seq)
        text = head + b"x" * max(0, sending.size - len(head))
        payload = b'{"show_id":%d,"message":"%s"}' % (client.show_id or 0, text)
        if client.emit("send_message", payload, ("send", now, text.decode(), wid)) < 0:
            return False
        self.sent_total += 1
        window = self.windows.get(wid)
        if window is not None:
            window.sent += 1
        return True


def _short(reason: str) -> str:
    return reason if len(reason) <= 160 else reason[:157] + "..."

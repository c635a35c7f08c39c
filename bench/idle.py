"""idle: thousands of connections that do nothing; the server's memory per connection."""

from __future__ import annotations

import time
from types import SimpleNamespace

from .measure import Sampler
from .scenarios import open_session, result_of
from .session import exact_summary_ms, load_flags, log, merge_counters, require, target


def idle(opts: SimpleNamespace) -> dict:
    n = opts.clients
    warm = min(50, n)
    with open_session(opts, "idle", n + warm, 1) as session:
        # Warm the server up (imports, pools, first-connection allocations), then measure.
        session.connect([[n + i, n + i + 1, 0] for i in range(warm)], timeout=60)
        session.gen.broadcast({"op": "close_all"}, timeout=60)
        time.sleep(opts.pause)
        before = session.snapshot()
        log(f"server RSS before: {before.server_rss_kib} KiB; opening {n} idle connections")
        connected = session.connect(
            [[i, i + 1, 0] for i in range(n)],
            concurrency=opts.concurrency,
            timeout=opts.connect_timeout,
        )
        opened = session.snapshot()
        require(connected["connected"] > 0, f"no client could connect: {connected['refused']}")
        log(
            f"{connected['connected']}/{n} connected in {(opened.t - before.t):.1f}s; holding "
            f"{opts.hold:g}s"
        )
        time.sleep(opts.hold)
        held = session.snapshot()
        collects = session.gen.broadcast({"op": "collect"}, timeout=60)
        session.gen.broadcast({"op": "close_all", "timeout": 30}, timeout=90)
        time.sleep(2 * opts.pause)
        closed = session.snapshot()
        series = session.timeseries()
    count = connected["connected"]
    still_open = sum(c["open"] for c in collects)
    grown = (held.server_rss_kib or 0) - (before.server_rss_kib or 0)
    hold = Sampler.delta(opened, held)
    ramp = Sampler.delta(before, opened)
    flags = load_flags(ramp)
    if count < n:
        flags.append({"kind": "incomplete", "detail": f"only {count} of {n} connected"})
    if still_open < count:
        flags.append(
            {"kind": "dropped", "detail": f"{count - still_open} connection(s) closed while idle"}
        )
    per_conn = grown / count if count else None
    metrics = {
        "clients": n,
        "connected": count,
        "open_after_hold": still_open,
        "connect_latency": exact_summary_ms(connected["connect_ms"]),
        "connect_time_s": round(ramp.seconds, 2),
        "server_rss_before_kib": before.server_rss_kib,
        "server_rss_after_kib": held.server_rss_kib,
        "server_rss_after_close_kib": closed.server_rss_kib,
        "rss_per_connection_kib": round(per_conn, 2) if per_conn is not None else None,
        "server_cpu_ms_per_connect": round(ramp.server_cpu * 1000 / count, 3) if count else None,
        "server_idle_cores": round(hold.util(hold.server_cpu), 4),
        "hold_s": round(hold.seconds, 2),
        "resources_connecting": ramp.report(),
        "resources_holding": hold.report(),
        "refused": connected["refused"],
        "closed": merge_counters(collects, "closed"),
    }
    result = result_of(session, "idle", opts, metrics)
    result["flags"] = flags
    result["targets"] = [
        target(
            "server RSS per idle connection",
            metrics["rss_per_connection_kib"],
            "<=",
            30,
            "KiB",
            flags,
            load_sensitive=False,
        ),
    ]
    result["timeseries"] = series
    result["marks"] = {
        "connect_start": round(before.t - session.origin, 2),
        "connected": round(opened.t - session.origin, 2),
        "held": round(held.t - session.origin, 2),
        "closed": round(closed.t - session.origin, 2),
    }
    return result

"""storm: thousands of clients connect and join one show at the same instant."""

from __future__ import annotations

import time
from types import SimpleNamespace

from .measure import Delta, Sampler
from .scenarios import S, open_session, result_of
from .session import (
    exact_summary_ms,
    generator_bound,
    load_flags,
    log,
    merge_connects,
    merge_counters,
    merge_windows,
    now_ns,
    require,
    sleep_until,
    target,
)


def storm(opts: SimpleNamespace) -> dict:
    n = opts.clients
    with open_session(opts, "storm", n, 1) as session:
        first = _wave(session, opts, n, reuse_tokens=False, wid=1)
        again = None
        if opts.rejoin:
            log(f"every client closes; then all {n} reconnect at once with the same tokens")
            session.gen.broadcast({"op": "close_all", "timeout": 30}, timeout=90)
            closed_in = session.settle()
            again = _wave(session, opts, n, reuse_tokens=True, wid=2)
            again["closed_in_s"] = closed_in
        series = session.timeseries()
    joined = first["joined"]
    require(joined["connected"] > 0, f"no client could connect: {joined['refused']}")
    metrics, whole = _measured(first, n)
    collects = first["collects"]
    count = joined["joined"]
    flags = load_flags(whole, metrics["generator_loop_lag_p99_ms_by_worker"])
    if not metrics["all_joined"]:
        flags.append(
            {"kind": "incomplete", "detail": f"only {count} of {n} joined within {opts.timeout:g}s"}
        )
    metrics.update(
        {
            "events_received": merge_counters(collects, "events"),
            "broadcast_tail_cut": metrics["broadcast_tail_s"] >= opts.tail,
            "error_events": merge_counters(collects, "errors"),
            "closed": merge_counters(collects, "closed"),
        }
    )
    if again is not None:
        rejoin, rewhole = _measured(again, n)
        rejoin["server_busy_after_all_closed_s"] = again["closed_in_s"]
        rejoin["flags"] = load_flags(rewhole, rejoin["generator_loop_lag_p99_ms_by_worker"])
        metrics["rejoin"] = rejoin
    result = result_of(session, "storm", opts, metrics)
    result["flags"] = flags
    result["targets"] = [
        target("clients joined", count, ">=", n, "clients", flags),
        _all_joined_target(
            metrics["time_to_all_joined_s"], metrics["all_joined"], opts.timeout, flags
        ),
        target("join latency p99", metrics["join_latency"]["p99_ms"], "<=", 200, "ms", flags),
        target(
            "server CPU per join",
            metrics["server_cpu_ms_per_join"],
            "<=",
            1.6,
            "CPU-ms",
            flags,
            load_sensitive=False,
        ),
    ]
    result["joins"] = {"ready_s": sorted(joined["ready_s"]), "join_ms": joined["join_ms"]}
    result["timeseries"] = series
    return result


def _wave(session, opts: SimpleNamespace, n: int, reuse_tokens: bool, wid: int) -> dict:
    """n clients connect and join show 1 at once; measured until the broadcasts end (window
    `wid` records the generator's own lag meanwhile)."""
    bytes_before = sum(c["bytes_in"] for c in session.gen.broadcast({"op": "collect"}, timeout=60))
    go = now_ns() + int(2.0 * S)  # tokens are made before the start
    per = session.split([[i, i + 1, 1] for i in range(n)])
    window = [wid, go, go + int((opts.timeout + opts.tail + 60) * S)]
    session.gen.submit(
        [
            {
                "op": "connect",
                "clients": c,
                "go_at": go,
                "concurrency": opts.concurrency,
                "timeout": opts.timeout,
                "reuse_tokens": reuse_tokens,
                "window": window,
            }
            for c in per
        ]
    )
    log(f"{n} clients connect and join show 1 at once (timeout {opts.timeout:g}s)")
    sleep_until(go)
    before = session.snapshot()
    joined = merge_connects(session.gen.gather(timeout=opts.timeout + 60))
    at_joined = session.snapshot()
    log(f"{joined['joined']}/{n} joined; waiting for the broadcasts to end")
    # The presence broadcasts go on after the last join: wait until no event arrives for
    # a second (pings, which never stop, do not count).
    last_events, quiet_since, deadline = -1, time.monotonic(), time.monotonic() + opts.tail
    while time.monotonic() < deadline:
        collects = session.gen.broadcast({"op": "collect"}, timeout=60)
        events = sum(sum(c["events"].values()) for c in collects)
        if events != last_events:
            last_events, quiet_since = events, time.monotonic()
        elif time.monotonic() - quiet_since >= 1.0:
            break
        time.sleep(0.25)
    quiet = session.snapshot()
    collects = session.gen.broadcast({"op": "collect"}, timeout=60)
    return {
        "go": go,
        "joined": joined,
        "before": before,
        "at_joined": at_joined,
        "quiet": quiet,
        "collects": collects,
        "bytes_before": bytes_before,
        "wid": wid,
    }


def _measured(wave: dict, n: int) -> tuple[dict, Delta]:
    """A wave's numbers, and its resources from the start until the broadcasts ended."""
    joined = wave["joined"]
    to_joined = Sampler.delta(wave["before"], wave["at_joined"])
    whole = Sampler.delta(wave["before"], wave["quiet"])
    count = joined["joined"]
    all_joined = count == n
    last = (joined["last_ready"] - wave["go"]) / 1e9 if joined["last_ready"] else None
    received = sum(c["bytes_in"] for c in wave["collects"]) - wave["bytes_before"]
    lag = merge_windows(wave["collects"], wave["wid"])
    return {
        "clients": n,
        "joined": count,
        "all_joined": all_joined,
        "time_to_all_joined_s": round(last, 3) if all_joined and last is not None else None,
        "time_to_last_join_s": round(last, 3) if last is not None else None,
        "joins_per_s": round(count / last, 1) if last else None,
        "join_latency": exact_summary_ms(joined["join_ms"]),
        "connect_latency": exact_summary_ms(joined["connect_ms"]),
        "refused": joined["refused"],
        "server_cpu_ms_per_join": round(whole.server_cpu * 1000 / count, 3) if count else None,
        "server_cpu_ms_per_join_until_joined": round(to_joined.server_cpu * 1000 / count, 3)
        if count
        else None,
        "bytes_received_by_clients": received,
        "server_bytes_per_join": round(received / count) if count else None,
        "broadcast_tail_s": round(whole.seconds - to_joined.seconds, 2),
        # How late each generator worker's loop woke up (p99) during the wave: the clients'
        # timestamps include it.
        "generator_loop_lag_p99_ms_by_worker": lag["worker_lag_p99_ms"],
        "generator_loop_lag": lag["lag"].summary_ms(),
        "resources": whole.report(),
        "resources_until_joined": to_joined.report(),
    }, whole


def _all_joined_target(
    seconds: float | None, all_joined: bool, timeout: float, flags: list[dict]
) -> dict:
    verdict = target("time until all joined", seconds, "<=", 10, "s", flags)
    if not all_joined:  # never happened: later than the timeout
        if generator_bound(flags):
            verdict["verdict"] = "inconclusive (generator-bound)"
        elif any(f["kind"] == "other_load" for f in flags):
            verdict["verdict"] = "inconclusive (machine shared with other load)"
        else:
            verdict["verdict"] = f"missed (not all joined within {timeout:g} s)"
    return verdict

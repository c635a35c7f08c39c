"""fanout and saturate: clients in one show, chat messages at a fixed total rate, every
message delivered to every member; saturate steps the rate up until the server breaks."""

from __future__ import annotations

import time
from types import SimpleNamespace

from .histogram import Histogram
from .measure import Sampler
from .scenarios import S, connect_summary, deal_senders, open_session, per_second, result_of
from .session import (
    Session,
    generator_bound,
    load_flags,
    log,
    merge_counters,
    merge_windows,
    now_ns,
    require,
    sleep_until,
    target,
)


def rate_step(
    session: Session,
    senders: list[list[int]],
    rate: float,
    *,
    warmup: float,
    duration: float,
    wid: int,
    members: int,
    size: int,
    drain_timeout: float = 10.0,
) -> dict:
    """Send `rate` messages/s into the show for warmup + duration seconds; measure the
    deliveries of the messages sent during `duration` (after draining)."""
    total = sum(len(s) for s in senders)
    start = now_ns() + int(0.3 * S)
    t0 = start + int(warmup * S)
    t1 = t0 + int(duration * S)
    session.gen.submit(
        [
            {
                "op": "send",
                "senders": s,
                "start_at": start,
                "end_at": t1,
                "windows": [[wid, t0, t1]],
                "rate": rate * len(s) / total,
                "size": size,
            }
            for s in senders
        ]
    )
    sleep_until(t0)
    before = session.snapshot()
    sleep_until(t1)
    after = session.snapshot()
    sends = session.gen.gather(timeout=duration + warmup + 60)
    delta = Sampler.delta(before, after)

    # Drain: wait for the deliveries of the window's messages (or for them to stop coming).
    deadline = time.monotonic() + drain_timeout
    last, quiet_since = -1, time.monotonic()
    while True:
        collects = session.gen.broadcast({"op": "collect"}, timeout=60)
        window = merge_windows(collects, wid)
        expected = window["sent"] * members
        answered = window["acked_ok"] + window["acked_error"]
        if window["delivered"] >= expected and answered >= window["sent"]:
            break
        if window["delivered"] != last:
            last, quiet_since = window["delivered"], time.monotonic()
        elif time.monotonic() - quiet_since > 2.0:
            break
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    collects = session.gen.broadcast({"op": "collect", "reset": True}, timeout=60)
    window = merge_windows(collects, wid)
    send_lag = Histogram()
    for reply in sends:
        send_lag.merge(reply["send_lag"])
    expected = window["sent"] * members
    deliveries_per_s = window["arrivals"] / duration
    flags = load_flags(delta, window["worker_lag_p99_ms"])
    send_lag_p99 = send_lag.percentile(99)
    if send_lag_p99 is not None and send_lag_p99 > 50_000:
        flags.append(
            {
                "kind": "generator_bound",
                "detail": f"messages left the generator {send_lag_p99 / 1000:.0f} ms (p99) "
                "after their scheduled time (generator busy or starved of CPU): "
                "the offered rate was not held",
            }
        )
    thousands = window["arrivals"] / 1000.0
    return {
        "wid": wid,
        "rate_msgs_per_s": rate,
        "members": members,
        "senders": sum(reply["senders"] for reply in sends),
        "offered_deliveries_per_s": rate * members,
        "sent": window["sent"],
        "acked_ok": window["acked_ok"],
        "acked_error": window["acked_error"],
        "deliveries_per_s": round(deliveries_per_s, 1),
        "msgs_per_s": round(window["sent"] / duration, 2),
        "delivered": window["delivered"],
        "expected": expected,
        "delivery_ratio": round(window["delivered"] / expected, 6) if expected else None,
        "latency": window["latency"].summary_ms(),
        "ack_latency": window["acks"].summary_ms(),
        "send_lag": send_lag.summary_ms(),
        "generator_loop_lag": window["lag"].summary_ms(),
        "generator_loop_lag_p99_ms_by_worker": window["worker_lag_p99_ms"],
        "resources": delta.report(),
        "server_cpu_s_per_1000_deliveries": round(delta.server_cpu / thousands, 5)
        if thousands
        else None,
        "ack_errors": merge_counters(sends, "ack_errors"),
        "error_events": merge_counters(collects, "errors"),
        "clients_open": sum(c["open"] for c in collects),
        "closed": merge_counters(collects, "closed"),
        "flags": flags,
    }


def _join_all(session: Session, clients: int, show_id: int, timeout: float) -> dict:
    joined = session.connect([[i, i + 1, show_id] for i in range(clients)], timeout=timeout)
    log(f"{joined['joined']}/{clients} clients joined show {show_id}")
    require(joined["joined"] > 0, f"no client could join: {joined['refused']}")
    return joined


def fanout(opts: SimpleNamespace) -> dict:
    n = opts.clients
    with open_session(opts, "fanout", n, 1) as session:
        joined = _join_all(session, n, 1, opts.connect_timeout)
        senders = deal_senders(session, opts.senders, n)
        log(
            f"sending {opts.rate:g} msg/s from {sum(map(len, senders))} senders to "
            f"{joined['joined']} members: {opts.warmup:g}s warm-up, {opts.duration:g}s measured"
        )
        step = rate_step(
            session,
            senders,
            opts.rate,
            warmup=opts.warmup,
            duration=opts.duration,
            wid=1,
            members=joined["joined"],
            size=opts.size,
        )
        series = session.timeseries()
        collects = session.gen.broadcast({"op": "collect"}, timeout=60)
    flags = step["flags"]
    if joined["joined"] < n:
        flags.append({"kind": "incomplete", "detail": f"only {joined['joined']} of {n} joined"})
    result = result_of(
        session,
        "fanout",
        opts,
        {"clients": n, "joined": joined["joined"], "connect": connect_summary(joined), **step},
    )
    result["targets"] = [
        target("deliveries/s", step["deliveries_per_s"], ">=", 60_000, "deliveries/s", flags),
        target("latency p99", step["latency"]["p99_ms"], "<=", 100, "ms", flags),
        target("delivery ratio", step["delivery_ratio"], ">=", 1.0, "", flags),
        target(
            "server CPU per 1,000 deliveries",
            step["server_cpu_s_per_1000_deliveries"],
            "<=",
            0.013,
            "CPU-s",
            flags,
            load_sensitive=False,
        ),
    ]
    result["flags"] = flags
    result["timeseries"] = series
    result["throughput"] = per_second(collects, "delivery_seconds", session.origin)
    return result


def saturate(opts: SimpleNamespace) -> dict:
    n = opts.clients
    steps: list[dict] = []
    stop_reason = f"reached --max-steps {opts.max_steps}"
    with open_session(opts, "saturate", n, 1) as session:
        joined = _join_all(session, n, 1, opts.connect_timeout)
        senders = deal_senders(session, opts.senders, n)
        rate = opts.start_rate
        for number in range(1, opts.max_steps + 1):
            log(f"step {number}: {rate:g} msg/s -> {rate * joined['joined']:,.0f} deliveries/s")
            # Enough messages per step that p99 is not one message's fate.
            duration = max(opts.step_duration, opts.min_messages / rate)
            step = rate_step(
                session,
                senders,
                rate,
                warmup=opts.warmup,
                duration=duration,
                wid=number,
                members=joined["joined"],
                size=opts.size,
            )
            step["duration_s"] = round(duration, 2)
            step["step"] = number
            problems = _unsustained(step, opts.p99_limit_ms)
            step["sustained"] = not problems
            step["problems"] = problems
            steps.append(step)
            p99 = step["latency"]["p99_ms"]
            log(
                f"  {step['deliveries_per_s']:,.0f} deliveries/s, ratio {step['delivery_ratio']}, "
                f"p99 {p99} ms, server {step['resources']['server_cores']:.2f} cores, "
                f"generator {step['resources']['generator_worker_cores']}"
                + (f" -- {'; '.join(problems)}" if problems else "")
            )
            if generator_bound(step["flags"]):
                stop_reason = f"step {number}: the generator was the bottleneck (flagged)"
                break
            if problems:
                stop_reason = f"step {number}: " + "; ".join(problems)
                break
            if step["clients_open"] < joined["joined"]:
                stop_reason = f"step {number}: clients were disconnected"
                break
            rate = rate * opts.factor
        series = session.timeseries()
    sustained = [s for s in steps if s["sustained"] and not generator_bound(s["flags"])]
    best = max(sustained, key=lambda s: s["deliveries_per_s"], default=None)
    flags = []
    for step in steps:
        for flag in step["flags"]:
            flags.append({**flag, "detail": f"step {step['step']}: {flag['detail']}"})
    limit_found = (
        bool(steps) and not steps[-1]["sustained"] and not generator_bound(steps[-1]["flags"])
    )
    if not limit_found:
        flags.append(
            {
                "kind": "limit_not_found",
                "detail": "the server's limit was not reached: " + stop_reason,
            }
        )
    metrics = {
        "clients": n,
        "joined": joined["joined"],
        "connect": connect_summary(joined),
        "stop_reason": stop_reason,
        "limit_found": limit_found,
        "max_sustained_deliveries_per_s": best["deliveries_per_s"] if best else None,
        "max_sustained_msgs_per_s": best["msgs_per_s"] if best else None,
        "max_sustained_step": best["step"] if best else None,
        "p99_at_max_sustained_ms": best["latency"]["p99_ms"] if best else None,
        "server_cpu_s_per_1000_deliveries_at_max": best["server_cpu_s_per_1000_deliveries"]
        if best
        else None,
    }
    result = result_of(session, "saturate", opts, metrics)
    result["steps"] = steps
    result["flags"] = flags
    verdict = target(
        "max sustained deliveries/s",
        metrics["max_sustained_deliveries_per_s"],
        ">=",
        60_000,
        "deliveries/s",
        steps[-1]["flags"] if steps else [],
    )
    if best is None and steps:  # not even the first step was sustained
        failed = target(
            "max sustained deliveries/s", 0.0, ">=", 60_000, "deliveries/s", steps[-1]["flags"]
        )
        verdict["verdict"] = (
            failed["verdict"]
            if failed["verdict"].startswith("inconclusive")
            else "missed (no step sustained)"
        )
    if not limit_found and verdict["verdict"] != "met":
        verdict["verdict"] = "inconclusive (limit not found: " + stop_reason + ")"
    result["targets"] = [verdict]
    result["timeseries"] = series
    return result


def _unsustained(step: dict, p99_limit_ms: float) -> list[str]:
    problems = []
    p99 = step["latency"]["p99_ms"]
    if p99 is None:
        problems.append("nothing delivered")
    elif p99 > p99_limit_ms:
        problems.append(f"p99 {p99:.0f} ms > {p99_limit_ms:g} ms")
    if step["delivery_ratio"] is not None and step["delivery_ratio"] < 0.999:
        problems.append(f"delivery ratio {step['delivery_ratio']:.4f} < 0.999")
    if step["deliveries_per_s"] < 0.95 * step["offered_deliveries_per_s"]:
        problems.append(
            f"deliveries fell behind ({step['deliveries_per_s']:,.0f}/s of "
            f"{step['offered_deliveries_per_s']:,.0f}/s offered)"
        )
    return problems

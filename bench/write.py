"""write: many shows and senders in a closed loop; messages stored per second, CPU per stored
message, and a SIGKILL under load to check that every acknowledged message was committed."""

from __future__ import annotations

from types import SimpleNamespace

from .measure import Sampler
from .scenarios import S, connect_summary, deal_senders, open_session, per_second, result_of
from .session import (
    load_flags,
    log,
    merge_counters,
    merge_windows,
    now_ns,
    require,
    sleep_until,
    target,
)


def write(opts: SimpleNamespace) -> dict:
    shows, n = opts.shows, opts.senders
    with open_session(opts, "write", n, shows) as session:
        joined = session.connect(
            [[i, i + 1, i % shows + 1] for i in range(n)], timeout=opts.connect_timeout
        )
        log(f"{joined['joined']}/{n} senders joined {shows} shows")
        require(joined["joined"] > 0, f"no sender could join: {joined['refused']}")
        per = deal_senders(session, n, n)
        start = now_ns() + int(0.3 * S)
        t0 = start + int(opts.warmup * S)
        t1 = t0 + int(opts.duration * S)
        kill_at = t1 + int(opts.kill_after * S) if opts.kill else None
        end = (kill_at + int(30 * S)) if kill_at else t1
        log(
            f"closed loop: each sender keeps {opts.inflight} message(s) in flight; "
            f"{opts.warmup:g}s warm-up, {opts.duration:g}s measured"
            + (f", then SIGKILL of the server {opts.kill_after:g}s later" if kill_at else "")
        )
        session.gen.submit(
            [
                {
                    "op": "send",
                    "senders": s,
                    "start_at": start,
                    "end_at": end,
                    "windows": [[1, t0, t1]],
                    "closed_loop": True,
                    "inflight": opts.inflight,
                    "size": opts.size,
                    "record": True,
                }
                for s in per
            ]
        )
        sleep_until(t0)
        before = session.snapshot()
        sleep_until(t1)
        after = session.snapshot()
        if kill_at:
            sleep_until(kill_at)
            log(f"SIGKILL server pid {session.server.pid} mid-run")  # type: ignore[union-attr]
            session.server.kill()  # type: ignore[union-attr]
        sends = session.gen.gather(timeout=(end - now_ns()) / 1e9 + 60)
        collects = session.gen.broadcast({"op": "collect"}, timeout=60)
        acked = [pair for reply in sends for pair in reply["acked"]]
        durability = session.database.check_acknowledged(acked)  # type: ignore[union-attr]
        log(
            f"durability: {durability['found']}/{durability['acknowledged']} acknowledged "
            f"messages found in the database, {durability['missing']} missing"
        )
        series = session.timeseries()
    delta = Sampler.delta(before, after)
    window = merge_windows(collects, 1)
    stored = window["acks_in_window"]
    flags = load_flags(delta, window["worker_lag_p99_ms"])
    per_msg = (delta.server_cpu + delta.db_cpu) * 1000 / stored if stored else None
    metrics = {
        "shows": shows,
        "senders": n,
        "joined": joined["joined"],
        "inflight": opts.inflight,
        "senders_sending": sum(reply["senders"] for reply in sends),
        "connect": connect_summary(joined),
        "stored_per_s": round(stored / opts.duration, 1),
        "stored_in_window": stored,
        "ack_latency": window["acks"].summary_ms(),
        "acked_error_in_window": window["acked_error"],
        "ack_errors": merge_counters(sends, "ack_errors"),
        "cpu_ms_per_stored_message": round(per_msg, 4) if per_msg is not None else None,
        "server_cpu_ms_per_stored_message": round(delta.server_cpu * 1000 / stored, 4)
        if stored
        else None,
        "db_cpu_ms_per_stored_message": round(delta.db_cpu * 1000 / stored, 4) if stored else None,
        "db_aux_cpu_ms_per_stored_message": round(delta.db_aux_cpu * 1000 / stored, 4)
        if stored
        else None,
        "deliveries_per_s": round(window["arrivals"] / opts.duration, 1),
        "resources": delta.report(),
        "killed": bool(kill_at),
        "durability": durability,
        "error_events": merge_counters(collects, "errors"),
        "closed": merge_counters(collects, "closed"),
    }
    result = result_of(session, "write", opts, metrics)
    if not durability["ok"]:
        flags.append(
            {
                "kind": "durability_violation",
                "detail": f"{durability['missing']} acknowledged message(s) missing, "
                f"{durability['text_mismatch']} with other text",
            }
        )
    result["flags"] = flags
    result["targets"] = [
        target(
            "CPU per stored message (server + database)",
            metrics["cpu_ms_per_stored_message"],
            "<=",
            0.16,
            "CPU-ms",
            flags,
            load_sensitive=False,
        ),
        target(
            "acknowledged messages missing after SIGKILL"
            if kill_at
            else "acknowledged messages missing",
            durability["missing"] + durability["text_mismatch"],
            "<=",
            0,
            "messages",
            flags,
            load_sensitive=False,
        ),
    ]
    result["throughput"] = per_second(collects, "ack_seconds", session.origin)
    result["timeseries"] = series
    result["marks"] = {
        "window start": round(t0 / S - session.origin, 2),
        "window end": round(t1 / S - session.origin, 2),
    }
    if kill_at:
        result["marks"]["SIGKILL"] = round(kill_at / S - session.origin, 2)
    return result

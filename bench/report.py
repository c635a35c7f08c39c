"""Results: the JSON file, the PNG plot (matplotlib, Agg) and the printed summary."""

from __future__ import annotations

import json
import math
from pathlib import Path

CHECK = {"met": "met", "missed": "MISSED", "no data": "no data"}


def write_json(result: dict, path: Path) -> None:
    path.write_text(json.dumps(result, indent=2, default=_jsonable) + "\n")


def _jsonable(value: object) -> object:
    if isinstance(value, float) and math.isinf(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return str(value)


# ---------------------------------------------------------------------------- summary


def _n(value: object, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value == int(value) and abs(value) >= 100:
            return f"{int(value):,}"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.{digits}f}" if abs(value) >= 0.1 or value == 0 else f"{value:.4f}"
    return str(value)


def machine_line(machine: dict) -> str:
    packages = machine.get("packages", {})
    return (
        f"machine: {machine['cpu_model']}, {machine['cores']} cores, "
        f"{machine['memory_gib']} GiB, Linux {machine['kernel']}; Python {machine['python']}"
        f" (uvloop {packages.get('uvloop') or 'absent'}; speed "
        f"{machine.get('python_speed_kops', '?')} kops/CPU-s); PostgreSQL "
        f"{machine.get('postgres_version', '?')}; served code: "
        f"{machine.get('served_code', machine['git_commit'])}"
    )


def _latency_line(label: str, summary: dict) -> str:
    return (
        f"{label}: p50 {_n(summary.get('p50_ms'))} ms, p95 {_n(summary.get('p95_ms'))} ms, "
        f"p99 {_n(summary.get('p99_ms'))} ms, max {_n(summary.get('max_ms'))} ms "
        f"({_n(summary.get('count'))} samples)"
    )


def _resources_line(resources: dict) -> str:
    return (
        f"CPU (cores, mean): server {resources['server_cores']:.2f}, generator "
        f"{resources['generator_cores']:.2f} (workers {resources['generator_worker_cores']}), "
        f"postgres backends {resources['db_backend_cores']:.2f}, machine "
        f"{resources['machine_busy_cores']:.2f}/{resources['cores']}, others "
        f"{resources['other_cores']:.2f} (of which stolen by the hypervisor "
        f"{resources.get('steal_cores', 0.0):.2f})"
    )


def _storm_wave_lines(m: dict) -> list[str]:
    """One wave of a storm: joins, latencies, CPU and bytes per join, resources."""
    return [
        f"joined {m['joined']:,}/{m['clients']:,}; time until all joined "
        f"{_n(m['time_to_all_joined_s'])} s (last join at {_n(m['time_to_last_join_s'])} s, "
        f"{_n(m['joins_per_s'])} joins/s)",
        _latency_line("join latency (join_show -> active_users)", m["join_latency"]),
        _latency_line("connect latency (TCP connect -> connected)", m["connect_latency"]),
        _latency_line("generator loop lag (its timestamps include it)", m["generator_loop_lag"]),
        f"server CPU per join {_n(m['server_cpu_ms_per_join'], 3)} ms (until the last join: "
        f"{_n(m['server_cpu_ms_per_join_until_joined'], 3)} ms); server bytes per join "
        f"{_n(m['server_bytes_per_join'])} ({_n(m['bytes_received_by_clients'])} bytes "
        f"received in all; broadcasts went on {_n(m['broadcast_tail_s'])} s after the last join)",
        _resources_line(m["resources"]),
    ]


def scenario_lines(result: dict) -> list[str]:
    m = result["metrics"]
    name = result["scenario"]
    o = result["options"]
    lines: list[str] = []
    if name == "fanout":
        lines += [
            f"load: {m['joined']:,} clients in one show; {o['rate']:g} msg/s from {m['senders']} "
            f"senders = {m['offered_deliveries_per_s']:,.0f} deliveries/s offered; "
            f"{o['duration']:g}s measured after {o['warmup']:g}s warm-up",
            f"deliveries/s {_n(m['deliveries_per_s'])}; delivery ratio {_n(m['delivery_ratio'], 6)}"
            f" ({m['delivered']:,} of {m['expected']:,}); messages sent {m['sent']:,}, acked ok "
            f"{m['acked_ok']:,}, failed {m['acked_error']:,}",
            _latency_line("delivery latency (send -> receive)", m["latency"]),
            _latency_line("ack latency (send -> ack)", m["ack_latency"]),
            f"server CPU per 1,000 deliveries: {_n(m['server_cpu_s_per_1000_deliveries'], 4)} s",
            _resources_line(m["resources"]),
        ]
    elif name == "saturate":
        lines.append(
            f"load: {m['joined']:,} clients in one show; rate x{o['factor']:g} per "
            f"step from {o['start_rate']:g} msg/s; {o['step_duration']:g}s per step"
        )
        lines.append(
            "  step  msg/s  sent  offered del/s  delivered/s   ratio    p50 ms   p99 ms   "
            "max ms  server cores  gen cores  ok"
        )
        for s in result.get("steps", []):
            lines.append(
                f"  {s['step']:>4} {s['rate_msgs_per_s']:>6.0f} {s['sent']:>5} "
                f"{s['offered_deliveries_per_s']:>14,.0f}"
                f" {s['deliveries_per_s']:>12,.0f} {_n(s['delivery_ratio'], 4):>7} "
                f"{_n(s['latency']['p50_ms']):>8} {_n(s['latency']['p99_ms']):>8} "
                f"{_n(s['latency']['max_ms']):>8} {s['resources']['server_cores']:>13.2f} "
                f"{max(s['resources']['generator_worker_cores'] or [0]):>10.2f}  "
                f"{'yes' if s['sustained'] else 'no'}"
            )
        lines.append(
            f"highest sustained: {_n(m['max_sustained_deliveries_per_s'])} deliveries/s "
            f"= {_n(m['max_sustained_msgs_per_s'])} msg/s (step "
            f"{_n(m['max_sustained_step'])}); stopped: {m['stop_reason']}"
        )
    elif name == "storm":
        lines += [
            f"load: {m['clients']:,} clients connect and join one show at once",
            *_storm_wave_lines(m),
        ]
        r = m.get("rejoin")
        if r is not None:
            lines.append(
                f"rejoin (every client closed: the server was busy "
                f"{_n(r['server_busy_after_all_closed_s'])} s; then all reconnected at "
                "once with the same tokens):"
            )
            lines += ["  " + line for line in _storm_wave_lines(r)]
            lines += [f"  ! {flag['kind']}: {flag['detail']}" for flag in r["flags"]]
    elif name == "write":
        d = m["durability"]
        lines += [
            f"load: {m['senders']:,} senders in {m['shows']} shows, closed loop "
            f"({m['inflight']} in flight each); {o['duration']:g}s measured after "
            f"{o['warmup']:g}s warm-up",
            f"stored/s {_n(m['stored_per_s'])} ({m['stored_in_window']:,} acknowledged in the "
            f"window); failed acks {m['acked_error_in_window']:,}",
            _latency_line("ack latency (send -> ack after commit)", m["ack_latency"]),
            f"CPU per stored message: {_n(m['cpu_ms_per_stored_message'], 4)} ms = server "
            f"{_n(m['server_cpu_ms_per_stored_message'], 4)} + postgres backends "
            f"{_n(m['db_cpu_ms_per_stored_message'], 4)} (postgres shared processes "
            f"{_n(m['db_aux_cpu_ms_per_stored_message'], 4)}, not counted)",
            f"durability{' after SIGKILL' if m['killed'] else ''}: {d['found']:,} of "
            f"{d['acknowledged']:,} acknowledged messages in the database, {d['missing']} missing,"
            f" {d['text_mismatch']} with other text; {d['stored_not_acknowledged']} stored but not"
            f" acknowledged (in flight at the kill) -> {'OK' if d['ok'] else 'VIOLATED'}",
            _resources_line(m["resources"]),
        ]
    elif name == "idle":
        lines += [
            f"load: {m['clients']:,} idle connections (connected, in no show), held "
            f"{_n(m['hold_s'])} s",
            f"connected {m['connected']:,} in {_n(m['connect_time_s'])} s; still open after the "
            f"hold {m['open_after_hold']:,}",
            f"server RSS {_n(m['server_rss_before_kib'])} KiB before -> "
            f"{_n(m['server_rss_after_kib'])} KiB with the connections -> "
            f"{_n(m['server_rss_after_close_kib'])} KiB after closing them",
            f"RSS per connection {_n(m['rss_per_connection_kib'])} KiB; server CPU per connect "
            f"{_n(m['server_cpu_ms_per_connect'], 3)} ms; idle server CPU "
            f"{m['server_idle_cores'] * 100:.1f}% of a core",
        ]
    return lines


def summary(result: dict) -> str:
    lines = [
        f"== sharemyshows-rt benchmark: {result['scenario']} ({result['started_at']}, "
        f"{result['elapsed_s']:.0f}s)",
        machine_line(result["machine"]),
    ]
    lines += scenario_lines(result)
    targets = result.get("targets", [])
    if targets:
        lines.append("targets:")
        for t in targets:
            lines.append(
                f"  {t['name']:<44} {_n(t['measured'], 4):>14} {t['unit']:<13} "
                f"target {t['target']:<10} {CHECK.get(t['verdict'], t['verdict'])}"
            )
    flags = result.get("flags", [])
    lines.append("flags: " + ("none" if not flags else ""))
    for flag in flags:
        lines.append(f"  ! {flag['kind']}: {flag['detail']}")
    log = result["server"]["log"]
    down = log.get("teardown", {})
    lines.append(f"server log ({log.get('lines', 0)} lines, {result['server']['log_path']}):")
    lines.append(
        f"  during the run: {log.get('errors', 0)} error(s), {log.get('warnings', 0)} "
        f"warning(s), {log.get('tracebacks', 0)} traceback(s)"
    )
    for example in log.get("examples", [])[:5]:
        lines.append(f"    {example[:220]}")
    settle = result["server"].get("settle_after_clients_closed_s")
    if not result["server"].get("killed_by_harness"):
        lines.append(
            "  after every client closed, the server was busy for "
            + (f"{settle:g} s" if settle is not None else "over 60 s (still busy)")
            + " (disconnect handling)"
        )
    lines.append(
        f"  during the teardown (clients closed, then SIGTERM): {down.get('errors', 0)} "
        f"error(s), {down.get('warnings', 0)} warning(s), {down.get('tracebacks', 0)} "
        f"traceback(s); server exit code {result['server']['exit_code']}"
        + (" (killed by the harness)" if result["server"].get("killed_by_harness") else "")
    )
    for example in down.get("examples", [])[:3]:
        lines.append(f"    {example[:220]}")
    tcp = result.get("kernel_tcp") or {}
    if tcp:
        lines.append(
            f"kernel TCP during the run (whole machine): {tcp.get('ListenOverflows', 0):,} "
            f"listen-queue overflows, {tcp.get('TCPTimeouts', 0):,} retransmission timeouts, "
            f"{tcp.get('TCPSynRetrans', 0):,} SYN retransmits, {tcp.get('RetransSegs', 0):,} "
            "segments retransmitted"
            + (
                " (connections the kernel dropped: clients waited for their retries)"
                if tcp.get("ListenOverflows") or tcp.get("TCPTimeouts")
                else ""
            )
        )
    if result.get("background_cores") is not None:
        lines.append(f"machine load before the start: {result['background_cores']:.2f} cores busy")
    lines.append(f"result: {result['json_path']}")
    if result.get("plot_path"):
        lines.append(f"plot:   {result['plot_path']}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- plots


def plot(result: dict, path: Path) -> Path | None:
    """Draw the scenario's PNG; None when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    name = result["scenario"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    {
        "fanout": _plot_fanout,
        "saturate": _plot_saturate,
        "storm": _plot_storm,
        "write": _plot_write,
        "idle": _plot_idle,
    }[name](result, left, right)
    machine = result["machine"]
    fig.suptitle(
        f"sharemyshows-rt {name} - {result['started_at']} - {machine['cpu_model']}, "
        f"{machine['cores']} cores, Python {machine['python']}",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


PERCENTILES = (("p50_ms", "p50"), ("p95_ms", "p95"), ("p99_ms", "p99"), ("max_ms", "max"))


def _latency_vs_rate(ax, steps: list[dict], limit: float | None) -> None:
    xs = [s["offered_deliveries_per_s"] for s in steps]
    for key, label in PERCENTILES:
        ys = [s["latency"].get(key) for s in steps]
        pts = [(x, y) for x, y in zip(xs, ys) if y is not None]
        if pts:
            ax.plot([p[0] for p in pts], [max(p[1], 0.01) for p in pts], marker="o", label=label)
    if limit:
        ax.axhline(limit, color="red", linestyle="--", linewidth=1, label=f"{limit:g} ms limit")
    ax.set_yscale("log")
    ax.set_xlabel("offered load (deliveries/s = msg/s x clients in the show)")
    ax.set_ylabel("delivery latency, send -> receive (ms)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)


def _cpu_over_time(ax, result: dict) -> None:
    rows = result.get("timeseries", [])
    if not rows:
        return
    t = [r["t"] for r in rows]
    ax.plot(t, [r["server_cores"] for r in rows], label="server")
    ax.plot(t, [sum(r["generator_cores"]) for r in rows], label="generator (all workers)")
    ax.plot(t, [r["db_cores"] for r in rows], label="postgres backends")
    ax.plot(t, [r["machine_cores"] for r in rows], label="machine", color="grey", alpha=0.5)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("CPU (cores)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)


def _plot_fanout(result: dict, left, right) -> None:
    m = result["metrics"]
    _latency_vs_rate(left, [m], 100)
    left.set_title(
        f"latency at {m['offered_deliveries_per_s']:,.0f} deliveries/s offered "
        f"({m['deliveries_per_s']:,.0f}/s delivered)",
        fontsize=9,
    )
    series = result.get("throughput", [])
    if series:
        right.bar(
            [s[0] for s in series],
            [s[1] for s in series],
            width=0.9,
            alpha=0.3,
            color="tab:green",
            label="deliveries/s",
        )
        right.set_ylabel("deliveries per second")
        right.legend(loc="upper left", fontsize=8)
        twin = right.twinx()
        _cpu_over_time(twin, result)
        twin.legend(loc="upper right", fontsize=8)
    right.set_title("deliveries and CPU over time", fontsize=9)


def _plot_saturate(result: dict, left, right) -> None:
    steps = result.get("steps", [])
    _latency_vs_rate(left, steps, result["options"]["p99_limit_ms"])
    best = result["metrics"]["max_sustained_deliveries_per_s"]
    if best:
        left.axvline(best, color="green", linestyle=":", label="max sustained")
        left.legend(fontsize=8)
    left.set_title("latency percentiles vs offered rate", fontsize=9)
    xs = [s["offered_deliveries_per_s"] for s in steps]
    right.plot(xs, [s["deliveries_per_s"] for s in steps], marker="o", label="delivered/s")
    right.plot(xs, xs, linestyle="--", color="grey", label="offered")
    right.set_xlabel("offered load (deliveries/s)")
    right.set_ylabel("deliveries/s")
    twin = right.twinx()
    twin.plot(
        xs,
        [s["resources"]["server_cores"] for s in steps],
        color="tab:red",
        marker="s",
        label="server CPU (cores)",
    )
    twin.plot(
        xs,
        [max(s["resources"]["generator_worker_cores"] or [0]) for s in steps],
        color="tab:purple",
        marker="^",
        label="busiest generator worker (cores)",
    )
    twin.set_ylabel("CPU (cores)")
    twin.set_ylim(0, max(1.1, max([s["resources"]["server_cores"] for s in steps] or [1]) * 1.1))
    right.legend(loc="upper left", fontsize=8)
    twin.legend(loc="lower right", fontsize=8)
    right.grid(True, alpha=0.3)
    right.set_title("throughput and CPU vs offered rate", fontsize=9)


def _plot_storm(result: dict, left, right) -> None:
    joins = result.get("joins", {})
    ready = joins.get("ready_s", [])
    if ready:
        left.plot(ready, range(1, len(ready) + 1))
    left.axvline(10, color="red", linestyle="--", linewidth=1, label="10 s target")
    left.set_xlabel("time since the storm started (s)")
    left.set_ylabel("clients joined")
    left.grid(True, alpha=0.3)
    left.legend(fontsize=8)
    left.set_title("joined clients over time", fontsize=9)
    latencies = sorted(joins.get("join_ms", []))
    if latencies:
        n = len(latencies)
        right.plot(latencies, [100.0 * (i + 1) / n for i in range(n)])
        right.set_xscale("log")
    right.axvline(200, color="red", linestyle="--", linewidth=1, label="200 ms target (p99)")
    right.set_xlabel("join latency, join_show -> active_users (ms)")
    right.set_ylabel("% of joins at most this slow")
    right.grid(True, which="both", alpha=0.3)
    right.legend(fontsize=8)
    right.set_title("join latency distribution", fontsize=9)


def _marks(ax, result: dict) -> None:
    for label, at in result.get("marks", {}).items():
        ax.axvline(at, color="grey", linestyle=":", linewidth=1)
        ax.annotate(
            label,
            (at, 1.0),
            xycoords=("data", "axes fraction"),
            rotation=90,
            fontsize=7,
            va="top",
            ha="right",
        )


def _plot_write(result: dict, left, right) -> None:
    series = result.get("throughput", [])
    if series:
        left.bar([s[0] for s in series], [s[1] for s in series], width=0.9, color="tab:blue")
    _marks(left, result)
    _marks(right, result)
    left.set_xlabel("time (s)")
    left.set_ylabel("messages stored and acknowledged per second")
    left.grid(True, alpha=0.3)
    left.set_title(
        "stored messages/s (the drop is the SIGKILL)"
        if result["metrics"]["killed"]
        else "stored messages/s",
        fontsize=9,
    )
    _cpu_over_time(right, result)
    right.set_title("CPU over time", fontsize=9)


def _plot_idle(result: dict, left, right) -> None:
    rows = result.get("timeseries", [])
    t = [r["t"] for r in rows]
    left.plot(t, [(r["server_rss_kib"] or 0) / 1024 for r in rows])
    _marks(left, result)
    left.set_xlabel("time (s)")
    left.set_ylabel("server RSS (MiB)")
    left.grid(True, alpha=0.3)
    m = result["metrics"]
    left.set_title(
        f"server RSS: {_n(m['rss_per_connection_kib'])} KiB per idle connection "
        f"({m['connected']:,} connections)",
        fontsize=9,
    )
    _cpu_over_time(right, result)
    right.set_title("CPU over time", fontsize=9)

"""What the scenarios share: their session, sender choice, result skeleton, and `run`.

The scenarios of issue #6 live in fanout.py (fanout, saturate), storm.py, write.py and
idle.py; each takes its options, runs a Session and returns a result dict (metrics, targets,
flags, raw series for the plot)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from .session import Session, exact_summary_ms

S = 1_000_000_000  # ns


def open_session(opts: SimpleNamespace, name: str, users: int, shows: int) -> Session:
    return Session(
        name=name,
        users=users,
        shows=shows,
        workers=opts.workers,
        log_path=opts.server_log,
        server_env=opts.server_env,
        keep_db=opts.keep_db,
        source=opts.source,
        preflight=getattr(opts, "preflight", 1.0),
    )


def deal_senders(session: Session, count: int, clients: int) -> list[list[int]]:
    """Indexes of `count` senders spread evenly over the clients, dealt to the workers."""
    count = max(1, min(count, clients))
    chosen = sorted({(i * clients) // count for i in range(count)})
    per = [[] for _ in range(session.workers)]
    for index in chosen:
        per[index % session.workers].append(index)
    return per


def connect_summary(joined: dict) -> dict:
    return {
        "ready": joined["ready"],
        "connect_latency": exact_summary_ms(joined["connect_ms"]),
        "join_latency": exact_summary_ms(joined["join_ms"]),
        "refused": joined["refused"],
    }


def per_second(collects: list[dict], key: str, origin: float) -> list[list[float]]:
    """[[seconds since the session started, count], ...] summed over workers."""
    merged: dict[int, int] = {}
    for collect in collects:
        for second, n in collect.get(key, {}).items():
            merged[int(second)] = merged.get(int(second), 0) + n
    return [[round(second - origin, 1), n] for second, n in sorted(merged.items())]


def result_of(session: Session, scenario: str, opts: SimpleNamespace, metrics: dict) -> dict:
    server = session.server
    return {
        "scenario": scenario,
        "options": {
            k: v
            for k, v in vars(opts).items()
            if k not in ("server_log", "server_env", "source") and not callable(v)
        },
        "server": {
            "env": server.config if server else {},
            "exit_code": session.server_exit,
            "settle_after_clients_closed_s": session.settle_s,
            "served_from": session.served_from,
            "killed_by_harness": bool(server and server.killed),
            "log": session.log_report,
            "log_path": str(session.log_path),
        },
        "postgres_version": session.postgres_version,
        "background_cores": session.background_cores,
        "kernel_tcp": session.tcp_during,
        "phases_s": session.phases,
        "generator_workers": session.workers,
        "metrics": metrics,
    }


def run(name: str, opts: SimpleNamespace) -> dict[str, Any]:
    """Run scenario `name` (fanout, saturate, storm, write, idle) with `opts`."""
    from . import fanout, idle, storm, write

    return {
        "fanout": fanout.fanout,
        "saturate": fanout.saturate,
        "storm": storm.storm,
        "write": write.write,
        "idle": idle.idle,
    }[name](opts)

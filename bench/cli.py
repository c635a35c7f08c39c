"""`bench/run SCENARIO [options]`: run one scenario (or `smoke`: all of them, briefly)."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

from . import report, scenarios
from .measure import machine_info
from .server import HarnessError, export_source
from .session import ROOT, log

RESULTS = ROOT / "bench" / "results"
EXIT_OK, EXIT_HARNESS, EXIT_DURABILITY = 0, 1, 3


def _env_pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    return name.upper(), value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bench/run",
        description="Benchmark sharemyshows-rt against a real server and "
        "PostgreSQL on this machine (see bench/README.md).",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--workers", type=int, default=2, help="load generator processes (default 2)"
    )
    common.add_argument(
        "--server-env",
        type=_env_pair,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra server environment (repeatable), e.g. LOG_LEVEL=WARNING",
    )
    common.add_argument("--keep-db", action="store_true", help="do not drop the database")
    common.add_argument(
        "--rev",
        metavar="GIT_REV",
        help="serve the code of this git revision (e.g. HEAD) instead of the "
        "working tree: src/ and alembic/ are exported to a temporary directory",
    )
    common.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    common.add_argument("--size", type=int, default=64, help="chat message length (default 64)")
    common.add_argument(
        "--connect-timeout",
        type=float,
        default=180.0,
        help="seconds for all clients to connect and join (default 180)",
    )
    sub = parser.add_subparsers(dest="scenario", required=True)

    p = sub.add_parser("fanout", parents=[common], help="N clients in one show, fixed rate")
    p.add_argument("--clients", type=int, default=1000)
    p.add_argument("--rate", type=float, default=60.0, help="messages/s, all senders (default 60)")
    p.add_argument("--senders", type=int, default=50, help="clients that send (default 50)")
    p.add_argument("--duration", type=float, default=20.0, help="measured seconds (default 20)")
    p.add_argument("--warmup", type=float, default=3.0)

    p = sub.add_parser("saturate", parents=[common], help="fanout, rate stepped up to the limit")
    p.add_argument("--clients", type=int, default=1000)
    p.add_argument("--start-rate", type=float, default=10.0, help="first step's msg/s (10)")
    p.add_argument("--factor", type=float, default=1.3, help="rate multiplier per step (1.3)")
    p.add_argument("--step-duration", type=float, default=6.0, help="measured s per step (6)")
    p.add_argument("--warmup", type=float, default=2.0, help="warm-up s per step (2)")
    p.add_argument("--max-steps", type=int, default=20)
    p.add_argument(
        "--min-messages",
        type=int,
        default=60,
        help="a step lasts long enough to send at least this many messages (60)",
    )
    p.add_argument("--senders", type=int, default=50)
    p.add_argument("--p99-limit-ms", type=float, default=250.0)

    p = sub.add_parser("storm", parents=[common], help="N clients connect and join at once")
    p.add_argument("--clients", type=int, default=5000)
    p.add_argument(
        "--timeout", type=float, default=120.0, help="seconds to wait for every join (default 120)"
    )
    p.add_argument(
        "--tail",
        type=float,
        default=60.0,
        help="seconds to wait for the presence broadcasts to end (default 60)",
    )
    p.add_argument(
        "--concurrency",
        type=int,
        default=0,
        help="handshakes in progress per worker (default 0: all at once)",
    )
    p.add_argument(
        "--rejoin",
        action="store_true",
        help="then every client closes and all reconnect at once with the same "
        "tokens (a venue's Wi-Fi coming back); measured separately",
    )

    p = sub.add_parser("write", parents=[common], help="many shows and senders; durability")
    p.add_argument("--shows", type=int, default=200)
    p.add_argument("--senders", type=int, default=2000)
    p.add_argument("--inflight", type=int, default=1, help="unacked messages per sender (1)")
    p.add_argument("--duration", type=float, default=20.0)
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument(
        "--kill-after",
        type=float,
        default=1.0,
        help="SIGKILL the server this long after the window, still under load (1)",
    )
    p.add_argument(
        "--no-kill",
        dest="kill",
        action="store_false",
        help="stop sending instead of killing the server",
    )

    p = sub.add_parser("idle", parents=[common], help="N idle connections: memory")
    p.add_argument("--clients", type=int, default=10000)
    p.add_argument("--hold", type=float, default=10.0, help="seconds held before measuring")
    p.add_argument(
        "--concurrency",
        type=int,
        default=250,
        help="handshakes in progress per worker (default 250)",
    )
    p.add_argument(
        "--pause",
        type=float,
        default=1.0,
        help="seconds to let the server settle before measuring RSS (default 1)",
    )

    sub.add_parser(
        "smoke", parents=[common], help="every scenario with tens of clients for a few seconds (CI)"
    )
    return parser


def _stamp() -> tuple[str, str]:
    now = datetime.now(UTC)
    return now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y-%m-%dT%H:%M:%SZ")


def run_one(name: str, opts: SimpleNamespace, prefix: Path, machine: dict) -> dict:
    """Run a scenario; write its JSON and PNG beside `prefix`; print its summary."""
    stamp, started_at = _stamp()
    opts.server_log = prefix.with_name(prefix.name + "-server.log")
    began = time.monotonic()
    result = scenarios.run(name, opts)
    result["started_at"] = started_at
    result["elapsed_s"] = round(time.monotonic() - began, 1)
    result["machine"] = dict(machine, postgres_version=result.get("postgres_version"))
    json_path = prefix.with_suffix(".json")
    png_path = prefix.with_suffix(".png")
    result["json_path"] = str(json_path)
    try:
        result["plot_path"] = str(report.plot(result, png_path) or "") or None
    except Exception as exc:  # a broken plot must not lose the measurement
        result["plot_path"] = None
        result["plot_error"] = f"{type(exc).__name__}: {exc}"
        log(f"plot failed: {result['plot_error']}")
    report.write_json(result, json_path)
    print(report.summary(result), flush=True)
    return result


SMOKE = {
    "fanout": {"clients": 30, "rate": 20.0, "senders": 5, "duration": 1.5, "warmup": 0.3},
    "saturate": {
        "clients": 30,
        "start_rate": 20.0,
        "factor": 2.0,
        "step_duration": 0.8,
        "warmup": 0.2,
        "max_steps": 2,
        "senders": 5,
        "p99_limit_ms": 250.0,
        "min_messages": 10,
    },
    "storm": {"clients": 60, "timeout": 20.0, "tail": 3.0, "concurrency": 0, "rejoin": True},
    "write": {
        "shows": 5,
        "senders": 20,
        "inflight": 1,
        "duration": 1.5,
        "warmup": 0.3,
        "kill_after": 0.3,
        "kill": True,
    },
    "idle": {"clients": 100, "hold": 0.5, "concurrency": 100, "pause": 0.3},
}


def smoke(args: argparse.Namespace, machine: dict, stamp: str) -> int:
    """Every scenario, briefly. Fails only when the harness cannot measure, never on numbers."""
    failures = []
    outcomes: dict[str, dict] = {}
    began = time.monotonic()
    for name, sizes in SMOKE.items():
        opts = SimpleNamespace(**vars(args))
        opts.connect_timeout = 30.0
        opts.preflight = 0.3
        for key, value in sizes.items():
            setattr(opts, key, value)
        opts.scenario = name
        try:
            result = run_one(name, opts, args.out / f"{stamp}-smoke-{name}", machine)
            outcomes[name] = {
                "measured": True,
                "json": result["json_path"],
                "targets": {t["name"]: t["verdict"] for t in result["targets"]},
            }
        except Exception as exc:
            failures.append(name)
            outcomes[name] = {"measured": False, "error": f"{type(exc).__name__}: {exc}"}
            log(f"smoke {name} FAILED: {type(exc).__name__}: {exc}")
            traceback.print_exc()
    elapsed = time.monotonic() - began
    report.write_json(
        {
            "scenario": "smoke",
            "machine": machine,
            "elapsed_s": round(elapsed, 1),
            "harness_ok": not failures,
            "scenarios": outcomes,
        },
        args.out / f"{stamp}-smoke.json",
    )
    print(
        f"== smoke: {len(SMOKE) - len(failures)} of {len(SMOKE)} scenarios measured in "
        f"{elapsed:.0f}s" + (f"; harness failures: {', '.join(failures)}" if failures else ""),
        flush=True,
    )
    return EXIT_HARNESS if failures else EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.server_env = dict(args.server_env)
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    machine = machine_info(ROOT)
    stamp, _ = _stamp()
    with tempfile.TemporaryDirectory(prefix="sms-bench-src-") as tmp:
        args.source = None
        if args.rev:
            try:
                sha = export_source(ROOT, args.rev, Path(tmp))
            except HarnessError as exc:
                log(f"harness error: {exc}")
                return EXIT_HARNESS
            args.source = Path(tmp)
            machine["served_code"] = f"git revision {args.rev} = {sha[:12]} (exported)"
        else:
            machine["served_code"] = "working tree" + (
                " with uncommitted changes in src/"
                if machine["git_src_dirty"]
                else f" = {machine['git_commit']}"
            )
        return _main(args, machine, stamp)


def _main(args: argparse.Namespace, machine: dict, stamp: str) -> int:
    print(report.machine_line(dict(machine, postgres_version="(local)")), flush=True)
    if args.scenario == "smoke":
        return smoke(args, machine, stamp)
    opts = SimpleNamespace(**vars(args))
    clients = max(getattr(opts, "clients", 0), getattr(opts, "senders", 0))
    if clients + 1000 > machine["ephemeral_ports"]:
        log(
            f"warning: {clients} clients but only {machine['ephemeral_ports']} ephemeral ports "
            "(net.ipv4.ip_local_port_range): connections may fail with EADDRNOTAVAIL"
        )
    if 2 * clients + 1000 > machine["nofile_limit"]:
        log(f"warning: ulimit -n is {machine['nofile_limit']}: too low for {clients} clients")
    try:
        result = run_one(args.scenario, opts, args.out / f"{stamp}-{args.scenario}", machine)
    except HarnessError as exc:
        log(f"harness error: {exc}")
        return EXIT_HARNESS
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    if args.scenario == "write" and not result["metrics"]["durability"]["ok"]:
        return EXIT_DURABILITY
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

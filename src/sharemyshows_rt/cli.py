"""`sharemyshows-rt migrate | serve | token | vapid-keys | moderators`: the operator's
commands."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from . import __version__, cli_moderators
from .config import SECRET_MIN_BYTES, ConfigError, Settings, load_settings

log = logging.getLogger("sharemyshows_rt")


class CommandError(Exception):
    """A command cannot go on; the message is its one line for the operator."""


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (ConfigError, CommandError) as exc:
        print(f"sharemyshows-rt: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `sharemyshows-rt token 1 | head -c 10`
        return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sharemyshows-rt", description="Real-time chat and presence for ShareMyShows."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    migrate = commands.add_parser("migrate", help="apply every database migration (idempotent)")
    migrate.set_defaults(run=_migrate)

    serve = commands.add_parser("serve", help="serve HTTP and Socket.IO")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8000, help="port to bind (default 8000)")
    serve.add_argument(
        "--workers",
        type=_positive,
        default=1,
        metavar="N",
        help="processes sharing the port (N > 1 requires REDIS_URL)",
    )
    serve.set_defaults(run=_serve)

    token = commands.add_parser("token", help="print a signed access token for a user")
    token.add_argument("user_id", type=_positive, metavar="USER_ID")
    token.add_argument(
        "--expires-in",
        type=_positive,
        default=3600,
        metavar="SECONDS",
        help="lifetime in seconds (default 3600)",
    )
    token.set_defaults(run=_token)

    vapid = commands.add_parser("vapid-keys", help="print a new VAPID key pair for Web Push")
    vapid.set_defaults(run=_vapid_keys)
    cli_moderators.add_parser(commands).set_defaults(run=_moderators)
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value} is not positive")
    return value


def _port(text: str) -> int:
    value = _positive(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port")
    return value


def _settings() -> Settings:
    settings = load_settings()
    from . import logs

    logs.configure(settings.log_level, settings.log_json)
    return settings


def _migrate(args: argparse.Namespace) -> int:
    settings = _settings()
    _upgrade(settings)
    print(f"sharemyshows-rt: database {_where(settings)} is up to date")
    return 0


def _upgrade(settings: Settings) -> None:
    from .db.migrate import upgrade

    try:
        upgrade(settings.sqlalchemy_url)
    except Exception as exc:
        raise CommandError(f"cannot migrate {_where(settings)}: {_reason(exc)}") from None


def _where(settings: Settings) -> str:
    return settings.sqlalchemy_url.render_as_string(hide_password=True)


def _reason(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def _token(args: argparse.Namespace) -> int:
    from .chat.auth import issue_token

    settings = load_settings()
    print(issue_token(settings.jwt_secret, args.user_id, expires_in=args.expires_in))
    return 0


def _moderators(args: argparse.Namespace) -> int:
    try:
        lines = cli_moderators.run(_settings(), args)
    except cli_moderators.BadInput as exc:
        raise CommandError(str(exc)) from None
    except Exception as exc:
        raise CommandError(f"cannot change moderators: {_reason(exc)}") from None
    for line in lines:
        print(line)
    return 0


def _vapid_keys(args: argparse.Namespace) -> int:
    from .push.keys import generate

    keys = generate()
    print(f"VAPID_PRIVATE_KEY={keys.private_key}")
    print(f"# public key (the applicationServerKey browsers subscribe with): {keys.public_key}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    settings = _settings()
    _check_exposure(settings, args.host)
    _check_upstream(settings)
    if args.workers > 1 and not settings.redis_url:
        raise CommandError(
            f"--workers {args.workers} needs REDIS_URL: separate processes "
            "share presence and messages only through Redis"
        )
    _warn_about_secrets(settings, args.host)
    if settings.is_sqlite:
        _upgrade(settings)  # the embedded default needs no set-up
    asyncio.run(_prepare(settings, args))

    from .serving import serve

    return serve(settings, args.host, args.port, args.workers)


def _check_exposure(settings: Settings, host: str) -> None:
    """Development by default (public secret, log in as anyone) stays on this host."""
    from .loopback import is_loopback

    if settings.implicit_development and not is_loopback(host):
        raise CommandError(
            f"development mode (no JWT_SECRET_KEY, SQLite) serves on loopback addresses only, "
            f"not {host!r}: set JWT_SECRET_KEY (production), or SHAREMYSHOWS_ENV=development "
            "to expose the development secret and demo login on purpose"
        )


def _warn_about_secrets(settings: Settings, host: str) -> None:
    from .loopback import is_loopback

    exposed = settings.development and not is_loopback(host)
    if settings.uses_development_secret or exposed:
        log.warning("!" * 72)
        if settings.uses_development_secret:
            log.warning("DEVELOPMENT MODE: tokens are signed with a fixed, public secret.")
        if exposed:
            log.warning(
                "DEVELOPMENT MODE ON %s: anyone who reaches this address can log in "
                "as any user (POST /api/dev/login).",
                host,
            )
        log.warning("Set JWT_SECRET_KEY (and SHAREMYSHOWS_ENV=production) before going live.")
        log.warning("!" * 72)
    if settings.jwt_secret_key is not None and len(settings.jwt_secret.encode()) < SECRET_MIN_BYTES:
        log.warning(
            "JWT_SECRET_KEY is %d bytes: an HS256 secret should have at least %d "
            "(RFC 7518 section 3.2)",
            len(settings.jwt_secret.encode()),
            SECRET_MIN_BYTES,
        )


def _check_upstream(settings: Settings) -> None:
    """Refuse (or, UPSTREAM_VERSION_CHECK=warn, log) libraries outside the tested releases:
    the transport uses their private internals (upstream.py)."""
    from .transport import upstream

    problems = upstream.out_of_range()
    if not problems:
        return
    if settings.upstream_version_check == "warn":
        for problem in problems:
            log.warning("%s; UPSTREAM_VERSION_CHECK=warn: serving anyway", problem)
        return
    raise CommandError(
        "; ".join(problems) + " (the transport relies on its internals; "
        "UPSTREAM_VERSION_CHECK=warn serves anyway)"
    )


async def _prepare(settings: Settings, args: argparse.Namespace) -> None:
    """Check the database answers and is migrated; in development, seed and print tokens."""
    from .db.engine import create_engine
    from .db.migrate import pending
    from .db.seed import demo_users, seed_demo
    from .http.devtools import BUNDLE_MISSING, demo_bundle_missing

    engine = create_engine(settings.sqlalchemy_url, timeout=settings.db_timeout)
    try:
        try:
            behind = await pending(engine, settings.sqlalchemy_url)
        except Exception as exc:
            raise CommandError(
                f"cannot reach the database {_where(settings)}: {_reason(exc)}"
            ) from None
        if behind:
            raise CommandError(
                f"the database {_where(settings)} is not migrated: "
                "run `sharemyshows-rt migrate` first"
            )
        if settings.development:
            if demo_bundle_missing():
                log.warning(BUNDLE_MISSING)
            if await seed_demo(engine):
                log.warning("empty database: seeded demo show 1 and demo users alice and bob")
            _print_demo(settings, args, await demo_users(engine))
    finally:
        await engine.dispose()


def _print_demo(settings: Settings, args: argparse.Namespace, users: list) -> None:
    from .chat.auth import issue_token

    if not users:
        return
    url = (
        f"http://{'localhost' if args.host in ('127.0.0.1', '0.0.0.0') else args.host}:{args.port}"
    )
    lines = ["", "Demo users (development mode), tokens valid for 24 hours:"]
    for user in users:
        token = issue_token(settings.jwt_secret, user.id, expires_in=86400)
        lines += [
            f"  {user.username} (user {user.id}): {token}",
            f"    const socket = io('{url}', {{ auth: {{ token: '{token}' }} }});",
        ]
    lines += ["  then: socket.emit('join_show', { show_id: 1 });", ""]
    print("\n".join(lines), file=sys.stderr, flush=True)

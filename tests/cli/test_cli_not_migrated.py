"""`serve` on a PostgreSQL database nobody migrated refuses to start, with one clear line."""

import secrets

from support.database import fresh_postgres
from support.server import free_port, run_cli
from support.settings import HOST, clean_environment


def test_serve_refuses_a_database_that_is_not_migrated(postgres_admin_url, tmp_path):
    with fresh_postgres(postgres_admin_url) as urls:
        env = clean_environment(DATABASE_URL=urls.server, JWT_SECRET_KEY=secrets.token_urlsafe(32))
        result = run_cli(
            "serve", "--host", HOST, "--port", str(free_port()), env=env, cwd=tmp_path, timeout=30
        )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{result.stderr}"
    assert "not migrated" in lines[0] and "migrate" in lines[0], lines[0]

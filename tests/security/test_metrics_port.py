"""METRICS_PORT: behind METRICS_TOKEN like /metrics, and listening on the `serve --host`
address (or METRICS_HOST), not on every address. 127.0.0.2 is this host too (all of
127.0.0.0/8 is loopback on Linux): a listener on every address answers there, one on
127.0.0.1 does not."""

import secrets
import socket

import httpx
import pytest
from support.server import ServerProcess, free_port
from support.settings import TIMEOUT, clean_environment

METRICS_TOKEN = secrets.token_urlsafe(24)


def metrics_server(tmp_path_factory, name: str, **variables: str):
    home = tmp_path_factory.mktemp(name)
    port = free_port()
    env = clean_environment(
        JWT_SECRET_KEY=secrets.token_urlsafe(48),
        METRICS_PORT=str(port),
        METRICS_TOKEN=METRICS_TOKEN,
        **variables,
    )
    server = ServerProcess(env, home / "server.log", cwd=home)
    server.start()
    return server, port


@pytest.fixture(scope="module")
def on_serve_host(tmp_path_factory):
    server, port = metrics_server(tmp_path_factory, "metrics-serve-host")
    yield port
    server.stop()


@pytest.fixture(scope="module")
def on_metrics_host(tmp_path_factory):
    server, port = metrics_server(tmp_path_factory, "metrics-host", METRICS_HOST="127.0.0.2")
    yield port
    server.stop()


def scrape(address: str, port: int, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.get(f"http://{address}:{port}/metrics", headers=headers, timeout=TIMEOUT)


def listening(address: str, port: int) -> bool:
    try:
        socket.create_connection((address, port), timeout=TIMEOUT).close()
    except ConnectionRefusedError:
        return False
    return True


@pytest.mark.parametrize(
    "token",
    [None, "wrong-token", METRICS_TOKEN[:-1], METRICS_TOKEN + "x"],
    ids=["none", "wrong", "shorter", "longer"],
)
def test_the_metrics_port_refuses_without_the_token(token, on_serve_host):
    response = scrape("127.0.0.1", on_serve_host, token)
    assert response.status_code == 401, response.text[:200]
    assert "sharemyshows_" not in response.text
    assert response.json()["error"]["message"] == "Unauthorized"


def test_the_metrics_port_answers_with_the_token(on_serve_host):
    response = scrape("127.0.0.1", on_serve_host, METRICS_TOKEN)
    assert response.status_code == 200
    assert "sharemyshows_connections" in response.text


def test_the_metrics_port_listens_on_the_serve_host_only(on_serve_host):
    assert listening("127.0.0.1", on_serve_host)
    assert not listening("127.0.0.2", on_serve_host)


def test_metrics_host_moves_the_metrics_port(on_metrics_host):
    assert not listening("127.0.0.1", on_metrics_host)
    assert scrape("127.0.0.2", on_metrics_host, METRICS_TOKEN).status_code == 200
    assert scrape("127.0.0.2", on_metrics_host).status_code == 401

"""`serve` with a release of engineio, socketio, uvicorn or websockets outside the tested
range (upstream.py): one line naming the package, its release and the range, exit 2; with
UPSTREAM_VERSION_CHECK=warn it logs that line and serves. The release is faked the way
importlib.metadata sees an installed one: a dist-info directory first on PYTHONPATH (the
code imported stays the real one)."""

import pytest
from support.server import ServerProcess, free_port, run_cli
from support.settings import HOST, clean_environment

FAKES = {
    "newer uvicorn": ("uvicorn", "0.56.0", ">=0.55,<0.56"),
    "older engineio": ("python-engineio", "4.15.0", ">=4.15.1,<4.16"),
}


def installed_as(directory, package: str, release: str) -> str:
    """A directory that, first on sys.path, makes `package` read as installed at `release`."""
    dist_info = directory / f"{package.replace('-', '_')}-{release}.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {package}\nVersion: {release}\n"
    )
    return str(directory)


@pytest.mark.parametrize("fake", FAKES)
def test_serve_refuses_a_release_outside_the_tested_range(fake, tmp_path):
    package, release, tested = FAKES[fake]
    env = clean_environment(PYTHONPATH=installed_as(tmp_path / "site", package, release))
    result = run_cli(
        "serve", "--host", HOST, "--port", str(free_port()), env=env, cwd=tmp_path, timeout=30
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"{package} {release} is outside the tested range {tested}" in lines[0]
    assert not (tmp_path / "sharemyshows_rt.db").exists()  # refused before doing anything


def test_warn_setting_serves_and_says_so(tmp_path):
    package, release, tested = FAKES["newer uvicorn"]
    env = clean_environment(
        PYTHONPATH=installed_as(tmp_path / "site", package, release), UPSTREAM_VERSION_CHECK="warn"
    )
    home = tmp_path / "home"
    home.mkdir()
    server = ServerProcess(env, tmp_path / "serve.log", cwd=home).start()
    try:
        assert f"{package} {release} is outside the tested range {tested}" in server.log()
        assert "UPSTREAM_VERSION_CHECK=warn: serving anyway" in server.log()
    finally:
        server.stop()


def test_a_bad_setting_is_one_line(tmp_path):
    env = clean_environment(UPSTREAM_VERSION_CHECK="sometimes")
    result = run_cli(
        "serve", "--host", HOST, "--port", str(free_port()), env=env, cwd=tmp_path, timeout=30
    )
    assert result.returncode == 2
    assert "UPSTREAM_VERSION_CHECK" in result.stderr.strip(), result.stderr

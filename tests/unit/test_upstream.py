"""The tested ranges of upstream.py are pyproject's ranges, hold the locked releases, and the
registry names modules that exist."""

import re
import tomllib
from pathlib import Path

import pytest

from sharemyshows_rt.transport import upstream

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "sharemyshows_rt"


def pyproject_ranges() -> dict[str, str]:
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    ranges = {}
    for dependency in dependencies:
        name, spec = re.fullmatch(r"([A-Za-z0-9_.-]+)(?:\[[^]]*\])?(.*)", dependency).groups()
        ranges[name.lower()] = spec
    return ranges


def locked(lock: str) -> dict[str, str]:
    text = (ROOT / "requirements" / lock).read_text()
    return {
        name.lower(): release
        for name, release in re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", text, re.MULTILINE)
    }


@pytest.mark.parametrize("package", upstream.TESTED)
def test_the_tested_range_is_pyprojects(package):
    assert pyproject_ranges()[package] == upstream.TESTED[package].spec


@pytest.mark.parametrize("lock", ["service.txt", "test.txt"])
@pytest.mark.parametrize("package", upstream.TESTED)
def test_the_lock_holds_the_checked_release_in_range(package, lock):
    tested = upstream.TESTED[package]
    assert locked(lock)[package] == tested.checked
    assert tested.admits(tested.checked)


def test_the_installed_releases_are_in_range():
    assert upstream.out_of_range() == []


@pytest.mark.parametrize(
    "release, admitted",
    [
        ("0.34.9", False),
        ("0.35", True),
        ("0.35.0", True),
        ("0.55.9", True),
        ("0.56", False),
        ("0.56.0rc1", False),
        ("1.0.0", False),
    ],
)
def test_releases_compare_by_their_numbers(release, admitted):
    assert upstream.Tested("0.35", "0.56", "0.55.0").admits(release) is admitted


def test_every_module_named_exists():
    for internal in upstream.INTERNALS:
        for module in internal.modules.split(", "):
            assert (PACKAGE / f"{module}.py").is_file(), internal

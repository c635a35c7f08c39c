"""The generated TypeScript event types (clients/typescript/events.d.ts) type-check against
the pinned socket.io-client: tests/js/typed-client.ts uses them with `tsc --noEmit`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

JS_DIR = Path(__file__).resolve().parents[1] / "js"

pytestmark = pytest.mark.timeout(300)  # npm ci on a first run
TSC_TIMEOUT = 120.0


def test_typed_client_compiles_with_the_generated_types(js_packages):
    tsc = js_packages / ".bin" / "tsc"
    checked = subprocess.run(
        [str(tsc), "--noEmit", "-p", str(JS_DIR / "tsconfig.json")],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=TSC_TIMEOUT,
        stdin=subprocess.DEVNULL,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr

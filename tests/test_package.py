"""The package as it ships (and as the image installs it): a wheel built from the whole tree,
installed into a clean virtual environment away from the source, runs `contactlog --help`,
`contactlog migrate` and `contactlog serve` until it answers /readyz. No Docker engine needed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import venv
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.support.mail import free_port

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.slow
def test_the_wheel_installs_and_runs_away_from_the_source(tmp_path, backend):
    if backend != "sqlite":
        pytest.skip("the package is the same on every database; its embedded default is enough")
    # Built from a copy of the tracked files, as a fresh clone holds them (and so that building
    # leaves nothing behind in the working tree).
    source = tmp_path / "source"
    for path in _run("git", "ls-files", cwd=ROOT).splitlines():
        (source / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / path, source / path)
    wheels = tmp_path / "wheels"
    _run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", wheels, source, cwd=tmp_path
    )
    [wheel] = list(wheels.glob("contactlog-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        shipped = {name.split("/", 1)[0] for name in archive.namelist()}
    tracked = _run("git", "ls-files", "*.py", cwd=ROOT).split()
    code = {path.split("/", 1)[0] for path in tracked if "/" in path}
    assert code - {"tests", "bench", "tools"} <= shipped  # every folder of code ships
    assert not {"tests", "bench", "tools"} & shipped
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    # As the image installs it: every dependency from the lock, by hash, then the wheel alone;
    # `pip check` fails if the wheel needs anything the lock does not hold.
    lock = ROOT / "requirements.lock"
    _run(
        bin_dir / "python",
        "-m",
        "pip",
        "install",
        "-q",
        "--require-hashes",
        "-r",
        lock,
        cwd=tmp_path,
    )
    _run(bin_dir / "python", "-m", "pip", "install", "-q", "--no-deps", wheel, cwd=tmp_path)
    _run(bin_dir / "python", "-m", "pip", "check", cwd=tmp_path)

    # Away from the source: nothing of the tree can be imported but what the wheel holds.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path),
        "CONTACTLOG_DATA_DIR": str(elsewhere / "data"),
        "CONTACTLOG_PASSWORD_TIME_COST": "1",
        "CONTACTLOG_PASSWORD_MEMORY_KIB": "64",
    }
    contactlog = bin_dir / "contactlog"
    assert "serve" in _run(contactlog, "--help", cwd=elsewhere, env=env)
    _run(contactlog, "migrate", cwd=elsewhere, env=env)
    port = free_port()
    server = subprocess.Popen(
        [str(contactlog), "serve", "--port", str(port)],
        cwd=elsewhere,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline, ready = time.monotonic() + 60, None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                if ready.status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
        assert ready is not None, ready
        assert ready.status_code == 200, ready
        assert ready.json()["status"] == "ready"
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_the_image_installs_that_wheel_and_nothing_else():
    """The Dockerfile copies no hand-kept list of folders: it builds and installs the wheel, and
    takes every dependency from the lock, by hash."""
    steps = [line.split() for line in (ROOT / "Dockerfile").read_text().splitlines() if line]
    copies = [step[1:] for step in steps if step[0] == "COPY"]
    assert copies == [
        [".", "."],
        ["requirements.lock", "/tmp/requirements.lock"],
        ["--from=wheel", "/wheels", "/wheels"],
    ]
    installs = [step for step in steps if step[:3] == ["RUN", "pip", "install"]]
    assert installs[0][3:6] == ["--require-hashes", "-r", "/tmp/requirements.lock"]
    assert installs[1][3:5] == ["--no-deps", "/wheels/*.whl"]
    assert any(step[:3] == ["RUN", "pip", "wheel"] for step in steps)

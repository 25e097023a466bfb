"""Local package indexes: real pypiserver instances on 127.0.0.1 standing in for TestPyPI and PyPI.

The rehearsal starts two of them (and so do the tests); :func:`index_env` gives the environment overrides that point
a registry's uploads and look-ups at them. Each server runs in its own process group (Ctrl-C at the terminal does
not reach it mid-request) and is stopped, group and all, by :meth:`LocalIndex.stop`, which also runs at interpreter
exit: a rehearsal that ends any way short of SIGKILL leaves no server behind.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from juniper_release.ecosystem.registry import ENV_INDEX_URLS, Index
from juniper_release.errors import JuniperError

START_TIMEOUT = 20.0
"""Seconds a server gets to answer ``/health`` before it counts as failed to start."""


@dataclass
class LocalIndex:
    """A pypiserver on 127.0.0.1 (anonymous upload, no overwrite, no fallback to PyPI)."""

    name: str
    directory: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def index(self) -> Index:
        return Index(self.name, self.url, f"{self.url}simple/")

    def start(self) -> None:
        """Start the server and wait for ``/health``; a server that never answers is stopped and reported."""
        exe = pypi_server()
        self.directory.mkdir(parents=True, exist_ok=True)
        cmd = [exe, "run", "-i", "127.0.0.1", "-p", str(self.port), "-a", ".", "-P", ".", "--disable-fallback"]
        self.process = subprocess.Popen(
            [*cmd, str(self.directory)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        atexit.register(self.stop)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}health", timeout=1):
                    return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        self.stop()
        raise JuniperError(
            f"local index {self.name} did not start on port {self.port}", "check that pypiserver is installed"
        )

    def stop(self) -> None:
        """Stop the server's whole process group (SIGTERM, then SIGKILL after 10 s)."""
        atexit.unregister(self.stop)
        process = self.process
        if process is None or process.poll() is not None:
            return
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait()


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)


def pypi_server() -> str:
    """The ``pypi-server`` executable beside this Python, else on PATH; a one-line error with the fix when absent."""
    beside = Path(sys.executable).parent / "pypi-server"
    found = str(beside) if beside.is_file() else shutil.which("pypi-server")
    if found is None:
        raise JuniperError(
            "pypiserver is not installed: the local indexes need its `pypi-server` command",
            f"{sys.executable} -m pip install 'pypiserver[passlib]>=2.3' (or reinstall: pip install -e .)",
        )
    return found


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def index_env(servers: Mapping[str, LocalIndex]) -> dict[str, str]:
    """The environment overrides pointing a registry's uploads and simple-API look-ups at ``servers`` (by index)."""
    env: dict[str, str] = {}
    for name, server in servers.items():
        env[ENV_INDEX_URLS[(name, "upload_url")]] = server.index.upload_url
        env[ENV_INDEX_URLS[(name, "simple_url")]] = server.index.simple_url
    return env

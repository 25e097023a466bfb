"""Shared fixtures and helpers: the registry, a generated stand-in ecosystem, real local index servers, and running
the front doors (``invoke`` tasks and ``nox`` sessions) as a maintainer would."""

from __future__ import annotations

import contextlib
import http.server
import os
import subprocess
import sys
import threading
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))  # the engine, used from the checkout (not installed)

from juniper_release.ecosystem.registry import Registry, load_registry  # noqa: E402
from juniper_release.errors import remember_target  # noqa: E402
from juniper_release.release.options import Options  # noqa: E402
from juniper_release.sandbox.localindex import LocalIndex, free_port, index_env  # noqa: E402
from juniper_release.sandbox.standin import GIT_ENV, Ecosystem, create_ecosystem  # noqa: E402

PACKAGE_NAMES = (
    "juniper-data-client",
    "juniper-cascor-client",
    "juniper-cascor-worker",
    "juniper-data",
    "juniper-cascor",
    "juniper-ml",
)
"""The six packages, in repos.toml order (layer 0: the first three; layer 1: the next two; layer 2: juniper-ml)."""

RELEASE_ORDER = (*sorted(PACKAGE_NAMES[:3]), *sorted(PACKAGE_NAMES[3:5]), PACKAGE_NAMES[5])
"""The expected release order: layer by layer, by name within a layer."""


@pytest.fixture(autouse=True)
def _git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests use their own git identity and never the machine's global config."""
    for key, value in GIT_ENV.items():
        if not key.endswith("_DATE"):
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("UV_PYTHON_DOWNLOADS", "never")
    for var in ("JUNIPER_WORKSPACE", "JUNIPER_TORCH_SOURCE", "GITHUB_TOKEN", "GH_TOKEN", "TWINE_PASSWORD"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(autouse=True)
def _no_remembered_target() -> Iterator[None]:
    """The target flags one test's ``frontdoor.target()`` remembers for Fix: hints never leak into the next."""
    remember_target()
    yield
    remember_target()


@pytest.fixture(scope="module", autouse=True)
def cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Each test module gets its own JUNIPER_CACHE_DIR: no test reads or writes the repository's .juniper/."""
    path = tmp_path_factory.mktemp("juniper-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUNIPER_CACHE_DIR", str(path))
        mp.setenv("UV_PYTHON_DOWNLOADS", "never")
        yield path


@pytest.fixture(scope="session")
def registry() -> Registry:
    return load_registry(ROOT / "repos.toml", env={})


EcosystemFactory = Callable[..., Ecosystem]


@pytest.fixture
def make_ecosystem(tmp_path: Path, registry: Registry) -> EcosystemFactory:
    """Build a stand-in ecosystem: ``make_ecosystem("seed")``, ``make_ecosystem("cycle,missing-license")``."""
    counter = iter(range(1000))

    def factory(defects: str | None = None, **kwargs: object) -> Ecosystem:
        base = tmp_path / f"eco{next(counter)}"
        return create_ecosystem(base / "ws", registry, defects, remotes=base / "remotes", **kwargs)  # type: ignore[arg-type]

    return factory


@pytest.fixture
def ecosystem(make_ecosystem: EcosystemFactory) -> Ecosystem:
    """A clean stand-in ecosystem (every package released and up to date)."""
    return make_ecosystem()


# ----------------------------------------------------------------------------------------------- index servers


IndexServer = LocalIndex
"""A real pypiserver on 127.0.0.1 standing in for TestPyPI or PyPI (the engine's own, as used by rehearse)."""


def start_index_server(name: str, directory: Path, port: int | None = None) -> LocalIndex:
    """Start pypiserver with anonymous uploads, no overwrite and no fallback to PyPI; wait for /health."""
    server = LocalIndex(name, directory, port or free_port())
    server.start()
    return server


@pytest.fixture
def index_servers(tmp_path: Path) -> Iterator[dict[str, IndexServer]]:
    """Two real local indexes, ``testpypi`` and ``pypi``, stopped after the test."""
    servers = {name: start_index_server(name, tmp_path / f"index-{name}") for name in ("testpypi", "pypi")}
    try:
        yield servers
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture(name="index_env")
def index_env_fixture(index_servers: dict[str, IndexServer]) -> dict[str, str]:
    """Environment overrides pointing the registry at the local index servers."""
    return index_env(index_servers)


@pytest.fixture
def local_registry(index_env: dict[str, str]) -> Registry:
    """The repository's registry with both indexes pointed at the local index servers."""
    return load_registry(ROOT / "repos.toml", env=index_env)


def publish_wheel(server: IndexServer, name: str, version: str) -> Path:
    """Put a minimal, valid wheel into the server's package directory (pypiserver serves it at once)."""
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    path = server.directory / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as whl:
        whl.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        whl.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        whl.writestr(f"{info}/RECORD", "")
    return path


# ----------------------------------------------------------------------------------------------- front doors


def run_task(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """``invoke ARGS`` on this repository's tasks.py, in a subprocess with the test's environment plus ``env``.

    Output is captured and the exit code is the caller's to assert (it never raises on a failing task).
    """
    return _front_door([sys.executable, "-m", "invoke", "-r", str(ROOT), *args], env, timeout)


def run_session(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """``nox ARGS`` on this repository's noxfile.py, like :func:`run_task`."""
    return _front_door([sys.executable, "-m", "nox", "-f", str(ROOT / "noxfile.py"), *args], env, timeout)


def _front_door(cmd: list[str], env: Mapping[str, str] | None, timeout: float) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(cmd, cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=timeout, check=False)


def release_options(lines: list[str], **kw: Any) -> Options:
    """Release options for tests: twine mode, --yes, no fresh-env installs, a short timeout, output into ``lines``."""
    kw.setdefault("mode", "twine")
    kw.setdefault("yes", True)
    kw.setdefault("verify_installs", False)
    kw.setdefault("timeout", 30)
    kw.setdefault("direct_push", True)  # the laptop flow these tests commit and push; the PR flow has its own tests
    return Options(out=lines.append, **kw)


SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"


@contextlib.contextmanager
def serve_pages(pages: Mapping[str, bytes], default: bytes | None = None) -> Iterator[str]:
    """A local HTTP server answering GET ``path`` with ``pages[path]`` as PEP 691 JSON (looked up at request time,
    so a test may add pages), any other path with ``default`` (HTTP 200) or HTTP 404. Yields its base URL."""

    class Pages(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path, default)
            self.send_response(404 if body is None else 200)
            body = b"not found" if body is None else body
            self.send_header("Content-Type", SIMPLE_JSON)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()

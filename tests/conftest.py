"""Shared fixtures: the registry, a generated stand-in ecosystem, and real local index servers."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from juniper_release.ecosystem.registry import Registry, load_registry  # noqa: E402
from juniper_release.release.options import Options  # noqa: E402
from juniper_release.sandbox.rehearse import LocalIndex, free_port  # noqa: E402
from juniper_release.sandbox.standin import GIT_ENV, Ecosystem, create_ecosystem  # noqa: E402


@pytest.fixture(autouse=True)
def _git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests use their own git identity and never the machine's global config."""
    for key, value in GIT_ENV.items():
        if not key.endswith("_DATE"):
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("UV_PYTHON_DOWNLOADS", "never")
    for var in ("JUNIPER_WORKSPACE", "JUNIPER_TORCH_SOURCE", "GITHUB_TOKEN", "GH_TOKEN", "TWINE_PASSWORD"):
        monkeypatch.delenv(var, raising=False)


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


@pytest.fixture
def index_env(index_servers: dict[str, IndexServer]) -> dict[str, str]:
    """Environment overrides pointing the registry at the local index servers."""
    env: dict[str, str] = {}
    for name, server in index_servers.items():
        env[f"JUNIPER_{name.upper()}_UPLOAD_URL"] = server.url
        env[f"JUNIPER_{name.upper()}_SIMPLE_URL"] = f"{server.url}simple/"
    return env


@pytest.fixture
def clean_env() -> dict[str, str]:
    return dict(os.environ)


def release_options(lines: list[str], **kw: Any) -> Options:
    """Release options for tests: twine mode, --yes, no fresh-env installs, a short timeout, output into ``lines``."""
    kw.setdefault("mode", "twine")
    kw.setdefault("yes", True)
    kw.setdefault("verify_installs", False)
    kw.setdefault("timeout", 30)
    return Options(out=lines.append, **kw)

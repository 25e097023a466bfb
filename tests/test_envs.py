"""Fresh environments' helpers: finding interpreters, the child environment, where CPU torch comes from, and the
CUDA guard reading a resolver's dry-run report (no environment is created here)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from juniper_release.ecosystem.registry import TorchSource
from juniper_release.errors import JuniperError
from juniper_release.verify.envs import (
    PYENV_VERSIONS,
    CudaTorchError,
    Env,
    _behind_pyenv_shim,
    find_python,
    guard_cuda,
    pip_find_links,
    planned_installs,
    tool_env,
    torch_plan,
)

UV_CPU = """Resolved 3 packages in 12ms
Would download 1 package
Would install 3 packages
 + filelock==3.13.1
 + sympy==1.12
 + torch==2.13.0+cpu
"""
UV_CUDA = """Would install 8 packages
 + nvidia-cublas-cu12==12.1.3.1
 + nvidia-cudnn-cu12==8.9.2.26
 + nvidia-nccl-cu12==2.20.5
 + nvidia-cuda-runtime-cu12==12.1.105
 + nvidia-cufft-cu12==11.0.2.54
 + triton==2.3.0
 + torch==2.13.0
 + sympy==1.12
"""


def pip_report(*installs: tuple[str, str]) -> str:
    """The shape of ``pip install --dry-run --quiet --report -``."""
    items = [{"metadata": {"name": name, "version": version}} for name, version in installs]
    return json.dumps({"version": "1", "install": items})


def test_find_python_returns_this_interpreter_for_its_own_version():
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert find_python(version) == sys.executable


def test_a_pyenv_shim_is_resolved_as_pyenv_which_does(tmp_path: Path):
    """The first $PYENV_VERSION version that has the command wins; a version without it is passed over."""
    shim = tmp_path / "shims" / "python3.12"
    for where in (shim, tmp_path / "versions/3.12.1/bin/python3.12", tmp_path / "versions/3.11.7/bin/python3.11"):
        where.parent.mkdir(parents=True, exist_ok=True)
        where.write_text("#!/bin/sh\n")
        where.chmod(0o755)
    env = {"PYENV_ROOT": str(tmp_path), "PYENV_VERSION": "3.11.7:3.12.1"}
    assert _behind_pyenv_shim(str(shim), env) == str(tmp_path / "versions/3.12.1/bin/python3.12")
    assert _behind_pyenv_shim(str(shim), {**env, "PYENV_VERSION": "3.11.7"}) is None  # pyenv would fail: probe the shim
    assert _behind_pyenv_shim(sys.executable, env) is None  # not a shim


def test_find_python_names_the_missing_version_and_how_to_get_it():
    with pytest.raises(JuniperError) as info:
        find_python("2.9")
    message = str(info.value)
    assert message.startswith("no Python 2.9 interpreter found. Fix: install Python 2.9")
    assert f"PYENV_VERSION={PYENV_VERSIONS}" in message and "\n" not in message


def test_tool_env_widens_pyenv_never_downloads_and_leaves_the_virtualenv(monkeypatch):
    monkeypatch.setenv("PYENV_VERSION", "3.12.1")
    monkeypatch.setenv("VIRTUAL_ENV", "/somewhere/.venv")
    monkeypatch.setenv("UV_PYTHON_DOWNLOADS", "automatic")
    env = tool_env()
    assert env["PYENV_VERSION"].split(":") == ["3.12.1", *(v for v in PYENV_VERSIONS.split(":") if v != "3.12.1")]
    assert env["UV_PYTHON_DOWNLOADS"] == "never" and "VIRTUAL_ENV" not in env


def test_planned_installs_reads_uv_and_pip_reports():
    assert planned_installs(UV_CPU) == {"filelock": "3.13.1", "sympy": "1.12", "torch": "2.13.0+cpu"}
    report = "some pip chatter\n" + pip_report(("Torch", "2.13.0+cpu"), ("numpy", "2.1.0"))
    assert planned_installs(report) == {"torch": "2.13.0+cpu", "numpy": "2.1.0"}
    assert planned_installs("{not json") == {} and planned_installs("") == {}


def test_the_cuda_guard_lets_cpu_torch_through():
    guard_cuda(UV_CPU, "installing torch")
    guard_cuda(pip_report(("torch", "2.13.0+cpu")), "installing torch")
    guard_cuda(pip_report(("requests", "2.32.0")), "installing juniper-data")


def test_the_cuda_guard_stops_before_any_download_and_names_what_it_saw():
    with pytest.raises(CudaTorchError) as info:
        guard_cuda(UV_CUDA, "installing juniper-cascor")
    message = str(info.value)
    assert message.startswith("installing juniper-cascor would pull the CUDA build of torch (torch 2.13.0, ")
    assert "and 3 more); nothing was downloaded. Fix: install CPU torch first" in message
    with pytest.raises(CudaTorchError, match=r"\(torch 2\.13\.0\)"):
        guard_cuda(pip_report(("torch", "2.13.0")), "installing torch")
    with pytest.raises(CudaTorchError, match=r"\(nvidia-cudnn-cu12\)"):
        guard_cuda(pip_report(("torch", "2.13.0+cpu"), ("nvidia-cudnn-cu12", "8.9")), "installing torch")


def test_pip_find_links_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("PIP_FIND_LINKS", "/wheels  https://example.org/links.html")
    assert pip_find_links() == ["/wheels", "https://example.org/links.html"]


def test_torch_plan_prefers_a_local_folder_holding_the_exact_cpu_wheel(monkeypatch, tmp_path):
    index = TorchSource("2.13.0", "https://download.pytorch.org/whl/cpu")
    (tmp_path / "torch-2.13.0+cpu-cp311-cp311-linux_x86_64.whl").write_bytes(b"")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    local = torch_plan(index, "3.11")
    assert (local.requirement, local.options) == ("torch==2.13.0", ("--find-links", str(tmp_path)))
    # No wheel for 3.12 in the folder: the configured index is used, as the only index for torch.
    remote = torch_plan(index, "3.12")
    assert remote.options == ("--index-url", "https://download.pytorch.org/whl/cpu")
    flat = torch_plan(TorchSource("2.13.0", "https://example.org/torch.html"), "3.12")
    assert flat.options == ("--find-links", "https://example.org/torch.html")


def _fake_env(tmp_path, cuda: str) -> Env:
    env = Env(tmp_path / "env", "3.11", "uv")
    env.path.mkdir(parents=True)
    (env.path / "pyvenv.cfg").write_text("home = /x\nimplementation = CPython\nversion_info = 3.11.7\n")
    site = env.site_packages
    (site / "torch").mkdir(parents=True)
    (site / "torch" / "version.py").write_text(
        f"from typing import Optional\n__version__ = '2.13.0'\ncuda: Optional[str] = {cuda}\n"
    )
    (site / "torch-2.13.0.dist-info").mkdir()
    (site / "torch-2.13.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: torch\nVersion: 2.13.0\n")
    return env


def test_env_facts_come_from_its_files_without_an_interpreter(tmp_path):
    env = _fake_env(tmp_path, "None")  # no bin/python: any interpreter call would fail
    assert env.full_version() == "3.11.7"
    assert env.installed() == {"torch": "2.13.0"}
    assert env.torch_cuda() == "None"
    assert _fake_env(tmp_path / "b", "'12.1'").torch_cuda() == "12.1"


def test_a_cuda_torch_after_install_is_refused(tmp_path, monkeypatch):
    env = _fake_env(tmp_path, "'12.1'")
    monkeypatch.setattr(Env, "dry_run", lambda self, args: UV_CPU)
    monkeypatch.setattr(Env, "install", lambda self, args, **kw: "")
    with pytest.raises(CudaTorchError, match=r"is a CUDA build \(torch.version.cuda = 12.1\)"):
        env.install_cpu_torch(TorchSource("2.13.0", "/opt/wheels"))

"""Fresh virtual environments, the CPU-torch guard and the errors verification raises.

uv is preferred for creating environments and installing into them; virtualenv + pip is the fallback. Either way
the installs are real. CPU torch comes from the configured source (repos.toml ``[torch]`` or $JUNIPER_TORCH_SOURCE);
pip's own configured find-links are passed on explicitly because uv ignores pip.conf. Before torch is installed the
resolution is dry-run: if it would bring the CUDA build (``nvidia-*`` packages, or a torch without ``+cpu``), we stop
with a clear message instead of downloading gigabytes.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import parse_wheel_filename
from packaging.version import Version

from juniper_release.commands import run
from juniper_release.ecosystem.registry import TorchSource
from juniper_release.errors import CommandError, JuniperError
from juniper_release.interrupts import refuse_new_command

PYENV_VERSIONS = "3.11.7:3.12.1:3.13.0"


class VerifyError(JuniperError):
    """A package failed verification (the phase is recorded on its result)."""


class CudaTorchError(JuniperError):
    """An install would have pulled the CUDA build of torch."""


def uv_binary() -> str | None:
    """The uv executable: on PATH, or installed next to this interpreter (the `uv` wheel)."""
    found = shutil.which("uv")
    if found:
        return found
    try:
        from uv import find_uv_bin  # type: ignore[import-not-found,unused-ignore]

        return str(find_uv_bin())
    except Exception:  # pragma: no cover - uv not installed
        return None


def tool_env() -> dict[str, str]:
    """Environment for child processes: pyenv can see 3.11-3.13, uv never downloads a Python."""
    env = dict(os.environ)
    # A pyenv shim exports PYENV_VERSION=<its own version> to its child; widen it so python3.12 etc. resolve.
    current = [v for v in env.get("PYENV_VERSION", "").split(":") if v]
    env["PYENV_VERSION"] = ":".join(dict.fromkeys([*current, *PYENV_VERSIONS.split(":")]))
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env.pop("VIRTUAL_ENV", None)
    return env


def find_python(version: str) -> str:
    """An interpreter for ``version`` (e.g. '3.11'), or a clear error."""
    env = tool_env()
    candidates = [f"python{version}"]
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        candidates.insert(0, sys.executable)
    for cand in candidates:
        path = cand if os.path.isabs(cand) else shutil.which(cand, path=env.get("PATH"))
        if not path:
            continue
        path = _behind_pyenv_shim(path, env) or path
        refuse_new_command(f"probe {path}")
        probe = subprocess.run(
            [path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return path
    raise JuniperError(
        f"no Python {version} interpreter found",
        f"install Python {version} (pyenv: set PYENV_VERSION={PYENV_VERSIONS}) or change the package's python in the registry (repos.toml, or the --registry file)",
    )


def _behind_pyenv_shim(path: str, env: Mapping[str, str]) -> str | None:
    """The interpreter a pyenv shim would run, found as ``pyenv which`` does (the first of $PYENV_VERSION's versions
    that has it), so probing it does not start the shim's shell script; None when ``path`` is not a shim."""
    shim = Path(path)
    root = Path(env.get("PYENV_ROOT") or Path.home() / ".pyenv")
    if shim.parent != root / "shims":
        return None
    for version in (v for v in env.get("PYENV_VERSION", "").split(":") if v and v != "system"):
        real = root / "versions" / version / "bin" / shim.name
        if os.access(real, os.X_OK):
            return str(real)
    return None


def pip_find_links() -> list[str]:
    """find-links configured for pip ($PIP_FIND_LINKS or pip.conf), which uv would otherwise ignore."""
    raw = os.environ.get("PIP_FIND_LINKS")
    if raw is None:
        refuse_new_command("pip config list")
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, check=False, timeout=30
            )
        except (OSError, subprocess.TimeoutExpired):
            return []
        raw = ""
        for line in proc.stdout.splitlines():
            key, _, value = line.partition("=")
            if key.strip().endswith("find-links"):
                raw += " " + value.strip().strip("'\"")
    return [item for item in raw.split() if item]


def _local_torch_wheel(directory: str, version: str, python: str) -> bool:
    """True when a find-links directory holds the CPU torch ``version`` for ``python``."""
    path = Path(directory)
    if not path.is_dir():
        return False
    tag = "cp" + python.replace(".", "")
    for wheel in path.glob("torch-*.whl"):
        try:
            _, ver, _, tags = parse_wheel_filename(wheel.name)
        except Exception:
            continue
        if (
            ver.public == Version(version).public
            and "cpu" in (ver.local or "")
            and any(t.interpreter == tag for t in tags)
        ):
            return True
    return False


@dataclass(frozen=True)
class TorchPlan:
    """How CPU torch gets into an environment: the pin and the installer options that find it."""

    requirement: str
    options: tuple[str, ...]
    description: str


def torch_plan(source: TorchSource, python: str) -> TorchPlan:
    """Choose where CPU torch comes from for ``python``.

    A local find-links folder (pip's configuration) that holds the exact CPU wheel wins, since it needs no network;
    otherwise the configured source is used: an index URL as the only index for torch, or find-links.
    """
    pin = f"torch=={source.version}"
    for folder in pip_find_links():
        if _local_torch_wheel(folder, source.version, python):
            return TorchPlan(pin, ("--find-links", folder), f"find-links {folder}")
    if source.is_index:
        return TorchPlan(pin, ("--index-url", source.source), f"index {source.source}")
    return TorchPlan(pin, ("--find-links", source.source), f"find-links {source.source}")


_CUDA_RE = re.compile(r"^(nvidia[-_]|triton$|cuda[-_])", re.IGNORECASE)


@dataclass
class Env:
    """A fresh virtual environment and the backend that made it."""

    path: Path
    python_version: str
    backend: str  # "uv" or "virtualenv"

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def bin(self, name: str) -> Path:
        return self.path / "bin" / name

    def _installer(self) -> list[str]:
        if self.backend == "uv":
            uv = uv_binary()
            assert uv
            return [uv, "pip", "install", "--python", str(self.python)]
        return [str(self.python), "-m", "pip", "install", "--no-input", "--disable-pip-version-check"]

    def install(self, args: Sequence[str], *, what: str = "install", fix: str | None = None) -> str:
        """Install into the environment; returns the installer's combined output."""
        argv, env = self._private(args)
        proc = run([*self._installer(), *argv], env=env, what=what, fix=fix)
        return proc.stdout + proc.stderr

    def dry_run(self, args: Sequence[str]) -> str:
        """What an install would bring, without installing: the resolver's report as text."""
        argv, env = self._private(args)
        if self.backend == "uv":
            cmd = [*self._installer(), "--dry-run", *argv]
        else:
            cmd = [*self._installer(), "--dry-run", "--quiet", "--report", "-", *argv]
        proc = run(cmd, env=env, what="resolve (dry run)")
        return proc.stdout + proc.stderr

    def _private(self, args: Sequence[str]) -> tuple[list[str], dict[str, str]]:
        """``args`` without an index URL that carries credentials (``user:pw@``): that one travels in the
        installer's environment, never on its command line (which ``ps`` shows every user)."""
        names = {"uv": ("UV_INDEX_URL", "UV_EXTRA_INDEX_URL"), "virtualenv": ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL")}
        index_var, extra_var = names["uv" if self.backend == "uv" else "virtualenv"]
        env = tool_env()
        argv: list[str] = []
        extras: list[str] = []
        items = list(args)
        i = 0
        while i < len(items):
            flag = items[i]
            if flag in ("--index-url", "--extra-index-url", "-i") and i + 1 < len(items) and "@" in items[i + 1]:
                url = items[i + 1]
                if urllib.parse.urlsplit(url).password is not None or urllib.parse.urlsplit(url).username:
                    if flag == "--extra-index-url":
                        extras.append(url)
                    else:
                        env[index_var] = url
                    i += 2
                    continue
            argv.append(flag)
            i += 1
        if extras:
            env[extra_var] = " ".join(extras)
        return argv, env

    def run_python(self, code: str, *, what: str, fix: str | None = None) -> str:
        return run([str(self.python), "-c", code], env=tool_env(), what=what, fix=fix).stdout

    @property
    def site_packages(self) -> Path:
        return self.path / "lib" / f"python{self.python_version}" / "site-packages"

    def full_version(self) -> str:
        """The interpreter's full version (e.g. ``3.11.7``), which requirement markers are evaluated for.

        Read from ``pyvenv.cfg`` (uv and virtualenv write ``version_info``, venv ``version``); the interpreter is
        asked only when the file does not say.
        """
        with contextlib.suppress(OSError):
            for line in (self.path / "pyvenv.cfg").read_text(encoding="utf-8").splitlines():
                key, _, value = line.partition("=")
                if key.strip() in {"version_info", "version"}:
                    parts = value.strip().split(".")[:3]
                    if len(parts) == 3 and all(p.isdigit() for p in parts):
                        return ".".join(parts)
        return self.run_python("import platform; print(platform.python_version())", what="probe Python").strip()

    def installed(self) -> dict[str, str]:
        """Installed distributions: canonical name -> version, read from the env's site-packages (no interpreter)."""
        found: dict[str, str] = {}
        for dist in importlib.metadata.distributions(path=[str(self.site_packages)]):
            name = dist.metadata["Name"]
            if name:
                found.setdefault(str(name).lower().replace("_", "-"), dist.version)
        return found

    def torch_cuda(self) -> str:
        """``torch.version.cuda`` of the installed torch, as text (``"None"`` for the CPU build).

        Read from ``torch/version.py`` without importing torch (which takes seconds); the interpreter is asked only
        when that file does not assign ``cuda`` a literal.
        """
        with contextlib.suppress(OSError, SyntaxError, ValueError):
            tree = ast.parse((self.site_packages / "torch" / "version.py").read_text(encoding="utf-8"))
            for node in tree.body:
                if isinstance(node, ast.Assign) and len(node.targets) == 1:
                    target, value = node.targets[0], node.value
                elif isinstance(node, ast.AnnAssign) and node.value is not None:
                    target, value = node.target, node.value
                else:
                    continue
                if isinstance(target, ast.Name) and target.id == "cuda":
                    return str(ast.literal_eval(value))
        return self.run_python(
            "import warnings; warnings.simplefilter('ignore')\nimport torch; print(torch.version.cuda)",
            what="check torch build",
        ).strip()

    def pip_check(self) -> None:
        if self.backend == "uv":
            uv = uv_binary()
            assert uv
            cmd = [uv, "pip", "check", "--python", str(self.python)]
        else:
            cmd = [str(self.python), "-m", "pip", "check"]
        run(cmd, env=tool_env(), what="pip check", fix="fix the conflicting requirements shown")

    def install_cpu_torch(self, source: TorchSource) -> str:
        """Install the pinned CPU torch and prove it is the CPU build. Returns the source used."""
        plan = torch_plan(source, self.python_version)
        args = [plan.requirement, *plan.options]
        if plan.options[0] == "--index-url":
            # torch's own dependencies (sympy, networkx, ...) come from PyPI.
            args += ["--extra-index-url", "https://pypi.org/simple/"]
            if self.backend == "uv":
                args += ["--index-strategy", "unsafe-first-match"]
        try:
            report = self.dry_run(args)
        except CommandError as exc:
            raise CudaTorchError(
                f"no CPU torch {source.version} for Python {self.python_version} from {plan.description} ({exc.what})",
                "set JUNIPER_TORCH_SOURCE to a CPU index or find-links that has it, or set the package's python in the "
                "registry (repos.toml, or the --registry file) to a version with a CPU wheel",
            ) from None
        guard_cuda(report, f"installing {plan.requirement} from {plan.description}")
        self.install(args, what=f"install CPU torch from {plan.description}")
        cuda = self.torch_cuda()
        if cuda != "None":
            raise CudaTorchError(
                f"torch in {self.path} is a CUDA build (torch.version.cuda = {cuda})",
                "point JUNIPER_TORCH_SOURCE at the PyTorch CPU index or a CPU wheel folder",
            )
        return plan.description

    def torch_constraint(self) -> str | None:
        """A constraint line pinning the installed torch, so later installs can never swap in a CUDA build."""
        version = self.installed().get("torch")
        return f"torch=={version}" if version else None


def planned_installs(report: str) -> dict[str, str]:
    """Distributions an install would bring, from uv's ``--dry-run`` lines or pip's ``--report`` JSON."""
    planned: dict[str, str] = {}
    for m in re.finditer(r"^\s*\+\s*([A-Za-z0-9_.\-]+)==(\S+)", report, re.MULTILINE):
        planned[m.group(1).lower()] = m.group(2)
    start = report.find("{")
    if start != -1:
        try:
            data = json.loads(report[start:])
        except ValueError:
            data = {}
        for item in data.get("install", []) if isinstance(data, dict) else []:
            meta = item.get("metadata", {})
            planned[str(meta.get("name", "")).lower()] = str(meta.get("version", ""))
    return planned


def guard_cuda(report: str, action: str) -> None:
    """Stop before ``action`` if its resolution would download CUDA packages or a non-CPU torch."""
    planned = planned_installs(report)
    reasons = sorted(name for name in planned if _CUDA_RE.search(name))
    torch_version = planned.get("torch")
    if torch_version is not None and "+cpu" not in torch_version:
        reasons.insert(0, f"torch {torch_version}")
    if reasons:
        shown = ", ".join(reasons[:4]) + (f" and {len(reasons) - 4} more" if len(reasons) > 4 else "")
        raise CudaTorchError(
            f"{action} would pull the CUDA build of torch ({shown}); nothing was downloaded",
            "install CPU torch first from the PyTorch CPU index (JUNIPER_TORCH_SOURCE) and keep torch pinned to it",
        )


def create_env(path: Path, python_version: str) -> Env:
    """A brand-new environment at ``path`` with Python ``python_version``. An environment already there (its
    ``pyvenv.cfg`` says it is one) is removed first; anything else at ``path`` is refused, never deleted."""
    if path.exists() or path.is_symlink():
        if path.is_symlink() or not (path / "pyvenv.cfg").is_file():
            raise JuniperError(
                f"{path} exists and is not a virtual environment (no pyvenv.cfg): it was not made by juniper-release",
                f"move {path} aside, then re-run",
            )
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    interpreter = find_python(python_version)
    uv = uv_binary()
    if uv:
        run([uv, "venv", "--quiet", "--python", interpreter, str(path)], env=tool_env(), what="create venv (uv)")
        return Env(path, python_version, "uv")
    run(
        [sys.executable, "-m", "virtualenv", "--quiet", "--python", interpreter, str(path)],
        env=tool_env(),
        what="create venv (virtualenv)",
    )
    return Env(path, python_version, "virtualenv")

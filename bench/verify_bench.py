"""Benchmark: the seed's manual verification procedure against ``nox -s verify-all`` (cold, warm, no-op).

Run it from the repository root: ``python bench/verify_bench.py``. It generates a fresh stand-in ecosystem (real
third-party dependencies, CPU torch) in a temporary directory and times, in one run:

  manual    per package, sequentially: ``python -m build``, ``twine check``, ``python -m venv``, ``pip install``
            of the wheel (``pip install torch==2.13.0`` first for torch packages) and ``python -c "import ..."``;
  cold      ``nox -s verify-all -- --force`` with a fresh cache dir and a fresh uv cache;
  warm      the same again (``--force`` rebuilds and re-verifies everything, with uv's cache warm);
  no-op     ``nox -s verify-all`` with nothing changed (every package cached).

This is a script, not a test. Targets: warm at least 5x faster than manual, no-op under 10% of manual.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from juniper_release.ecosystem.registry import load_registry  # noqa: E402
from juniper_release.sandbox.standin import GIT_ENV, create_ecosystem  # noqa: E402
from juniper_release.verify.envs import tool_env  # noqa: E402


def _run(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"benchmark step failed: {' '.join(cmd)}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")


def manual(workspace: Path, scratch: Path) -> float:
    """The seed's procedure, sequentially, on a copy of each checkout (the checkouts stay clean)."""
    registry = load_registry()
    env = tool_env()
    start = time.monotonic()
    for pkg in registry.packages:
        t0 = time.monotonic()
        src = scratch / "manual" / pkg.path
        shutil.copytree(workspace / pkg.path, src, ignore=shutil.ignore_patterns(".git"))
        _run([sys.executable, "-m", "build", "--outdir", "dist", "."], cwd=src, env=env)
        dists = sorted(str(p) for p in (src / "dist").iterdir())
        _run([sys.executable, "-m", "twine", "check", *dists], env=env)
        venv = src / "venv"
        _run([sys.executable, "-m", "venv", str(venv)], env=env)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        if pkg.torch:
            _run([*pip, f"torch=={registry.torch.version}"], env=env)
        _run([*pip, next(d for d in dists if d.endswith(".whl"))], env=env)
        if pkg.imports:
            _run([str(venv / "bin" / "python"), "-c", "; ".join(f"import {m}" for m in pkg.imports)], env=env)
        print(f"  manual {pkg.name}: {time.monotonic() - t0:.1f}s", flush=True)
    return time.monotonic() - start


def nox_verify_all(workspace: Path, env: dict[str, str], *extra: str) -> float:
    cmd = ["nox", "-f", str(ROOT / "noxfile.py"), "-s", "verify-all", "--", "--workspace", str(workspace), *extra]
    start = time.monotonic()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"nox verify-all failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    summary = [line for line in proc.stdout.splitlines() if line.startswith("verify-all ")]
    print(f"  {summary[-1] if summary else '(no summary)'}", flush=True)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(prog="python bench/verify_bench.py", description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="juniper-bench-"))
    try:
        registry = load_registry()
        workspace = scratch / "workspace"
        git_env = {k: v for k, v in GIT_ENV.items()}
        os.environ.update({k: v for k, v in git_env.items() if not k.endswith("_DATE")})
        create_ecosystem(workspace, registry, None, remotes=scratch / "remotes")
        print(f"stand-in ecosystem: {workspace}", flush=True)

        print("manual procedure (sequential):", flush=True)
        baseline = manual(workspace, scratch)

        env = tool_env()
        env["JUNIPER_CACHE_DIR"] = str(scratch / "juniper-cache")
        env["UV_CACHE_DIR"] = str(scratch / "uv-cache")  # cold: nothing cached by uv yet
        print("nox -s verify-all (cold: fresh cache dir and uv cache, --force):", flush=True)
        cold = nox_verify_all(workspace, env, "--force")
        print("nox -s verify-all (warm: --force, uv cache warm):", flush=True)
        warm = nox_verify_all(workspace, env, "--force")
        print("nox -s verify-all (no-op re-run):", flush=True)
        noop = nox_verify_all(workspace, env)

        print()
        print(f"manual baseline:  {baseline:6.1f}s")
        print(f"cold verify-all:  {cold:6.1f}s")
        print(f"warm verify-all:  {warm:6.1f}s")
        print(f"no-op verify-all: {noop:6.1f}s")
        print(f"cold verify-all: {baseline / cold:.1f}x faster than manual")
        print(f"warm verify-all: {baseline / warm:.1f}x faster than manual")
        print(f"no-op verify-all: {100 * noop / baseline:.1f}% of the manual baseline")
        met = baseline / warm >= 5 and noop / baseline < 0.10
        print(f"targets (warm >= 5x, no-op < 10%): {'met' if met else 'NOT met'}")
        return 0 if met else 1
    finally:
        if args.keep:
            print(f"scratch kept at {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: the seed's manual verification procedure against ``nox -s verify-all`` (cold, warm, no-op, one change).

Run it from the repository root: ``python bench/verify_bench.py``. It generates a fresh stand-in ecosystem (real
third-party dependencies, CPU torch) in a temporary directory: the six packages of repos.toml, or with ``--layout
grown`` the 18 packages in 8 repositories of registries/grown.toml, or with ``--layout kinds`` the six packages of
registries/kinds.toml (one per version source). Or it copies a real workspace (``--workspace
DIR``, e.g. ~/juniper-plan, or ~/juniper-grown with ``--registry registries/grown.toml``; the copy is what gets
changed). It times, in one run:

  manual    per package, sequentially in release order: ``python -m build``, ``twine check``, ``python -m venv``
            (with the oldest Python its requires-python admits), ``pip install`` of the wheel (``pip install
            torch==2.13.0`` first for torch packages; the ecosystem's wheels built before it as ``--find-links``)
            and ``python -c "import ..."``;
  cold      ``nox -s verify-all -- --force`` with a fresh cache dir and a fresh uv cache;
  warm      the same again (``--force`` rebuilds and re-verifies everything, with uv's cache warm);
  no-op     ``nox -s verify-all`` with nothing changed (every package cached), nox start-up included, three
            times (the best counts; all three are printed);
  one       ``nox -s verify-all`` after changing one file of the lowest package that has dependents: it prints
            which packages were rebuilt (that one alone: its dependents' sources did not change) and which were
            re-verified (that one and its dependents).

On a real workspace, packages that fail verification (or the manual procedure) are reported and timed as they are.
This is a script, not a test. Targets: warm >= 10x and cold >= 8x faster than manual, no-op under 1 s, one change
rebuilds only the changed package and re-verifies only it and its dependents.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from juniper_release.ecosystem.graph import build_graph  # noqa: E402
from juniper_release.ecosystem.registry import (  # noqa: E402
    ENV_REGISTRY,
    Package,
    Registry,
    load_registry,
    require_checkout,
)
from juniper_release.frontdoor import LAYOUT_REGISTRIES  # noqa: E402
from juniper_release.sandbox.grown import create_grown  # noqa: E402
from juniper_release.sandbox.kinds import create_kinds  # noqa: E402
from juniper_release.sandbox.standin import GIT_ENV, create_ecosystem  # noqa: E402
from juniper_release.verify.cache import dependency_closure  # noqa: E402
from juniper_release.verify.envs import find_python, tool_env  # noqa: E402
from juniper_release.verify.pythons import default_python  # noqa: E402

FAILURES: list[str] = []


class StepFailed(Exception):
    """A step of the manual procedure failed (on a real workspace this is reported, not fatal)."""


def _run(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise StepFailed(f"{' '.join(cmd[:4])}: {(proc.stderr or proc.stdout).strip().splitlines()[-1:]}")


def manual(registry: Registry, workspace: Path, scratch: Path, real: bool) -> float:
    """The seed's procedure, sequentially, on a copy of each checkout (the checkouts stay clean)."""
    env = tool_env()
    start = time.monotonic()
    for pkg in build_graph(registry, workspace).release_order():  # dependencies first: their wheels are found
        t0 = time.monotonic()
        try:
            _manual_one(registry, pkg, workspace, scratch, env)
        except StepFailed as exc:
            if not real:
                sys.exit(f"benchmark step failed: {exc}")
            print(f"  manual {pkg.name}: FAILED ({exc})", flush=True)
            continue
        print(f"  manual {pkg.name}: {time.monotonic() - t0:.1f}s", flush=True)
    return time.monotonic() - start


def _manual_one(registry: Registry, pkg: Package, workspace: Path, scratch: Path, env: dict[str, str]) -> None:
    """Build, twine-check, install into a fresh venv and import one package, as the seed did by hand."""
    src = scratch / "manual" / pkg.name
    # With its .git: a version computed from the tag (setuptools-scm, hatch-vcs) needs the history.
    shutil.copytree(require_checkout(pkg, workspace), src, symlinks=True)
    _run([sys.executable, "-m", "build", "--outdir", "dist", "."], cwd=src, env=env)
    dists = sorted(str(p) for p in (src / "dist").iterdir())
    _run([sys.executable, "-m", "twine", "check", *dists], env=env)
    wheels = scratch / "manual" / "wheels"  # the ecosystem's own wheels built so far, for dependents to install
    wheels.mkdir(exist_ok=True)
    for dist in dists:
        if dist.endswith(".whl"):
            shutil.copy2(dist, wheels)
    venv = src / "venv"
    python = default_python(pkg, workspace)  # the floor its requires-python admits, as verify-all picks by default
    _run([find_python(python) if python else sys.executable, "-m", "venv", str(venv)], env=env)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--find-links", str(wheels)]
    if pkg.torch:
        _run([*pip, f"torch=={registry.torch.version}"], env=env)
    _run([*pip, next(d for d in dists if d.endswith(".whl"))], env=env)
    if pkg.imports:
        _run([str(venv / "bin" / "python"), "-c", "; ".join(f"import {m}" for m in pkg.imports)], env=env)


def nox_verify_all(workspace: Path, env: dict[str, str], real: bool, *extra: str) -> tuple[float, list[str], list[str]]:
    """Run verify-all; return its wall time, the packages it built and the packages it verified."""
    cmd = ["nox", "-f", str(ROOT / "noxfile.py"), "-s", "verify-all", "--", "--workspace", str(workspace), *extra]
    start = time.monotonic()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - start
    if proc.returncode != 0 and not real:
        sys.exit(f"nox verify-all failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    summary = [line for line in proc.stdout.splitlines() if line.startswith("verify-all ")]
    print(f"  {summary[-1] if summary else '(no summary)'}", flush=True)
    built = [m.group(1) for m in re.finditer(r"^\[([\w.-]+)\] build \.\.\.$", proc.stderr, re.MULTILINE)]
    verified = [m.group(1) for m in re.finditer(r"^\[([\w.-]+)\] verify \.\.\.", proc.stderr, re.MULTILINE)]
    for line in proc.stderr.splitlines():
        if "build warning" in line:
            print(f"  {line}", flush=True)
    return seconds, built, verified


def change_one(registry: Registry, workspace: Path) -> tuple[str, set[str]]:
    """Append a line to the README of the lowest package that has dependents; return it and its dependents."""
    graph = build_graph(registry, workspace)
    order = [p.name for p in graph.release_order()]
    dependents = {n: {m for m in order if n in dependency_closure(graph, m)} for n in order}
    name = max(order, key=lambda n: (len(dependents[n]), -order.index(n)))
    readme = require_checkout(registry.get(name), workspace) / "README.md"
    with readme.open("a", encoding="utf-8") as fh:
        fh.write("\nChanged by the benchmark.\n")
    return name, dependents[name]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python bench/verify_bench.py", description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, help="a real workspace to copy and measure (default: the stand-in)")
    parser.add_argument(
        "--layout",
        choices=("six", "grown", "kinds"),
        default="six",
        help="stand-in layout: six packages, the grown 18, or one package per version source",
    )
    parser.add_argument(
        "--registry", type=Path, help="registry file (default: repos.toml; registries/<layout>.toml for another layout)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()
    if args.workspace is not None and args.layout != "six":
        parser.error("--layout applies to the stand-in; give a real workspace's registry with --registry")
    registry_file = args.registry or LAYOUT_REGISTRIES.get(args.layout)

    scratch = Path(tempfile.mkdtemp(prefix="juniper-bench-"))
    real = args.workspace is not None
    try:
        registry = load_registry(registry_file.resolve() if registry_file else None)
        os.environ[ENV_REGISTRY] = str(registry.path)  # the nox sessions are listed from the same registry
        workspace = scratch / "workspace"
        if real:
            shutil.copytree(args.workspace.resolve(), workspace, symlinks=True)
            print(f"real workspace: {args.workspace} (copied to {workspace})", flush=True)
        else:
            os.environ.update({k: v for k, v in GIT_ENV.items() if not k.endswith("_DATE")})
            create = {"grown": create_grown, "kinds": create_kinds}.get(args.layout, create_ecosystem)
            create(workspace, registry, None, remotes=scratch / "remotes")
            print(f"stand-in ecosystem ({args.layout}, {len(registry.packages)} packages): {workspace}", flush=True)
        print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")

        print("manual procedure (sequential):", flush=True)
        baseline = manual(registry, workspace, scratch, real)

        env = tool_env()
        env["JUNIPER_CACHE_DIR"] = str(scratch / "juniper-cache")
        env["UV_CACHE_DIR"] = str(scratch / "uv-cache")  # cold: nothing cached by uv yet
        print("nox -s verify-all (cold: fresh cache dir and uv cache, --force):", flush=True)
        cold, _, _ = nox_verify_all(workspace, env, real, "--force")
        print("nox -s verify-all (warm: --force, uv cache warm):", flush=True)
        warm, _, _ = nox_verify_all(workspace, env, real, "--force")
        print("nox -s verify-all (no-op re-run, three times; the best counts, all are shown):", flush=True)
        noops = [nox_verify_all(workspace, env, real) for _ in range(3)]
        noop, noop_built, noop_verified = min(noops, key=lambda run: run[0])
        noop_all = ", ".join(f"{run[0]:.1f}" for run in noops)
        changed, dependents = change_one(registry, workspace)
        print(f"nox -s verify-all (one package changed: {changed}):", flush=True)
        one, one_built, one_verified = nox_verify_all(workspace, env, real)

        print()
        print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        print(f"manual baseline:  {baseline:6.1f}s")
        print(f"cold verify-all:  {cold:6.1f}s")
        print(f"warm verify-all:  {warm:6.1f}s")
        print(
            f"no-op verify-all: {noop:6.1f}s ({len(noop_built)} builds, {len(noop_verified)} verifies; runs {noop_all}s)"
        )
        print(
            f"one changed:      {one:6.1f}s: changed {changed}; rebuilt {', '.join(one_built) or 'nothing'}; "
            f"re-verified {', '.join(one_verified) or 'nothing'}"
        )
        print(f"cold verify-all: {baseline / cold:.1f}x faster than manual")
        print(f"warm verify-all: {baseline / warm:.1f}x faster than manual")
        print(f"no-op verify-all: {100 * noop / baseline:.1f}% of the manual baseline")
        met = baseline / warm >= 10 and baseline / cold >= 8 and noop < 1.0 and not noop_built + noop_verified
        met = met and one_built == [changed] and sorted(one_verified) == sorted({changed, *dependents})
        print(
            "targets (warm >= 10x, cold >= 8x, no-op < 1 s, one change rebuilds it alone and re-verifies it and its dependents): "
            + ("met" if met else "NOT met")
        )
        return 0 if met else 1
    finally:
        if args.keep:
            print(f"scratch kept at {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: ``invoke detect`` with the public API diff against detect without it (today's), on the grown stand-in.

Run it from the repository root: ``python bench/detect_bench.py``. It generates the grown stand-in (18 packages in 8
repositories, registries/grown.toml) in a temporary directory and commits one change after the tags of every package
with an import package, cycling through the stand-in's public API changes (a removed function, a parameter made
required, a renamed console script, a new public function, an underscore-only change; a package without what a kind
needs gets a new public function), so that every one of them is release-worthy and has an API diff to compute. Then
it times, in one process and one run (offline: the local HEAD, no index):

  baseline  detect with the API evidence switched off (the API diff answers "no diff"), three times, the best counts;
  cold      detect with API diffs and an empty cache dir (every diff computed by griffe);
  warm      detect again (every diff read from the cache by tree hash), three times, the best counts.

Target: warm adds under 1 s over the baseline. Figures vary from run to run on a shared machine: compare within one
run. ``--keep`` keeps the scratch directory.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from juniper_release.ecosystem import apidiff, detect  # noqa: E402
from juniper_release.ecosystem.registry import load_registry  # noqa: E402
from juniper_release.errors import ConfigError  # noqa: E402
from juniper_release.frontdoor import LAYOUT_REGISTRIES  # noqa: E402
from juniper_release.sandbox.changes import API_KINDS, apply_change  # noqa: E402
from juniper_release.sandbox.grown import create_grown  # noqa: E402
from juniper_release.sandbox.standin import GIT_ENV  # noqa: E402


def _run(registry: object, workspace: Path) -> tuple[float, list[detect.Detection]]:
    start = time.monotonic()
    found = detect.collect(registry, workspace, sandbox=True, fetch=False, warn=lambda _m: None)  # type: ignore[arg-type]
    return time.monotonic() - start, found


def main() -> int:
    parser = argparse.ArgumentParser(prog="python bench/detect_bench.py", description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="juniper-detect-bench-"))
    try:
        os.environ.update({k: v for k, v in GIT_ENV.items() if not k.endswith("_DATE")})
        os.environ["JUNIPER_CACHE_DIR"] = str(scratch / "juniper-cache")
        registry = load_registry(LAYOUT_REGISTRIES["grown"])
        workspace = scratch / "workspace"
        create_grown(workspace, registry, None, remotes=scratch / "remotes")
        kinds = [k for k in API_KINDS]
        for i, pkg in enumerate(p for p in registry.packages if p.imports):
            root, kind = pkg.checkout(workspace), kinds[i % len(kinds)]
            try:
                apply_change(root, pkg.imports[0], kind)
            except ConfigError:
                kind = "new-function"
                apply_change(root, pkg.imports[0], kind)
            print(f"  {pkg.name}: {kind}", flush=True)
        print(f"grown stand-in: {len(registry.packages)} packages in {workspace}")
        print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")

        real_diff = apidiff.api_diff
        apidiff.api_diff = lambda *_a, **_k: None  # type: ignore[assignment,return-value]
        baselines = [_run(registry, workspace)[0] for _ in range(3)]
        apidiff.api_diff = real_diff
        cold, found = _run(registry, workspace)
        warms = [_run(registry, workspace) for _ in range(3)]
        warm = min(w[0] for w in warms)
        diffed = [d for d in found if d.api is not None]
        cached = [d for d in warms[-1][1] if d.api is not None and d.api.cached]
        findings = sum(len(d.api.changes) for d in diffed if d.api is not None)
        decided = sum(1 for d in found if d.bump.decided_by == "api")

        baseline = min(baselines)
        print()
        print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        print(f"API diffs: {len(diffed)} packages, {findings} findings; the API decided {decided} bump(s)")
        print(f"baseline detect (no API diff): {baseline:5.2f}s (runs {', '.join(f'{b:.2f}' for b in baselines)})")
        print(f"cold detect with API diffs:    {cold:5.2f}s ({cold - baseline:+.2f}s)")
        print(
            f"warm detect with API diffs:    {warm:5.2f}s ({warm - baseline:+.2f}s; runs "
            f"{', '.join(f'{w[0]:.2f}' for w in warms)}; {len(cached)} of {len(diffed)} diffs from the cache)"
        )
        print(f"target (warm adds under 1 s): {'met' if warm - baseline < 1.0 else 'NOT met'}")
    finally:
        if args.keep:
            print(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

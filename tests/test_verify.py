"""Verification: fresh envs, CPU torch, pinned local siblings, smoke checks, verify-all order, skips and the cache.

One clean stand-in ecosystem is verified once per module (real builds, real uv/pip installs from PyPI, real CPU
torch); the other tests reuse its wheelhouse and cache, and catch each defect at the phase that owns it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from juniper_release.ecosystem.registry import PYTHON_CANDIDATES, Registry
from juniper_release.sandbox.standin import Ecosystem, create_ecosystem
from juniper_release.verify.build import build_package
from juniper_release.verify.cache import is_verified, source_key, wheelhouse_dir
from juniper_release.verify.envs import CudaTorchError, VerifyError, create_env
from juniper_release.verify.install import _check_installed, provenance_mismatches, verify_package
from juniper_release.verify.precheck import precheck
from juniper_release.verify.scheduler import PackageResult, VerifyReport, verify_all

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
ORDER = [
    "juniper-cascor-client",
    "juniper-cascor-worker",
    "juniper-data-client",
    "juniper-cascor",
    "juniper-data",
    "juniper-ml",
]


@pytest.fixture(scope="module")
def eco(tmp_path_factory: pytest.TempPathFactory, registry: Registry) -> Ecosystem:
    base = tmp_path_factory.mktemp("clean")
    return create_ecosystem(base / "ws", registry, None, remotes=base / "remotes")


@pytest.fixture(scope="module")
def verified(eco: Ecosystem, registry: Registry) -> VerifyReport:
    """verify-all on the clean ecosystem, once for the module."""
    return verify_all(registry, eco.workspace, log=lambda _m: None)


@pytest.fixture(scope="module")
def wheels(verified: VerifyReport, registry: Registry) -> dict[str, object]:
    from juniper_release.verify.build import load_build

    out = {}
    for pkg in registry.packages:
        built = load_build(pkg, wheelhouse_dir() / pkg.name)
        assert built is not None
        out[pkg.name] = built
    return out


def _eco(tmp_path: Path, registry: Registry, defects: str) -> Ecosystem:
    """A defect ecosystem with its own cache dir, so its builds never replace the shared clean wheelhouse."""
    os.environ["JUNIPER_CACHE_DIR"] = str(tmp_path / "cache")
    return create_ecosystem(tmp_path / "ws", registry, defects, remotes=tmp_path / "remotes")


@pytest.fixture(autouse=True)
def _restore_cache_dir(cache: Path) -> Iterator[None]:
    yield
    os.environ["JUNIPER_CACHE_DIR"] = str(cache)


# --------------------------------------------------------------------------------------------------- verify-all


def test_verify_all_passes_in_release_order_with_phase_timings(verified):
    assert verified.ok, verified.render()
    assert [r.package for r in verified.results] == ORDER
    assert verified.builds == 6
    for result in verified.results:
        assert result.status == "passed" and result.backend == "uv"
        assert set(result.phases) == {"build", "env", "install", "smoke"}
    text = verified.render()
    assert "package" in text and "backend" in text and "smoke" in text and "verify-all passed" in text
    manifest = json.loads((wheelhouse_dir() / "manifest.json").read_text())
    assert [m["package"] for m in manifest["packages"]] == [
        "juniper-data-client",
        "juniper-cascor-client",
        "juniper-cascor-worker",
        "juniper-data",
        "juniper-cascor",
        "juniper-ml",
    ]
    envs = [p for p in (wheelhouse_dir().parent / "envs").glob("*") if p.name != ".juniper-cache-part"]
    assert not envs, "passed environments are removed (the cache part keeps only its marker)"


def test_no_op_rerun_does_zero_builds_and_reports_cached(verified, eco, registry):
    again = verify_all(registry, eco.workspace, log=lambda _m: None)
    assert again.ok and again.builds == 0
    assert {r.status for r in again.results} == {"cached"}
    assert again.get("juniper-ml").backend == "uv"
    assert all(is_verified(registry, p, eco.workspace) for p in registry.packages)


def test_changed_source_rebuilds_that_package_and_reverifies_dependents(verified, eco, registry):
    data = registry.get("juniper-data-client")
    before = source_key(registry, data, eco.workspace)
    notes = eco.checkout(data.path) / "NOTES.md"
    notes.write_text("untracked, not ignored\n")
    try:
        assert source_key(registry, data, eco.workspace) != before
        assert not is_verified(registry, data, eco.workspace)
        assert not is_verified(registry, registry.get("juniper-data"), eco.workspace)
        assert is_verified(registry, registry.get("juniper-cascor-client"), eco.workspace)
        report = verify_all(registry, eco.workspace, ["juniper-data-client", "juniper-data"], log=lambda _m: None)
        assert report.ok, report.render()
        assert report.builds == 1
        assert report.get("juniper-data-client").built and not report.get("juniper-data").built
        assert [r.status for r in report.results] == ["passed", "passed"]
    finally:
        notes.unlink()
    assert source_key(registry, data, eco.workspace) == before
    # Back to the original source: the wheelhouse holds the NOTES build, so it is rebuilt once (not re-verified
    # against anything new: juniper-data-client's earlier success is still on record).
    restored = verify_all(registry, eco.workspace, ["juniper-data-client"], log=lambda _m: None)
    assert restored.builds == 1 and restored.get("juniper-data-client").status in {"passed", "cached"}


def test_force_rebuilds_even_when_cached(verified, eco, registry):
    report = verify_all(registry, eco.workspace, ["juniper-cascor-client"], force=True, log=lambda _m: None)
    assert report.ok and report.builds == 1 and report.get("juniper-cascor-client").status == "passed"


def test_source_key_covers_uncommitted_diff_and_tool_config(verified, eco, registry, tmp_path):
    pkg = registry.get("juniper-cascor-client")
    key = source_key(registry, pkg, eco.workspace)
    readme = eco.checkout(pkg.path) / "README.md"
    original = readme.read_text()
    readme.write_text(original + "\nmore\n")
    try:
        assert source_key(registry, pkg, eco.workspace) != key
    finally:
        readme.write_text(original)
    other = tmp_path / "repos.toml"
    other.write_text(registry.path.read_text() + "\n# changed\n")
    assert source_key(dataclasses.replace(registry, path=other), pkg, eco.workspace) != key
    assert source_key(registry, pkg, eco.workspace) == key


def test_failing_package_does_not_hide_others_and_dependents_are_skipped(registry, tmp_path):
    eco = _eco(tmp_path, registry, "version-mismatch")
    report = verify_all(
        registry,
        eco.workspace,
        ["juniper-data-client", "juniper-data", "juniper-cascor-client"],
        log=lambda _m: None,
    )
    assert not report.ok
    client, data, other = (report.get(n) for n in ("juniper-data-client", "juniper-data", "juniper-cascor-client"))
    assert client.status == "failed" and client.phase == "smoke"
    assert "__version__ is 0.3.0 but the installed wheel is juniper-data-client 0.3.1" in (client.error or "")
    assert "Fix: set __version__ = '0.3.1'" in (client.error or "")
    assert data.status == "skipped" and data.result == "skipped: dependency failed (juniper-data-client)"
    assert other.status in {"passed", "cached"}  # identical to the clean one: content-addressed cache
    text = report.render()
    assert "juniper-data-client [smoke]:" in text and "verify-all FAILED" in text
    assert json.loads(report.to_json())["ok"] is False


def test_build_failure_of_a_dependency_skips_the_requested_package(registry, tmp_path):
    eco = _eco(tmp_path, registry, "missing-py-typed")
    report = verify_all(registry, eco.workspace, ["juniper-data"], log=lambda _m: None)
    assert report.get("juniper-data").result == "skipped: dependency failed (juniper-data-client)"
    assert report.get("juniper-data").version == "0.6.0", "a skipped package still shows its version"


def test_keep_going_verifies_dependents_of_a_failed_package_against_its_wheel(registry, tmp_path):
    eco = _eco(tmp_path, registry, "version-mismatch")
    names = ["juniper-data-client", "juniper-data"]
    report = verify_all(registry, eco.workspace, names, keep_going=True, log=lambda _m: None)
    client, data = report.get("juniper-data-client"), report.get("juniper-data")
    assert client.status == "failed" and client.phase == "smoke"
    assert data.status == "passed" and data.result == "passed: against failed juniper-data-client, not cached"
    assert not report.ok and "verify-all FAILED" in report.render()
    # Such a pass is never trusted later: without --keep-going the dependent is skipped again, not "cached".
    assert not is_verified(registry, registry.get("juniper-data"), eco.workspace)
    again = verify_all(registry, eco.workspace, names, log=lambda _m: None)
    assert again.get("juniper-data").result == "skipped: dependency failed (juniper-data-client)"
    assert again.get("juniper-data").version == "0.6.0"


def test_keep_going_still_skips_dependents_of_a_failed_build(registry, tmp_path):
    eco = _eco(tmp_path, registry, "missing-py-typed")
    report = verify_all(registry, eco.workspace, ["juniper-data"], keep_going=True, log=lambda _m: None)
    assert report.get("juniper-data").result == "skipped: dependency failed (juniper-data-client)"


def test_a_dependency_known_to_have_failed_skips_a_verification_before_any_work(registry, tmp_path):
    from juniper_release.verify.scheduler import _Run, _verify_job

    results = {n: PackageResult(n) for n in ("juniper-data-client", "juniper-data")}
    results["juniper-data-client"].status = "failed"
    lines: list[str] = []
    run_ = _Run(registry, tmp_path, {}, results, log=lines.append)  # no builds, no workspace: nothing may run
    closure = {"juniper-data-client"}
    assert _verify_job(run_, "juniper-data", closure, keep_going=False) is False
    assert results["juniper-data"].result == "skipped: dependency failed (juniper-data-client)"
    assert lines == ["[juniper-data] skipped: dependency failed (juniper-data-client)"]
    with pytest.raises(KeyError):  # with --keep-going it goes on (to the build it needs, absent here)
        _verify_job(run_, "juniper-data", closure, keep_going=True)


def test_a_dependent_is_verified_alongside_its_dependency_and_settled_after_it(registry, tmp_path):
    """One job makes the order fixed: both builds, then the verification with more to install (the dependent) starts
    before its dependency's; the dependent's outcome still follows its dependency's (skipped when it failed, and
    never cached)."""
    eco = _eco(tmp_path, registry, "version-mismatch")
    lines: list[str] = []
    names = ["juniper-data-client", "juniper-data"]
    report = verify_all(registry, eco.workspace, names, jobs=1, log=lines.append)
    started = [line for line in lines if line.endswith("verify ...") or " build ..." in line]
    assert started == [
        "[juniper-data-client] build ...",
        "[juniper-data] build ...",
        "[juniper-data] verify ...",
        "[juniper-data-client] verify ...",
    ]
    assert report.get("juniper-data-client").status == "failed"
    assert report.get("juniper-data").result == "skipped: dependency failed (juniper-data-client)"
    assert (
        "[juniper-data] skipped: dependency failed (juniper-data-client) (its own verification is not reported)"
        in lines
    )
    assert not is_verified(registry, registry.get("juniper-data"), eco.workspace)


# --------------------------------------------------------------------------------------------------- defects by phase


def test_cuda_torch_stops_in_the_precheck_before_any_download(registry, tmp_path):
    eco = _eco(tmp_path, registry, "cuda-torch")
    report = verify_all(registry, eco.workspace, ["juniper-cascor-worker"], log=lambda _m: None)
    result = report.get("juniper-cascor-worker")
    assert result.status == "failed" and result.phase == "install"
    assert "torch>=2.99" in (result.error or "") and "CUDA build" in (result.error or "")
    assert "nothing was downloaded" in (result.error or "")
    assert "env" in result.phases and result.phases["env"] < 5, "CPU torch must not even be installed"


def test_broken_import_fails_in_smoke(registry, tmp_path):
    eco = _eco(tmp_path, registry, "broken-import")
    result = verify_all(registry, eco.workspace, ["juniper-cascor-worker"], log=lambda _m: None).get(
        "juniper-cascor-worker"
    )
    assert result.status == "failed" and result.phase == "smoke"
    assert "import juniper_cascor_worker failed in a fresh environment: ModuleNotFoundError" in (result.error or "")


def test_bad_console_script_fails_in_smoke(registry, tmp_path):
    eco = _eco(tmp_path, registry, "bad-console-script")
    result = verify_all(registry, eco.workspace, ["juniper-cascor-worker"], log=lambda _m: None).get(
        "juniper-cascor-worker"
    )
    assert result.status == "failed" and result.phase == "smoke"
    assert "console script `juniper-cascor-worker --help` failed (exit 1)" in (result.error or "")
    assert "Fix: fix the [project.scripts] entry point juniper-cascor-worker" in (result.error or "")


def test_build_defects_fail_in_the_build_phase(registry, tmp_path):
    eco = _eco(tmp_path, registry, "incomplete-sdist")
    report = verify_all(registry, eco.workspace, ["juniper-data"], log=lambda _m: None)
    result = report.get("juniper-data")
    assert result.status == "failed" and result.phase == "build" and "sdist is incomplete" in (result.error or "")
    assert "+++ wheel from the sdist" in report.render()


# --------------------------------------------------------------------------------------------------- pre-check guards


def test_precheck_requires_python_admits_the_chosen_python(registry, wheels, tmp_path):
    eco = _eco(tmp_path, registry, "mixed-floors")
    ml = registry.get("juniper-ml")
    local = dict(wheels)
    local["juniper-ml"] = build_package(registry, ml, eco.workspace, tmp_path / "out")
    with pytest.raises(
        VerifyError,
        match=r"juniper-ml's wheel requires Python >=3.12, which excludes the Python 3.11.7 it is verified on",
    ):
        precheck(registry, ml, local, "3.11.7")


def test_precheck_sibling_range_must_admit_the_local_build(registry, wheels, tmp_path):
    eco = _eco(tmp_path, registry, "escaped-ceiling")
    data = registry.get("juniper-data")
    local = dict(wheels)
    local["juniper-data"] = build_package(registry, data, eco.workspace, tmp_path / "out")
    with pytest.raises(VerifyError, match=r"requires juniper-data-client<0.3,>=0.2 but the local build .* is 0.3.1"):
        precheck(registry, data, local, "3.11.7")


def _with(registry: Registry, name: str, **changes: object) -> Registry:
    packages = tuple(dataclasses.replace(p, **changes) if p.name == name else p for p in registry.packages)  # type: ignore[arg-type]
    return dataclasses.replace(registry, packages=packages)


def test_precheck_refuses_torch_for_a_package_not_configured_for_it(registry, wheels):
    reg = _with(registry, "juniper-cascor-worker", torch=False)
    with pytest.raises(CudaTorchError, match=r"torch = false.*Fix: set torch = true"):
        precheck(reg, reg.get("juniper-cascor-worker"), wheels, "3.11.7")
    # The meta-package pulls torch through its [worker] extra.
    reg = _with(registry, "juniper-ml", torch=False)
    with pytest.raises(CudaTorchError, match=r"juniper-ml pulls in torch \(juniper-cascor-worker: torch>=2.0\)"):
        precheck(reg, reg.get("juniper-ml"), wheels, "3.11.7")


def test_precheck_configured_extra_must_exist(registry, wheels):
    reg = _with(registry, "juniper-data", extras=("api", "nope"))
    with pytest.raises(VerifyError, match=r"extra \[nope\] for juniper-data but its wheel declares all, api"):
        precheck(reg, reg.get("juniper-data"), wheels, "3.11.7")


def test_precheck_passes_and_follows_extras_through_siblings(registry, wheels):
    closure = precheck(registry, registry.get("juniper-ml"), wheels, "3.11.7")
    names = {str(req.name) for _, req in closure}
    assert {"juniper-data-client", "juniper-cascor-worker", "torch", "pydantic"} <= names


# --------------------------------------------------------------------------------------------------- install guards


def test_installed_sibling_must_be_the_local_wheel(registry, wheels, tmp_path):
    env = create_env(tmp_path / "env", "3.11")
    client = wheels["juniper-data-client"]
    env.install([str(client.wheel), "--no-deps"])
    pkg = registry.get("juniper-data-client")
    assert provenance_mismatches(env, client.wheel) == []
    _check_installed(env, pkg, {"juniper-data-client": client}, "installing")

    fake = dataclasses.replace(client, version="9.9.9")
    with pytest.raises(VerifyError, match=r"juniper-data-client 0.3.1 is installed but the local build is 9.9.9"):
        _check_installed(env, pkg, {"juniper-data-client": fake}, "installing")

    site = tmp_path / "env" / "lib" / "python3.11" / "site-packages" / "juniper_data_client" / "__init__.py"
    site.write_text(site.read_text() + "\n# from an index\n")
    with pytest.raises(VerifyError, match=r"is not the local wheel \(files differ: juniper_data_client/__init__.py"):
        _check_installed(env, pkg, {"juniper-data-client": client}, "installing")


def test_registry_smoke_command_failure_is_reported(registry, wheels, eco, tmp_path):
    reg = _with(registry, "juniper-cascor-client", smoke=("python -c 'raise SystemExit(3)'",))
    pkg = reg.get("juniper-cascor-client")
    result = PackageResult(pkg.name)
    with pytest.raises(Exception, match=r"smoke command .* failed \(exit 3\).*Fix: fix juniper-cascor-client"):
        verify_package(reg, pkg, eco.workspace, {pkg.name: wheels[pkg.name]}, result, env_dir=tmp_path / "env")
    assert result.phase == "smoke" and result.backend == "uv"


# --------------------------------------------------------------------------------------------------- nox front door


def _nox(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JUNIPER_CACHE_DIR": str(cache)}
    return subprocess.run(
        ["nox", "-f", str(ROOT / "noxfile.py"), *args], capture_output=True, text=True, env=env, check=False
    )


def test_nox_ci_tag_lists_exactly_one_verify_session_per_package_and_python(registry, cache):
    proc = _nox("-l", "--json", "-t", "ci", cache=cache)
    assert proc.returncode == 0, proc.stderr
    sessions = [s["session"] for s in json.loads(proc.stdout)]
    # No checkouts next to this repository: every candidate Python is listed (a session skips the ones excluded).
    assert sessions == [f"verify({p.name}, {py})" for p in registry.packages for py in PYTHON_CANDIDATES]
    every = [
        s["session"] for s in json.loads(_nox("-l", "--json", "-t", "layer0", "layer1", "layer2", cache=cache).stdout)
    ]
    assert all(f"verify({p.name})" in every for p in registry.packages), "the default-Python sessions stay"


def test_nox_verify_all_on_a_verified_workspace_is_all_cached(verified, eco, cache):
    proc = _nox("-s", "verify-all", "--", "--workspace", str(eco.workspace), cache=cache)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "verify-all passed: 6 cached; 0 build(s)" in proc.stdout


def test_nox_verify_all_never_substitutes_the_sandbox(tmp_path, cache):
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = _nox("-s", "verify-all", "--", "--workspace", str(empty), cache=cache)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert f"workspace {empty} lacks checkouts" in out
    assert "juniper-release clone" in out  # nox runs only verification and "--sandbox" in out
    assert "Traceback" not in out
    assert not (cache / "sandbox").exists()
    missing = _nox("-s", "verify-all", "--", "--workspace", str(tmp_path / "nope"), cache=cache)
    out = missing.stdout + missing.stderr
    assert missing.returncode != 0 and f"workspace {tmp_path / 'nope'}" in out
    assert "juniper-release clone" in out and "--sandbox" in out and "Traceback" not in out


def test_nox_options_are_per_session_and_build_prints_its_manifest(eco, cache):
    """--keep-going reaches verify-all; --force means nothing to check and is refused; build --json is the manifest."""
    keep = _nox("-s", "verify-all", "--", "--workspace", str(eco.workspace), "--keep-going", "--json", cache=cache)
    assert keep.returncode == 0, keep.stdout + keep.stderr
    refused = _nox("-s", "check", "--", "--force", cache=cache)
    assert refused.returncode != 0 and "unrecognized arguments: --force" in refused.stderr
    built = _nox("-s", "build(juniper-data-client)", "--", "--workspace", str(eco.workspace), "--json", cache=cache)
    assert built.returncode == 0, built.stderr
    manifest = json.loads(built.stdout)
    assert manifest["version"] == "0.3.1"
    assert sorted(a["name"].rsplit(".", 1)[-1] for a in manifest["artifacts"]) == ["gz", "whl"]


def test_nox_clean_removes_the_cache(tmp_path):
    from juniper_release.ecosystem.paths import PART_MARKER

    cache = tmp_path / "cache"
    (cache / "wheelhouse" / "x").mkdir(parents=True)
    (cache / "verified").mkdir()
    for made in ("wheelhouse", "verified"):  # the parts the tool made carry its marker; only those go
        (cache / made / PART_MARKER).touch()
    (cache / "journal").mkdir()
    proc = _nox("-s", "clean", cache=cache)
    assert proc.returncode == 0, proc.stderr
    assert not (cache / "wheelhouse").exists() and not (cache / "verified").exists()
    assert (cache / "journal").exists(), "other tools' state is not verification cache"

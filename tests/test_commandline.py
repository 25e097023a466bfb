"""One consistent command line (issue 20 §4): short flags with one meaning in every task, --package/--packages as
one option, "did you mean", the same exit code from nox and invoke, and the console script from any directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_session
from juniper_release.cli.flags import ALIASES, SHORT
from juniper_release.cli.program import did_you_mean
from juniper_release.cli.tasks import ns
from juniper_release.ecosystem.paths import nearest_registry
from juniper_release.ecosystem.registry import load_registry
from juniper_release.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(sys.executable).parent / "juniper-release"


def _flags() -> dict[str, dict[str, list[str]]]:
    """Every task's options: task -> long name -> its other names."""
    out: dict[str, dict[str, list[str]]] = {}
    for name in ns.task_names:
        args = ns[name].get_arguments(ignore_unknown_help=True)
        out[name] = {arg.name: list(arg.names[1:]) for arg in args}
    return out


def test_every_short_flag_means_one_option_in_every_task():
    meaning: dict[str, set[str]] = {}
    for task, options in _flags().items():
        for long, others in options.items():
            shorts = [n for n in others if len(n) == 1]
            attr = long.replace("-", "_")
            assert shorts in ([], [SHORT.get(attr)]), f"{task}: --{long} has short flags {shorts}"
            for short in shorts:
                meaning.setdefault(short, set()).add(attr)
    clashes = {short: longs for short, longs in meaning.items() if len(longs) > 1}
    assert not clashes, f"short flags with more than one meaning: {clashes}"
    assert len(set(SHORT.values())) == len(SHORT)  # the table itself: one option per letter


def test_the_flag_test_fails_on_a_clash(monkeypatch):
    monkeypatch.setitem(SHORT, "mode", "x")  # x already means --execute
    with pytest.raises(AssertionError, match=r"one option per letter|more than one meaning"):
        test_every_short_flag_means_one_option_in_every_task()


def test_package_and_packages_are_one_option():
    for task, options in _flags().items():
        assert "packages" not in options, f"{task} still has a separate --packages"
        if "package" in options:
            assert "packages" in options["package"] and "p" in options["package"]
    assert ALIASES == {"package": ("packages",)}


def test_did_you_mean_for_tasks_options_and_packages():
    assert did_you_mean("relase", ns.task_names) == " (did you mean 'release'?)"
    assert did_you_mean("zzz", ns.task_names) == ""
    with pytest.raises(ConfigError, match=r"unknown package 'juniper-dta' \(did you mean 'juniper-data'\?\)"):
        load_registry(ROOT / "repos.toml", env={}).get("juniper-dta")


def _script(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **(env or {})}
    return subprocess.run(
        [str(SCRIPT), *args], check=False, cwd=cwd, env=full, capture_output=True, text=True, timeout=300
    )


@pytest.mark.skipif(not SCRIPT.exists(), reason="the console script is installed by `pip install -e .`")
def test_the_console_script_runs_from_any_directory_and_suggests(tmp_path):
    listed = _script("--list", cwd=tmp_path)
    assert listed.returncode == 0 and "release-train" in listed.stdout and "propose" in listed.stdout
    typo = _script("relase", cwd=tmp_path)
    assert typo.returncode == 2 and "did you mean 'release'?" in typo.stderr and "Traceback" not in typo.stderr
    option = _script("status", "--sandboxx", cwd=tmp_path)
    assert option.returncode == 2 and "did you mean '--sandbox'?" in option.stderr
    package = _script("release", "--package", "juniper-dta", "--sandbox", cwd=tmp_path)
    assert package.returncode == 2 and "did you mean 'juniper-data'?" in package.stderr


def test_the_registry_is_the_nearest_repos_toml_upwards(tmp_path):
    project = tmp_path / "project"
    (project / "deep" / "er").mkdir(parents=True)
    (project / "repos.toml").write_text((ROOT / "registries" / "kinds.toml").read_text(encoding="utf-8"))
    assert nearest_registry(project / "deep" / "er") == project / "repos.toml"
    assert nearest_registry(Path("/")) is None


def test_the_same_error_exits_with_the_same_code_from_nox_and_invoke():
    from conftest import run_task

    env = {"JUNIPER_WORKSPACE": "/nonexistent-workspace"}
    task = run_task("status", env=env)
    session = run_session("-s", "verify-all", env=env)
    assert task.returncode == session.returncode == 2, (task.stderr, session.stderr)
    assert "error: workspace" in task.stderr and "error: workspace" in session.stderr

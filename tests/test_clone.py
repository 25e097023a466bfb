"""`invoke clone`: clones the missing checkouts from their repos (a local base stands in for GitHub)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import PACKAGE_NAMES, run_task
from juniper_release.ecosystem.registry import clone_url, load_registry
from juniper_release.ecosystem.workspace import clone_missing
from juniper_release.errors import GitError
from juniper_release.gitops import Git


def test_clone_url(registry):
    pkg = registry.get("juniper-data")
    assert clone_url(pkg) == "https://github.com/pcalnon/juniper-data.git"
    assert clone_url(pkg, "/mirror") == "/mirror/pcalnon/juniper-data"


def test_clone_missing_skips_existing_and_clones_the_rest(ecosystem, registry, tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    shutil.copytree(ecosystem.checkout("juniper-data"), ws / "juniper-data")
    (ws / "juniper-ml").mkdir()
    (ws / "juniper-ml" / "stray.txt").write_text("not a checkout\n", encoding="utf-8")
    base = str(ecosystem.remotes)
    planned = dict(clone_missing(registry, ws, base, dry_run=True))
    assert planned["juniper-cascor"] == f"would clone {base}/pcalnon/juniper-cascor"
    assert not (ws / "juniper-cascor").exists()
    outcomes = dict(clone_missing(registry, ws, base))
    assert outcomes["juniper-data"].startswith("skipped:")
    assert "holds no pyproject.toml" in outcomes["juniper-ml"]
    for name in set(PACKAGE_NAMES) - {"juniper-data", "juniper-ml"}:
        assert outcomes[name].startswith("cloned ")
        assert Git(ws / name).tag_exists(registry.tag_for(_version(ws / name)))
    # Idempotent: a second run clones nothing.
    assert all(o.startswith("skipped") for o in dict(clone_missing(registry, ws, base)).values())


def _version(root: Path) -> str:
    from juniper_release.ecosystem.project import read_project

    return str(read_project(load_registry().get(root.name), root).version)


def test_clone_failure_is_one_line(registry, tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    with pytest.raises(GitError) as info:
        clone_missing(registry, ws, str(tmp_path / "no-such-mirror"))
    message = str(info.value)
    assert "\n" not in message and "git clone" in message and "Fix: check that" in message


def test_clone_task(ecosystem, tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    result = run_task("clone", "--workspace", str(ws), "--base", str(ecosystem.remotes))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(": cloned ") == 6
    check = run_task("check", "--workspace", str(ws))
    assert check.returncode == 0, check.stdout
    bad = run_task("clone", "--workspace", str(tmp_path / "nope"))
    assert bad.returncode == 2 and "is not a directory" in bad.stderr and "Traceback" not in bad.stderr

"""The rehearsal's building blocks on the stand-in ecosystem, and its guards (the full rehearsal runs in
test_train.py): throwaway clones, bumping once even when resumed, the stand-in workflow's tag check, the
released-where table, and an interruption that says how to resume."""

from __future__ import annotations

import os
import shutil

import pytest
from conftest import PACKAGE_NAMES, RELEASE_ORDER
from juniper_release.ecosystem.project import read_project
from juniper_release.ecosystem.registry import load_registry
from juniper_release.errors import JuniperError
from juniper_release.github.forge import GitHub
from juniper_release.gitops import Git
from juniper_release.sandbox import rehearse
from juniper_release.sandbox.fakeforge import FakeGitHub


def test_clone_workspace_refuses_a_directory_that_is_not_a_checkout(ecosystem, registry, tmp_path):
    source = tmp_path / "source"
    shutil.copytree(ecosystem.workspace, source)
    shutil.rmtree(source / "juniper-cascor" / ".git")
    with pytest.raises(JuniperError, match=r"juniper-cascor: .* is not a git checkout\. Fix: run `invoke clone`"):
        rehearse.clone_workspace(registry, source, tmp_path / "rehearsal")


def test_throwaway_clones_are_bumped_once_and_the_table_shows_nothing_released(
    ecosystem, registry, local_registry, tmp_path
):
    workspace = rehearse.clone_workspace(registry, ecosystem.workspace, tmp_path / "rehearsal")
    for name in PACKAGE_NAMES:
        git = Git(workspace / name)
        assert git.remote_url() == str(tmp_path / "rehearsal" / "remotes" / f"pcalnon/{name}.git")
        assert git.tags()  # the release tags came along
    assert Git(ecosystem.checkout("juniper-ml")).remote_url() != Git(workspace / "juniper-ml").remote_url()

    bumped = rehearse.bump_all(registry, workspace)
    assert bumped[0] == "juniper-data-client: 0.3.1 -> 0.3.2" and len(bumped) == 6
    again = rehearse.bump_all(registry, workspace)
    assert again[0] == "juniper-data-client: 0.3.2 already bumped (no tag v0.3.2 yet)" and len(again) == 6
    assert (
        str(read_project(load_registry().get("juniper-data-client"), workspace / "juniper-data-client").version)
        == "0.3.2"
    )
    assert Git(workspace / "juniper-data-client").is_clean()

    with FakeGitHub() as fake:
        rows = rehearse.released_table(local_registry, workspace, GitHub(fake.url, token=""))
    assert tuple(r["package"] for r in rows) == RELEASE_ORDER
    assert all(
        r["version"] == str(read_project(load_registry().get(str(r["package"])), workspace / str(r["package"])).version)
        for r in rows
    )
    assert {(r["tag on origin"], r["GitHub release"], r["testpypi"], r["pypi"]) for r in rows} == {
        (False, False, False, False)
    }


def test_the_stand_in_workflow_refuses_a_tag_outside_the_tag_format(registry, tmp_path):
    runner = rehearse.workflow_runner(registry, tmp_path / "remotes", tmp_path / "ci", False, 1)
    with pytest.raises(JuniperError, match=r"tag release-0\.6\.1 does not follow v\{version\}"):
        runner("pcalnon/juniper-data", "release-0.6.1", "a" * 40)


def test_an_interrupted_rehearsal_says_how_to_resume(monkeypatch, tmp_path):
    def interrupted(*args: object) -> list[dict[str, object]]:
        raise KeyboardInterrupt

    monkeypatch.setattr(rehearse, "_rehearse", interrupted)
    with pytest.raises(JuniperError) as info:
        rehearse.rehearse(None, tmp_path, tmp_path / "dir")
    assert str(info.value) == (
        f"the rehearsal was interrupted; its state is kept in {tmp_path / 'dir'}. "
        f"Fix: resume it with `invoke rehearse --resume --dir {tmp_path / 'dir'}`"
    )


def test_the_environment_overrides_are_undone_afterwards(monkeypatch):
    monkeypatch.setenv("JUNIPER_PYPI_SIMPLE_URL", "http://before/simple/")
    monkeypatch.delenv("JUNIPER_GITHUB_API_URL", raising=False)
    overrides = {"JUNIPER_PYPI_SIMPLE_URL": "http://during/simple/", "JUNIPER_GITHUB_API_URL": "http://gh"}
    with rehearse._environ(overrides):
        assert {k: os.environ[k] for k in overrides} == overrides
    assert os.environ["JUNIPER_PYPI_SIMPLE_URL"] == "http://before/simple/"
    assert "JUNIPER_GITHUB_API_URL" not in os.environ


def test_rehearse_resolves_the_workspace_like_every_task(ecosystem, tmp_path):
    from juniper_release.frontdoor import rehearsal_target

    from_env = rehearsal_target(env={"JUNIPER_WORKSPACE": str(ecosystem.workspace)})
    assert (from_env.workspace, from_env.sandbox) == (ecosystem.workspace.resolve(), False)
    given = rehearsal_target(ecosystem.workspace, env={"JUNIPER_WORKSPACE": str(tmp_path)})
    assert given.workspace == ecosystem.workspace.resolve()
    with pytest.raises(JuniperError, match=r"workspace .* lacks checkouts: juniper-data-client"):
        rehearsal_target(env={"JUNIPER_WORKSPACE": str(tmp_path)})


def test_a_missing_pypiserver_is_a_one_line_error_with_the_fix(monkeypatch, tmp_path):
    import sys

    from juniper_release.sandbox import localindex

    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    server = localindex.LocalIndex("pypi", tmp_path / "index", localindex.free_port())
    with pytest.raises(
        JuniperError, match=r"^pypiserver is not installed.*Fix: .* -m pip install 'pypiserver\[passlib\]"
    ):
        server.start()
    assert server.process is None and not (tmp_path / "index").exists()

"""The organization transfer codemod and its checklist, on the stand-in ecosystem (real git, real files)."""

from __future__ import annotations

import difflib
import io
import json
import shutil
from pathlib import Path

import pytest
from conftest import PACKAGE_NAMES, run_task
from juniper_release.ecosystem.registry import ROOT, Registry, load_registry
from juniper_release.errors import ConfigError, GitError, JuniperError
from juniper_release.gitops import Git
from juniper_release.sandbox.standin import Ecosystem
from juniper_release.transfer.checklist import STEPS, checklist, render_checklist
from juniper_release.transfer.codemod import (
    Rewriter,
    check_flags,
    parse_remote,
    plan_transfer,
    rewrite_remote,
    run_transfer,
    updates_registry,
)

ORG = "OvertoadResearch"
EXTRA_FILES = {
    "juniper-data": {
        ".github/workflows/ci.yml": (
            "name: CI\non: [push]\njobs:\n  test:\n    if: github.repository == 'pcalnon/juniper-data'\n"
            "    uses: pcalnon/juniper-ml/.github/workflows/reusable.yml@main\n"
        ),
        "docs/index.md": (
            "Uses [the client](https://github.com/pcalnon/juniper-data-client).\n"
            "Author: https://github.com/pcalnon. Dotfiles: https://github.com/pcalnon/dotfiles.\n"
            "pcalnon wrote this; pcalnon/juniper-database is unrelated.\n"
        ),
        "notes/setup.md": "git clone git@github.com:pcalnon/juniper-data.git\n",
        "CLAUDE.md": "Push with git@github-juniper:pcalnon/juniper-data.git\n",
    }
}
REMOTES = {
    "juniper-data-client": "https://github.com/pcalnon/juniper-data-client.git",
    "juniper-cascor-client": "git@github.com:pcalnon/juniper-cascor-client.git",
    "juniper-cascor-worker": "ssh://git@github.com/pcalnon/juniper-cascor-worker.git",
    "juniper-data": "git@github-juniper:pcalnon/juniper-data.git",
    "juniper-ml": "https://github.com/pcalnon/juniper-ml",
}
BINARY = b"\x89PNG\r\n\x1a\n\x00 https://github.com/pcalnon/juniper-data \x00"
LATIN1 = "Auteur: pcalnon/juniper-data \xe9t\xe9\n".encode("latin-1")
IGNORED = "build/notes.md"


@pytest.fixture
def registry_copy(tmp_path: Path) -> Registry:
    path = tmp_path / "repos.toml"
    shutil.copyfile(ROOT / "repos.toml", path)
    return load_registry(path, env={})


@pytest.fixture
def eco(make_ecosystem) -> Ecosystem:
    """A real-looking workspace: GitHub remotes in every form, docs, notes, workflows, binary and ignored files."""
    e: Ecosystem = make_ecosystem(extra_files=EXTRA_FILES)
    for name, url in REMOTES.items():
        Git(e.checkout(name)).run("remote", "set-url", "origin", url)
    data = e.checkout("juniper-data")
    (data / "assets").mkdir()
    (data / "assets/logo.png").write_bytes(BINARY)
    (data / "assets/legacy.txt").write_bytes(LATIN1)
    git = Git(data)
    git.add(["assets"])
    git.commit("docs: add logo")
    (data / "build").mkdir()
    (data / IGNORED).write_text("https://github.com/pcalnon/juniper-data\n", encoding="utf-8")
    return e


def _snapshot(eco: Ecosystem) -> dict[str, tuple[str, str | None]]:
    return {n: (Git(eco.checkout(n)).head(), Git(eco.checkout(n)).remote_url()) for n in PACKAGE_NAMES}


def _run(registry: Registry, eco: Ecosystem, **kwargs: object) -> str:
    out = io.StringIO()
    kwargs.setdefault("verbose", True)  # the diffs (the default is a digest, tested in test_help)
    run_transfer(registry, eco.workspace, out=out, interactive=False, **kwargs)  # type: ignore[arg-type]
    return out.getvalue()


# ----------------------------------------------------------------------------------------------- units


def test_rewriter_touches_only_repository_references():
    rw = Rewriter("pcalnon", ORG, PACKAGE_NAMES)
    text = (
        "https://github.com/pcalnon/juniper-data-client/issues and git@github.com:pcalnon/juniper-data.git\n"
        "profile https://github.com/pcalnon and https://github.com/pcalnon/ but not https://github.com/pcalnon/dotfiles\n"
        "pcalnon is a person; xpcalnon/juniper-data and pcalnon/juniper-database are other repos\n"
        "https://github.com/sponsors/pcalnon stays personal\n"
    )
    assert rw.sub(text) == (
        f"https://github.com/{ORG}/juniper-data-client/issues and git@github.com:{ORG}/juniper-data.git\n"
        f"profile https://github.com/{ORG} and https://github.com/{ORG}/ but not https://github.com/pcalnon/dotfiles\n"
        "pcalnon is a person; xpcalnon/juniper-data and pcalnon/juniper-database are other repos\n"
        "https://github.com/sponsors/pcalnon stays personal\n"
    )
    assert rw.sub(rw.sub(text)) == rw.sub(text)
    assert len(rw.stale(text)) == 4


@pytest.mark.parametrize(
    ("url", "expected", "form"),
    [
        ("https://github.com/pcalnon/juniper-data", f"https://github.com/{ORG}/juniper-data", "https"),
        ("https://github.com/pcalnon/juniper-data.git", f"https://github.com/{ORG}/juniper-data.git", "https"),
        ("git@github.com:pcalnon/juniper-data.git", f"git@github.com:{ORG}/juniper-data.git", "ssh"),
        ("git@github-juniper:pcalnon/juniper-data.git", f"git@github-juniper:{ORG}/juniper-data.git", "ssh-alias"),
        ("ssh://git@github.com/pcalnon/juniper-data.git", f"ssh://git@github.com/{ORG}/juniper-data.git", "ssh"),
        ("/srv/remotes/pcalnon/juniper-data.git", None, "other"),
        ("https://gitlab.com/pcalnon/juniper-data.git", None, "other"),
        ("git@github.com:pcalnon/juniper-ml.git", None, "ssh"),  # another repo's URL is left alone
        (f"git@github.com:{ORG}/juniper-data.git", None, "ssh"),  # already moved
    ],
)
def test_remote_forms(url, expected, form):
    assert rewrite_remote(url, "pcalnon", ORG, "juniper-data") == expected
    assert parse_remote(url).form == form


def test_bad_organization_name_and_unknown_package_are_one_line_errors(registry_copy, ecosystem):
    with pytest.raises(ConfigError, match="not a valid GitHub account name"):
        plan_transfer(registry_copy, ecosystem.workspace, to="Overtoad Research")
    with pytest.raises(ConfigError, match="unknown package 'juniper-nope'"):
        plan_transfer(registry_copy, ecosystem.workspace, packages="juniper-nope")
    with pytest.raises(ConfigError, match=r"old and new owner are both .pcalnon.*Fix: .*--from-owner"):
        plan_transfer(registry_copy, ecosystem.workspace, to="pcalnon")


# ----------------------------------------------------------------------------------------------- transfer


def test_dry_run_prints_the_diff_in_release_order_and_changes_nothing(registry_copy, eco):
    before = _snapshot(eco)
    registry_text = registry_copy.path.read_text(encoding="utf-8")
    out = _run(registry_copy, eco)

    order = [out.index(f"== {n} (") for n in PACKAGE_NAMES]
    layer0, layer1, meta = order[:3], order[3:5], order[5]
    assert max(layer0) < min(layer1) and max(layer1) < meta
    assert f'-authors = [{{name = "Paul Calnon"}}]\n+authors = [{{name = "Paul Calnon"}}, {{name = "{ORG}"}}]' in out
    assert f'+Homepage = "https://github.com/{ORG}/juniper-data"' in out
    assert f'+Issues = "https://github.com/{ORG}/juniper-data/issues"' in out
    assert f"+[![CI](https://github.com/{ORG}/juniper-ml/actions/workflows/ci.yml/badge.svg)]" in out
    assert f"+The canonical repository is https://github.com/{ORG}/juniper-cascor." in out
    assert f"+    if: github.repository == '{ORG}/juniper-data'" in out
    assert f"+    uses: {ORG}/juniper-ml/.github/workflows/reusable.yml@main" in out
    assert f"+Author: https://github.com/{ORG}. Dotfiles: https://github.com/pcalnon/dotfiles." in out
    assert f"+git clone git@github.com:{ORG}/juniper-data.git" in out  # notes/
    assert "--- a/CLAUDE.md" in out
    assert "assets/logo.png" not in out and "assets/legacy.txt" not in out and IGNORED not in out
    assert f"origin: git@github-juniper:pcalnon/juniper-data.git -> git@github-juniper:{ORG}/juniper-data.git" in out
    assert f"origin: https://github.com/pcalnon/juniper-ml -> https://github.com/{ORG}/juniper-ml" in out
    assert f'+repo = "{ORG}/juniper-ml"' in out and f'+owner = "{ORG}"' in out
    assert "dry run: nothing was changed" in out

    assert _snapshot(eco) == before
    assert all(Git(eco.checkout(n)).is_clean() for n in PACKAGE_NAMES)
    assert registry_copy.path.read_text(encoding="utf-8") == registry_text


def test_execute_applies_commits_per_repo_and_a_second_run_has_nothing_to_do(registry_copy, eco):
    data = eco.checkout("juniper-data")
    pyproject_before = (data / "pyproject.toml").read_text(encoding="utf-8")
    registry_before = registry_copy.path.read_text(encoding="utf-8")

    out = _run(registry_copy, eco, execute=True)
    assert "committed" in out and "done: push each repository" in out

    for name in PACKAGE_NAMES:
        git = Git(eco.checkout(name))
        assert git.is_clean()
        assert git.subjects_since(None)[0] == f"Transfer to {ORG}"
        assert "pcalnon/juniper-" not in (eco.checkout(name) / "README.md").read_text(encoding="utf-8")
    remotes = {n: Git(eco.checkout(n)).remote_url() for n in PACKAGE_NAMES}
    assert remotes["juniper-data-client"] == f"https://github.com/{ORG}/juniper-data-client.git"
    assert remotes["juniper-cascor-client"] == f"git@github.com:{ORG}/juniper-cascor-client.git"
    assert remotes["juniper-cascor-worker"] == f"ssh://git@github.com/{ORG}/juniper-cascor-worker.git"
    assert remotes["juniper-data"] == f"git@github-juniper:{ORG}/juniper-data.git"
    assert remotes["juniper-ml"] == f"https://github.com/{ORG}/juniper-ml"
    assert remotes["juniper-cascor"] == str(eco.remote("pcalnon/juniper-cascor"))  # a local path stays

    # Unrelated bytes are untouched: only reference lines and the authors line differ in the pyproject.
    pyproject_after = (data / "pyproject.toml").read_text(encoding="utf-8")
    changed = [line for line in difflib.ndiff(pyproject_before.splitlines(), pyproject_after.splitlines())]
    removed = [line[2:] for line in changed if line.startswith("- ")]
    added = [line[2:] for line in changed if line.startswith("+ ")]
    assert len(removed) == len(added) == 4
    assert all("pcalnon" in line or line.startswith("authors") for line in removed)
    assert all(ORG in line for line in added)
    assert len(pyproject_before.splitlines()) == len(pyproject_after.splitlines())
    assert (data / "assets/logo.png").read_bytes() == BINARY
    assert (data / "assets/legacy.txt").read_bytes() == LATIN1
    assert (data / IGNORED).read_text(encoding="utf-8") == "https://github.com/pcalnon/juniper-data\n"
    docs = (data / "docs/index.md").read_text(encoding="utf-8")
    assert "pcalnon wrote this; pcalnon/juniper-database is unrelated." in docs

    # repos.toml: owner, previous owner and every repo moved; comments and layout preserved.
    registry_after = registry_copy.path.read_text(encoding="utf-8")
    assert f'owner = "{ORG}"                    # GitHub account that owns the six repos today' in registry_after
    assert 'previous_owner = "pcalnon"  # account the repos were transferred from' in registry_after
    assert registry_after.replace(f'"{ORG}/', '"pcalnon/').count("\n") == registry_before.count("\n") + 1
    assert registry_before.splitlines()[0] in registry_after
    reloaded = load_registry(registry_copy.path, env={})
    assert reloaded.owner == ORG and reloaded.previous_owner == "pcalnon"
    assert all(p.owner == ORG for p in reloaded.packages)

    heads = _snapshot(eco)
    again = _run(reloaded, eco, execute=True)
    assert "nothing to do" in again
    assert _snapshot(eco) == heads
    assert registry_copy.path.read_text(encoding="utf-8") == registry_after


def test_one_package_moves_alone_and_the_owner_waits_for_the_rest(registry_copy, eco):
    _run(registry_copy, eco, packages="juniper-data", execute=True)
    assert Git(eco.checkout("juniper-data")).subjects_since(None)[0] == f"Transfer to {ORG}"
    assert Git(eco.checkout("juniper-ml")).subjects_since(None)[0] != f"Transfer to {ORG}"
    reloaded = load_registry(registry_copy.path, env={})
    assert reloaded.owner == "pcalnon" and reloaded.get("juniper-data").owner == ORG
    # The reference to the not-yet-moved juniper-ml stays until juniper-ml moves.
    ci = (eco.checkout("juniper-data") / ".github/workflows/ci.yml").read_text(encoding="utf-8")
    assert "uses: pcalnon/juniper-ml/" in ci and f"'{ORG}/juniper-data'" in ci
    # A second run for the same package: nothing to do.
    assert "nothing to do" in _run(reloaded, eco, packages="juniper-data", execute=True)


def test_dirty_tree_is_refused_before_anything_changes(registry_copy, eco):
    # The meta repo is last in the order: a guard that fired late would already have committed the others.
    (eco.checkout("juniper-ml") / "notes.md").write_text("draft https://github.com/pcalnon/juniper-ml\n")
    before = _snapshot(eco)
    registry_text = registry_copy.path.read_text(encoding="utf-8")
    with pytest.raises(GitError, match=r"juniper-ml: the working tree .* is not clean .*Fix: commit or stash") as exc:
        _run(registry_copy, eco, execute=True, yes=True)
    assert "\n" not in str(exc.value)
    assert _snapshot(eco) == before
    assert Git(eco.checkout("juniper-data")).is_clean()
    assert registry_copy.path.read_text(encoding="utf-8") == registry_text


def test_detached_head_is_refused(registry_copy, eco):
    git = Git(eco.checkout("juniper-data"))
    git.run("checkout", "-q", "--detach")
    before = _snapshot(eco)
    with pytest.raises(GitError, match="detached HEAD"):
        _run(registry_copy, eco, execute=True, yes=True)
    assert _snapshot(eco) == before


def test_terminal_confirmation_declined_changes_nothing(registry_copy, eco):
    before = _snapshot(eco)
    asked: list[str] = []

    def decline(question: str) -> bool:
        asked.append(question)
        return False

    with pytest.raises(JuniperError, match="transfer cancelled"):
        run_transfer(registry_copy, eco.workspace, execute=True, out=io.StringIO(), confirm=decline, interactive=True)
    assert asked and _snapshot(eco) == before
    # --yes skips the question on a terminal.
    run_transfer(
        registry_copy, eco.workspace, execute=True, yes=True, out=io.StringIO(), confirm=decline, interactive=True
    )
    assert len(asked) == 1


# ----------------------------------------------------------------------------------------------- checklist


def test_status_before_and_after_with_exact_manual_instructions(registry_copy, eco):
    before = checklist(registry_copy, eco.workspace)
    assert len(before.rows()) == len(STEPS) == 11
    assert before.packages[-1] == "juniper-ml"
    rows = {r["#"]: r for r in before.rows()}
    for n in (8, 9, 10):
        assert all(rows[n][p] == "pending" for p in PACKAGE_NAMES)
    assert rows[2]["juniper-data"] == "pending" and rows[2]["juniper-cascor"] == "n/a"
    assert rows[3]["juniper-data-client"] == "n/a"  # https: no SSH host entry
    assert rows[11]["juniper-data"] == "pending"  # ci.yml names the old owner
    assert all(rows[n][p] == "manual" for n in (1, 4, 5, 6, 7) for p in PACKAGE_NAMES)

    _run(registry_copy, eco, execute=True)
    after = checklist(load_registry(registry_copy.path, env={}), eco.workspace)
    assert after.old == "pcalnon" and after.new == ORG
    assert after.complete()
    rows = {r["#"]: r for r in after.rows()}
    for n in (8, 9, 10, 11):
        assert all(rows[n][p] == "done" for p in PACKAGE_NAMES)
    assert rows[2]["juniper-data"] == "done" and rows[3]["juniper-data"] == "done"

    data = after.to_data()
    publishers = [m for m in data["manual"]["juniper-data"] if m["row"] in (6, 7)]
    assert {m["index"] for m in publishers} == {"pypi", "testpypi"}
    for m in publishers:
        expected = {"repository": "juniper-data", "workflow": "publish.yml", "environment": m["index"]}
        assert m["remove"] == {"owner": "pcalnon", **expected}
        assert m["add"] == {"owner": ORG, **expected}
    text = render_checklist(after)
    assert "remove: owner=pcalnon  repository=juniper-data  workflow=publish.yml  environment=testpypi" in text
    assert f"add:    owner={ORG}  repository=juniper-data  workflow=publish.yml  environment=pypi" in text
    assert "https://test.pypi.org/manage/project/juniper-data/settings/publishing/" in text
    assert f"add organization {ORG} as Owner of project juniper-ml" in text
    assert "keep `Host github-juniper`" in text
    assert json.loads(render_checklist(after, "json"))["rows"][7]["cells"]["juniper-ml"]["state"] == "done"
    md = render_checklist(after, "markdown")
    assert md.count("\n| ") == 12 and "### Manual steps" in md


def test_status_flags_a_missing_publish_workflow(make_ecosystem, registry_copy):
    eco = make_ecosystem("missing-workflow")
    result = checklist(registry_copy, eco.workspace)
    row11 = result.rows()[10]
    assert row11["juniper-data"] == row11["juniper-cascor"] == "pending" and row11["juniper-data-client"] == "done"
    assert "run `invoke workflows --write`" in result.details[10]["juniper-data"]
    assert "is not in the repo yet" in render_checklist(result)


def test_invoke_front_door_gives_one_line_errors(registry_copy, ecosystem):
    proc = run_task(
        "transfer", "--to", "bad name", "--workspace", str(ecosystem.workspace), "--registry", str(registry_copy.path)
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "not a valid GitHub account name. Fix:" in proc.stderr
    assert "Traceback" not in proc.stderr

    sandbox = run_task("transfer", "--sandbox", "--execute")
    assert sandbox.returncode == 2 and "shared stand-in sandbox" in sandbox.stderr


def test_credentials_in_a_remote_url_are_kept_but_never_printed(registry_copy, ecosystem):
    url = "https://bot:s3cretpassw0rd@github.com/pcalnon/juniper-cascor.git"
    Git(ecosystem.checkout("juniper-cascor")).run("remote", "set-url", "origin", url)
    out = _run(registry_copy, ecosystem, packages="juniper-cascor", execute=True)
    assert "s3cretpassw0rd" not in out and "bot:***@github.com" in out
    new = Git(ecosystem.checkout("juniper-cascor")).remote_url()
    assert new == f"https://bot:s3cretpassw0rd@github.com/{ORG}/juniper-cascor.git"


def test_a_failing_commit_leaves_that_repo_as_it_was_and_a_rerun_finishes(registry_copy, eco):
    """A pre-commit hook rejects juniper-data's commit: its files are restored, earlier repos stay committed."""
    hook = eco.checkout("juniper-data") / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'rejected by policy' >&2\nexit 1\n", encoding="utf-8")
    hook.chmod(0o755)
    with pytest.raises(GitError, match="rejected by policy"):
        _run(registry_copy, eco, execute=True, yes=True)
    data = Git(eco.checkout("juniper-data"))
    assert data.is_clean() and "pcalnon/juniper-data" in (eco.checkout("juniper-data") / "pyproject.toml").read_text()
    assert Git(eco.checkout("juniper-data-client")).subjects_since("HEAD~1") == [f"Transfer to {ORG}"]
    hook.unlink()
    _run(registry_copy, eco, execute=True, yes=True)
    assert data.subjects_since("HEAD~1") == [f"Transfer to {ORG}"]


def test_execute_on_the_shared_sandbox_is_refused_and_only_a_registry_copy_is_rewritten():
    with pytest.raises(JuniperError, match="would rewrite the shared stand-in sandbox"):
        check_flags(sandbox=True, execute=True)
    check_flags(sandbox=True, execute=False)
    check_flags(sandbox=False, execute=True)
    assert updates_registry(sandbox=False, registry_given=False)
    assert updates_registry(sandbox=True, registry_given=True)
    assert not updates_registry(sandbox=True, registry_given=False)


def test_the_checklist_splits_its_package_columns_to_fit_the_terminal(monkeypatch):
    """transfer-status on an 80-column terminal: the package columns go into several tables, each with the step
    column and each within 80 columns; a log (no terminal, no $COLUMNS) keeps one table with every column."""
    from juniper_release.transfer.checklist import _package_groups

    packages = [f"juniper-package-{n}" for n in range(6)]
    rows = [
        {"#": str(n), "step": f"step {n} of the organization transfer", **dict.fromkeys(packages, "manual")}
        for n in range(11)
    ]
    monkeypatch.setenv("COLUMNS", "80")
    groups = _package_groups(rows, packages)
    assert len(groups) > 1 and [p for g in groups for p in g] == packages
    for group in groups:
        assert 4 + 38 + sum(len(p) + 2 for p in group) <= 80  # "#" and "step" columns, then each package
    monkeypatch.delenv("COLUMNS")
    assert _package_groups(rows, packages) == [packages]  # pytest's stdout is no terminal

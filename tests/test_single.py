"""The single-package stand-in (``--sandbox --layout single``, registries/single.toml): a package released from
GitHub Releases with a pre-release and a final publish workflow, a ``release/0.1`` maintenance line and no
CHANGELOG; and what the tool does with that shape: notes by convention, two workflows, ``--branch``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from juniper_release.ecosystem import detect, detect_report, lines, notes, status, triggers
from juniper_release.ecosystem.registry import ROOT, load_registry, parse_registry
from juniper_release.errors import ConfigError, JuniperError
from juniper_release.github.checks import run_checks
from juniper_release.github.forge import GitHub
from juniper_release.github.workflows import check as workflows_check
from juniper_release.github.workflows import pair_notes, write
from juniper_release.gitops import Git
from juniper_release.release import gates
from juniper_release.release.options import Options
from juniper_release.release.package import release
from juniper_release.release.propose import plan_proposal
from juniper_release.release.versioning import bump, plan_bump
from juniper_release.sandbox.fakeforge import FakeGitHub
from juniper_release.sandbox.single import FEATURE_MODULE, FIX_MODULE, LINE_BRANCH, NAME, create_single
from juniper_release.sandbox.standin import Ecosystem

REGISTRY = ROOT / "registries" / "single.toml"
PRE, FINAL = ".github/workflows/publish-testpypi.yml", ".github/workflows/publish-pypi.yml"


@pytest.fixture
def reg():
    return load_registry(REGISTRY, env={})


@pytest.fixture
def single(tmp_path, reg) -> Ecosystem:
    return create_single(tmp_path / "ws", reg, remotes=tmp_path / "remotes")


def _root(eco: Ecosystem) -> Path:
    return eco.workspace / NAME


def _quiet(_line: str) -> None:
    pass


# --------------------------------------------------------------------------------------------------- the stand-in


def test_the_standin_has_two_release_workflows_a_line_and_no_changelog(single, reg):
    root = _root(single)
    assert not (root / "CHANGELOG.md").exists()
    found = triggers.topology(triggers.repository_workflows(root))
    assert found == {PRE: "prerelease", FINAL: "final"}
    for path in (PRE, FINAL):
        text = (root / path).read_text(encoding="utf-8")
        assert "release:\n    types: [published]" in text and "push:" not in text
    git = Git(root)
    assert git.branch() == "main" and lines.maintenance_branches(git) == [LINE_BRANCH]
    assert git.tags() == ["v0.1.0"]
    assert git.subjects_since("v0.1.0") == ["feat: add a summary helper"]
    on_line = git.run("log", "--format=%s", f"v0.1.0..origin/{LINE_BRANCH}")
    assert on_line == "fix: handle empty input" and not (root / "src/solo_release" / FIX_MODULE).exists()
    assert (root / "src/solo_release" / FEATURE_MODULE).is_file()
    assert notes.convention(reg.packages[0], root) == (notes.Convention.RELEASES, None)


def test_the_registry_names_both_workflows(reg):
    pkg = reg.get(NAME)
    assert reg.workflow_for(pkg) == FINAL and reg.workflow_for(pkg, prerelease=True) == PRE
    assert reg.has_prerelease_workflow(pkg) and pkg.notes == "releases"


TEXT = REGISTRY.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "old, new, message",
    [
        ('prerelease_workflow = ".github', 'prerelease_workflow = "/abs', "must be a path relative to the repository"),
        ('publish-testpypi.yml"', 'publish-testpypi.txt"', "is not a workflow file"),
        ('notes = "releases"', 'notes = "wiki"', "notes 'wiki' is not a release-notes convention"),
        ('notes = "releases"', "notes = 3", "notes must be a string"),
    ],
)
def test_bad_release_fields_are_one_line_errors(old, new, message):
    with pytest.raises(ConfigError, match=message) as info:
        parse_registry(TEXT.replace(old, new), REGISTRY, env={})
    assert "\n" not in str(info.value) and info.value.fix


def test_a_package_prerelease_workflow_and_the_sub_package_default(reg):
    text = TEXT.replace('prerelease_workflow = ".github/workflows/publish-testpypi.yml"\n', "")
    plain = parse_registry(text, REGISTRY, env={})
    assert not plain.has_prerelease_workflow(plain.get(NAME))
    assert plain.workflow_for(plain.get(NAME), prerelease=True) == FINAL  # one workflow does both
    own = parse_registry(text.replace('notes = "releases"', 'prerelease_workflow = "ci/rc.yml"'), REGISTRY, env={})
    assert own.workflow_for(own.get(NAME), prerelease=True) == "ci/rc.yml"


# --------------------------------------------------------------------------------------------------- notes


def _pkg(reg, **kw):
    from dataclasses import replace

    return replace(reg.get(NAME), **kw)


@pytest.mark.parametrize(
    "files, convention, where",
    [
        ({"CHANGELOG.md": "# Changelog\n\n## [Unreleased]\n"}, "keepachangelog", "CHANGELOG.md"),
        ({"CHANGELOG.rst": "Changelog\n---------\n"}, "other", "CHANGELOG.rst"),
        ({"changelog.d/123.feature.md": "x"}, "fragments", "changelog.d"),
        ({"docs/changelog/1.bugfix.rst": "x"}, "fragments", "docs/changelog"),
        ({"README.md": "x"}, "releases", None),
    ],
)
def test_the_convention_is_detected_from_the_checkout(tmp_path, reg, files, convention, where):
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    assert notes.convention(_pkg(reg, notes=None), tmp_path) == (notes.Convention(convention), where)
    assert notes.convention_in(_pkg(reg, notes=None), files) == (notes.Convention(convention), where)


PACKAGING_RST = """Changelog
---------

*unreleased*
~~~~~~~~~~~~

{body}

24.2 - 2024-11-08
~~~~~~~~~~~~~~~~~

* Fix an old thing
"""


def test_pending_notes_in_each_convention(tmp_path, reg):
    pkg = _pkg(reg, notes=None)
    (tmp_path / "CHANGELOG.rst").write_text(PACKAGING_RST.format(body="No unreleased changes."), encoding="utf-8")
    empty = notes.pending(pkg, tmp_path)
    assert empty.convention is notes.Convention.OTHER and empty.empty == "CHANGELOG.rst's unreleased section is empty"
    (tmp_path / "CHANGELOG.rst").write_text(PACKAGING_RST.format(body="* Add a thing"), encoding="utf-8")
    assert notes.pending(pkg, tmp_path).pending == ("* Add a thing",)
    (tmp_path / "CHANGELOG.rst").write_text("Changelog\n=========\n\n1.0\n---\n\n* x\n", encoding="utf-8")
    assert notes.pending(pkg, tmp_path).empty is None  # no unreleased heading: nothing to find empty
    (tmp_path / "changelog.d").mkdir()
    assert notes.pending(pkg, tmp_path).empty == "no news fragment in changelog.d/"
    (tmp_path / "changelog.d" / "12.removal.md").write_text("x", encoding="utf-8")
    (tmp_path / "changelog.d" / "template.rst").write_text("x", encoding="utf-8")
    frag = notes.pending(pkg, tmp_path)
    assert frag.pending == ("12.removal.md",) and frag.asks == ("breaking",)
    declared = notes.pending(_pkg(reg, notes="releases"), tmp_path)
    assert declared.convention is notes.Convention.RELEASES and declared.empty is None


def test_detect_raises_only_the_conflicts_a_convention_can_have(reg):
    commits = (detect.Commit("abc", "fix: x", detect.Level.FIX),)
    releases = notes.Notes(notes.Convention.RELEASES, None)
    assert detect.propose(commits, None, None, True, releases).conflict is None
    frag = notes.Notes(notes.Convention.FRAGMENTS, "changelog.d", empty="no news fragment in changelog.d/")
    assert detect.propose(commits, None, None, True, frag).conflict == (
        "release-worthy changes but no news fragment in changelog.d/"
    )
    feature = notes.Notes(notes.Convention.FRAGMENTS, "changelog.d", ("1.feature.md",), ("feature",))
    bump_ = detect.propose(commits, None, detect.Version("1.2.0"), True, feature)
    assert bump_.part == "minor" and "news fragments in changelog.d/" in (bump_.conflict or "")
    keep = detect.propose(commits, "# Changelog\n\n## [Unreleased]\n", None, True)
    assert keep.conflict == "release-worthy changes but the CHANGELOG's [Unreleased] is empty"


def test_detect_on_the_standin_has_no_changelog_conflict(single, reg):
    found = detect_report.collect(reg, single.workspace, fetch=False, warn=_quiet)
    (d,) = found
    assert d.state is detect.Finding.RELEASE_WORTHY and d.bump.conflict is None
    assert (d.bump.part, d.bump.next_version) == ("minor", "0.2.0")
    assert "release notes: notes on the GitHub Releases (no changelog file)" in d.notes


def test_bump_creates_no_changelog_unless_asked(single, reg):
    plan = plan_bump(reg, single.workspace, NAME, "minor")
    assert plan.notes_only and not any(e.path.name == "CHANGELOG.md" for e in plan.edits)
    assert "Add a summary helper" in plan.drafted
    said: list[str] = []
    bump(reg, single.workspace, NAME, "minor", out=said.append)
    assert not (_root(single) / "CHANGELOG.md").exists()
    assert any("no CHANGELOG" in line and "--changelog" in line for line in said)
    asked = plan_bump(reg, single.workspace, NAME, "patch", changelog=True)
    (log,) = [e for e in asked.edits if e.path.name == "CHANGELOG.md"]
    assert log.old is None and "## [0.2.1]" in log.new


def test_propose_drafts_the_notes_into_the_pr_body(single, reg):
    proposal = plan_proposal(reg, single.workspace, NAME, "minor", evidence="- **code**: `x`")
    body = proposal.change.body
    assert "no CHANGELOG: these go on the GitHub Release" in body and "- Add a summary helper" in body
    assert "## Evidence" in body and proposal.change.refused is None


# --------------------------------------------------------------------------------------------------- two workflows


def test_check_understands_the_pair_and_flags_the_wrong_topologies(single, reg):
    assert run_checks(reg, single.workspace) == []
    without = parse_registry(TEXT.replace(f'prerelease_workflow = "{PRE}"\n', ""), REGISTRY, env={})
    (finding,) = run_checks(without, single.workspace)
    assert finding.severity == "warning" and f"set prerelease_workflow = '{PRE}'" in finding.message
    swapped = parse_registry(TEXT.replace(PRE, "@P").replace(FINAL, PRE).replace("@P", FINAL), REGISTRY, env={})
    errors = [f.message for f in run_checks(swapped, single.workspace) if f.severity == "error"]
    assert len(errors) == 2 and all("Fix: swap them" in m for m in errors)


def test_roles_of_release_workflows():
    head = "on:\n  release:\n    types: [{types}]\njobs:\n  publish:\n    if: {cond}\n    runs-on: x\n"
    assert triggers.role(head.format(types="published", cond="github.event.release.prerelease")) == "prerelease"
    assert triggers.role(head.format(types="published", cond="${{ !github.event.release.prerelease }}")) == "final"
    assert triggers.role(head.format(types="published", cond="true")) == "both"
    assert triggers.role(head.format(types="released", cond="true")) == "final"
    assert triggers.role(head.format(types="prereleased", cond="true")) == "prerelease"
    assert triggers.role("on: push\njobs: {}\n") is None and triggers.role("on: [") is None
    assert triggers.runs_for("both", True) and not triggers.runs_for("final", True)


def test_workflows_leave_a_hand_written_pair_alone_with_a_note(single, reg, tmp_path):
    before = {p: (_root(single) / p).read_text(encoding="utf-8") for p in (PRE, FINAL)}
    assert all(d.status == "ok" for d in workflows_check(reg, single.workspace))
    assert write(reg, single.workspace) == []
    assert before == {p: (_root(single) / p).read_text(encoding="utf-8") for p in (PRE, FINAL)}
    (note,) = pair_notes(reg, workspace=single.workspace)
    assert note.startswith(f"{NAME}: {PRE} (pre-releases) and {FINAL} (finals) are a hand-written pair: left alone")


def test_workflows_render_the_pair_where_it_is_missing(single, reg):
    root = _root(single)
    for path in (PRE, FINAL):
        (root / path).unlink()
    written = write(reg, single.workspace)
    assert sorted(d.path for d in written) == [FINAL, PRE] and {d.status for d in written} == {"missing"}
    assert triggers.topology(triggers.repository_workflows(root)) == {PRE: "prerelease", FINAL: "final"}
    pre, final = ((root / p).read_text(encoding="utf-8") for p in (PRE, FINAL))
    assert "testpypi:" in pre and "\n  pypi:" not in pre and "verify-pypi" not in pre
    assert "\n  pypi:" in final and "testpypi:" not in final and "needs: build\n" in final
    assert pair_notes(reg, workspace=single.workspace) == []
    assert all(d.status == "ok" for d in workflows_check(reg, single.workspace))
    assert run_checks(reg, single.workspace) == []


def test_the_fake_github_runs_the_pair_and_records_make_latest(single, reg):
    pkg = reg.get(NAME)
    sha = Git(_root(single)).head()
    with FakeGitHub(remotes=single.remotes) as fake:
        forge = GitHub(fake.url, token="", allowed_repos=frozenset({pkg.repo}))
        forge.create_release(pkg.repo, "v0.2.0rc1", sha=sha, title="t", body="b", prerelease=True)
        forge.create_release(pkg.repo, "v0.1.1", sha=sha, title="t", body="b", prerelease=False, make_latest=False)
        runs = {(r["head_branch"], Path(r["path"]).name): r["conclusion"] for r in fake.state.runs[pkg.repo]}
        made = {r["tag_name"]: r["make_latest"] for r in fake.state.releases[pkg.repo]}
    assert runs[("v0.2.0rc1", "publish-pypi.yml")] == "skipped"
    assert runs[("v0.2.0rc1", "publish-testpypi.yml")] in {None, "success"}
    assert runs[("v0.1.1", "publish-testpypi.yml")] == "skipped"
    assert made == {"v0.2.0rc1": "true", "v0.1.1": "false"}


# --------------------------------------------------------------------------------------------------- --branch


def test_bump_on_a_maintenance_branch_stays_in_its_line(single, reg):
    with pytest.raises(JuniperError, match=r"the checkout is on 'main', not on the maintenance branch 'release/0.1'"):
        plan_bump(reg, single.workspace, NAME, "patch", branch=LINE_BRANCH)
    Git(_root(single)).run("switch", "-q", LINE_BRANCH)
    with pytest.raises(JuniperError, match=r"0.2.0 is outside the 0.1 line of branch release/0.1") as info:
        plan_bump(reg, single.workspace, NAME, "minor", branch=LINE_BRANCH)
    assert "release 0.1.1 from release/0.1" in (info.value.fix or "")
    plan = plan_bump(reg, single.workspace, NAME, "patch", branch=LINE_BRANCH)
    assert str(plan.new) == "0.1.1" and "Handle empty input" in plan.drafted
    with pytest.raises(ConfigError, match=r"--branch 'release..0.1' is not a valid git branch name"):
        plan_bump(reg, single.workspace, NAME, "patch", branch="release..0.1")


def test_detect_on_a_maintenance_branch_ignores_newer_releases_on_main(single, reg):
    root = _root(single)
    git = Git(root)
    git.tag_annotated("v0.2.0", "Release 0.2.0")  # main released 0.2.0 meanwhile
    git.run("push", "-q", "origin", "v0.2.0")
    (d,) = detect_report.collect(reg, single.workspace, branch=LINE_BRANCH, warn=_quiet, sandbox=True)
    assert (d.released, d.tag, d.target) == ("0.1.0", "v0.1.0", f"origin/{LINE_BRANCH}")
    assert (d.state, d.bump.part, d.bump.next_version, d.bump.conflict) == (
        detect.Finding.RELEASE_WORTHY,
        "patch",
        "0.1.1",
        None,
    )
    assert [c.subject for c in d.commits] == ["fix: handle empty input"] and not d.reasons
    manifest = json.loads(detect_report.render([d], "json"))["packages"][0]
    assert manifest["bump"]["next_version"] == "0.1.1"


def test_status_lists_maintenance_lines_with_unreleased_fixes(single, reg):
    text, _code = status.run(reg, single.workspace, sandbox=True, warn=_quiet)
    assert "maintenance lines with unreleased fixes:" in text
    assert f"- {NAME}: {LINE_BRANCH}: 1 unreleased commit(s) since v0.1.0; release 0.1.1" in text


@pytest.fixture
def verified(monkeypatch):
    monkeypatch.setattr(gates, "is_verified", lambda *a: True)


def test_a_maintenance_release_dry_run_tags_the_branch_and_is_not_latest(single, reg, verified):
    git = Git(_root(single))
    git.run("switch", "-q", LINE_BRANCH)
    bump(reg, single.workspace, NAME, "patch", commit=True, branch=LINE_BRANCH, out=_quiet)
    out: list[str] = []
    release(reg, single.workspace, NAME, Options(out=out.append, offline=True, branch=LINE_BRANCH, direct_push=True))
    text = "\n".join(out)
    assert "[  ok] in the 0.1 line of release/0.1" in text
    assert "push --atomic origin release/0.1 v0.1.1" in text
    assert "make_latest=false" in text and "forward-port reminder" in text
    assert "publish-pypi.yml/runs" in text


def test_a_release_outside_the_line_is_refused_naming_it(single, reg, verified):
    git = Git(_root(single))
    git.run("switch", "-q", LINE_BRANCH)
    bump(reg, single.workspace, NAME, to="0.2.0", commit=True, out=_quiet)  # by hand, without --branch
    out: list[str] = []
    with pytest.raises(JuniperError, match=r"preflight gate 'in the release/0.1 line' failed: .*0.2.0 is outside"):
        release(reg, single.workspace, NAME, Options(out=out.append, offline=True, branch=LINE_BRANCH))


def test_an_rc_watches_the_prerelease_workflow(single, reg, verified):
    bump(reg, single.workspace, NAME, "minor", pre="rc", commit=True, out=_quiet)
    out: list[str] = []
    release(reg, single.workspace, NAME, Options(out=out.append, offline=True, direct_push=True))
    text = "\n".join(out)
    assert "prerelease=true" in text and "publish-testpypi.yml/runs" in text and "make_latest" not in text


# --------------------------------------------------------------------------------------------------- rehearsal


@pytest.mark.slow
def test_the_rehearsal_releases_an_rc_a_final_and_a_maintenance_patch(tmp_path, reg):
    from juniper_release.sandbox.rehearse import rehearse

    eco = create_single(tmp_path / "src", reg, remotes=tmp_path / "src-remotes")
    said: list[str] = []
    rows = rehearse(REGISTRY, eco.workspace, tmp_path / "r", flow="lines", verify_installs=False, out=said.append)
    got = {(r["version"], r["branch"], r["published by"], r["skipped"], r["latest"], r["on"]) for r in rows}
    assert got == {
        ("0.2.0rc1", "main", "publish-testpypi.yml", "publish-pypi.yml", "true", "testpypi"),
        ("0.2.0", "main", "publish-pypi.yml", "publish-testpypi.yml", "true", "pypi"),
        ("0.1.1", LINE_BRANCH, "publish-pypi.yml", "publish-testpypi.yml", "false", "pypi"),
    }
    bare = Git(tmp_path / "r" / "remotes" / "single-example/solo-release.git")
    assert bare.run("rev-list", "-n1", "v0.1.1") == bare.run("rev-parse", LINE_BRANCH)
    state = json.loads((tmp_path / "r" / "github.json").read_text(encoding="utf-8"))
    assert [i["title"] for i in state["issues"]["single-example/solo-release"]] == [
        "Forward-port the fixes of solo-release 0.1.1 (release/0.1) to main"
    ]


# --------------------------------------------------------------------------------------------------- guards


def test_topology_problems_each_guard():
    pre_text = "on:\n  release:\n    types: [prereleased]\njobs: {}\n"
    final_text = "on:\n  release:\n    types: [released]\njobs: {}\n"
    both = "on:\n  release:\n    types: [published]\njobs:\n  a:\n    runs-on: x\n"
    assert triggers.topology_problems(FINAL, PRE, {PRE: pre_text, FINAL: final_text}) == []
    assert triggers.topology_problems(FINAL, PRE, {FINAL: final_text}) == [
        ("error", f"no pre-release workflow at {PRE}. Fix: add it, or drop prerelease_workflow")
    ]
    (sev, msg), *_ = triggers.topology_problems(FINAL, PRE, {PRE: "on: push\n", FINAL: final_text})
    assert sev == "warning" and "is not triggered by a published Release" in msg
    ((sev, msg),) = triggers.topology_problems(FINAL, PRE, {PRE: both, FINAL: both})
    assert sev == "warning" and "both run on every Release" in msg
    assert triggers.topology_problems(FINAL, None, {FINAL: both}) == []  # one workflow for both: fine


def test_a_bad_or_missing_branch_is_one_line_error(single, reg):
    with pytest.raises(ConfigError, match=r"--branch '-x' is not a valid git branch name"):
        Options(branch="-x")
    with pytest.raises(JuniperError, match=r"branch 'release/9.9' exists neither here nor on origin") as info:
        detect_report.collect(reg, single.workspace, branch="release/9.9", warn=_quiet, sandbox=True)
    assert "\n" not in str(info.value)


def test_the_train_on_a_line_halts_a_version_outside_it(single, reg, verified):
    from juniper_release.release.train import TrainHalted, release_train

    Git(_root(single)).run("switch", "-q", LINE_BRANCH)
    bump(reg, single.workspace, NAME, to="0.2.0", commit=True, out=_quiet)
    out: list[str] = []
    with pytest.raises(TrainHalted, match=r"0.2.0 is outside the 0.1 line of branch release/0.1"):
        release_train(reg, single.workspace, Options(out=out.append, offline=True, branch=LINE_BRANCH))


def test_the_train_on_a_line_releases_its_patch_though_main_released_more(single, reg, verified):
    from juniper_release.release.train import release_train

    git = Git(_root(single))
    git.tag_annotated("v0.2.0", "Release 0.2.0")
    git.run("push", "-q", "origin", "v0.2.0")
    git.run("switch", "-q", LINE_BRANCH)
    bump(reg, single.workspace, NAME, "patch", commit=True, branch=LINE_BRANCH, out=_quiet)
    out: list[str] = []
    opts = Options(out=out.append, offline=True, branch=LINE_BRANCH, direct_push=True)
    plan = release_train(reg, single.workspace, opts)
    (row,) = plan.rows
    assert (row.version, str(row.state), str(row.action)) == ("0.1.1", "BUMPED_NOT_RELEASED", "release")


def test_the_forward_port_reminder_without_a_token_says_what_to_do(single, reg, monkeypatch):
    from juniper_release.release.context import ReleaseContext
    from juniper_release.release.journal import Journal
    from juniper_release.release.notes import file_forward_port, forward_port_filed

    for var in ("GITHUB_TOKEN", "GH_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    Git(_root(single)).run("switch", "-q", LINE_BRANCH)
    opts = Options(out=_quiet, offline=True, branch=LINE_BRANCH)
    forge = GitHub("https://api.github.invalid", token="", allowed_repos=frozenset({reg.get(NAME).repo}))
    ctx = ReleaseContext(reg, single.workspace, NAME, opts, Journal(single.workspace), forge=forge)
    assert ctx.maintenance and not forward_port_filed(ctx)
    assert file_forward_port(ctx).startswith("not filed (no GitHub token")


def test_the_front_door_takes_branch(single):
    from conftest import run_task

    proc = run_task(
        "detect",
        "--workspace",
        str(single.workspace),
        "--registry",
        str(REGISTRY),
        "--offline",
        "--branch",
        LINE_BRANCH,
    )
    assert proc.returncode == 1, proc.stderr  # something to release on the line
    assert "patch -> 0.1.1" in proc.stdout and "maintenance line 0.1 (release/0.1)" in proc.stdout


def test_propose_on_a_maintenance_branch_stays_in_its_line(single, reg):
    Git(_root(single)).run("switch", "-q", LINE_BRANCH)
    proposal = plan_proposal(reg, single.workspace, NAME, "patch", branch=LINE_BRANCH)
    assert str(proposal.new) == "0.1.1" and "- Handle empty input" in proposal.change.body
    with pytest.raises(JuniperError, match=r"0.2.0 is outside the 0.1 line"):
        plan_proposal(reg, single.workspace, NAME, "minor", branch=LINE_BRANCH)

"""Lockstep groups (``[[group]]``) and their stand-in (``--sandbox --layout lockstep``, registries/lockstep.toml).

A uv workspace of five hatch-vcs members versioned by the repository's one tag: the registry loader's rules, status
(the group column, a member declaring another version is an ANOMALY naming both), detect (the largest bump of the
members), the bump of every member in one commit and one tag with a refreshed uv.lock, and the graph's cluster.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import tomlkit
from juniper_release.ecosystem import detect_report, status
from juniper_release.ecosystem.drawing import cluster_of
from juniper_release.ecosystem.graph import build_graph
from juniper_release.ecosystem.groups import disagreeing, group_version
from juniper_release.ecosystem.project import read_project
from juniper_release.ecosystem.registry import ROOT, Registry, load_registry, parse_registry
from juniper_release.errors import EXIT_OK, ConfigError, JuniperError
from juniper_release.frontdoor import LAYOUTS, LOCKSTEP_REGISTRY
from juniper_release.github import workflows as wf
from juniper_release.gitops import Git
from juniper_release.release.lockstep import merge_edits
from juniper_release.release.versioning import FileEdit, VersionError, bump, plan_bump
from juniper_release.sandbox.layouts import sandbox_workspace
from juniper_release.sandbox.lockstep import APP, GROUP_VERSION, MEMBERS, WITH_CHANGELOG, create_lockstep
from juniper_release.sandbox.standin import Ecosystem
from juniper_release.verify.envs import tool_env, uv_binary
from packaging.version import Version

TEXT = LOCKSTEP_REGISTRY.read_text(encoding="utf-8")
PATH = Path("/somewhere/lockstep.toml")


@pytest.fixture(scope="module")
def lock_registry() -> Registry:
    return load_registry(LOCKSTEP_REGISTRY, env={})


def _make(base: Path, registry: Registry, **kw: Any) -> Ecosystem:
    return create_lockstep(base / "ws", registry, remotes=base / "remotes", **kw)


@pytest.fixture(scope="module")
def sdk(tmp_path_factory: pytest.TempPathFactory, lock_registry: Registry) -> Ecosystem:
    """The layout as the sandbox makes it (read-only for the tests using it)."""
    return _make(tmp_path_factory.mktemp("lockstep"), lock_registry)


@pytest.fixture
def fresh(tmp_path: Path, lock_registry: Registry) -> Ecosystem:
    """A layout of the test's own, to write in."""
    return _make(tmp_path, lock_registry)


def _uv_lock_check(root: Path) -> subprocess.CompletedProcess[str]:
    uv = uv_binary()
    assert uv is not None
    return subprocess.run(
        [uv, "lock", "--check", "--offline"], cwd=root, env=tool_env(), capture_output=True, text=True, check=False
    )


# --------------------------------------------------------------------------------------------------- the loader


def _doc() -> Any:
    return tomlkit.parse(TEXT)


def _error(doc: Any) -> str:
    with pytest.raises(ConfigError) as info:
        parse_registry(tomlkit.dumps(doc), PATH, {})
    message = str(info.value)
    assert "\n" not in message and "lockstep.toml" in message and "Fix:" in message
    return message


def test_the_group_parses(lock_registry: Registry) -> None:
    (group,) = lock_registry.groups
    assert group.name == "sdk" and set(group.members) == set(MEMBERS) and group.tag_format == "v{version}"
    assert group.members == tuple(p.name for p in lock_registry.packages if p.name in MEMBERS)  # registry order
    for name in MEMBERS:
        pkg = lock_registry.get(name)
        assert lock_registry.group_of(pkg) is group and lock_registry.group_of(name.upper()) is group
        assert pkg.tag_format == "v{version}" and pkg.tag_for("1.3.0") == "v1.3.0"
        # One publish run for the group: the repository's one workflow, not publish-<name>.yml per member.
        assert lock_registry.workflow_for(pkg) == ".github/workflows/publish.yml"
        # The members share the tag: none of their formats is a sibling's foreign format.
        assert lock_registry.sibling_tag_formats(pkg) == ()
    assert lock_registry.group_of(APP) is None
    assert lock_registry.group_members(lock_registry.get(APP)) == (lock_registry.get(APP),)
    assert "lockstep" in LAYOUTS


def test_members_sharing_a_tag_format_explicitly_load() -> None:
    """The check that packages of one repository do not read each other's tags leaves a group's members out."""
    doc = _doc()
    for raw in doc["package"]:
        if raw["name"] in MEMBERS:
            raw["tag_format"] = "v{version}"
    assert len(parse_registry(tomlkit.dumps(doc), PATH, {}).groups) == 1


def test_a_members_prerelease_workflow_is_the_groups_one_run() -> None:
    """With settings.prerelease_workflow, every member's pre-release still runs the one workflow of the group."""
    doc = _doc()
    doc["settings"]["prerelease_workflow"] = ".github/workflows/prerelease.yml"
    registry = parse_registry(tomlkit.dumps(doc), PATH, {})
    for name in MEMBERS:
        assert registry.workflow_for(registry.get(name), prerelease=True) == ".github/workflows/prerelease.yml"
        assert registry.workflow_for(registry.get(name)) == ".github/workflows/publish.yml"


def test_without_the_group_the_shared_tag_is_refused() -> None:
    doc = _doc()
    del doc["group"]
    for raw in doc["package"]:
        raw["tag_format"] = "v{version}"
    assert "read each other's tags" in _error(doc)


def test_a_non_member_reading_the_groups_tags_is_refused() -> None:
    doc = _doc()
    doc["group"][0]["members"] = ["sdk-core", "sdk-http", "sdk-auth", "sdk-client"]
    doc["package"][4]["tag_format"] = "v{version}"  # sdk-cli, outside the group now, in the same repository
    assert "sdk-cli share repo" in _error(doc)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["group"][0]["members"].append("sdk-nope"), "group sdk: unknown member 'sdk-nope'"),
        (lambda d: d["group"][0]["members"].append("sdk-cor"), "(did you mean 'sdk-core'?)"),
        (lambda d: d["group"][0].__setitem__("members", ["sdk-core"]), "a group needs two or more"),
        (lambda d: d["group"][0]["members"].append("SDK_core"), "lists 'sdk-core' twice"),
        (lambda d: d["group"][0].__setitem__("members", "sdk-core"), "group sdk.members must be a list"),
        (lambda d: d["group"][0].__setitem__("members", ["sdk-core", 3]), "must be a list of package names"),
        (lambda d: d["group"][0].__setitem__("name", "no way"), "is not a valid group name"),
        (lambda d: d["group"][0].__setitem__("colour", "red"), "unknown key group sdk.colour"),
        (lambda d: d["group"][0].__delitem__("members"), "missing field group sdk.members"),
        (lambda d: d["group"][0].__setitem__("tag_format", "release"), "group sdk: tag_format 'release' has no"),
        (lambda d: d.__setitem__("group", {"name": "x"}), "group must be an array of tables"),
    ],
)
def test_a_bad_group_is_one_line(change: Any, expected: str) -> None:
    doc = _doc()
    change(doc)
    assert expected in _error(doc)


def test_a_package_in_two_groups_is_refused() -> None:
    doc = _doc()
    doc["group"].append({"name": "edge", "members": ["sdk-cli", "sdk-client"]})
    assert "package sdk-cli is in two groups (sdk and edge)" in _error(doc)


def test_a_duplicate_group_name_is_refused() -> None:
    doc = _doc()
    doc["group"].append({"name": "sdk", "members": ["lockstep-app", "sdk-cli"]})
    assert "duplicate group name 'sdk'" in _error(doc)


def test_members_in_different_repositories_are_refused() -> None:
    doc = _doc()
    doc["group"].append({"name": "app", "members": []})
    doc["group"] = [{"name": "mixed", "members": ["sdk-core", APP]}]
    message = _error(doc)
    assert (
        "members sdk-core (lockstep-example/lockstep-sdk) and lockstep-app (lockstep-example/lockstep-app)" in message
    )
    assert "are in different repositories" in message


def test_a_member_tag_format_conflicting_with_the_groups_is_refused() -> None:
    doc = _doc()
    doc["package"][1]["tag_format"] = "{name}-v{version}"
    message = _error(doc)
    assert "package sdk-http: tag_format '{name}-v{version}' conflicts with its group sdk's 'v{version}'" in message
    assert "drop tag_format from package sdk-http" in message


def test_members_naming_different_publish_workflows_are_refused() -> None:
    doc = _doc()
    doc["package"][0]["publish_workflow"] = ".github/workflows/a.yml"
    doc["package"][1]["publish_workflow"] = ".github/workflows/b.yml"
    assert "name different publish workflows" in _error(doc)


def test_the_group_tag_format_defaults_to_the_settings_and_fills_its_name() -> None:
    doc = _doc()
    del doc["group"][0]["tag_format"]
    assert parse_registry(tomlkit.dumps(doc), PATH, {}).groups[0].tag_format == "v{version}"
    doc["group"][0]["tag_format"] = "{name}-{version}"
    reg = parse_registry(tomlkit.dumps(doc), PATH, {})
    assert reg.groups[0].tag_format == "sdk-{version}" and reg.get("sdk-cli").tag_for("2.0.0") == "sdk-2.0.0"


def test_the_group_version_is_what_most_members_declare() -> None:
    v = Version
    assert group_version({"a": v("1.2.0"), "b": v("1.2.0"), "c": v("1.3.0")}) == v("1.2.0")
    assert group_version({"a": v("1.2.0"), "b": v("1.3.0")}) == v("1.3.0")  # a tie: the highest
    assert group_version({}) is None
    assert disagreeing({"a": v("1.2.0"), "b": v("1.2.0"), "c": v("1.1.0")}) == {"c": v("1.1.0")}


# --------------------------------------------------------------------------------------------------- the stand-in


def test_the_stand_in_is_a_uv_workspace_on_one_tag(sdk: Ecosystem, lock_registry: Registry) -> None:
    repo = sdk.workspace / "lockstep-sdk"
    assert 'members = ["libs/*"]' in (repo / "pyproject.toml").read_text(encoding="utf-8")
    assert [t for t in Git(repo).tags() if t.startswith("v")] == [f"v{GROUP_VERSION}"]
    for name, (_, requires) in MEMBERS.items():
        doc = tomlkit.parse((repo / "libs" / name / "pyproject.toml").read_text(encoding="utf-8"))
        assert doc["tool"]["hatch"]["version"]["raw-options"]["root"] == "../.."
        assert list(doc["project"]["dependencies"]) == requires  # bare names
        assert {k: dict(v) for k, v in doc["tool"].get("uv", {}).get("sources", {}).items()} == {
            r: {"workspace": True} for r in requires
        }
        assert (repo / "libs" / name / "CHANGELOG.md").is_file() == (name in WITH_CHANGELOG)
        project = read_project(lock_registry.get(name), repo / "libs" / name)
        assert project.is_vcs and project.module_target == Version(GROUP_VERSION)
        assert str(project.version).startswith("1.2.1.dev1+g")  # sdk-http's fix after the tag: the repository's
    assert _uv_lock_check(repo).returncode == 0


def test_the_stand_in_refuses_defects(tmp_path: Path, lock_registry: Registry) -> None:
    with pytest.raises(ConfigError, match="has no defects"):
        sandbox_workspace(lock_registry, "missing-license", base=tmp_path, layout="lockstep")
    with pytest.raises(ConfigError, match=r"use registries/lockstep\.toml"):
        _make(tmp_path, load_registry(ROOT / "registries" / "kinds.toml", env={}))


# --------------------------------------------------------------------------------------------------- status, detect


def test_status_shows_the_group(sdk: Ecosystem, lock_registry: Registry) -> None:
    rows = status.collect(lock_registry, sdk.workspace, query_indexes=False)
    groups = {row.package: row.group for row in rows}
    assert groups == {**dict.fromkeys(MEMBERS, "sdk"), APP: None}
    assert {row.package: row.state for row in rows if row.state is not status.State.UP_TO_DATE} == {
        "sdk-http": status.State.UNRELEASED_CHANGES
    }
    table = status.render(rows)
    assert table.splitlines()[0].split()[:2] == ["package", "group"]
    assert status.render(rows, "json").count('"group": "sdk"') == len(MEMBERS)


def _make_static(root: Path, versions: dict[str, str]) -> None:
    """Turn the members into static versions (hatchling, ``[project].version``) and commit with a fresh uv.lock."""
    for name, version in versions.items():
        path = root / "libs" / name / "pyproject.toml"
        doc = tomlkit.parse(path.read_text(encoding="utf-8"))
        del doc["project"]["dynamic"]
        doc["project"]["version"] = version
        doc["build-system"]["requires"] = ["hatchling>=1.27"]
        del doc["tool"]["hatch"]["version"]
        path.write_text(tomlkit.dumps(doc), encoding="utf-8")
        module = root / "libs" / name / "src" / name.replace("-", "_") / "__init__.py"
        text = module.read_text(encoding="utf-8")
        module.write_text(text.split("__version__ =")[0] + f'__version__ = "{version}"\n', encoding="utf-8")
    uv = uv_binary()
    assert uv is not None
    subprocess.run([uv, "lock", "--offline"], cwd=root, env=tool_env(), check=True, capture_output=True)
    git = Git(root)
    git.run("add", "-A")
    git.run("commit", "-q", "-m", "build: static versions")


def test_a_member_declaring_another_version_is_an_anomaly_naming_both(
    fresh: Ecosystem, lock_registry: Registry
) -> None:
    root = fresh.workspace / "lockstep-sdk"
    _make_static(root, {**dict.fromkeys(MEMBERS, "1.2.0"), "sdk-auth": "1.1.9"})
    rows = {r.package: r for r in status.collect(lock_registry, fresh.workspace, query_indexes=False)}
    assert rows["sdk-auth"].state is status.State.ANOMALY
    assert "declares 1.1.9 but its lockstep group sdk is at 1.2.0" in "; ".join(rows["sdk-auth"].reasons)
    assert rows["sdk-core"].state is not status.State.ANOMALY
    assert status.exit_code(list(rows.values())) == 1
    # A bump by part refuses a split group (naming both), --to brings the members together.
    with pytest.raises(VersionError, match=r"members declare different versions \(the group is at 1.2.0; sdk-auth"):
        plan_bump(lock_registry, fresh.workspace, "sdk-core", "patch")
    plan = plan_bump(lock_registry, fresh.workspace, "sdk-core", to="1.2.1")
    assert plan.old == Version("1.2.0") and plan.new == Version("1.2.1") and plan.group == "sdk"


def test_detect_gives_the_group_its_members_largest_bump(fresh: Ecosystem, lock_registry: Registry) -> None:
    root = fresh.workspace / "lockstep-sdk"
    feature = root / "libs" / "sdk-auth" / "src" / "sdk_auth" / "tokens.py"
    feature.write_text('"""Tokens."""\n\n\ndef token() -> str:\n    return "t"\n', encoding="utf-8")
    git = Git(root)
    git.run("add", "-A")
    git.run("commit", "-q", "-m", "feat(sdk-auth): tokens")
    found = {d.package: d for d in detect_report.collect(lock_registry, fresh.workspace, fetch=False)}
    assert found["sdk-http"].bump.part == "minor" and found["sdk-auth"].bump.part == "minor"
    assert found["sdk-http"].bump.next_version == "1.3.0" == found["sdk-auth"].bump.next_version
    assert found["sdk-core"].bump.part is None  # nothing of its own: the note says the group's bump
    note = "lockstep group sdk: one bump for every member, minor -> 1.3.0 (the largest of: "
    assert all(any(n.startswith(note) for n in found[m].notes) for m in MEMBERS)
    assert found[APP].bump.part is None and not any("lockstep" in n for n in found[APP].notes)
    parts, _, _ = detect_report.selection(list(found.values()))
    assert parts == {"sdk-auth": "minor", "sdk-http": "minor"}


# --------------------------------------------------------------------------------------------------- bump


def test_a_dry_run_bump_of_one_member_plans_the_group(sdk: Ecosystem, lock_registry: Registry) -> None:
    lines: list[str] = []
    plan = bump(lock_registry, sdk.workspace, "sdk-cli", "minor", dry_run=True, out=lines.append)
    assert plan.group == "sdk" and plan.old == Version("1.2.0") and plan.new == Version("1.3.0")
    changed = {e.path.relative_to(sdk.workspace).as_posix() for e in plan.edits}
    assert changed == {f"lockstep-sdk/libs/{m}/CHANGELOG.md" for m in WITH_CHANGELOG}  # none created, no version file
    assert [d.package for d in plan.dependents] == [APP]  # outside the group: its ceiling, as any consumer's
    assert "dry run: group sdk 1.2.0 -> 1.3.0; nothing was written" in lines
    assert any("group sdk: the version comes from git tags (hatch-vcs)" in line for line in lines)
    assert Git(sdk.workspace / "lockstep-sdk").is_clean()


def test_bump_commits_every_member_once_and_tags_the_group(fresh: Ecosystem, lock_registry: Registry) -> None:
    root = fresh.workspace / "lockstep-sdk"
    git = Git(root)
    before = git.head()
    bump(lock_registry, fresh.workspace, "sdk-http", "minor", commit=True, update_dependents=True, out=lambda _: None)
    assert git.run("rev-list", "--count", f"{before}..HEAD") == "1"
    assert git.run("log", "-1", "--format=%s") == "Bump sdk to 1.3.0"
    assert git.tag_exists("v1.3.0") and git.run("rev-list", "-n1", "v1.3.0") == git.head()
    files = set(git.run("show", "--name-only", "--format=", "HEAD").split())
    assert files == {f"libs/{m}/CHANGELOG.md" for m in WITH_CHANGELOG}
    for name in MEMBERS:
        assert read_project(lock_registry.get(name), root / "libs" / name).version == Version("1.3.0")
    assert _uv_lock_check(root).returncode == 0
    app = fresh.workspace / APP
    pins = (app / "pyproject.toml").read_text(encoding="utf-8")
    assert "sdk-client>=1.2," in pins and "<1.3" not in pins  # the ceiling raised as for any consumer
    assert Git(app).run("log", "-1", "--format=%s") == "Allow sdk 1.3.0 in lockstep-app's requirements"


def test_a_static_group_bump_edits_every_member_and_refreshes_uv_lock(
    fresh: Ecosystem, lock_registry: Registry
) -> None:
    root = fresh.workspace / "lockstep-sdk"
    _make_static(root, dict.fromkeys(MEMBERS, "1.2.0"))
    assert '"1.2.0"' in (root / "uv.lock").read_text(encoding="utf-8")
    bump(lock_registry, fresh.workspace, "sdk-core", "patch", commit=True, out=lambda _: None)
    git = Git(root)
    files = set(git.run("show", "--name-only", "--format=", "HEAD").split())
    assert "uv.lock" in files
    for name in MEMBERS:
        assert (
            f"libs/{name}/pyproject.toml" in files and f"libs/{name}/src/{name.replace('-', '_')}/__init__.py" in files
        )
        project = read_project(lock_registry.get(name), root / "libs" / name)
        assert project.version == Version("1.2.1")
    assert 'version = "1.2.1"' in (root / "uv.lock").read_text(encoding="utf-8")
    assert _uv_lock_check(root).returncode == 0, "uv lock --check fails on the bump commit"
    assert git.is_clean() and not git.tag_exists("v1.2.1")  # a static version is tagged by the release


def test_a_broken_workspace_lock_refuses_the_bump_and_writes_nothing(fresh: Ecosystem, lock_registry: Registry) -> None:
    root = fresh.workspace / "lockstep-sdk"
    _make_static(root, dict.fromkeys(MEMBERS, "1.2.0"))
    (root / "pyproject.toml").write_text('[tool.uv.workspace]\nmembers = ["libs/*"]\n[tool.uv]\nbroken = [\n')
    Git(root).run("commit", "-q", "-am", "broken root")
    with pytest.raises(JuniperError, match=r"uv.lock: the bump cannot refresh it .*Fix: run `uv lock` in"):
        bump(lock_registry, fresh.workspace, "sdk-core", "patch", commit=True, out=lambda _: None)
    assert Git(root).is_clean()


def test_merged_edits_of_one_file_keep_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    old = 'version = "1.0.0"\ndeps = ["a<1.1"]\n'
    first = FileEdit(path, old, 'version = "1.1.0"\ndeps = ["a<1.1"]\n')
    second = FileEdit(path, old, 'version = "1.0.0"\ndeps = ["a<1.2"]\n')
    (merged,) = merge_edits([first, second])
    assert merged.old == old and merged.new == 'version = "1.1.0"\ndeps = ["a<1.2"]\n'
    clash = FileEdit(path, old, 'version = "2.0.0"\ndeps = ["a<1.1"]\n')
    with pytest.raises(JuniperError, match="change one line"):
        merge_edits([first, clash])
    with pytest.raises(JuniperError, match="change its lines differently"):
        merge_edits([first, FileEdit(path, old, old + "extra\n")])


# --------------------------------------------------------------------------------------------------- graph


def test_the_graph_draws_the_group_as_one_cluster(sdk: Ecosystem, lock_registry: Registry) -> None:
    graph = build_graph(lock_registry, sdk.workspace)
    assert {cluster_of(lock_registry, p) for p in lock_registry.packages} == {"group sdk (vX.Y.Z)", None}
    mermaid = graph.to_mermaid()
    assert mermaid.count("subgraph ") == 1 and 'subgraph repo_group_sdk_vX_Y_Z["group sdk (vX.Y.Z)"]' in mermaid
    block = mermaid.split("subgraph ")[1].split("    end")[0]
    assert all(f'{m.replace("-", "_")}["{m}<br/>' in block for m in MEMBERS) and APP not in block
    dot = graph.to_dot()
    assert dot.count("subgraph ") == 1 and 'subgraph "cluster_group sdk (vX.Y.Z)"' in dot
    assert shutil.which("dot") is None or b"group sdk" in graph.picture("svg")


# --------------------------------------------------------------------------------------------------- propose


def test_propose_makes_one_proposal_for_the_group(sdk: Ecosystem, lock_registry: Registry) -> None:
    from juniper_release.release.propose import plan_proposals

    proposals = plan_proposals(
        lock_registry,
        sdk.workspace,
        {"sdk-auth": "minor", "sdk-http": "patch"},
        evidence={"sdk-auth": "auth evidence", "sdk-http": "http evidence"},
    )
    (proposal,) = proposals
    change = proposal.change
    assert change.branch == "release/sdk-1.3.0" and change.title == "Release sdk 1.3.0" and change.refused is None
    assert {e.path.relative_to(change.root).as_posix() for e in change.edits} == {
        f"libs/{m}/CHANGELOG.md" for m in WITH_CHANGELOG
    }
    assert "- Handle empty input." in change.body  # sdk-http's own notes
    assert "**sdk-auth**: auth evidence" in change.body and "**sdk-http**: http evidence" in change.body
    assert "A lockstep group: sdk-core, sdk-http, sdk-auth, sdk-client, sdk-cli move together" in change.body
    assert [f.repo for f in proposal.followons] == ["lockstep-example/lockstep-app"]  # its ceiling on sdk-client
    assert proposal.followons[0].branch == "deps/sdk-client-ceiling-1.3.0"


def test_the_groups_proposal_shows_each_members_api_change(fresh: Ecosystem, lock_registry: Registry) -> None:
    """The proposal's API section is each member's (from the group's tag), under the member's name."""
    from juniper_release.release.propose import plan_proposal

    root = fresh.workspace / "lockstep-sdk"
    init = root / "libs" / "sdk-core" / "src" / "sdk_core" / "__init__.py"
    init.write_text(init.read_text(encoding="utf-8") + "\n\ndef load(path: str) -> str:\n    return path\n", "utf-8")
    Git(root).run("commit", "-qam", "feat: sdk-core can load")
    body = plan_proposal(lock_registry, fresh.workspace, "sdk-auth", "minor", draft_notes=True).change.body
    assert "## Breaking changes: sdk-core" in body and "- feature: added `sdk_core.load`" in body
    assert body.count("## Breaking changes") == 1  # the other members' APIs did not change


# --------------------------------------------------------------------------------------------------- release


def test_a_members_release_is_the_groups_commit_and_tag(fresh: Ecosystem, lock_registry: Registry) -> None:
    """After the group's bump, every member's release names the one tag at the one bump commit, even a member the
    bump commit does not touch (sdk-auth keeps no CHANGELOG); a static group's pending bump is one commit."""
    from conftest import release_options
    from juniper_release.release.context import ReleaseContext
    from juniper_release.release.journal import Journal
    from juniper_release.release.notes import release_body
    from juniper_release.release.steps import _bump_message

    bump(lock_registry, fresh.workspace, "sdk-http", "minor", commit=True, out=lambda _: None)
    head = Git(fresh.workspace / "lockstep-sdk").head()
    lines: list[str] = []
    for name in MEMBERS:
        ctx = ReleaseContext(lock_registry, fresh.workspace, name, release_options(lines), Journal(fresh.workspace))
        assert ctx.group is not None and ctx.tag == "v1.3.0" and ctx.release_commit() == head
        assert _bump_message(ctx) == "Bump sdk to 1.3.0"
    notes = release_body(ctx)
    assert notes.startswith("## sdk-core\n") and "## sdk-http\n\n### Fixed\n\n- Handle empty input." in notes
    assert "## sdk-auth" not in notes  # no CHANGELOG, no notes of its own


def test_a_static_groups_pending_bump_is_committed_once(fresh: Ecosystem, lock_registry: Registry) -> None:
    from conftest import release_options
    from juniper_release.release.context import ReleaseContext
    from juniper_release.release.journal import Journal
    from juniper_release.release.steps import COMMIT_BUMP

    root = fresh.workspace / "lockstep-sdk"
    _make_static(root, dict.fromkeys(MEMBERS, "1.2.0"))
    bump(lock_registry, fresh.workspace, "sdk-core", "patch", out=lambda _: None)  # written, not committed
    ctx = ReleaseContext(lock_registry, fresh.workspace, "sdk-cli", release_options([]), Journal(fresh.workspace))
    assert ctx.needs_commit()
    COMMIT_BUMP.action(ctx)
    git = Git(root)
    assert git.is_clean() and git.run("log", "-1", "--format=%s") == "Bump sdk to 1.2.1"
    assert "uv.lock" in git.run("show", "--name-only", "--format=", "HEAD").split()


@pytest.mark.slow
def test_the_rehearsal_releases_the_group_with_one_tag_and_one_run(
    tmp_path: Path, lock_registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole train on the stand-in: the group's one bump and tag, one GitHub Release and one publish run that
    builds, uploads and verifies (a fresh install from the index) every member in layer order; the app follows."""
    import json

    from juniper_release.release import gates
    from juniper_release.sandbox.rehearse import rehearse

    monkeypatch.setattr(gates, "is_verified", lambda *a: True)
    eco = _make(tmp_path, lock_registry)
    rows = rehearse(
        lock_registry.path, eco.workspace, tmp_path / "reh", run_verify=False, timeout=120, out=lambda _: None
    )
    assert all(r["tag on origin"] and r["GitHub release"] and r["testpypi"] and r["pypi"] for r in rows), rows
    assert {str(r["package"]): r["version"] for r in rows} == {**dict.fromkeys(MEMBERS, "1.2.1"), APP: "0.4.1"}
    state = json.loads((tmp_path / "reh" / "github.json").read_text(encoding="utf-8"))
    sdk = "lockstep-example/lockstep-sdk"
    assert [r["tag_name"] for r in state["releases"][sdk]] == ["v1.2.1"]
    runs = [r for r in state["runs"][sdk] if r["event"] == "release" and r["head_branch"] == "v1.2.1"]
    assert [r["conclusion"] for r in runs] == ["success"]
    remote = Git(tmp_path / "reh" / "remotes" / f"{sdk}.git")
    assert sorted(remote.tags()) == ["v1.2.0", "v1.2.1"]


def test_a_members_license_linked_to_the_repository_is_copied_into_the_build(
    sdk: Ecosystem, lock_registry: Registry, tmp_path: Path
) -> None:
    """A real workspace links each member's LICENSE to the repository's: a clean copy (and a tree export) holds the
    file itself, while a link leaving the repository is still refused."""
    from juniper_release.verify.build import BuildError, _copy_tree, clean_copy, source_files

    member = sdk.workspace / "lockstep-sdk" / "libs" / "sdk-core"
    assert (member / "LICENSE").is_symlink()
    copied = tmp_path / "copy"
    assert "LICENSE" in clean_copy(member, copied)
    assert not (copied / "LICENSE").is_symlink() and (copied / "LICENSE").read_text().startswith("MIT License")
    exported = tmp_path / "export"
    _copy_tree(member, exported)
    assert not (exported / "LICENSE").is_symlink() and (exported / "LICENSE").is_file()
    fresh = _make(tmp_path / "other", lock_registry)
    root = fresh.workspace / "lockstep-sdk" / "libs" / "sdk-core"
    (tmp_path / "secret.txt").write_text("outside\n")
    (root / "escape.txt").symlink_to(tmp_path / "secret.txt")
    Git(root).run("add", "escape.txt")
    with pytest.raises(BuildError, match=r"escape\.txt is a symlink to .*secret\.txt, outside the checkout"):
        source_files(root)


def test_a_group_bump_needs_one_of_part_and_to_and_uv_for_its_lock(
    fresh: Ecosystem, lock_registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(VersionError, match="both --part and --to given"):
        plan_bump(lock_registry, fresh.workspace, "sdk-core", "patch", to="1.3.0")
    with pytest.raises(VersionError, match="no --part or --to given"):
        plan_bump(lock_registry, fresh.workspace, "sdk-core")
    with pytest.raises(VersionError, match=r"sdk-core: 1\.2\.0 is not greater than the current 1\.2\.0"):
        plan_bump(lock_registry, fresh.workspace, "sdk-core", to="1.2.0")
    root = fresh.workspace / "lockstep-sdk"
    _make_static(root, dict.fromkeys(MEMBERS, "1.2.0"))
    from juniper_release.verify import envs

    monkeypatch.setattr(envs, "uv_binary", lambda: None)
    with pytest.raises(JuniperError, match=r"uv\.lock: refreshing it needs uv\. Fix: install uv"):
        plan_bump(lock_registry, fresh.workspace, "sdk-core", "patch")


def test_hatch_vcs_raw_options_are_honoured(fresh: Ecosystem, lock_registry: Registry) -> None:
    """A member's ``git_describe_command`` and ``tag_regex`` (beside ``root``) decide its version: a newer tag of
    another project on HEAD, which the command's ``--match`` leaves out, does not change it."""
    root = fresh.workspace / "lockstep-sdk"
    path = root / "libs" / "sdk-core" / "pyproject.toml"
    doc = tomlkit.parse(path.read_text(encoding="utf-8"))
    raw = doc["tool"]["hatch"]["version"]["raw-options"]
    raw["git_describe_command"] = ["git", "describe", "--dirty", "--tags", "--long", "--match", "v*"]
    raw["tag_regex"] = "^v(?P<version>[0-9][^+]*)$"
    path.write_text(tomlkit.dumps(doc), encoding="utf-8")
    git = Git(root)
    git.run("commit", "-q", "-am", "build: describe only v* tags")
    git.run("tag", "tools-9.9.9")
    pkg = lock_registry.get("sdk-core")
    version = read_project(pkg, root / "libs" / "sdk-core").version
    assert str(version).startswith("1.2.1.dev2+g"), version


# --------------------------------------------------------------------------------------------------- workflows


def test_workflows_leave_the_groups_one_publish_run_alone_with_a_note(
    fresh: Ecosystem, lock_registry: Registry
) -> None:
    repo = fresh.workspace / "lockstep-sdk"
    publish = repo / lock_registry.workflow_for(lock_registry.get("sdk-core"))
    before = publish.read_text(encoding="utf-8")
    rendered = wf.render_all(lock_registry, workspace=fresh.workspace)
    mine = sorted(r.path for r in rendered if r.package in MEMBERS)
    assert mine == [".github/dependabot.yml", *(f".github/workflows/validate-{n}.yml" for n in sorted(MEMBERS))]
    drifts = wf.check(lock_registry, fresh.workspace)
    assert all(d.status == "ok" for d in drifts)
    rows = {r["package"]: r for r in wf.summary_rows(drifts, lock_registry)}  # every row every column, by role
    assert rows["sdk-http"] == {"package": "sdk-http", "validate.yml": "ok", "dependabot.yml": "-", "publish.yml": "-"}
    assert rows[APP] == {"package": APP, "validate.yml": "ok", "dependabot.yml": "ok", "publish.yml": "ok"}
    lines: list[str] = []
    assert wf.run_write(lock_registry, fresh.workspace, lock_registry.packages, lines.append) == EXIT_OK
    assert publish.read_text(encoding="utf-8") == before
    assert lines[0] == (
        "note: group sdk: .github/workflows/publish.yml publishes every member (sdk-core, sdk-http, sdk-auth, "
        "sdk-client, sdk-cli) in one run: left alone (the publish template renders one package per workflow, so "
        "`workflows --write` writes no per-member copy onto it)"
    )
    assert lines[-1].startswith("0 workflow file(s) written")
    assert wf.group_notes(lock_registry, [lock_registry.get(APP)]) == []  # the app is no member
    assert wf.pair_notes(lock_registry) == []


def test_a_missing_group_publish_run_is_noted_never_rendered(fresh: Ecosystem, lock_registry: Registry) -> None:
    publish = fresh.workspace / "lockstep-sdk" / lock_registry.workflow_for(lock_registry.get("sdk-cli"))
    publish.unlink()
    assert wf.write(lock_registry, fresh.workspace) == [] and not publish.exists()
    (note,) = wf.group_notes(lock_registry, [lock_registry.get("sdk-cli")], fresh.workspace)
    assert "in one run: missing: write it by hand" in note


def test_a_per_member_copy_onto_one_path_is_refused(lock_registry: Registry) -> None:
    shared = lock_registry.publish_workflow
    ungrouped = replace(
        lock_registry, groups=(), packages=tuple(replace(p, publish_workflow=shared) for p in lock_registry.packages)
    )
    with pytest.raises(ConfigError, match=rf"packages sdk-core and sdk-http would both render {re.escape(shared)}"):
        wf.render_all(ungrouped)


def test_the_workflows_the_stand_in_carries_pass_actionlint(fresh: Ecosystem, lock_registry: Registry) -> None:
    files = [
        lock_registry.get(r.package).top_of(lock_registry.get(r.package).checkout(fresh.workspace)) / r.path
        for r in wf.render_all(lock_registry, workspace=fresh.workspace)
        if r.path.startswith(".github/workflows/")
    ]
    files.append(fresh.workspace / "lockstep-sdk" / lock_registry.publish_workflow)  # the group's hand-written run
    assert len(files) == 8
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "actionlint"), "-no-color", *map(str, files)],
        check=False,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr

"""The grown ecosystem (18 packages in 8 repositories, registries/grown.toml) on its generated stand-in.

The stand-in is generated once for the module; tests that change it work on a copy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from juniper_release.ecosystem.graph import build_graph
from juniper_release.ecosystem.project import read_project
from juniper_release.ecosystem.registry import ROOT, Registry, load_registry
from juniper_release.ecosystem.status import State, collect
from juniper_release.errors import WorkspaceError
from juniper_release.github import workflows as wf
from juniper_release.github.checks import run_checks
from juniper_release.release.versioning import bump
from juniper_release.sandbox.grown import create_grown
from juniper_release.sandbox.standin import Ecosystem
from juniper_release.transfer.codemod import plan_transfer
from juniper_release.verify import matrix
from juniper_release.verify.build import build_package, source_files
from juniper_release.verify.scheduler import verify_all

GROWN = ROOT / "registries" / "grown.toml"


@pytest.fixture(scope="module")
def grown_registry() -> Registry:
    return load_registry(GROWN, env={})


@pytest.fixture(scope="module")
def grown(tmp_path_factory: pytest.TempPathFactory, grown_registry: Registry) -> Ecosystem:
    base = tmp_path_factory.mktemp("grown")
    return create_grown(base / "ws", grown_registry, remotes=base / "remotes", unreleased=["juniper-ci-tools"])


def _copy(eco: Ecosystem, dest: Path) -> Path:
    shutil.copytree(eco.workspace, dest, symlinks=True)
    return dest


def _rows(registry: Registry, workspace: Path) -> dict[str, object]:
    return {row.package: row for row in collect(registry, workspace, query_indexes=False, warn=lambda _: None)}


def test_the_grown_registry_has_18_packages_in_8_repos(grown_registry: Registry) -> None:
    assert len(grown_registry.packages) == 18 and len(grown_registry.repos()) == 8
    tools = grown_registry.get("juniper-ci-tools")
    assert (tools.path, tools.subdir, tools.tag_format) == (
        "juniper-ml",
        "juniper-ci-tools",
        "juniper-ci-tools-v{version}",
    )
    assert grown_registry.get("juniper-ml").tag_format == "v{version}"
    assert grown_registry.get("juniper-model-core").version_file == "juniper_model_core/_version.py"


def test_status_uses_per_package_tags_and_path_scoped_commit_counts(grown: Ecosystem, grown_registry: Registry) -> None:
    rows = _rows(grown_registry, grown.workspace)
    assert len(rows) == 18
    tools = rows["juniper-ci-tools"]
    assert tools.latest_tag == "juniper-ci-tools-v0.8.0"  # type: ignore[attr-defined]
    assert tools.commits_since_tag == 1 and tools.state is State.UNRELEASED_CHANGES  # type: ignore[attr-defined]
    # The commit in juniper-ci-tools/ is not an unreleased change of its siblings nor of the root meta-package.
    for name in ("juniper-config-tools", "juniper-model-core", "juniper-ml"):
        assert rows[name].commits_since_tag == 0 and rows[name].state is State.UP_TO_DATE  # type: ignore[attr-defined]
    assert rows["juniper-ml"].latest_tag == "v0.6.0"  # type: ignore[attr-defined]
    assert not rows["juniper-ml"].warnings  # type: ignore[attr-defined]  # the siblings' tags are not foreign
    assert rows["juniper-recurrence"].latest_tag == "juniper-recurrence-v0.4.0"  # type: ignore[attr-defined]
    assert rows["juniper-recurrence"].pyproject_version == "0.4.0"  # type: ignore[attr-defined]  # dynamic


def test_check_is_clean_and_catches_a_lockstep_file_out_of_step(
    grown: Ecosystem, grown_registry: Registry, tmp_path: Path
) -> None:
    assert [f for f in run_checks(grown_registry, grown.workspace) if f.severity != "info"] == []
    ws = _copy(grown, tmp_path / "ws")
    version = ws / "juniper-ml" / "juniper-ci-tools" / "juniper_ci_tools" / "_version.py"
    version.write_text('__version__ = "0.7.9"\n', encoding="utf-8")
    init = ws / "juniper-recurrence" / "juniper-recurrence-model" / "juniper_recurrence_model" / "__init__.py"
    init.write_text('__version__ = "0.1.0"\nfrom ._version import __version__ as v\n', encoding="utf-8")
    sync = [f for f in run_checks(grown_registry, ws) if f.check == "version-sync"]
    assert {f.package for f in sync} == {"juniper-ci-tools", "juniper-recurrence-model"}
    lockstep = next(f for f in sync if f.package == "juniper-recurrence-model")
    assert "_version.py" in lockstep.message or "__init__.py" in lockstep.message


def test_graph_groups_packages_by_repository(grown: Ecosystem, grown_registry: Registry) -> None:
    graph = build_graph(grown_registry, grown.workspace)
    graph.check_layers()
    mermaid = graph.to_mermaid()
    assert 'subgraph repo_pcalnon_juniper_ml["pcalnon/juniper-ml"]' in mermaid
    assert 'subgraph repo_pcalnon_juniper_recurrence["pcalnon/juniper-recurrence"]' in mermaid
    assert mermaid.count("subgraph") == 3 and mermaid.count("    end") == 3  # ml, cascor, recurrence
    assert "juniper_service_core -->" in mermaid
    assert 'subgraph "cluster_pcalnon/juniper-cascor"' in graph.to_dot()


def test_bump_of_a_dynamic_version_writes_its_version_file(
    grown: Ecosystem, grown_registry: Registry, tmp_path: Path
) -> None:
    ws = _copy(grown, tmp_path / "ws")
    root = ws / "juniper-ml" / "juniper-model-core"
    pyproject = (root / "pyproject.toml").read_text(encoding="utf-8")
    bump(grown_registry, ws, "juniper-model-core", "patch", commit=True, tag=True)
    assert (root / "pyproject.toml").read_text(encoding="utf-8") == pyproject  # dynamic: untouched
    assert '__version__ = "0.3.2"' in (root / "juniper_model_core" / "_version.py").read_text(encoding="utf-8")
    assert read_project(grown_registry.get("juniper-model-core"), root).version.public == "0.3.2"
    git = ["git", "-C", str(ws / "juniper-ml")]
    assert subprocess.run(
        [*git, "tag", "-l", "juniper-model-core-v0.3.2"], check=True, capture_output=True, text=True
    ).stdout
    changed = subprocess.run(
        [*git, "show", "--name-only", "--format=", "HEAD"], check=True, capture_output=True, text=True
    )
    assert sorted(changed.stdout.split()) == [
        "juniper-model-core/CHANGELOG.md",
        "juniper-model-core/juniper_model_core/_version.py",
    ]
    assert subprocess.run([*git, "status", "--porcelain"], check=True, capture_output=True, text=True).stdout == ""


def test_bump_drafts_notes_from_the_package_own_commits_only(
    grown: Ecosystem, grown_registry: Registry, tmp_path: Path
) -> None:
    from juniper_release.release.versioning import plan_bump
    from juniper_release.sandbox.standin import GIT_ENV

    ws = _copy(grown, tmp_path / "ws")
    repo = ws / "juniper-ml"
    (repo / "juniper-ci-tools" / "NOTE.md").write_text("sibling\n", encoding="utf-8")
    env = {**GIT_ENV, "PATH": os.environ["PATH"]}
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(repo), "commit", "-qm", "feat: a ci-tools change"], check=True, env=env)

    def notes(name: str) -> str:
        plan = plan_bump(grown_registry, ws, name, "patch")
        return next(e.new for e in plan.edits if e.path.name == "CHANGELOG.md")

    assert "ci-tools change" in notes("juniper-ci-tools")
    assert "ci-tools change" not in notes("juniper-config-tools")  # a sibling's commit
    assert "ci-tools change" not in notes("juniper-ml")  # the root package's paths exclude its sub-packages


def test_verify_builds_a_sub_package_from_its_directory_only(
    grown: Ecosystem, grown_registry: Registry, tmp_path: Path
) -> None:
    pkg = grown_registry.get("juniper-service-core")
    result = build_package(grown_registry, pkg, grown.workspace, tmp_path / "out")
    sdist = next(p for p in result.artifacts if p.name.endswith(".tar.gz"))
    with tarfile.open(sdist) as tar:
        names = tar.getnames()
    top = {n.split("/")[1] for n in names if "/" in n}
    assert "juniper_service_core" in top and "pyproject.toml" in top
    assert not any("juniper_model_core" in n or "juniper-ci-tools" in n for n in names)


def test_the_root_package_sources_leave_out_its_sub_packages(grown: Ecosystem) -> None:
    files = source_files(grown.workspace / "juniper-ml")
    assert "pyproject.toml" in files and not any(f.startswith("juniper-") for f in files)
    assert "juniper_ci_tools/_version.py" in source_files(grown.workspace / "juniper-ml" / "juniper-ci-tools")


def test_workflows_render_one_gated_publish_workflow_per_sub_package(grown_registry: Registry) -> None:
    rendered = {(r.package, r.path): r.text for r in wf.render_all(grown_registry)}
    publish = rendered[("juniper-ci-tools", ".github/workflows/publish-ci-tools.yml")]
    assert "startsWith(github.event.release.tag_name, 'juniper-ci-tools-v')" in publish
    assert 'working-directory: "juniper-ci-tools"' in publish and "path: juniper-ci-tools/dist/" in publish
    validate = rendered[("juniper-ci-tools", ".github/workflows/validate-juniper-ci-tools.yml")]
    assert 'tags: ["juniper-ci-tools-v*"]' in validate and 'paths: ["juniper-ci-tools/**"]' in validate
    root = rendered[("juniper-ml", ".github/workflows/publish.yml")]
    assert "startsWith" not in root and "working-directory" not in root
    files = [(grown_registry.get(name).path, path) for (name, path) in rendered]
    assert len(files) == len(set(files)) == 44  # no two packages of a repository share a workflow file
    # 2 workflows per package, and one Dependabot configuration per repository (18 * 2 + 8)


def test_workflows_write_lands_at_the_repository_root(
    grown: Ecosystem, grown_registry: Registry, tmp_path: Path
) -> None:
    ws = _copy(grown, tmp_path / "ws")
    chosen = [grown_registry.get("juniper-recurrence-client")]
    wf.write(grown_registry, ws, chosen)
    assert (ws / "juniper-recurrence" / ".github" / "workflows" / "publish-recurrence-client.yml").is_file()
    assert all(d.status == "ok" for d in wf.check(grown_registry, ws, chosen))


def test_transfer_plans_each_repository_once(grown: Ecosystem, grown_registry: Registry) -> None:
    plan = plan_transfer(grown_registry, grown.workspace, to="OvertoadResearch", update_registry=False)
    roots = [repo.root for repo in plan.repos]
    assert len(roots) == len(set(roots)) == 8
    one = plan_transfer(
        grown_registry, grown.workspace, to="OvertoadResearch", packages="juniper-doc-tools", update_registry=False
    )
    assert [repo.root.name for repo in one.repos] == ["juniper-ml"]  # the whole repository moves


def test_a_missing_sub_package_is_a_row_and_a_finding_and_verify_refuses_it(
    grown: Ecosystem, grown_registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = _copy(grown, tmp_path / "ws")
    shutil.rmtree(ws / "juniper-cascor" / "juniper-cascor-protocol")
    rows = _rows(grown_registry, ws)
    assert len(rows) == 18
    missing = rows["juniper-cascor-protocol"]
    assert missing.state is State.MISSING and "juniper-cascor-protocol/pyproject.toml" in missing.reasons[0]  # type: ignore[attr-defined]
    assert rows["juniper-cascor-client"].state is State.UP_TO_DATE  # type: ignore[attr-defined]
    findings = run_checks(grown_registry, ws)
    assert any(f.package == "juniper-cascor-protocol" and f.check == "missing-package" for f in findings)
    graph = build_graph(grown_registry, ws)
    graph.check_layers()  # cascor-client's declared layer stands although its dependency is absent
    assert "juniper-cascor-protocol" in graph.unresolved["juniper-cascor-client"]
    with pytest.raises(WorkspaceError, match=r"juniper-cascor-protocol: the checkout .* has no .*Fix: update"):
        build_package(grown_registry, grown_registry.get("juniper-cascor-protocol"), ws, tmp_path / "out")
    with pytest.raises(WorkspaceError, match=r"juniper-cascor-protocol: the checkout .* has no"):
        verify_all(grown_registry, ws, ["juniper-cascor-protocol"])
    # verify-all over everything (what `nox -s verify-all` runs) reports the missing package and verifies the rest
    seen: list[list[str]] = []

    def fake_verify_all(registry, workspace, selected, **kwargs):  # the per-round verify_all, recorded
        seen.append(list(selected))
        raise SystemExit(0)

    monkeypatch.setattr(matrix, "verify_all", fake_verify_all)
    log: list[str] = []
    with pytest.raises(SystemExit):
        matrix.verify_pythons(grown_registry, ws, log=log.append)
    assert log == ["[juniper-cascor-protocol] not verified: its directory is not in this (older) checkout"]
    assert "juniper-cascor-protocol" not in seen[0] and "juniper-cascor-client" in seen[0]


def test_a_tag_on_a_commit_whose_dynamic_version_file_says_another_version_is_a_finding(
    grown: Ecosystem, grown_registry: Registry, tmp_path: Path
) -> None:
    from juniper_release.ecosystem.status import package_status
    from packaging.version import Version

    ws = _copy(grown, tmp_path / "ws")
    pkg = grown_registry.get("juniper-model-core")  # dynamic = ["version"], __version__ in its _version.py
    root = pkg.checkout(ws)
    git = ["git", "-C", str(root)]
    (root / "juniper_model_core" / "_version.py").write_text('__version__ = "0.3.2"\n', encoding="utf-8")
    subprocess.run([*git, "commit", "-q", "-am", "Bump juniper-model-core to 0.3.2"], check=True)

    def row(tag_at: str):  # juniper-model-core-v0.3.2 on ``tag_at``; PyPI says 0.3.2 is released
        subprocess.run([*git, "tag", "-f", "-a", "-m", "r", "juniper-model-core-v0.3.2", tag_at], check=True)
        project = read_project(pkg, root)
        return package_status(grown_registry, pkg, project, 0, (Version("0.3.2"),), ())

    disagree = row("HEAD~1")  # the commit whose _version.py still says 0.3.1
    assert disagree.state is State.ANOMALY
    assert disagree.reasons == (
        "tag juniper-model-core-v0.3.2 is on a commit whose juniper_model_core/_version.py says 0.3.1",
    )
    agree = row("HEAD")
    assert agree.state is State.UP_TO_DATE and agree.reasons == () and agree.warnings == ()


def test_the_license_fix_names_a_sub_package_directory_and_the_root_for_a_root_package(
    grown: Ecosystem, grown_registry: Registry, tmp_path: Path
) -> None:
    ws = _copy(grown, tmp_path / "ws")
    (ws / "juniper-ml" / "juniper-doc-tools" / "LICENSE").unlink()
    (ws / "juniper-ml" / "LICENSE").unlink()  # the root meta-package of the shared repository
    found = {f.package: f.message for f in run_checks(grown_registry, ws) if f.check == "license"}
    assert set(found) == {"juniper-doc-tools", "juniper-ml"}
    assert "Fix: add the project's LICENSE (MIT) in juniper-doc-tools/" in found["juniper-doc-tools"]
    assert "sdist holds only its own directory" in found["juniper-doc-tools"]
    assert "repository root's LICENSE is not in it" in found["juniper-doc-tools"]
    assert found["juniper-ml"].endswith("Fix: add the project's LICENSE (MIT) at the repository root")


def test_the_secrets_scan_covers_a_sub_package_directory_and_names_only_its_package(
    grown: Ecosystem, grown_registry: Registry, tmp_path: Path
) -> None:
    from juniper_release.sandbox.standin import FAKE_PYPI_TOKEN

    ws = _copy(grown, tmp_path / "ws")
    tools = ws / "juniper-ml" / "juniper-ci-tools"
    (tools / ".env").write_text(f"PYPI_API_TOKEN={FAKE_PYPI_TOKEN}\n", encoding="utf-8")  # untracked
    (tools / "deploy.cfg").write_text(f"token = {FAKE_PYPI_TOKEN}\n", encoding="utf-8")
    subprocess.run(["git", "-C", str(tools), "add", "deploy.cfg"], check=True)
    subprocess.run(["git", "-C", str(tools), "commit", "-q", "-m", "deploy settings"], check=True)
    found = [(f.package, f.message) for f in run_checks(grown_registry, ws) if f.check == "secrets"]
    assert [p for p, _ in found] == ["juniper-ci-tools", "juniper-ci-tools"]  # never the root juniper-ml nor a sibling
    messages = " | ".join(m for _, m in found)
    assert "untracked file juniper-ci-tools/.env holds" in messages
    assert "tracked file juniper-ci-tools/deploy.cfg holds" in messages
    assert "`git rm --cached juniper-ci-tools/deploy.cfg`" in messages


def test_a_secret_in_a_sub_package_fails_its_build_and_only_its_own(
    grown: Ecosystem, grown_registry: Registry, tmp_path: Path
) -> None:
    from juniper_release.sandbox.standin import FAKE_PYPI_TOKEN
    from juniper_release.verify.build import BuildError

    ws = _copy(grown, tmp_path / "ws")
    module = ws / "juniper-ml" / "juniper-ci-tools" / "juniper_ci_tools"
    (module / "settings.py").write_text(f'TOKEN = "{FAKE_PYPI_TOKEN}"\n', encoding="utf-8")  # untracked: still built
    with pytest.raises(
        BuildError, match=r"juniper-ci-tools: the wheel contains secrets: juniper_ci_tools/settings\.py"
    ):
        build_package(grown_registry, grown_registry.get("juniper-ci-tools"), ws, tmp_path / "out-tools")
    built = build_package(grown_registry, grown_registry.get("juniper-config-tools"), ws, tmp_path / "out-config")
    assert built.package == "juniper-config-tools"


def test_messages_name_the_registry_file_in_use(grown: Ecosystem, grown_registry: Registry, tmp_path: Path) -> None:
    import dataclasses
    import zipfile

    from juniper_release.verify.build import BuildResult
    from juniper_release.verify.envs import VerifyError
    from juniper_release.verify.precheck import precheck

    def with_extra(name: str) -> Registry:
        packages = tuple(
            dataclasses.replace(p, extras=(*p.extras, "nope")) if p.name == name else p for p in grown_registry.packages
        )
        return dataclasses.replace(grown_registry, packages=packages)

    assert grown_registry.shown_path == "registries/grown.toml"
    finding = next(f for f in run_checks(with_extra("juniper-data"), grown.workspace) if f.check == "extras")
    assert finding.message.startswith("registries/grown.toml verifies extras nope that pyproject.toml does not")
    assert finding.message.endswith("or drop them from registries/grown.toml")
    wheel = tmp_path / "juniper_data-0.6.0-py3-none-any.whl"  # metadata without the configured extra [api]
    with zipfile.ZipFile(wheel, "w") as whl:
        whl.writestr(
            "juniper_data-0.6.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: juniper-data\nVersion: 0.6.0\n"
        )
    built = BuildResult("juniper-data", "0.6.0", tmp_path / "juniper_data-0.6.0.tar.gz", wheel)
    with pytest.raises(VerifyError, match=r"^registries/grown\.toml lists extra \[api\] for juniper-data") as info:
        precheck(grown_registry, grown_registry.get("juniper-data"), {"juniper-data": built}, "3.12.1")
    assert (
        info.value.fix
        == "add [project.optional-dependencies] api to juniper-data, or remove it from registries/grown.toml"
    )
    # Every package knows the file that lists it, for the verification messages that have no registry at hand.
    assert {p.registry_file for p in grown_registry.packages} == {"registries/grown.toml"}
    from juniper_release.verify.pythons import choose
    from packaging.specifiers import SpecifierSet

    pinned = dataclasses.replace(grown_registry.get("juniper-data"), python=("3.11",))
    with pytest.raises(VerifyError, match=r"\(registries/grown\.toml python = \['3\.11'\]\)") as info:
        choose(pinned, SpecifierSet(">=3.12"), None, found=("3.11", "3.12"))
    assert info.value.fix.endswith("or drop 3.11 from its python list in registries/grown.toml")


def test_the_ci_listing_of_the_grown_registry_has_one_session_per_package_and_python(
    grown: Ecosystem, grown_registry: Registry
) -> None:
    import json

    from conftest import run_session, run_task
    from juniper_release.github.workflows import NOX_CI_ENV
    from juniper_release.verify.pythons import listed_pythons

    env = {**NOX_CI_ENV, "JUNIPER_REGISTRY": "registries/grown.toml", "JUNIPER_WORKSPACE": str(grown.workspace)}
    proc = run_session("-l", "--json", "-t", "ci", env=env)
    assert proc.returncode == 0, proc.stderr
    sessions = json.loads(proc.stdout)
    assert {s["name"] for s in sessions} == {"verify"}
    pairs = [(s["call_spec"]["package"], s["call_spec"]["interpreter"]) for s in sessions]
    expected = [(p.name, py) for p in grown_registry.packages for py in listed_pythons(p, grown.workspace)]
    assert len({name for name, _ in pairs}) == 18
    assert sorted(pairs) == sorted(expected) and len(pairs) == len(set(pairs))
    matrix = run_task("ci-matrix", env=env)
    assert matrix.returncode == 0, matrix.stderr
    assert sorted((m["package"], m["python"]) for m in json.loads(matrix.stdout)) == sorted(expected)

"""Every path a pyproject or the registry names stays inside its place (ecosystem/paths.py ``inside``): a version file,
readme, license or workflow that is absolute, climbs out with ``..`` or leaves through a symlink is refused with a
one-line error naming the field, before anything is read or written (issue 27, section 1)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from juniper_release.ecosystem import status
from juniper_release.ecosystem.paths import escape_reason, inside
from juniper_release.ecosystem.project import read_project
from juniper_release.ecosystem.registry import Package, parse_registry
from juniper_release.errors import ConfigError, JuniperError, WorkspaceError
from juniper_release.github import workflows
from juniper_release.release.propose import plan_proposals
from juniper_release.release.versioning import plan_bump, release_notes

ROOT = Path(__file__).resolve().parents[1]
SECRET = "db_password = hunter2\n"


def _pkg(subdir: str | None = None) -> Package:
    return Package("demo-pkg", "o/demo-pkg", "demo-pkg", ("demo_pkg",), 0, (), False, subdir=subdir)


def _outside(tmp_path: Path, name: str = "VERSION", text: str = "9.9.9\n") -> Path:
    """A file outside the checkout, with a secret beside its version."""
    path = tmp_path / "outside" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"# app.conf\n{SECRET}__version__ = '9.9.9'\n" if name.endswith(".conf") else text, encoding="utf-8"
    )
    return path


def test_the_rule_refuses_absolute_home_and_climbing_paths_and_allows_a_sub_package_its_repository():
    assert escape_reason("src/pkg/_version.py") is None
    assert escape_reason("a/../b") is None
    assert escape_reason("/etc/passwd") == "it is absolute"
    assert escape_reason("~/VERSION") == "it is absolute"
    assert escape_reason("../VERSION") == "it leads outside with '..'"
    assert escape_reason("a/../../VERSION") == "it leads outside with '..'"
    assert escape_reason("") == "it is empty"
    assert escape_reason("../../LICENSE", up=2) is None  # libs/core may name its repository's files
    assert escape_reason("../../../LICENSE", up=2) == "it leads outside with '..'"


def test_the_rule_follows_symlinks_when_given_the_directory(tmp_path):
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "VERSION").symlink_to(_outside(tmp_path))
    with pytest.raises(WorkspaceError, match=r"demo: version 'VERSION' must be a relative path inside .*symlink"):
        inside("VERSION", field="version", where="demo", fix="f", base=checkout)
    assert inside("./src//x.py", field="f", where="w", fix="f", base=checkout) == "src/x.py"


SETUPTOOLS = '[build-system]\nrequires = ["setuptools>=77"]\nbuild-backend = "setuptools.build_meta"\n'
HATCH = '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
PDM = '[build-system]\nrequires = ["pdm-backend"]\nbuild-backend = "pdm.backend"\n'
DYNAMIC = '[project]\nname = "demo-pkg"\ndynamic = ["version"]\n'
STATIC = '[project]\nname = "demo-pkg"\nversion = "1.0.0"\n'

CASES = {
    "hatch path, absolute": (HATCH + DYNAMIC + '[tool.hatch.version]\npath = "{abs}"\n', "[tool.hatch.version] path"),
    "setuptools file, climbing": (
        SETUPTOOLS + DYNAMIC + '[tool.setuptools.dynamic]\nversion = {{file = "../outside/VERSION"}}\n',
        "[tool.setuptools.dynamic] version.file",
    ),
    "setuptools file, the second of a list": (
        SETUPTOOLS + DYNAMIC + '[tool.setuptools.dynamic]\nversion = {{file = ["VERSION", "../outside/VERSION"]}}\n',
        "[tool.setuptools.dynamic] version.file",
    ),
    "pdm file": (
        PDM + DYNAMIC + '[tool.pdm.version]\nsource = "file"\npath = "../outside/VERSION"\n',
        "[tool.pdm.version] path",
    ),
    "hatch-vcs root": (
        HATCH + DYNAMIC + '[tool.hatch.version]\nsource = "vcs"\nraw-options = {{root = "../outside"}}\n',
        "[tool.hatch.version] raw-options.root",
    ),
    "readme": (SETUPTOOLS + STATIC + 'readme = "{abs}"\n', "[project] readme"),
    "readme table": (SETUPTOOLS + STATIC + 'readme = {{file = "../outside/VERSION"}}\n', "[project] readme"),
    "license file": (SETUPTOOLS + STATIC + 'license = {{file = "../outside/VERSION"}}\n', "[project] license.file"),
    "license-files": (SETUPTOOLS + STATIC + 'license-files = ["LICENSE", "../outside/*"]\n', "[project] license-files"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_every_path_a_pyproject_names_stays_in_the_checkout(tmp_path, case):
    template, field = CASES[case]
    outside = _outside(tmp_path)
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "VERSION").write_text("1.0.0\n", encoding="utf-8")
    (checkout / "pyproject.toml").write_text(template.format(abs=outside), encoding="utf-8")
    with pytest.raises(WorkspaceError) as caught:
        read_project(_pkg(), checkout)
    assert field in caught.value.what and "must be a relative path inside demo-pkg's checkout" in caught.value.what
    assert "\n" not in str(caught.value) and "9.9.9" not in str(caught.value)


def test_a_symlinked_version_file_is_refused_too(tmp_path):
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "VERSION").symlink_to(_outside(tmp_path))
    text = SETUPTOOLS + DYNAMIC + '[tool.setuptools.dynamic]\nversion = {file = "VERSION"}\n'
    (checkout / "pyproject.toml").write_text(text, encoding="utf-8")
    with pytest.raises(WorkspaceError, match=r"version\.file 'VERSION' .* through a symlink"):
        read_project(_pkg(), checkout)


def test_a_sub_package_may_name_its_repository_files_but_not_beyond(tmp_path):
    repo = tmp_path / "repo"
    sub = repo / "libs" / "core"
    sub.mkdir(parents=True)
    (repo / "VERSION").write_text("1.2.3\n", encoding="utf-8")
    text = SETUPTOOLS + DYNAMIC + '[tool.setuptools.dynamic]\nversion = {file = "../../VERSION"}\n'
    (sub / "pyproject.toml").write_text(text, encoding="utf-8")
    assert str(read_project(_pkg("libs/core"), sub).version) == "1.2.3"
    (sub / "pyproject.toml").write_text(text.replace("../../VERSION", "../../../VERSION"), encoding="utf-8")
    with pytest.raises(WorkspaceError, match="outside"):
        read_project(_pkg("libs/core"), sub)


def _point_outside(checkout: Path, outside: Path) -> None:
    """The checkout's version now comes from a setuptools ``file`` climbing out to ``outside``."""
    pyproject = checkout / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if x.startswith("version = "))
    rel = os.path.relpath(outside, checkout)
    text = text.replace(line, 'dynamic = ["version"]', 1)
    text += f'\n[tool.setuptools.dynamic]\nversion = {{file = "{rel}"}}\n'
    pyproject.write_text(text, encoding="utf-8")


def test_bump_and_propose_refuse_an_outside_version_file_and_touch_nothing(ecosystem, registry, tmp_path):
    outside = _outside(tmp_path, "app.conf")
    before = outside.read_bytes()
    checkout = ecosystem.checkout("juniper-data-client")
    _point_outside(checkout, outside)
    for action in (
        lambda: plan_bump(registry, ecosystem.workspace, "juniper-data-client", "patch"),
        lambda: plan_proposals(registry, ecosystem.workspace, {"juniper-data-client": "patch"}, draft_notes=True),
    ):
        with pytest.raises(JuniperError) as caught:
            action()
        assert "[tool.setuptools.dynamic] version.file" in str(caught.value) and "db_password" not in str(caught.value)
    assert outside.read_bytes() == before


def test_status_shows_the_refusal_not_the_outside_version(ecosystem, registry, tmp_path):
    outside = _outside(tmp_path, "app.conf")
    _point_outside(ecosystem.checkout("juniper-data-client"), outside)
    with pytest.raises(WorkspaceError, match=r"version\.file .* must be a relative path inside") as caught:
        status.collect(registry, ecosystem.workspace, query_indexes=False, warn=lambda _: None)
    assert "9.9.9" not in str(caught.value)


def _registry_text(publish_workflow: str) -> str:
    text = (ROOT / "repos.toml").read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if x.startswith("publish_workflow"))
    return text.replace(line, f"publish_workflow = {publish_workflow!r}", 1)


@pytest.mark.parametrize("value", ["../../../outside/pwn.yml", "/tmp/pwn.yml", "~/pwn.yml", ".github/../../pwn.yml"])
def test_the_settings_publish_workflow_is_checked_like_the_package_one(value):
    with pytest.raises(ConfigError) as caught:
        parse_registry(_registry_text(value), Path("repos.toml"), env={})
    assert "settings: publish_workflow" in caught.value.what and "inside the repository" in caught.value.what


def test_workflows_write_refuses_a_workflow_directory_that_is_a_symlink_out(ecosystem, registry, tmp_path):
    outside = tmp_path / "outside-workflows"
    outside.mkdir()
    for pkg in registry.repos():
        github = pkg.checkout(ecosystem.workspace) / ".github"
        for item in sorted((github / "workflows").glob("*"), reverse=True):
            item.unlink()
        (github / "workflows").rmdir()
        (github / "workflows").symlink_to(outside)
    with pytest.raises(WorkspaceError, match=r"publish workflow .* through a symlink"):
        workflows.write(registry, ecosystem.workspace)
    assert list(outside.iterdir()) == []


def test_a_changelog_symlinked_out_of_the_checkout_is_never_read_or_sent(ecosystem, registry, tmp_path):
    outside = _outside(tmp_path, "CHANGELOG.md", f"# Changelog\n\n## [Unreleased]\n\n{SECRET}")
    checkout = ecosystem.checkout("juniper-data-client")
    (checkout / "CHANGELOG.md").unlink()
    (checkout / "CHANGELOG.md").symlink_to(outside)
    with pytest.raises(WorkspaceError, match=r"CHANGELOG\.md .* through a symlink"):
        plan_bump(registry, ecosystem.workspace, "juniper-data-client", "patch")
    with pytest.raises(WorkspaceError, match="through a symlink"):
        release_notes(checkout, "0.4.0")
    assert outside.read_text(encoding="utf-8").endswith(SECRET)


def test_a_vcs_root_may_reach_its_repository_root_from_a_sub_package_but_not_beyond(tmp_path):
    """A real quirk: a uv-workspace member or an example deep in a monorepo names ``root = "../../.."``."""
    from juniper_release.ecosystem.named_paths import check_paths
    from juniper_release.ecosystem.versions import SourceKind, VersionSource

    source = VersionSource(SourceKind.VCS, "setuptools-scm", "setuptools", settings={"root": "../../.."})
    doc = {"project": {"name": "demo-pkg", "dynamic": ["version"]}, "tool": {"setuptools_scm": {"root": "../../.."}}}
    check_paths(_pkg("examples/a/b"), doc, source, "pyproject.toml")
    with pytest.raises(WorkspaceError, match=r"\[tool\.setuptools_scm\] root '\.\./\.\./\.\.' must be a relative"):
        check_paths(_pkg("examples/a"), doc, source, "pyproject.toml")

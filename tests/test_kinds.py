"""The kinds stand-in (``--sandbox --layout kinds``, registries/kinds.toml): one package per version source.

The layout is generated once for the module, and every package's sdist and wheel are built once for real
(``python -m build``: the sdist, then the wheel from it, in an isolated environment fetching the backend), from a
clone of its repository, so the versions the backends compute are checked against the tags and the literals.
"""

from __future__ import annotations

import email
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import run_task
from juniper_release.ecosystem.graph import build_graph
from juniper_release.ecosystem.project import read_project
from juniper_release.ecosystem.registry import ROOT, Registry, load_registry
from juniper_release.ecosystem.status import State, collect
from juniper_release.errors import ConfigError, JuniperError, WorkspaceError
from juniper_release.frontdoor import KINDS_REGISTRY, target
from juniper_release.github.checks import run_checks
from juniper_release.gitops import Git
from juniper_release.release.versioning import bump
from juniper_release.sandbox.kinds import KINDS, VCS, VERSIONS, create_kinds, parse_kinds_defects
from juniper_release.sandbox.layouts import sandbox_workspace
from juniper_release.sandbox.standin import Ecosystem
from juniper_release.verify.build import wheel_metadata
from juniper_release.verify.envs import tool_env, uv_binary
from juniper_release.verify.scheduler import verify_all
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.version import Version

LAYERS = {"kinds-static": 0, "kinds-hatch": 0, "kinds-attr": 1, "kinds-flit": 1, "kinds-scm": 1, "kinds-vcs": 2}
EDGES = {
    ("kinds-attr", "kinds-static"),
    ("kinds-flit", "kinds-static"),
    ("kinds-scm", "kinds-hatch"),
    ("kinds-vcs", "kinds-scm"),
    ("kinds-vcs", "kinds-flit"),
    ("kinds-vcs", "kinds-attr"),  # through its [attr] extra
}
"""Every dependency edge between the six (dependent, dependency)."""

BACKENDS = {
    "kinds-static": "setuptools.build_meta",
    "kinds-attr": "setuptools.build_meta",
    "kinds-scm": "setuptools.build_meta",
    "kinds-flit": "flit_core.buildapi",
    "kinds-hatch": "hatchling.build",
    "kinds-vcs": "hatchling.build",
}


@dataclass(frozen=True)
class Built:
    """One real build: the sdist, the wheel built from it, and the version each declares in its metadata."""

    sdist: Path
    wheel: Path
    sdist_version: str
    wheel_version: str
    head: str
    """The commit built (the ``g<sha>`` of a computed dev version)."""


def _sdist_version(sdist: Path) -> str:
    with tarfile.open(sdist) as tf:
        member = next(m for m in tf.getmembers() if m.name.count("/") == 1 and m.name.endswith("/PKG-INFO"))
        stream = tf.extractfile(member)
        assert stream is not None
        return str(email.message_from_bytes(stream.read())["Version"])


def build(checkout: Path, out: Path, ref: str | None = None) -> Built:
    """``python -m build`` on a clone of ``checkout`` (at ``ref``, a tag, when given): the checkout stays clean."""
    clone = out / "src"
    subprocess.run(
        ["git", "clone", "-q", *(["--branch", ref] if ref else []), str(checkout), str(clone)],
        check=True,
        capture_output=True,
    )
    installer = ["--installer", "uv"] if uv_binary() else []
    proc = subprocess.run(
        [sys.executable, "-m", "build", *installer, "--outdir", str(out / "dist"), str(clone)],
        env=tool_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, f"building {checkout.name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    sdist = next((out / "dist").glob("*.tar.gz"))
    wheel = next((out / "dist").glob("*.whl"))
    version = str(wheel_metadata(wheel)["Version"])
    return Built(sdist, wheel, _sdist_version(sdist), version, Git(clone).head())


@pytest.fixture(scope="module")
def kinds_registry() -> Registry:
    return load_registry(ROOT / "registries" / "kinds.toml", env={})


@pytest.fixture(scope="module")
def kinds(tmp_path_factory: pytest.TempPathFactory, kinds_registry: Registry) -> Ecosystem:
    """The layout as the sandbox makes it: every package on its tag but kinds-vcs, one commit past it."""
    base = tmp_path_factory.mktemp("kinds")
    return create_kinds(base / "ws", kinds_registry, remotes=base / "remotes")


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory, kinds: Ecosystem) -> dict[str, Built]:
    """Each package built at its HEAD, and kinds-vcs at its tag too (``kinds-vcs@tag``)."""
    base = tmp_path_factory.mktemp("kinds-builds")
    out = {name: build(kinds.checkout(name), base / name) for name in KINDS}
    out["kinds-vcs@tag"] = build(kinds.checkout("kinds-vcs"), base / "vcs-at-tag", ref="v1.0.0")
    return out


@pytest.fixture(scope="module")
def variant(tmp_path_factory: pytest.TempPathFactory, kinds_registry: Registry) -> Ecosystem:
    """kinds-scm one commit past its tag, kinds-vcs never tagged, kinds-hatch's literal ahead of its tag."""
    base = tmp_path_factory.mktemp("kinds-variant")
    return create_kinds(
        base / "ws",
        kinds_registry,
        remotes=base / "remotes",
        unreleased=["kinds-scm"],
        untagged=["kinds-vcs"],
        mismatched={"kinds-hatch": "0.9.2"},
    )


@pytest.fixture(scope="module")
def variant_builds(tmp_path_factory: pytest.TempPathFactory, variant: Ecosystem) -> dict[str, Built]:
    base = tmp_path_factory.mktemp("kinds-variant-builds")
    return {name: build(variant.checkout(name), base / name) for name in ("kinds-scm", "kinds-vcs", "kinds-hatch")}


def _pyproject(eco: Ecosystem, name: str) -> dict[str, object]:
    with (eco.checkout(name) / "pyproject.toml").open("rb") as fh:
        return tomllib.load(fh)


def _dev_version(tag_version: str) -> re.Pattern[str]:
    """The version setuptools-scm and hatch-vcs compute one commit after ``tag_version``: the next patch's dev1."""
    major, minor, patch = tag_version.split(".")
    return re.compile(rf"{major}\.{minor}\.{int(patch) + 1}\.dev1\+g(?P<sha>[0-9a-f]{{7,}})")


# ----------------------------------------------------------------------------------------------- the layout


def test_the_registry_has_one_package_per_kind_and_no_version_file(kinds_registry: Registry) -> None:
    assert kinds_registry.names == tuple(KINDS)
    assert {p.name: p.layer for p in kinds_registry.packages} == LAYERS
    assert all(p.version_file is None and p.subdir is None and not p.torch for p in kinds_registry.packages)
    assert len({p.repo for p in kinds_registry.packages}) == 6
    assert kinds_registry.get("kinds-vcs").extras == ("attr",)


def test_every_package_is_a_repository_pushed_to_a_bare_origin_with_an_annotated_tag(
    kinds: Ecosystem, kinds_registry: Registry
) -> None:
    for pkg in kinds_registry.packages:
        git = Git(kinds.checkout(pkg.path))
        tag = f"v{VERSIONS[pkg.name]}"
        assert git.is_clean(), pkg.name
        assert git.tags() == [tag] and git.tag_is_annotated(tag), pkg.name
        assert git.remote_tags() == [tag], pkg.name
        assert git.commits_since(tag) == (1 if pkg.name == "kinds-vcs" else 0), pkg.name
        origin = kinds.remote(pkg.repo)
        remote_head = subprocess.run(
            ["git", "--git-dir", str(origin), "rev-parse", "main"], check=True, capture_output=True, text=True
        )
        assert remote_head.stdout.strip() == git.head()


def test_each_pyproject_declares_its_version_source(kinds: Ecosystem) -> None:
    docs = {name: _pyproject(kinds, name) for name in KINDS}
    for name, doc in docs.items():
        assert doc["build-system"]["build-backend"] == BACKENDS[name]  # type: ignore[index]
        project = doc["project"]
        assert isinstance(project, dict)
        if name == "kinds-static":
            assert project["version"] == "1.4.0" and "dynamic" not in project
        else:
            assert "version" not in project and project["dynamic"] == ["version"], name
    tool = {name: doc.get("tool", {}) for name, doc in docs.items()}
    assert tool["kinds-attr"]["setuptools"]["dynamic"] == {"version": {"attr": "kinds_attr.__version__"}}  # type: ignore[index]
    assert "tool" not in docs["kinds-flit"]
    assert tool["kinds-hatch"]["hatch"]["version"] == {"path": "src/kinds_hatch/__about__.py"}  # type: ignore[index]
    assert tool["kinds-scm"]["setuptools_scm"] == {}  # type: ignore[index]
    assert "setuptools-scm>=8" in docs["kinds-scm"]["build-system"]["requires"]  # type: ignore[index]
    assert tool["kinds-vcs"]["hatch"]["version"] == {"source": "vcs"}  # type: ignore[index]
    assert "hatch-vcs>=0.4" in docs["kinds-vcs"]["build-system"]["requires"]  # type: ignore[index]


def test_literals_live_in_one_file_and_the_vcs_packages_have_none(kinds: Ecosystem) -> None:
    literal = {
        "kinds-attr": "kinds_attr/__init__.py",
        "kinds-flit": "src/kinds_flit/__init__.py",
        "kinds-hatch": "src/kinds_hatch/__about__.py",
    }
    for name, rel in literal.items():
        assert f'__version__ = "{VERSIONS[name]}"' in (kinds.checkout(name) / rel).read_text(encoding="utf-8")
    for name in VCS:
        init = kinds.checkout(name) / name.replace("-", "_") / "__init__.py"
        assert f'importlib.metadata.version("{name}")' in init.read_text(encoding="utf-8")
        for rel in Git(kinds.checkout(name)).files():
            if rel.endswith((".py", ".toml")):
                assert VERSIONS[name] not in (kinds.checkout(name) / rel).read_text(encoding="utf-8"), rel


def test_dependencies_run_between_layers(kinds: Ecosystem) -> None:
    edges: set[tuple[str, str]] = set()
    for name in KINDS:
        project = _pyproject(kinds, name)["project"]
        assert isinstance(project, dict)
        reqs = [
            *project.get("dependencies", []),
            *(r for rs in project.get("optional-dependencies", {}).values() for r in rs),
        ]
        for req in reqs:
            dep = re.split(r"[<>=\[;! ]", req, maxsplit=1)[0]
            if dep in KINDS:
                edges.add((name, dep))
                assert LAYERS[dep] < LAYERS[name], (name, dep)
    assert edges == EDGES
    assert "packaging>=23" in _pyproject(kinds, "kinds-static")["project"]["dependencies"]  # type: ignore[index]


# ----------------------------------------------------------------------------------------------- real builds


@pytest.mark.parametrize("name", ["kinds-static", "kinds-attr", "kinds-flit", "kinds-hatch"])
def test_a_literal_version_is_what_the_build_says(builds: dict[str, Built], name: str) -> None:
    built = builds[name]
    assert built.sdist_version == built.wheel_version == VERSIONS[name]
    assert built.sdist.name == f"{name.replace('-', '_')}-{VERSIONS[name]}.tar.gz"
    assert built.wheel.name == f"{name.replace('-', '_')}-{VERSIONS[name]}-py3-none-any.whl"


def test_a_vcs_package_on_its_tag_builds_the_tag_version(builds: dict[str, Built]) -> None:
    for key, version in (("kinds-scm", "0.5.0"), ("kinds-vcs@tag", "1.0.0")):
        assert builds[key].sdist_version == builds[key].wheel_version == version, key


def test_a_vcs_package_past_its_tag_builds_a_dev_version_naming_the_commit(builds: dict[str, Built]) -> None:
    built = builds["kinds-vcs"]
    match = _dev_version("1.0.0").fullmatch(built.wheel_version)
    assert match, built.wheel_version
    assert built.head.startswith(match["sha"])
    assert built.sdist_version == built.wheel_version  # the wheel built from the sdist keeps it (PKG-INFO)


def test_the_wheels_carry_the_dependencies(builds: dict[str, Built]) -> None:
    requires = wheel_metadata(builds["kinds-vcs"].wheel).get_all("Requires-Dist") or []
    assert "kinds-scm<0.6,>=0.5" in requires and "kinds-flit<3,>=2.1" in requires
    assert any(r.startswith("kinds-attr") and Requirement(r).marker == Marker('extra == "attr"') for r in requires)
    static = wheel_metadata(builds["kinds-static"].wheel)
    assert "packaging>=23" in (static.get_all("Requires-Dist") or [])


def test_a_vcs_package_past_its_tag_and_one_never_tagged(variant: Ecosystem, variant_builds: dict[str, Built]) -> None:
    scm = variant_builds["kinds-scm"]
    match = _dev_version("0.5.0").fullmatch(scm.wheel_version)
    assert match and scm.head.startswith(match["sha"]), scm.wheel_version
    vcs_git = Git(variant.checkout("kinds-vcs"))
    assert vcs_git.tags() == [] and vcs_git.remote_tags() == []
    vcs = variant_builds["kinds-vcs"]
    assert re.fullmatch(r"0\.1\.dev1\+g[0-9a-f]{7,}", vcs.wheel_version), vcs.wheel_version  # no tag: the fallback


def test_a_literal_can_disagree_with_its_tag(variant: Ecosystem, variant_builds: dict[str, Built]) -> None:
    git = Git(variant.checkout("kinds-hatch"))
    assert git.tags() == ["v0.9.1"] and git.commits_since("v0.9.1") == 0
    assert variant_builds["kinds-hatch"].wheel_version == "0.9.2"


# ----------------------------------------------------------------------------------------------- switches and doors


def test_the_layout_defects_drop_a_tag_and_skew_a_literal(tmp_path: Path, kinds_registry: Registry) -> None:
    eco = create_kinds(
        tmp_path / "ws", kinds_registry, "no-tag,literal-mismatch", remotes=tmp_path / "remotes", unreleased=()
    )
    assert eco.defects == {"no-tag", "literal-mismatch"}
    assert Git(eco.checkout("kinds-scm")).tags() == []
    flit = Git(eco.checkout("kinds-flit"))
    assert flit.tags() == ["v2.1.0"] and flit.commits_since("v2.1.0") == 0
    init = (eco.checkout("kinds-flit") / "src" / "kinds_flit" / "__init__.py").read_text(encoding="utf-8")
    assert '__version__ = "2.1.1"' in init
    assert Git(eco.checkout("kinds-vcs")).commits_since("v1.0.0") == 0


def test_bad_switches_are_one_line_errors(tmp_path: Path, kinds_registry: Registry) -> None:
    with pytest.raises(ConfigError, match=r"unknown defect 'cycle' of the kinds stand-in.*Fix: use one of: no-tag"):
        parse_kinds_defects("cycle")
    with pytest.raises(ConfigError, match=r"'kinds-scm' has no version literal"):
        create_kinds(tmp_path / "ws", kinds_registry, mismatched={"kinds-scm": "0.5.1"})
    six = load_registry(ROOT / "repos.toml", env={})
    with pytest.raises(ConfigError, match=r"the kinds stand-in has no package 'juniper-data-client'"):
        create_kinds(tmp_path / "ws6", six)


def test_the_sandbox_layout_reads_its_own_registry(cache: Path) -> None:
    t = target(sandbox=True, layout="kinds", env={})
    assert t.sandbox and t.registry.path == KINDS_REGISTRY
    assert t.workspace.parent.name.startswith("kinds-clean-")
    assert sorted(p.name for p in t.workspace.iterdir()) == sorted(KINDS)
    assert Git(t.workspace / "kinds-vcs").commits_since("v1.0.0") == 1
    again = sandbox_workspace(t.registry, None, layout="kinds")
    assert again == t.workspace  # cached
    with_defect = target(sandbox=True, layout="kinds", defects="no-tag", env={})
    assert with_defect.workspace.parent.name.startswith("kinds-no-tag-")
    with pytest.raises(JuniperError, match=r"unknown stand-in defect 'no-tag'"):
        target(sandbox=True, defects="no-tag", env={})  # the six packages' defects are another list
    with pytest.raises(JuniperError, match=r"--layout only applies to the stand-in sandbox"):
        target(layout="kinds", env={})


# ----------------------------------------------------------------------------------------------- the stages on it
# The version core (ecosystem/versions.py) reads every kind from its pyproject and backend: no version_file needed.

SOURCES = {
    "kinds-static": ("static", "[project].version", None),
    "kinds-hatch": ("file", "hatch path", "src/kinds_hatch/__about__.py"),
    "kinds-attr": ("file", "setuptools attr", "kinds_attr/__init__.py"),
    "kinds-flit": ("file", "flit", "src/kinds_flit/__init__.py"),
    "kinds-scm": ("vcs", "setuptools-scm", None),
    "kinds-vcs": ("vcs", "hatch-vcs", None),
}
"""The source each package's version is detected from: its kind, the tool reading it, and the file holding a literal."""


def test_read_project_detects_every_source(kinds: Ecosystem, kinds_registry: Registry) -> None:
    for pkg in kinds_registry.packages:
        project = read_project(pkg, kinds.checkout(pkg.path))
        source = project.source
        assert (str(source.kind), source.tool, source.file) == SOURCES[pkg.name], pkg.name
        assert project.module_target == Version(VERSIONS[pkg.name]), pkg.name  # the tag's version for a VCS one


def test_status_shows_each_kind_against_its_tag(kinds: Ecosystem, kinds_registry: Registry) -> None:
    rows = {r.package: r for r in collect(kinds_registry, kinds.workspace, query_indexes=False, warn=lambda _: None)}
    assert [r.package for r in rows.values()] == [
        p.name for p in build_graph(kinds_registry, kinds.workspace).release_order()
    ]
    for name, version in VERSIONS.items():
        row = rows[name]
        assert row.latest_tag == f"v{version}" and not row.reasons and not row.warnings, (name, row)
        if name == "kinds-vcs":
            continue
        assert (row.pyproject_version, row.commits_since_tag, row.state) == (version, 0, State.UP_TO_DATE), name
        assert row.module_version == ("derived" if name in VCS else version), name
    vcs = rows["kinds-vcs"]  # one commit past v1.0.0: a computed dev version, and unreleased changes (not a bump)
    head = Git(kinds.checkout("kinds-vcs")).head()
    match = _dev_version("1.0.0").fullmatch(vcs.pyproject_version)
    assert match and head.startswith(match["sha"]), vcs.pyproject_version
    assert (vcs.commits_since_tag, vcs.state, vcs.module_version) == (1, State.UNRELEASED_CHANGES, "derived")


def test_status_of_a_vcs_package_without_a_tag_is_a_one_line_error(
    variant: Ecosystem, kinds_registry: Registry
) -> None:
    with pytest.raises(
        WorkspaceError, match=r"^kinds-vcs: its version comes from git tags, but no tag in its format"
    ) as info:
        collect(kinds_registry, variant.workspace, query_indexes=False, warn=lambda _: None)
    assert "\n" not in str(info.value) and "'v{version}'" in str(info.value) and "Fix:" in str(info.value)


def test_status_warns_when_a_literal_disagrees_with_its_tag(cache: Path) -> None:
    t = target(sandbox=True, layout="kinds", defects="literal-mismatch", env={})
    rows = {r.package: r for r in collect(t.registry, t.workspace, query_indexes=False, warn=lambda _: None)}
    flit = rows["kinds-flit"]
    assert (flit.pyproject_version, flit.latest_tag, flit.state) == ("2.1.1", "v2.1.0", State.BUMPED_NOT_RELEASED)
    assert flit.warnings == ("tag v2.1.0 is on a commit whose src/kinds_flit/__init__.py says 2.1.1",)


def test_the_status_front_door_on_the_kinds_sandbox(cache: Path) -> None:
    proc = run_task("status", "--sandbox", "--layout", "kinds", "--json")
    assert proc.returncode == 0, proc.stderr
    states = {row["package"]: row["state"] for row in json.loads(proc.stdout)}
    assert states == {**dict.fromkeys(KINDS, "UP_TO_DATE"), "kinds-vcs": "UNRELEASED_CHANGES"}
    untagged = run_task("status", "--sandbox", "--layout", "kinds", "--defects", "no-tag")
    assert untagged.returncode == 2 and "Traceback" not in untagged.stderr
    assert "error: kinds-scm: its version comes from git tags, but no tag in its format 'v{version}'" in untagged.stderr


def test_check_is_clean_and_holds_a_vcs_literal_to_its_tag(
    kinds: Ecosystem, kinds_registry: Registry, tmp_path: Path
) -> None:
    assert [f for f in run_checks(kinds_registry, kinds.workspace) if f.severity != "info"] == []
    ws = tmp_path / "ws"
    shutil.copytree(kinds.workspace, ws, symlinks=True)
    (ws / "kinds-scm" / "kinds_scm" / "__init__.py").write_text('__version__ = "0.4.0"\n', encoding="utf-8")
    (ws / "kinds-vcs" / "kinds_vcs" / "__init__.py").write_text('__version__ = "1.0.0"\n', encoding="utf-8")
    found = [f for f in run_checks(kinds_registry, ws) if f.severity != "info"]
    assert [(f.package, f.check, f.severity) for f in found] == [("kinds-scm", "version-sync", "error")]
    assert "the release tag v0.5.0 says '0.5.0'" in found[0].message  # kinds-vcs's 1.0.0 is its tag's: no finding


def test_graph_layers_follow_the_dependencies(kinds: Ecosystem, kinds_registry: Registry) -> None:
    graph = build_graph(kinds_registry, kinds.workspace)
    graph.check_layers()
    assert graph.computed_layers() == LAYERS
    assert [p.name for p in graph.release_order()] == [
        "kinds-hatch",
        "kinds-static",
        "kinds-attr",
        "kinds-flit",
        "kinds-scm",
        "kinds-vcs",
    ]
    mermaid = graph.to_mermaid(labels=True)
    assert 'kinds_vcs -.->|"[attr] <0.4,>=0.3"| kinds_attr' in mermaid
    assert 'kinds_scm -->|"<1,>=0.9"| kinds_hatch' in mermaid and "subgraph" not in mermaid


@pytest.mark.parametrize(
    ("name", "part", "new", "edited"),
    [
        # kinds-static's module repeats its literal: the lockstep file moves with pyproject.toml
        ("kinds-static", "minor", "1.5.0", ("pyproject.toml", "src/kinds_static/__init__.py")),
        ("kinds-attr", "patch", "0.3.1", ("kinds_attr/__init__.py",)),
        ("kinds-flit", "patch", "2.1.1", ("src/kinds_flit/__init__.py",)),
        ("kinds-hatch", "patch", "0.9.2", ("src/kinds_hatch/__about__.py",)),
        ("kinds-scm", "patch", "0.5.1", ()),
        ("kinds-vcs", "minor", "1.1.0", ()),
    ],
)
def test_a_bump_dry_run_edits_the_source_of_each_kind(
    kinds: Ecosystem, kinds_registry: Registry, name: str, part: str, new: str, edited: tuple[str, ...]
) -> None:
    lines: list[str] = []
    plan = bump(kinds_registry, kinds.workspace, name, part, dry_run=True, out=lines.append)
    root = kinds.checkout(name)
    assert (plan.old, plan.new) == (Version(VERSIONS[name]), Version(new))  # a VCS bump starts from its tag
    files = sorted(e.path.relative_to(root).as_posix() for e in plan.edits)
    assert files == sorted(["CHANGELOG.md", *edited])
    assert plan.vcs == {"kinds-scm": "setuptools-scm", "kinds-vcs": "hatch-vcs"}.get(name)
    if plan.vcs:
        assert any(f"the annotated tag v{new} is the version" in line for line in lines)
    assert lines[-1] == f"dry run: {name} {VERSIONS[name]} -> {new}; nothing was written"
    assert Git(root).is_clean()


def test_a_major_bump_dry_run_names_the_dependents_it_escapes(kinds: Ecosystem, kinds_registry: Registry) -> None:
    lines: list[str] = []
    plan = bump(kinds_registry, kinds.workspace, "kinds-static", "major", dry_run=True, out=lines.append)
    assert sorted((d.package, d.old) for d in plan.dependents) == [
        ("kinds-attr", "kinds-static<2,>=1.4"),
        ("kinds-flit", "kinds-static<2,>=1.4"),
    ]
    assert all(Git(kinds.checkout(name)).is_clean() for name in KINDS)


def test_verify_builds_a_hatch_vcs_package_from_a_copy_and_checks_its_version(
    kinds: Ecosystem, kinds_registry: Registry
) -> None:
    """verify-all builds from a copy of the tree without .git: the version the tool read is pinned into the build."""
    lines: list[str] = []
    report = verify_all(kinds_registry, kinds.workspace, ["kinds-vcs"], log=lines.append)
    assert report.ok, report.render()
    result = report.get("kinds-vcs")
    assert result.status == "passed"
    assert result.version == read_project(kinds_registry.get("kinds-vcs"), kinds.checkout("kinds-vcs")).raw_version
    assert _dev_version("1.0.0").fullmatch(result.version)
    assert [r.package for r in report.results] == ["kinds-vcs"]  # its dependencies are built, not verified


@pytest.mark.slow
def test_the_rehearsal_releases_every_version_kind(tmp_path, kinds_registry, monkeypatch):
    """Bump (a version from git tags: the CHANGELOG commit and its annotated tag), tag, publish and verify from the
    index, for each kind: the release builds from the tag's export and the index holds exactly the tag's version."""
    from juniper_release.release import gates
    from juniper_release.sandbox.rehearse import rehearse

    monkeypatch.setattr(gates, "is_verified", lambda *a: True)
    eco = create_kinds(tmp_path / "ws", kinds_registry, remotes=tmp_path / "remotes")
    lines: list[str] = []
    rows = rehearse(
        kinds_registry.path,
        eco.workspace,
        tmp_path / "reh",
        run_verify=False,
        verify_installs=False,
        timeout=60,
        out=lines.append,
    )
    by_name = {str(r["package"]): r for r in rows}
    assert set(by_name) == set(KINDS)
    assert all(r["tag on origin"] and r["testpypi"] and r["pypi"] for r in rows), rows
    # kinds-vcs was one commit past v1.0.0: its bump made the tag v1.0.1, and that is the version released
    assert by_name["kinds-vcs"]["version"] == "1.0.1"
    files = sorted(p.name for p in (tmp_path / "reh" / "index-pypi").iterdir() if "kinds_vcs" in p.name)
    assert files == ["kinds_vcs-1.0.1-py3-none-any.whl", "kinds_vcs-1.0.1.tar.gz"]

"""The kinds stand-in (``--sandbox --layout kinds``, registries/kinds.toml): one package per version source.

The layout is generated once for the module, and every package's sdist and wheel are built once for real
(``python -m build``: the sdist, then the wheel from it, in an isolated environment fetching the backend), from a
clone of its repository, so the versions the backends compute are checked against the tags and the literals.
"""

from __future__ import annotations

import email
import re
import subprocess
import sys
import tarfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from juniper_release.ecosystem.registry import ROOT, Registry, load_registry
from juniper_release.errors import ConfigError, JuniperError
from juniper_release.frontdoor import KINDS_REGISTRY, target
from juniper_release.gitops import Git
from juniper_release.sandbox.kinds import KINDS, VCS, VERSIONS, create_kinds, parse_kinds_defects
from juniper_release.sandbox.standin import Ecosystem, sandbox_workspace
from juniper_release.verify.build import wheel_metadata
from juniper_release.verify.envs import tool_env, uv_binary
from packaging.markers import Marker
from packaging.requirements import Requirement

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

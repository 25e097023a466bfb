"""The one version rule (ecosystem/versions.py): every source a project may declare its version in, read through the
package, on real files and real git repositories; and a guard that no stage reads a version any other way."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import pytest
from juniper_release.ecosystem.project import VersionKind, find_module_version, read_project, version_edits
from juniper_release.ecosystem.registry import Package
from juniper_release.ecosystem.tags import version_at
from juniper_release.ecosystem.versions import SourceKind, declared_at
from juniper_release.errors import JuniperError
from juniper_release.gitops import Git
from packaging.version import Version

ENGINE = Path(__file__).resolve().parents[1] / "scripts" / "juniper_release"


def _pkg(name: str = "demo-pkg", version_file: str | None = None, tag_format: str = "v{version}") -> Package:
    return Package(
        name, f"o/{name}", name, ("demo_pkg",), 0, (), False, tag_format=tag_format, version_file=version_file
    )


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def _pyproject(backend: str, requires: str, tail: str = "", version: str | None = None) -> str:
    head = f'[build-system]\nrequires = [{requires}]\nbuild-backend = "{backend}"\n\n[project]\nname = "demo-pkg"\n'
    head += f'version = "{version}"\n' if version else 'dynamic = ["version"]\n'
    return head + "\n" + tail


SETUPTOOLS = ("setuptools.build_meta", '"setuptools>=77"')
FILE_KINDS = {
    "static": ({"pyproject.toml": _pyproject(*SETUPTOOLS, version="1.2.3")}, "[project].version", None),
    "setuptools attr": (
        {
            "pyproject.toml": _pyproject(
                *SETUPTOOLS, '[tool.setuptools.dynamic]\nversion = {attr = "demo_pkg.__version__"}\n'
            ),
            "src/demo_pkg/__init__.py": '"""Demo."""\n\n__version__ = "1.2.3"\n',
        },
        "setuptools attr",
        "src/demo_pkg/__init__.py",
    ),
    "setuptools attr through an import": (
        {
            "pyproject.toml": _pyproject(
                *SETUPTOOLS, '[tool.setuptools.dynamic]\nversion = {attr = "demo_pkg.__version__"}\n'
            ),
            "demo_pkg/__init__.py": "from .version import __version__\n",
            "demo_pkg/version.py": '__version__ = "1.2.3"\n',
        },
        "setuptools attr",
        "demo_pkg/version.py",
    ),
    "setuptools file": (
        {
            "pyproject.toml": _pyproject(*SETUPTOOLS, '[tool.setuptools.dynamic]\nversion = {file = "VERSION"}\n'),
            "VERSION": "1.2.3\n",
        },
        "setuptools file",
        "VERSION",
    ),
    "flit, src layout": (
        {
            "pyproject.toml": _pyproject("flit_core.buildapi", '"flit_core>=3.11"'),
            "src/demo_pkg/__init__.py": '"""Demo."""\n\n__version__ = "1.2.3"\n',
        },
        "flit",
        "src/demo_pkg/__init__.py",
    ),
    "flit, flat module named in tool.flit": (
        {
            "pyproject.toml": _pyproject(
                "flit_core.buildapi", '"flit_core>=3.11"', '[tool.flit.module]\nname = "other"\n'
            ),
            "other.py": '"""Demo."""\n\n__version__ = "1.2.3"\n',
        },
        "flit",
        "other.py",
    ),
    "hatch path": (
        {
            "pyproject.toml": _pyproject(
                "hatchling.build", '"hatchling"', '[tool.hatch.version]\npath = "src/demo_pkg/__about__.py"\n'
            ),
            "src/demo_pkg/__about__.py": '__version__ = "1.2.3"\n',
        },
        "hatch path",
        "src/demo_pkg/__about__.py",
    ),
    "hatch path with its own pattern": (
        {
            "pyproject.toml": _pyproject(
                "hatchling.build",
                '"hatchling"',
                '[tool.hatch.version]\npath = "demo_pkg/meta.py"\npattern = \'RELEASE = "(?P<version>[^"]+)"\'\n',
            ),
            "demo_pkg/meta.py": 'RELEASE = "1.2.3"\n',
        },
        "hatch path",
        "demo_pkg/meta.py",
    ),
    "pdm file": (
        {
            "pyproject.toml": _pyproject(
                "pdm.backend", '"pdm-backend"', '[tool.pdm.version]\nsource = "file"\npath = "src/demo_pkg/v.py"\n'
            ),
            "src/demo_pkg/v.py": '__version__ = "1.2.3"\n',
        },
        "pdm file",
        "src/demo_pkg/v.py",
    ),
    "an in-tree wrapper of setuptools": (
        {
            "pyproject.toml": _pyproject(
                "backend", '"setuptools>=77"', '[tool.setuptools.dynamic]\nversion = {attr = "demo_pkg.__version__"}\n'
            ).replace("[project]", 'backend-path = ["_hook"]\n\n[project]'),
            "demo_pkg/__init__.py": '__version__ = "1.2.3"\n',
        },
        "setuptools attr",
        "demo_pkg/__init__.py",
    ),
}


@pytest.mark.parametrize("kind", list(FILE_KINDS))
def test_every_file_source_is_found_without_being_told(tmp_path, kind):
    files, tool, where = FILE_KINDS[kind]
    root = _write(tmp_path / "p", files)
    project = read_project(_pkg(), root)
    assert project.version == Version("1.2.3")
    assert project.source.tool == tool
    assert project.source.kind is (SourceKind.STATIC if where is None else SourceKind.FILE)
    assert project.version_file == (None if where is None else root / where)
    # A bump writes that one file, and only the version in it.
    [(path, before, after)] = version_edits(project, Version("1.3.0"))
    assert path == (root / "pyproject.toml" if where is None else root / where)
    assert after.replace("1.3.0", "1.2.3") == before
    path.write_text(after, encoding="utf-8")
    assert read_project(_pkg(), root).version == Version("1.3.0")


def test_the_registry_version_file_overrides_detection(tmp_path):
    root = _write(
        tmp_path / "p",
        {
            "pyproject.toml": _pyproject("flit_core.buildapi", '"flit_core"'),
            "demo_pkg/__init__.py": '__version__ = "9.9.9"\n',
            "demo_pkg/_build.py": '__version__ = "1.2.3"\n',
        },
    )
    project = read_project(_pkg(version_file="demo_pkg/_build.py"), root)
    assert (project.version, project.source.tool) == (Version("1.2.3"), "registry version_file")
    assert read_project(_pkg(), root).version == Version("9.9.9")


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {"pyproject.toml": _pyproject("hatchling.build", '"hatchling"', '[tool.hatch.version]\nsource = "env"\n')},
            r"pyproject.toml: the version is dynamic but its source is not one this tool reads \(backend hatchling\)"
            r".*Fix: set version_file = 'pkg/_version.py' for demo-pkg in repos.toml",
        ),
        (
            {"pyproject.toml": _pyproject("flit_core.buildapi", '"flit_core"'), "demo_pkg/__init__.py": "x = 1\n"},
            r"the version is dynamic \(flit\) but no version literal was found in .*demo_pkg/__init__.py",
        ),
        (
            {"pyproject.toml": '[project]\nname = "demo-pkg"\n'},
            r"\[project\].version is missing and not dynamic",
        ),
    ],
)
def test_an_unreadable_source_is_a_one_line_error_with_the_fix(tmp_path, files, message):
    root = _write(tmp_path / "p", files)
    with pytest.raises(JuniperError, match=message) as exc:
        read_project(_pkg(), root)
    assert "\n" not in str(exc.value)


# ----------------------------------------------------------------------------------------------------------- VCS

VCS_KINDS = {
    "setuptools-scm": _pyproject(
        "setuptools.build_meta", '"setuptools>=77", "setuptools-scm>=8"', "[tool.setuptools_scm]\n"
    ),
    "setuptools-scm (build requirement only)": _pyproject(
        "setuptools.build_meta", '"setuptools>=77", "setuptools_scm[toml]>=8"'
    ),
    "hatch-vcs": _pyproject("hatchling.build", '"hatchling", "hatch-vcs"', '[tool.hatch.version]\nsource = "vcs"\n'),
    "pdm scm": _pyproject("pdm.backend", '"pdm-backend"', '[tool.pdm.version]\nsource = "scm"\n'),
}


def _repo(root: Path, pyproject: str) -> Git:
    _write(root, {"pyproject.toml": pyproject, "demo_pkg/__init__.py": '"""Demo."""\n'})
    git = Git(root)
    git.run("init", "-q", "-b", "main")
    git.run("add", "-A")
    git.run("commit", "-q", "-m", "first")
    return git


@pytest.mark.parametrize("kind", list(VCS_KINDS))
def test_a_version_from_git_tags_is_computed_by_the_backend_library(tmp_path, kind):
    git = _repo(tmp_path / "p", VCS_KINDS[kind])
    pkg = _pkg()
    git.tag_annotated("v1.6.0", "Release 1.6.0")
    project = read_project(pkg, git.root)
    assert (project.version, project.source.kind, project.is_vcs) == (Version("1.6.0"), SourceKind.VCS, True)
    assert kind.startswith(project.source.tool.split(" (")[0].replace("pdm scm", "pdm scm"))
    for i in range(3):
        git.run("commit", "-q", "--allow-empty", "-m", f"fix: {i}")
    later = read_project(pkg, git.root)
    sha = git.run("rev-parse", "--short=7", "HEAD")
    assert str(later.version).startswith("1.6.1.dev3+g") and sha in str(later.version)
    assert later.module_target == Version("1.6.0")  # a literal __version__, if any, must say the tag's version
    assert version_edits(later, Version("1.6.1")) == []  # no file holds it: the tag is the version
    assert declared_at(pkg, git, "v1.6.0") == (None, "git tags")
    assert version_at(pkg, git, "HEAD") is None
    assert find_module_version(git.root, "demo_pkg").kind is VersionKind.MISSING


def test_a_vcs_package_without_a_tag_in_its_format_is_a_one_line_error_naming_the_format(tmp_path):
    git = _repo(tmp_path / "p", VCS_KINDS["hatch-vcs"])
    git.run("tag", "-a", "release-1.0", "-m", "not our format")
    with pytest.raises(JuniperError, match=r"no tag in its format 'v\{version\}' is reachable from HEAD") as exc:
        read_project(_pkg(), git.root)
    assert "git tag -a v" in str(exc.value) and "\n" not in str(exc.value)


def test_a_shallow_clone_without_tags_says_so_and_gives_the_fetch(tmp_path):
    git = _repo(tmp_path / "origin", VCS_KINDS["setuptools-scm"])
    git.tag_annotated("v1.0.0", "Release 1.0.0")
    git.run("commit", "-q", "--allow-empty", "-m", "later")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "1", "--no-tags", f"file://{git.root}", str(clone)], check=True)
    with pytest.raises(JuniperError, match=r"\(a shallow clone\).*fetch --tags --unshallow"):
        read_project(_pkg(), clone)


def test_an_unpacked_sdist_reads_its_pkg_info_and_an_exported_tag_its_tag(tmp_path):
    root = _write(
        tmp_path / "sdist", {"pyproject.toml": VCS_KINDS["hatch-vcs"], "PKG-INFO": "Name: demo-pkg\nVersion: 2.0.1\n\n"}
    )
    assert read_project(_pkg(), root).version == Version("2.0.1")
    (root / "PKG-INFO").unlink()
    assert read_project(_pkg(), root, Version("2.0.2")).version == Version("2.0.2")
    with pytest.raises(JuniperError, match="neither a git checkout nor an sdist with PKG-INFO"):
        read_project(_pkg(), root)


def test_the_version_at_a_tag_follows_the_same_rule(tmp_path):
    files, _, _ = FILE_KINDS["hatch path"]
    root = _write(tmp_path / "p", files)
    git = Git(root)
    git.run("init", "-q", "-b", "main")
    git.run("add", "-A")
    git.run("commit", "-q", "-m", "first")
    git.tag_annotated("v1.2.3", "r")
    (root / "src/demo_pkg/__about__.py").write_text('__version__ = "1.3.0"\n', encoding="utf-8")
    git.run("commit", "-q", "-am", "bump")
    assert declared_at(_pkg(), git, "v1.2.3") == (Version("1.2.3"), "src/demo_pkg/__about__.py")
    assert version_at(_pkg(), git, "HEAD") == Version("1.3.0")


# --------------------------------------------------------------------------------------------------------- guard

# Reading a pyproject's version is the one rule's job (ecosystem/versions.py, called by project.read_project). The
# only other modules that touch a "version" key read other documents, listed here with the document they read.
_OTHER_DOCUMENTS = {
    "ecosystem/registry.py": "the registry's [torch] table",
    "verify/smoke.py": "the import probe's JSON answer",
    "verify/envs.py": "pip's install report",
    "verify/build.py": "the build manifest",
    "sandbox/writers.py": "the stand-in generator writes its pyprojects",
    "sandbox/grown.py": "the stand-in generator writes its pyprojects",
    "sandbox/kinds.py": "the stand-in generator writes its pyprojects",
    "sandbox/lockstep.py": "the stand-in generator writes its pyprojects",
    "sandbox/lines_flow.py": "the rehearsal's own rows of what it released",
}
_RULE = {"ecosystem/versions.py", "ecosystem/project.py", "ecosystem/named_paths.py"}  # named_paths: the paths it names
_READERS = {"literal_assignment", "file_literal", "declared_version", "detect_source", "literal_version"}


def _version_key_reads(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        key = None
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            key = node.slice.value
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            key = node.args[0].value
        if key == "version":
            lines.append(node.lineno)
    return lines


def test_no_stage_reads_a_version_any_other_way():
    """Fails when a module outside the one rule reads ``["version"]`` of a document, or calls the rule's literal
    readers directly: call ``read_project(pkg, root)`` / ``versions.declared_at(pkg, git, rev)`` instead."""
    offenders = []
    for path in sorted(ENGINE.rglob("*.py")):
        rel = path.relative_to(ENGINE).as_posix()
        if rel in _RULE:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if rel not in _OTHER_DOCUMENTS:
            offenders += [f"{rel}:{line} reads a 'version' key" for line in _version_key_reads(tree)]
        for node in ast.walk(tree):
            name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None
            if name in _READERS:
                offenders.append(f"{rel}:{node.lineno} calls {name}")
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "read_project" and len(node.args) < 2:
                offenders.append(f"{rel}:{node.lineno} calls read_project without the package")
    assert not offenders, "read versions through the one rule (ecosystem/versions.py): " + "; ".join(offenders)


def test_the_guard_catches_a_stray_reader(tmp_path):
    """The guard's failure path: a pyproject read by hand is found."""
    tree = ast.parse('doc = {}\nv = doc["project"]["version"]\nw = doc.get("project", {}).get("version")\n')
    assert _version_key_reads(tree) == [2, 3]
    assert re.search(r"version", "version")

"""The kinds stand-in ecosystem: one package per way of declaring a version (``--sandbox --layout kinds``).

Six small packages, each its own git repository with a bare ``origin`` (``registries/kinds.toml``), one per common
version source, found from the pyproject and the build backend alone (the registry sets no ``version_file``):

- kinds-static (layer 0, setuptools): ``[project].version``;
- kinds-hatch (layer 0, hatchling): ``[tool.hatch.version] path = "src/kinds_hatch/__about__.py"``;
- kinds-attr (layer 1, setuptools): ``[tool.setuptools.dynamic] version = {attr = "kinds_attr.__version__"}``;
- kinds-flit (layer 1, flit_core): ``__version__`` in ``src/kinds_flit/__init__.py``;
- kinds-scm (layer 1, setuptools and setuptools-scm): the git tag (``[tool.setuptools_scm]``);
- kinds-vcs (layer 2, hatchling and hatch-vcs): the git tag (``[tool.hatch.version] source = "vcs"``).

The two VCS packages read their version at run time from ``importlib.metadata``. The dependencies are real:
kinds-attr and kinds-flit require kinds-static, kinds-scm requires kinds-hatch, kinds-vcs requires kinds-scm and
kinds-flit and reaches kinds-attr through its ``[attr]`` extra; kinds-static and kinds-scm require ``packaging``.
Every package gets an annotated ``v{version}`` tag on its release commit; ``unreleased`` packages get one commit
after it (a VCS package's computed version is then ``X.Y.(Z+1).dev1+g<sha>``), ``untagged`` ones no tag at all, and
``mismatched`` ones a version literal that disagrees with their tag. The same cases are ``--defects`` of the layout
(:data:`DEFECTS`).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import Table

from juniper_release.ecosystem.registry import Registry
from juniper_release.errors import ConfigError
from juniper_release.sandbox.specs import PackageSpec
from juniper_release.sandbox.standin import Ecosystem, new_repository, unreleased_change
from juniper_release.sandbox.writers import pyproject_text, write_package

KINDS = {
    "kinds-static": "static",
    "kinds-hatch": "hatch-path",
    "kinds-attr": "setuptools-attr",
    "kinds-flit": "flit",
    "kinds-scm": "setuptools-scm",
    "kinds-vcs": "hatch-vcs",
}
"""Each package's version source."""

VERSIONS = {
    "kinds-static": "1.4.0",
    "kinds-hatch": "0.9.1",
    "kinds-attr": "0.3.0",
    "kinds-flit": "2.1.0",
    "kinds-scm": "0.5.0",
    "kinds-vcs": "1.0.0",
}
"""The released version of each package: the version its tag names."""

VCS = frozenset({"kinds-scm", "kinds-vcs"})
"""The packages whose version is computed from git (no literal anywhere in their files)."""

DEFAULT_UNRELEASED = ("kinds-vcs",)
"""One commit after the tag by default: kinds-vcs computes a ``.dev1+g<sha>`` version, kinds-scm sits on its tag."""

DEFECTS: dict[str, str] = {
    "no-tag": "kinds-scm has no release tag (git cannot give its version)",
    "literal-mismatch": "kinds-flit's __version__ says 2.1.1 while its release tag is v2.1.0",
}
"""The ``--defects`` of this layout (the six packages' defects do not apply to it)."""

_BACKENDS = {
    "setuptools": (["setuptools>=77"], "setuptools.build_meta"),
    "setuptools-scm": (["setuptools>=77", "setuptools-scm>=8"], "setuptools.build_meta"),
    "flit": (["flit_core>=3.12,<5"], "flit_core.buildapi"),
    "hatch": (["hatchling>=1.27"], "hatchling.build"),
    "hatch-vcs": (["hatchling>=1.27", "hatch-vcs>=0.4"], "hatchling.build"),
}


def parse_kinds_defects(spec: str | Iterable[str] | None) -> frozenset[str]:
    """This layout's defect names from a comma list or iterable; an unknown name is an error."""
    items = [] if spec is None else spec.split(",") if isinstance(spec, str) else list(spec)
    chosen = frozenset(filter(None, (s.strip() for s in items)))
    unknown = sorted(chosen - set(DEFECTS))
    if unknown:
        raise ConfigError(f"unknown defect {unknown[0]!r} of the kinds stand-in", f"use one of: {', '.join(DEFECTS)}")
    return chosen


# --------------------------------------------------------------------------------------------------- specs


def _module(description: str, body: str, *, version: str | None = None, dist: str | None = None) -> str:
    """An ``__init__.py``: its docstring, then a literal ``__version__`` or one read from ``dist``'s metadata."""
    assert (version is None) != (dist is None)
    if version is not None:
        head = f'__version__ = "{version}"\n'
    else:
        head = f'import importlib.metadata\n\n__version__ = importlib.metadata.version("{dist}")\n'
    return f'"""{description}"""\n\n{head}\n{body}'


def _spec(name: str, literal: str, layout: str, description: str, **kw: Any) -> PackageSpec:
    """A package named ``name`` declaring ``literal`` (a flat one finds only its own module)."""
    spec = PackageSpec(name, name.replace("-", "_"), literal, layout, description, **kw)
    if layout == "flat":
        spec.package_find = {"include": [f"{spec.import_name}*"]}
    return spec


def kinds_specs(literals: Mapping[str, str]) -> dict[str, PackageSpec]:
    """The six specs; ``literals`` is the version each package's files declare (its tag version unless mismatched)."""
    st = _spec(
        "kinds-static", literals["kinds-static"], "src", "Version parsing helpers.", dependencies=["packaging>=23"]
    )
    st.scripts["kinds-static"] = "kinds_static.cli:main"
    st.files[f"{st.module_root}/__init__.py"] = _module(
        st.description,
        "from packaging.version import Version\n\n\ndef parse(text: str) -> Version:\n    return Version(text)\n",
        version=st.version,
    )
    st.files[f"{st.module_root}/cli.py"] = (
        "import argparse\n\nfrom . import __version__\n\n\n"
        "def main(argv: list[str] | None = None) -> int:\n"
        '    parser = argparse.ArgumentParser(prog="kinds-static")\n'
        '    parser.add_argument("--version", action="version", version=__version__)\n'
        "    parser.parse_args(argv)\n"
        "    return 0\n"
    )
    ht = _spec("kinds-hatch", literals["kinds-hatch"], "src", "Release notes formatting.")
    ht.files[f"{ht.module_root}/__about__.py"] = f'__version__ = "{ht.version}"\n'
    ht.files[f"{ht.module_root}/__init__.py"] = (
        f'"""{ht.description}"""\n\nfrom .__about__ import __version__\n\n__all__ = ["__version__", "bullet"]\n\n\n'
        'def bullet(line: str) -> str:\n    return f"- {line}"\n'
    )
    at = _spec("kinds-attr", literals["kinds-attr"], "flat", "Version ranges.", dependencies=["kinds-static>=1.4,<2"])
    at.files[f"{at.module_root}/__init__.py"] = _module(
        at.description,
        "from kinds_static import parse\n\n\ndef newest(*versions: str) -> str:\n"
        "    return str(max(parse(v) for v in versions))\n",
        version=at.version,
    )
    fl = _spec("kinds-flit", literals["kinds-flit"], "src", "Tag names.", dependencies=["kinds-static>=1.4,<2"])
    fl.files[f"{fl.module_root}/__init__.py"] = _module(
        fl.description,
        'from kinds_static import parse\n\n\ndef tag(text: str) -> str:\n    return f"v{parse(text)}"\n',
        version=fl.version,
    )
    sc = _spec(
        "kinds-scm",
        VERSIONS["kinds-scm"],
        "flat",
        "Changelog sections.",
        dependencies=["kinds-hatch>=0.9,<1", "packaging>=23"],
    )
    sc.files[f"{sc.module_root}/__init__.py"] = _module(
        sc.description,
        "from kinds_hatch import bullet\nfrom packaging.version import Version\n\n\n"
        "def section(version: str, lines: list[str]) -> str:\n"
        '    return "\\n".join([f"## {Version(version)}", *map(bullet, lines)])\n',
        dist=sc.name,
    )
    vc = _spec(
        "kinds-vcs",
        VERSIONS["kinds-vcs"],
        "flat",
        "Release planning.",
        dependencies=["kinds-scm>=0.5,<0.6", "kinds-flit>=2.1,<3"],
        optional={"attr": ["kinds-attr>=0.3,<0.4"]},
    )
    vc.files[f"{vc.module_root}/__init__.py"] = _module(
        vc.description,
        "from kinds_flit import tag\nfrom kinds_scm import section\n\n\ndef plan(version: str) -> str:\n"
        '    return section(version, [f"tag {tag(version)}"])\n',
        dist=vc.name,
    )
    return {s.name: s for s in (st, ht, at, fl, sc, vc)}


# --------------------------------------------------------------------------------------------------- pyproject


def _set_backend(doc: tomlkit.TOMLDocument, backend: str) -> None:
    requires, build_backend = _BACKENDS[backend]
    doc["build-system"]["requires"] = requires
    doc["build-system"]["build-backend"] = build_backend


def _dynamic(doc: tomlkit.TOMLDocument) -> Table:
    """Drop ``[project].version`` for ``dynamic = ["version"]``; return ``[tool]``."""
    project = doc["project"]
    assert isinstance(project, Table)
    del project["version"]
    project["dynamic"] = ["version"]
    tool = doc["tool"]
    assert isinstance(tool, Table)
    return tool


def kinds_pyproject(spec: PackageSpec, repo: str) -> str:
    """The pyproject of one kinds package: the stand-in's setuptools pyproject, changed for its version source."""
    doc = tomlkit.parse(pyproject_text(spec, repo))
    kind = KINDS[spec.name]
    if kind == "static":
        return tomlkit.dumps(doc)
    tool = _dynamic(doc)
    if kind == "setuptools-attr":
        attr = tomlkit.inline_table()
        attr["attr"] = f"{spec.import_name}.__version__"
        tool["setuptools"]["dynamic"] = {"version": attr}
    elif kind == "setuptools-scm":
        _set_backend(doc, "setuptools-scm")
        tool["setuptools_scm"] = tomlkit.table()
    elif kind == "flit":
        _set_backend(doc, "flit")
        del doc["tool"]
    else:
        _set_backend(doc, "hatch" if kind == "hatch-path" else "hatch-vcs")
        del tool["setuptools"]
        hatch = tomlkit.table(is_super_table=True)
        hatch["version"] = {"path": f"{spec.module_root}/__about__.py"} if kind == "hatch-path" else {"source": "vcs"}
        hatch["build"] = {"targets": {"wheel": {"packages": [spec.module_root]}}}
        tool["hatch"] = hatch
    return tomlkit.dumps(doc)


# --------------------------------------------------------------------------------------------------- repositories


def _literals(mismatched: Mapping[str, str]) -> dict[str, str]:
    for name in mismatched:
        if name not in VERSIONS or name in VCS:
            literal = sorted(set(VERSIONS) - VCS)
            raise ConfigError(
                f"kinds stand-in: {name!r} has no version literal", f"mismatch one of: {', '.join(literal)}"
            )
    return {**VERSIONS, **mismatched}


def create_kinds(
    workspace: Path,
    registry: Registry,
    defects: str | Iterable[str] | None = None,
    *,
    remotes: Path | None = None,
    unreleased: Iterable[str] = DEFAULT_UNRELEASED,
    untagged: Iterable[str] = (),
    mismatched: Mapping[str, str] | None = None,
) -> Ecosystem:
    """Write the six kinds packages into ``workspace``, each a git repository pushed to a bare ``origin``.

    Each gets a release commit with an annotated ``tag_format`` tag of its :data:`VERSIONS` version, except those in
    ``untagged``; those in ``unreleased`` get one ``fix:`` commit after it. ``mismatched`` maps a package with a
    version literal to the version its files declare instead (its tag still names :data:`VERSIONS`). ``defects``
    (:data:`DEFECTS`) add to ``untagged`` and ``mismatched``.
    """
    chosen = parse_kinds_defects(defects)
    untagged_set = set(untagged) | ({"kinds-scm"} if "no-tag" in chosen else set())
    mismatched = {**(mismatched or {}), **({"kinds-flit": "2.1.1"} if "literal-mismatch" in chosen else {})}
    specs = kinds_specs(_literals(mismatched))
    workspace.mkdir(parents=True, exist_ok=True)
    remotes = remotes or workspace / ".remotes"
    pending = set(unreleased)
    for pkg in registry.packages:
        spec = specs.get(pkg.name)
        if spec is None:
            raise ConfigError(f"the kinds stand-in has no package {pkg.name!r}", "use registries/kinds.toml")
        root = pkg.checkout(workspace)
        if root.exists():
            shutil.rmtree(root)
        write_package(root, spec, pkg.repo, pkg.torch, set())
        (root / "pyproject.toml").write_text(kinds_pyproject(spec, pkg.repo), encoding="utf-8")
        git = new_repository(root, remotes / f"{pkg.repo}.git", registry.branch)
        git.run("add", "-A")
        git.run("commit", "-q", "-m", f"feat: initial import of {pkg.name}")
        if pkg.name not in untagged_set:
            git.tag_annotated(pkg.tag_for(VERSIONS[pkg.name]), f"Release {VERSIONS[pkg.name]}")
        if pkg.name in pending:  # a change that ships (a new module): detect calls it release-worthy
            git.run("add", unreleased_change(root, spec))
            git.run("commit", "-q", "-m", "fix: handle empty input")
        git.run("push", "-q", "--follow-tags", "origin", registry.branch)
    return Ecosystem(workspace=workspace, remotes=remotes, defects=chosen)

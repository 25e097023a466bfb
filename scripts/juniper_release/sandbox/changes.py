"""Unreleased changes of each kind, committed after a stand-in package's release tag (for ``invoke detect``, the
proposals and the PR-flow rehearsal).

Each kind is one real commit with a conventional-commit subject; the release-worthy ones also write the
CHANGELOG's ``[Unreleased]`` entry a maintainer would, so the evidence and the notes agree:

- ``docs``: the README only (never a release on its own);
- ``tests``: a test only (never a release on its own);
- ``comment``: a comment and a docstring in the module, no token of code changed (not a release);
- ``code``: a new function in the module (``feat:``, ``### Added``);
- ``dependency``: a runtime requirement deep inside ``[project]`` changed (``fix:``, ``### Fixed``), beside a
  ``[tool.*]`` table that changed too (which does not count);
- ``package-data``: ``py.typed`` marked ``partial`` (PEP 561), a non-Python file that ships (``fix:``, ``### Fixed``).

The public API changes (:mod:`juniper_release.ecosystem.apidiff`; ``code`` is a new public function, also named
``new-function``):

- ``removed-function``: the first public top-level function of the import package removed, under a ``fix:`` subject
  and a ``### Fixed`` entry (an understated breaking change);
- ``required-parameter``: the first function (or method) whose last parameter has a default loses the default
  (``refactor:``, ``### Changed``: the claim is a feature, the API says breaking);
- ``renamed-script``: the first console script renamed (``feat:``, ``### Changed``);
- ``underscore-only``: a private helper and a private module added (``fix:``, ``### Fixed``: internal).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path

import tomlkit

from juniper_release.errors import ConfigError
from juniper_release.gitops import Git

API_KINDS = ("new-function", "removed-function", "required-parameter", "renamed-script", "underscore-only")
KINDS = ("docs", "tests", "comment", "code", "dependency", "package-data", *API_KINDS)
RELEASE_WORTHY = frozenset({"code", "dependency", "package-data", *API_KINDS})

PR_FLOW_CHANGES = {
    "juniper-data-client": "code",
    "juniper-cascor-client": "package-data",
    "juniper-cascor-worker": "dependency",
    "juniper-data": "docs",
    "juniper-cascor": "comment",
    "juniper-ml": "tests",
}
"""The six stand-in packages' unreleased changes in the PR-flow rehearsal: one of each kind. data-client's feature
(a minor bump before 1.0) escapes the ceilings of data, cascor and ml: their follow-on PRs, once merged, make them
release-worthy in the next round."""


def _module(root: Path, import_name: str) -> Path:
    for base in (root / "src", root):
        init = base / import_name / "__init__.py"
        if init.is_file():
            return init
    raise ConfigError(f"{root.name}: no module {import_name} to change", "use a package with a module")


def _unreleased(root: Path, heading: str, entry: str) -> None:
    path = root / "CHANGELOG.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("## [Unreleased]\n", f"## [Unreleased]\n\n### {heading}\n\n- {entry}\n", 1), encoding="utf-8"
    )


def _edit(path: Path, old: str | None, new: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    path.write_text(text.replace(old, new, 1) if old is not None else text + new, encoding="utf-8")


def _dependency(root: Path) -> None:
    pyproject = root / "pyproject.toml"
    doc = tomlkit.parse(pyproject.read_text(encoding="utf-8"))
    project = doc["project"]
    optional = project.get("optional-dependencies")
    target = next(iter(optional.values())) if optional else project["dependencies"]
    target.append("urllib3>=2")
    tool = doc.setdefault("tool", tomlkit.table(is_super_table=True))
    tool["ruff"] = {"line-length": 120}  # a tool table changed too: not a release on its own
    pyproject.write_text(tomlkit.dumps(doc), encoding="utf-8")


def _functions(root: Path, import_name: str) -> list[tuple[Path, ast.FunctionDef]]:
    """Every function and method of the import package, file by file (top-level functions first in each file)."""
    found: list[tuple[Path, ast.FunctionDef]] = []
    for path in sorted(_module(root, import_name).parent.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found += [(path, node) for node in tree.body if isinstance(node, ast.FunctionDef)]
        found += [
            (path, node) for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node not in tree.body
        ]
    return found


def _cut(path: Path, start: tuple[int, int], end: tuple[int, int]) -> None:
    """Remove the text of ``path`` from (line, column) ``start`` to ``end`` (ast's 1-based lines)."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    text = "".join(lines[: start[0] - 1]) + lines[start[0] - 1][: start[1]]
    path.write_text(text + lines[end[0] - 1][end[1] :] + "".join(lines[end[0] :]), encoding="utf-8")


def _remove_function(root: Path, import_name: str) -> str:
    for path, node in _functions(root, import_name):
        if node.col_offset == 0 and not node.name.startswith("_"):
            _cut(path, (node.lineno, 0), (node.end_lineno or node.lineno, node.end_col_offset or 0))
            return node.name
    raise ConfigError(f"{root.name}: no public function to remove", "use a package with a public function")


def _require_parameter(root: Path, import_name: str) -> str:
    for path, node in _functions(root, import_name):
        params, defaults = node.args.args, node.args.defaults
        if params and defaults and not node.args.kwonlyargs and not node.name.startswith("_"):
            last, default = params[-1], defaults[-1]
            end = last.annotation or last
            _cut(
                path,
                (end.end_lineno or 0, end.end_col_offset or 0),
                (default.end_lineno or 0, default.end_col_offset or 0),
            )
            return f"{node.name}({last.arg})"
    raise ConfigError(f"{root.name}: no function with a default parameter", "use a package with one")


def _rename_script(root: Path) -> str:
    pyproject = root / "pyproject.toml"
    doc = tomlkit.parse(pyproject.read_text(encoding="utf-8"))
    scripts = doc["project"].get("scripts")
    if not scripts:
        raise ConfigError(f"{root.name}: no console script to rename", "use a package with [project.scripts]")
    old = next(iter(scripts))
    scripts[f"{old}-cli"] = scripts.pop(old)
    pyproject.write_text(tomlkit.dumps(doc), encoding="utf-8")
    return f"{old} is now {old}-cli"


def _api_change(root: Path, import_name: str, kind: str) -> str:
    """The public API changes (see the module docstring): their commit subject."""
    if kind == "removed-function":
        name = _remove_function(root, import_name)
        _unreleased(root, "Fixed", f"Drop the unused {name}().")
        return f"fix: drop the unused {name}()"
    if kind == "required-parameter":
        name = _require_parameter(root, import_name)
        _unreleased(root, "Changed", f"{name} is required.")
        return f"refactor: {name} is required"
    if kind == "renamed-script":
        what = _rename_script(root)
        _unreleased(root, "Changed", f"The console script {what}.")
        return f"feat: the console script {what}"
    module = _module(root, import_name)
    _edit(module, None, "\n\ndef _normalise(rows: list[object]) -> list[object]:\n    return list(rows)\n")
    (module.parent / "_helpers.py").write_text("def width() -> int:\n    return 80\n", encoding="utf-8")
    _unreleased(root, "Fixed", "Normalise rows before use.")
    return "fix: normalise rows before use"


def apply_change(root: Path, import_name: str | None, kind: str) -> str:
    """Write and commit one change of ``kind`` in the package at ``root``; its commit subject."""
    if kind in API_KINDS and kind != "new-function":
        subject = _api_change(root, import_name or "", kind)
    elif kind == "docs":
        readme = next(p for p in root.glob("README*") if p.is_file())
        _edit(readme, None, "\nSee the changelog for what changed in each release.\n")
        subject = "docs: point the README at the changelog"
    elif kind == "tests":
        _edit(root / "tests" / "test_import.py", None, "\n\ndef test_nothing_else() -> None:\n    assert True\n")
        subject = "test: a second test"
    elif kind == "comment":
        module = _module(root, import_name or "")
        _edit(module, None, "\n# A comment only: nothing a user of the package can see changes.\n")
        subject = "style: explain the module layout in a comment"
    elif kind in {"code", "new-function"}:
        module = _module(root, import_name or "")
        _edit(module, None, "\n\ndef describe() -> str:\n    return __name__\n")
        _unreleased(root, "Added", "describe() names the module.")
        subject = "feat: describe() names the module"
    elif kind == "dependency":
        _dependency(root)
        _unreleased(root, "Fixed", "Require urllib3>=2 (the 1.x series lacks the retries API used).")
        subject = "fix: require urllib3>=2"
    elif kind == "package-data":
        typed = _module(root, import_name or "").parent / "py.typed"
        typed.write_text("partial\n", encoding="utf-8")
        _unreleased(root, "Fixed", "py.typed says partial: some modules are untyped.")
        subject = "fix: mark the type information partial"
    else:
        raise ConfigError(f"unknown change kind {kind!r}", f"use one of: {', '.join(KINDS)}")
    git = Git(root)
    git.run("add", "-A")
    git.run("commit", "-q", "-m", subject)
    return subject


def apply_changes(roots: Mapping[str, tuple[Path, str | None]], changes: Mapping[str, str]) -> list[str]:
    """Apply ``changes`` (package -> kind) to the packages whose (root, import) ``roots`` gives: the subjects."""
    return [f"{name}: {apply_change(*roots[name], kind)}" for name, kind in changes.items()]

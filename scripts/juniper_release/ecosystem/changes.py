"""What changed in one package between two revisions, file by file, and whether any of it ships.

The scope is the package's own paths (:meth:`Registry.pathspec`). A file *ships* when it is the package's
``pyproject.toml`` or lies in its ship paths: by default its import packages (``pkg/``, ``src/pkg/`` or a single
``pkg.py``; every file below an import package ships, so a non-Python file there is package data), else the
registry's ``ship_paths``; ``exclude_paths`` never ship. Every changed file gets one :class:`FileClass`:

- ``code``: a shipped Python file whose tokens changed. Comments, blank lines, line breaks inside brackets, the
  width of indentation, the quotes of a string and docstrings (string expression statements first in a module,
  class or function) are not tokens that count (:func:`code_tokens`).
- ``package data``: a shipped non-Python file.
- ``pyproject``: the parsed ``[project]`` runtime fields changed (:func:`pyproject_changes`): dependencies,
  optional dependencies, scripts, gui-scripts, entry points, requires-python, each normalised with ``packaging``.
- ``cosmetic``: a shipped file changed in nothing above (a comment, a docstring, a reformatting, a ``[tool.*]``
  table).
- ``tests``, ``docs``, ``ci`` and ``other``: files that do not ship.

Only ``code``, ``package data`` and ``pyproject`` are release-worthy (:data:`RELEASE_WORTHY`).
"""

from __future__ import annotations

import ast
import fnmatch
import io
import tokenize
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from juniper_release.ecosystem.model import Package, Registry
from juniper_release.gitops import Git

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
"""git's empty tree (SHA-1): the base of a package never released."""


class FileClass(StrEnum):
    """What a changed file is, in output order."""

    CODE = "code"
    PACKAGE_DATA = "package data"
    PYPROJECT = "pyproject"
    COSMETIC = "cosmetic"
    TESTS = "tests"
    DOCS = "docs"
    CI = "ci"
    OTHER = "other"


RELEASE_WORTHY = frozenset({FileClass.CODE, FileClass.PACKAGE_DATA, FileClass.PYPROJECT})
"""The classes that make a release; the others never do on their own."""

_CI_NAMES = frozenset(
    {".gitlab-ci.yml", ".pre-commit-config.yaml", ".travis.yml", "azure-pipelines.yml", "noxfile.py", "tox.ini"}
)
_CI_DIRS = frozenset({".github", ".gitlab", ".circleci"})
_TEST_DIRS = frozenset({"tests", "test", "testing"})
_DOC_DIRS = frozenset({"docs", "doc"})
_DOC_SUFFIXES = frozenset({".md", ".rst", ".txt", ".adoc"})
_DOC_STEMS = ("README", "CHANGELOG", "CHANGES", "LICENSE", "LICENCE", "NOTICE", "AUTHORS", "NOTES", "CONTRIBUTING")
_PYTHON_SUFFIXES = frozenset({".py", ".pyi"})


@dataclass(frozen=True)
class ChangedFile:
    """One changed file: its path relative to the package directory, git's status letter (A, M, D, T), its class,
    and what changed when that says more (the pyproject fields, or why a shipped file is cosmetic)."""

    path: str
    status: str
    cls: FileClass
    detail: str = ""


@dataclass(frozen=True)
class Changes:
    """The changed files of a package between ``base`` and ``target``; ``prefix`` is the package directory from the
    repository root (``""`` at the root), for git paths."""

    base: str
    target: str
    prefix: str
    files: tuple[ChangedFile, ...]

    def by_class(self) -> dict[FileClass, list[ChangedFile]]:
        """The changed files per class, in :class:`FileClass` order, only the classes with files."""
        out: dict[FileClass, list[ChangedFile]] = {}
        for cls in FileClass:
            found = [f for f in self.files if f.cls is cls]
            if found:
                out[cls] = found
        return out

    @property
    def release_worthy(self) -> bool:
        return any(f.cls in RELEASE_WORTHY for f in self.files)


# --------------------------------------------------------------------------------------------------- scope


def _matches(path: str, patterns: Sequence[str]) -> bool:
    """``path`` is one of ``patterns``, lies below one (a directory), or matches one as a glob; ``""`` is all."""
    return any(not p or path == p or path.startswith(f"{p}/") or fnmatch.fnmatchcase(path, p) for p in patterns)


def default_ship_paths(pkg: Package) -> tuple[str, ...]:
    """What a wheel of ``pkg`` ships by default: each import package in a flat or src layout (a directory, or a
    single-file module)."""
    paths: list[str] = []
    for name in pkg.imports:
        rel = "/".join(name.split("."))
        paths += [rel, f"src/{rel}", f"{rel}.py", f"src/{rel}.py"]
    return tuple(paths)


def ships(pkg: Package, path: str) -> bool:
    """Whether the file ``path`` (relative to the package directory) ships: the pyproject or a ship path, never an
    excluded path."""
    if _matches(path, pkg.exclude_paths):
        return False
    return path == "pyproject.toml" or _matches(path, pkg.ship_paths or default_ship_paths(pkg))


def unshipped_class(path: str) -> FileClass:
    """The class of a file that does not ship: CI, tests, docs, else other."""
    parts = PurePosixPath(path).parts
    name = parts[-1]
    if name in _CI_NAMES or parts[0] in _CI_DIRS:
        return FileClass.CI
    if _TEST_DIRS & set(parts[:-1]) or name == "conftest.py" or name.startswith("test_") or name.endswith("_test.py"):
        return FileClass.TESTS
    if (
        _DOC_DIRS & set(parts[:-1])
        or PurePosixPath(name).suffix in _DOC_SUFFIXES
        or name.upper().startswith(_DOC_STEMS)
    ):
        return FileClass.DOCS
    return FileClass.OTHER


# --------------------------------------------------------------------------------------------------- python


_DROPPED = frozenset({tokenize.COMMENT, tokenize.NL, tokenize.ENCODING})
_SHAPE_ONLY = frozenset({tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER})
"""Tokens compared by their type only: the statement structure counts, the whitespace they hold does not."""

Token = tuple[int, str]


def _docstring_starts(text: str) -> set[tuple[int, int]]:
    """The (line, character column) positions of every token of the module's, classes' and functions' docstrings."""
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    spans: list[tuple[tuple[int, int], tuple[int, int]]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) or not node.body:
            continue
        first = node.body[0]
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
            end_line, end_col = first.end_lineno or first.lineno, first.end_col_offset or 0
            start = (first.lineno, _chars(lines, first.lineno, first.col_offset))
            spans.append((start, (end_line, _chars(lines, end_line, end_col))))
    starts: set[tuple[int, int]] = set()
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.STRING and any(lo <= tok.start < hi for lo, hi in spans):
            starts.add(tok.start)
    return starts


def _chars(lines: Sequence[str], lineno: int, byte_col: int) -> int:
    """The character column of ast's UTF-8 byte column ``byte_col`` on line ``lineno``."""
    return len(lines[lineno - 1].encode("utf-8")[:byte_col].decode("utf-8", "replace")) if lines else byte_col


def _string_value(token: str) -> str:
    """A string literal by its value (``'a'`` and ``"a"`` are one token), or as written when it has none."""
    try:
        return repr(ast.literal_eval(token))
    except (ValueError, SyntaxError):
        return token


def code_tokens(text: str) -> tuple[Token, ...] | None:
    """The tokens of Python source that count (see the module docstring), or None when it does not parse."""
    try:
        docstrings = _docstring_starts(text)
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (SyntaxError, tokenize.TokenError, ValueError):
        return None
    out: list[Token] = []
    after_docstring = False
    for tok in tokens:
        if tok.type in _DROPPED:
            continue
        if tok.type == tokenize.STRING and tok.start in docstrings:
            after_docstring = True
            continue
        if after_docstring and tok.type == tokenize.NEWLINE:
            after_docstring = False
            continue  # the docstring's statement ends here
        after_docstring = False
        if tok.type in _SHAPE_ONLY:
            out.append((tok.type, ""))
        else:
            out.append((tok.type, _string_value(tok.string) if tok.type == tokenize.STRING else tok.string))
    return tuple(out)


def same_code(old: str | None, new: str | None) -> bool:
    """Whether two versions of a Python file (None: absent) have the same tokens; unparsable source is compared as
    text."""
    if old is None or new is None:
        return old == new
    old_tokens, new_tokens = code_tokens(old), code_tokens(new)
    if old_tokens is None or new_tokens is None:
        return old == new
    return old_tokens == new_tokens


# --------------------------------------------------------------------------------------------------- pyproject

RUNTIME_FIELDS = ("dependencies", "optional-dependencies", "scripts", "gui-scripts", "entry-points", "requires-python")
"""The ``[project]`` fields that change what a release installs or runs."""


def _requirement(raw: Any) -> str:
    """A requirement in one normal form: name canonical, extras sorted, specifiers sorted, marker as packaging
    writes it; an invalid one by its words."""
    text = str(raw)
    try:
        req = Requirement(text)
    except InvalidRequirement:
        return " ".join(text.split())
    extras = ",".join(sorted(canonicalize_name(e) for e in req.extras))
    spec = (req.url and f"@ {req.url}") or str(req.specifier)
    marker = f"; {req.marker}" if req.marker else ""
    return f"{canonicalize_name(req.name)}[{extras}]{spec}{marker}"


def _requirements(raw: Any) -> list[str]:
    return sorted({_requirement(r) for r in raw}) if isinstance(raw, list) else [repr(raw)]


def _entries(raw: Any) -> dict[str, str]:
    return {str(k).strip(): " ".join(str(v).split()) for k, v in raw.items()} if isinstance(raw, dict) else {}


def _specifier(raw: Any) -> str | None:
    if raw is None:
        return None
    try:
        return str(SpecifierSet(str(raw)))
    except InvalidSpecifier:
        return " ".join(str(raw).split())


def runtime_fields(text: str) -> dict[str, Any] | None:
    """The normalised runtime fields of a pyproject (:data:`RUNTIME_FIELDS`, optional dependencies and entry points
    per extra or group), or None when it is not valid TOML."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None
    proj = doc.get("project")
    proj = proj if isinstance(proj, dict) else {}
    fields: dict[str, Any] = {
        "dependencies": _requirements(proj.get("dependencies", [])),
        "requires-python": _specifier(proj.get("requires-python")),
        "scripts": _entries(proj.get("scripts", {})),
        "gui-scripts": _entries(proj.get("gui-scripts", {})),
    }
    extras = proj.get("optional-dependencies", {})
    for extra, reqs in (extras if isinstance(extras, dict) else {}).items():
        fields[f"optional-dependencies.{canonicalize_name(str(extra))}"] = _requirements(reqs)
    groups = proj.get("entry-points", {})
    for group, entries in (groups if isinstance(groups, dict) else {}).items():
        fields[f"entry-points.{group}"] = _entries(entries)
    return fields


def pyproject_changes(old: str | None, new: str | None) -> list[str]:
    """The runtime fields that differ between two pyproject texts (None: absent), e.g. ``["dependencies",
    "optional-dependencies.ml"]``; ``["pyproject.toml"]`` when one side is missing or not valid TOML."""
    before = runtime_fields(old) if old is not None else None
    after = runtime_fields(new) if new is not None else None
    if before is None or after is None:
        return [] if old == new else ["pyproject.toml"]
    return [key for key in sorted({*before, *after}) if before.get(key) != after.get(key)]


# --------------------------------------------------------------------------------------------------- git


def _show(git: Git, rev: str, path: str) -> str | None:
    """The text of ``path`` (from the repository root) at ``rev``, or None when it is not there."""
    if rev == EMPTY_TREE or not git.ok("cat-file", "-e", f"{rev}:{path}"):
        return None
    try:
        return git.run("show", f"{rev}:{path}", strip=False)
    except UnicodeDecodeError:
        return None


def _classify(git: Git, pkg: Package, changes: tuple[str, str], base: str, target: str, prefix: str) -> ChangedFile:
    status, full = changes
    path = full[len(prefix) :]
    if not ships(pkg, path):
        return ChangedFile(path, status, unshipped_class(path))
    old, new = _show(git, base, full), _show(git, target, full)
    if path == "pyproject.toml":
        fields = pyproject_changes(old, new)
        if fields:
            return ChangedFile(path, status, FileClass.PYPROJECT, ", ".join(fields))
        return ChangedFile(path, status, FileClass.COSMETIC, "no runtime field changed")
    if PurePosixPath(path).suffix not in _PYTHON_SUFFIXES:
        return ChangedFile(path, status, FileClass.PACKAGE_DATA)
    if same_code(old, new):
        return ChangedFile(path, status, FileClass.COSMETIC, "comments, docstrings or formatting only")
    return ChangedFile(path, status, FileClass.CODE)


def changed_files(registry: Registry, pkg: Package, git: Git, base: str | None, target: str = "HEAD") -> Changes:
    """Every file of ``pkg`` (its own paths) that differs between ``base`` (a tag; None: never released, so from
    the empty tree) and ``target``, classified. ``git`` runs in the package's directory."""
    start = base or EMPTY_TREE
    prefix = git.run("rev-parse", "--show-prefix")
    spec = registry.pathspec(pkg)
    out = git.run("diff", "--name-status", "-z", "--no-renames", start, target, *(("--", *spec) if spec else ()))
    fields = [f for f in out.split("\0") if f]
    pairs = [(fields[i], fields[i + 1]) for i in range(0, len(fields) - 1, 2)]
    files = tuple(_classify(git, pkg, pair, start, target, prefix) for pair in pairs if pair[1].startswith(prefix))
    return Changes(base=start, target=target, prefix=prefix, files=files)


def release_worthy(registry: Registry, pkg: Package, git: Git, base: str | None, target: str = "HEAD") -> bool:
    """Whether any release-worthy file of ``pkg`` changed between ``base`` and ``target``."""
    return changed_files(registry, pkg, git, base, target).release_worthy


def files_by_class(changes: Changes) -> Mapping[str, list[str]]:
    """{class: [paths]} for output."""
    return {str(cls): [f.path for f in files] for cls, files in changes.by_class().items()}

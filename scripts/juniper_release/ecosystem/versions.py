"""The one rule for a package's declared version: where it comes from, and what it is.

Every stage (status, check, graph, verify, bump, release, the train, rehearse, publish, the workflows) learns a
package's version through :func:`declared_version` (the working tree, via ``project.read_project``) or
:func:`declared_at` (a commit). Both take the registry's :class:`Package`, so its ``version_file`` override cannot be
forgotten; a test (``tests/test_versions.py``) fails when any other module reads a pyproject's version.

The source is detected from the pyproject and its build backend:

- ``static``: ``[project].version``.
- ``file``: a literal in a file. The registry's ``version_file`` (an override), setuptools
  ``[tool.setuptools.dynamic] version = {attr = ...}`` (the attribute's literal, following one ``from .x import``)
  or ``{file = ...}`` (the file's whole text), flit (``__version__`` in the module's ``__init__.py`` or ``mod.py``,
  flat or src layout), hatch ``[tool.hatch.version] path`` (its ``pattern`` when given), pdm
  ``[tool.pdm.version] source = "file"``.
- ``vcs``: computed from git tags by the library the backend itself uses, with the project's own settings:
  setuptools-scm (``[tool.setuptools_scm]``, or setuptools-scm in the build requirements) and hatch-vcs
  (``[tool.hatch.version] source = "vcs"``) through ``setuptools_scm``; pdm ``source = "scm"`` through
  ``pdm.backend``'s own scm module. 179 commits past ``1.6.0`` is ``1.6.1.dev179+g<sha>``; the annotated release
  tag *is* the version, and a build of a tagged commit carries exactly that version
  (:func:`juniper_release.ecosystem.project.build_env`).
"""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from shlex import quote
from typing import TYPE_CHECKING, Any

import tomlkit
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from juniper_release.ecosystem.named_paths import check_paths
from juniper_release.ecosystem.semver import VersionError
from juniper_release.errors import WorkspaceError

if TYPE_CHECKING:
    from juniper_release.ecosystem.model import Package
    from juniper_release.gitops import Git

Reader = Callable[[str], "str | None"]
"""Reads a file relative to the package's directory (the working tree, or a commit); None when it is absent."""


class SourceKind(StrEnum):
    """Where a version lives."""

    STATIC = "static"  # [project].version
    FILE = "file"  # a literal in a file the backend reads
    VCS = "vcs"  # git tags


_BACKENDS = {
    "setuptools.build_meta": "setuptools",
    "setuptools.build_meta:__legacy__": "setuptools",
    "flit_core.buildapi": "flit",
    "flit.buildapi": "flit",
    "hatchling.build": "hatchling",
    "pdm.backend": "pdm-backend",
    "pdm.pep517.api": "pdm-backend",
    "poetry.core.masonry.api": "poetry-core",
}


def backend_of(doc: Mapping[str, Any]) -> str:
    """The build backend a pyproject really uses (PEP 517's default is setuptools' legacy backend)."""
    build = doc.get("build-system") or {}
    raw = build.get("build-backend") if isinstance(build, dict) else None
    if not isinstance(raw, str) or not raw:
        return "setuptools"
    return _BACKENDS.get(raw, raw)


@dataclass(frozen=True)
class VersionSource:
    """How one package declares its version."""

    kind: SourceKind
    tool: str
    """What reads it: ``[project].version``, ``registry version_file``, ``setuptools attr``, ``setuptools file``,
    ``flit``, ``hatch path``, ``pdm file``, ``setuptools-scm``, ``hatch-vcs``, ``pdm scm``."""
    backend: str
    file: str | None = None
    """``file``: the file holding it, relative to the package's directory."""
    name: str = "__version__"
    """``file``: the assigned name whose string literal is the version (setuptools ``attr``)."""
    pattern: str | None = None
    """``file``: a regex with a ``version`` group (hatch's ``pattern``); ``""`` for a file that is the version."""
    settings: Mapping[str, Any] = field(default_factory=dict)
    """``vcs``: the project's own settings for the library (tag regex, root, fallback, schemes)."""

    @property
    def is_vcs(self) -> bool:
        return self.kind is SourceKind.VCS

    @property
    def where(self) -> str:
        """Where it is declared, for messages: ``pyproject.toml``, ``src/pkg/__init__.py (flit)``, ``git tags
        (hatch-vcs)``."""
        if self.kind is SourceKind.FILE:
            return f"{self.file} ({self.tool})"
        if self.kind is SourceKind.VCS:
            return f"git tags ({self.tool})"
        return "pyproject.toml"

    @property
    def label(self) -> str:
        """``static``, ``file: src/pkg/__init__.py (flit)``, ``vcs: hatch-vcs``."""
        if self.kind is SourceKind.FILE:
            return f"file: {self.file} ({self.tool})"
        if self.kind is SourceKind.VCS:
            return f"vcs: {self.tool}"
        return "static"


STATIC_SOURCE = VersionSource(SourceKind.STATIC, "[project].version", "setuptools")


@dataclass(frozen=True)
class Declared:
    """A package's declared version and its source."""

    version: Version
    raw: str
    source: VersionSource
    path: Path | None = None
    """``file``: the file holding it (absolute); None for the other kinds."""
    tag_version: Version | None = None
    """``vcs``: the version of the newest release tag reachable from HEAD (in the package's tag format), which a
    module's literal ``__version__``, if it has one, must equal."""

    @property
    def literal_target(self) -> Version:
        """What a module's literal ``__version__`` must say: the version, or for a VCS version its release tag."""
        return self.tag_version if self.source.is_vcs and self.tag_version is not None else self.version

    @property
    def on_tag(self) -> bool:
        """A VCS version that names a release tag exactly (no ``.dev``, no local part)."""
        return self.version.dev is None and self.version.local is None


# ----------------------------------------------------------------------------------------------------- detection


def _table(doc: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    node: Any = doc
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else {}


def _requires_scm(doc: Mapping[str, Any]) -> bool:
    reqs = _table(doc, "build-system").get("requires") or []
    return any(canonicalize_name(re.split(r"[\s<>=!~;\[(]", str(r), maxsplit=1)[0]) == "setuptools-scm" for r in reqs)


def _module_files(module: str, read: Reader) -> list[str]:
    """Where a module lives in a src or flat layout (``pkg/__init__.py`` before ``pkg.py``)."""
    rel = "/".join(module.split("."))
    candidates = [f"{base}{rel}{suffix}" for base in ("src/", "") for suffix in ("/__init__.py", ".py")]
    found = [c for c in candidates if read(c) is not None]
    return found or candidates[:1]


def detect_source(pkg: Package, doc: Mapping[str, Any], read: Reader, where: str = "pyproject.toml") -> VersionSource:
    """The version source of a pyproject ``doc`` (``read`` finds the module files it names). Every path it names
    stays inside the package's checkout (:func:`check_paths`), or nothing is read."""
    source = _detect(pkg, doc, read, where)
    check_paths(pkg, doc, source, where)
    return source


def _detect(pkg: Package, doc: Mapping[str, Any], read: Reader, where: str) -> VersionSource:
    backend = backend_of(doc)
    project = _table(doc, "project")
    if "version" in project:
        return VersionSource(SourceKind.STATIC, "[project].version", backend)
    if "version" not in (project.get("dynamic") or []):
        raise WorkspaceError(
            f"{where}: [project].version is missing and not dynamic",
            "declare version = 'X.Y.Z', or dynamic = ['version'] with the backend's version source",
        )
    if pkg.version_file:
        return VersionSource(SourceKind.FILE, "registry version_file", backend, file=pkg.version_file)
    found = _dynamic_source(doc, backend, read)
    if found is None:
        raise WorkspaceError(
            f"{where}: the version is dynamic but its source is not one this tool reads (backend {backend})",
            f"set version_file = 'pkg/_version.py' for {pkg.name} in {pkg.registry_file}, or use a static version, "
            "a version file (setuptools attr/file, flit, hatch path, pdm file) or git tags (setuptools-scm, "
            "hatch-vcs, pdm scm)",
        )
    return found


def find_source(
    name: str, root: Path, doc: Mapping[str, Any], modules: tuple[str, ...], *, subdir: str | None = None
) -> tuple[VersionSource | None, str | None]:
    """For a package with no registry entry yet (``invoke init``): its version source as the backend declares it,
    else a file of one of its ``modules`` (src or flat layout) holding a ``__version__`` literal (what
    ``version_file`` would name), else ``(None, None)``. ``subdir``: the package's directory inside its repository
    (a workspace member may name its repository's root, as ``root = "../.."`` does)."""
    from juniper_release.ecosystem.model import Package

    read = _disk_reader(root)
    probe = Package(name=name, repo="init/probe", path=".", imports=(), layer=0, python=(), torch=False, subdir=subdir)
    try:
        return detect_source(probe, doc, read, str(root / "pyproject.toml")), None
    except WorkspaceError:
        pass
    candidates = [
        f"{base}{module.replace('.', '/')}/{leaf}"
        for module in modules
        for base in ("src/", "")
        for leaf in ("_version.py", "__version__.py", "version.py", "__init__.py")
    ]
    for rel in candidates:
        text = read(rel)
        if text is not None and literal_assignment(text, rel) is not None:
            return None, rel
    return None, None


def _dynamic_source(doc: Mapping[str, Any], backend: str, read: Reader) -> VersionSource | None:
    tool = _table(doc, "tool")
    if backend == "hatchling":
        hatch = _table(tool, "hatch", "version")
        if hatch.get("source") == "vcs":
            return VersionSource(SourceKind.VCS, "hatch-vcs", backend, settings=hatch)
        if isinstance(hatch.get("path"), str) and hatch.get("source", "regex") == "regex":
            pattern = hatch.get("pattern")
            return VersionSource(
                SourceKind.FILE,
                "hatch path",
                backend,
                file=hatch["path"],
                pattern=pattern if isinstance(pattern, str) else None,
            )
        return None
    if backend == "pdm-backend":
        pdm = _table(tool, "pdm", "version")
        if pdm.get("source") == "scm":
            return VersionSource(SourceKind.VCS, "pdm scm", backend, settings=pdm)
        if pdm.get("source") == "file" and isinstance(pdm.get("path"), str):
            return VersionSource(SourceKind.FILE, "pdm file", backend, file=pdm["path"])
        return None
    if backend == "flit":
        module = _table(tool, "flit", "module").get("name") or str(_table(doc, "project").get("name", ""))
        module = str(module).replace("-", "_")
        return VersionSource(SourceKind.FILE, "flit", backend, file=_module_files(module, read)[0])
    if backend == "setuptools":
        spec = _table(tool, "setuptools", "dynamic").get("version")
        if isinstance(spec, dict) and isinstance(spec.get("attr"), str) and "." in spec["attr"]:
            module, _, name = spec["attr"].rpartition(".")
            return VersionSource(
                SourceKind.FILE, "setuptools attr", backend, file=_module_files(module, read)[0], name=name
            )
        if isinstance(spec, dict) and spec.get("file"):
            files = spec["file"] if isinstance(spec["file"], list) else [spec["file"]]
            return VersionSource(SourceKind.FILE, "setuptools file", backend, file=str(files[0]), pattern="")
        if "setuptools_scm" in tool or _requires_scm(doc):
            return VersionSource(SourceKind.VCS, "setuptools-scm", backend, settings=_table(tool, "setuptools_scm"))
    if backend not in _BACKENDS.values():
        # An in-tree wrapper around a known backend (build-backend = "backend", backend-path = [...]): the
        # project's own tables say which one reads the version.
        for known in ("setuptools", "hatchling", "pdm-backend"):
            found = _dynamic_source(doc, known, read)
            if found is not None:
                return VersionSource(
                    found.kind, found.tool, backend, found.file, found.name, found.pattern, found.settings
                )
    return None


# ------------------------------------------------------------------------------------------------------- literals


def literal_assignment(text: str, filename: str, name: str = "__version__") -> str | None:
    """The string literal assigned to ``name`` at a module's top level (``_version.py`` may say ``version`` or
    ``VERSION`` for ``__version__``)."""
    try:
        tree = ast.parse(text, filename=filename)
    except SyntaxError:
        return None
    names = {name}
    if name == "__version__" and Path(filename).name == "_version.py":
        names |= {"version", "VERSION"}
    for node in tree.body:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        for target in targets:
            if (
                isinstance(target, ast.Name)
                and target.id in names
                and isinstance(value, ast.Constant)
                and isinstance(value.value, str)
            ):
                return value.value
    return None


def imported_from(text: str, filename: str, name: str) -> str | None:
    """``x`` when the module says ``from .x import name``: setuptools' ``attr`` then reads ``x``."""
    try:
        tree = ast.parse(text, filename=filename)
    except SyntaxError:
        return None
    for node in tree.body:
        if (
            isinstance(node, ast.ImportFrom)
            and node.level == 1
            and node.module
            and any(alias.name == name and alias.asname in (None, name) for alias in node.names)
        ):
            return node.module
    return None


_HATCH_DEFAULT = r"(?i)^(__version__|VERSION) *= *([\'\"])v?(?P<version>.+?)\2"


def file_literal(source: VersionSource, text: str, filename: str) -> str | None:
    """The version a file source's text declares."""
    if source.pattern == "":
        return text.strip() or None
    if source.pattern is not None or source.tool == "hatch path":
        match = re.search(source.pattern or _HATCH_DEFAULT, text, flags=re.MULTILINE)
        return match.group("version") if match else None
    return literal_assignment(text, filename, source.name)


def write_file_literal(source: VersionSource, text: str, filename: str, new: Version) -> str:
    """``text`` with the version a file source declares set to ``new`` (the rest byte for byte)."""
    if source.pattern == "":
        return f"{new}\n"
    if source.pattern is not None or source.tool == "hatch path":
        match = re.search(source.pattern or _HATCH_DEFAULT, text, flags=re.MULTILINE)
        if match is None:
            raise WorkspaceError(f"{filename}: no version matches the pattern", "fix the file or its pattern")
        return text[: match.start("version")] + str(new) + text[match.end("version") :]
    return set_literal_version(text, new, filename, source.name)


def set_pyproject_version(text: str, version: Version) -> str:
    """``text`` with ``[project].version`` replaced, every other byte unchanged (tomlkit)."""
    doc = tomlkit.parse(text)
    project = doc.get("project")
    if project is None or "version" not in project:
        raise VersionError("pyproject.toml has no static [project].version", "declare version = 'X.Y.Z'")
    project["version"] = str(version)
    return tomlkit.dumps(doc)


def set_literal_version(text: str, version: Version, filename: str = "__init__.py", name: str = "__version__") -> str:
    """``text`` with the ``name`` (``__version__``) string literal replaced (located with ast, so nothing else
    moves)."""
    tree = ast.parse(text)
    names = {name} | ({"version", "VERSION"} if name == "__version__" and filename == "_version.py" else set())
    lines = text.splitlines(keepends=True)
    for node in tree.body:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign):
            targets, value = [node.target], node.value
        if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
            continue
        if any(isinstance(t, ast.Name) and t.id in names for t in targets) and value.lineno == value.end_lineno:
            i = value.lineno - 1
            line = lines[i].encode("utf-8")
            start, end = value.col_offset, value.end_col_offset or value.col_offset
            quote = line[start : start + 1].decode()
            lines[i] = (line[:start] + f"{quote}{version}{quote}".encode() + line[end:]).decode("utf-8")
            return "".join(lines)
    raise VersionError(f"{filename}: no single-line {name} string literal", f"write {name} = 'X.Y.Z'")


def _resolve_file(source: VersionSource, read: Reader) -> tuple[str, str | None]:
    """The file actually holding the literal (following setuptools' ``from .x import name``) and the literal."""
    assert source.file is not None
    file = source.file
    text = read(file)
    raw = file_literal(source, text, file) if text is not None else None
    if raw is None and text is not None and source.tool == "setuptools attr":
        sub = imported_from(text, file, source.name)
        if sub is not None:
            sibling = f"{file.rsplit('/', 1)[0]}/{sub.replace('.', '/')}.py" if "/" in file else f"{sub}.py"
            if file.endswith("/__init__.py") or "/" not in file:
                other = read(sibling)
                if other is not None:
                    return sibling, literal_assignment(other, sibling, source.name)
    return file, raw


# ----------------------------------------------------------------------------------------------------------- VCS


_WRITERS = ("write_to", "write_to_template", "version_file", "version_file_template")
"""Settings that make the library write a file: the tool only reads."""


def _scm_version(pkg: Package, root: Path, source: VersionSource) -> str:
    """The version the backend's own library computes for the checkout at ``root``."""
    try:
        if source.tool == "pdm scm":
            from pdm.backend.hooks.version.scm import default_version_formatter, get_version_from_scm

            found = get_version_from_scm(
                root, tag_regex=source.settings.get("tag_regex"), tag_filter=source.settings.get("tag_filter")
            )
            if found is None:
                raise LookupError("no version from git")
            return str(default_version_formatter(found))
        from setuptools_scm import get_version

        if source.tool == "hatch-vcs":
            options: dict[str, Any] = dict(source.settings.get("raw-options") or {})
            options["root"] = str((root / str(options.get("root", "."))).resolve())
            if source.settings.get("tag-pattern"):
                options["tag_regex"] = source.settings["tag-pattern"]
            if source.settings.get("fallback-version"):
                options["fallback_version"] = source.settings["fallback-version"]
            for key in _WRITERS:
                options.pop(key, None)
            return str(get_version(**options))
        # setuptools-scm's own [tool.setuptools_scm] settings, relative to the pyproject as the backend reads them.
        settings = {k.replace("-", "_"): v for k, v in source.settings.items() if k not in _WRITERS}
        return str(
            get_version(relative_to=str(root / "pyproject.toml"), dist_name=pkg.name, **{"root": ".", **settings})
        )
    except ImportError as exc:
        raise WorkspaceError(
            f"{pkg.name}: reading a {source.tool} version needs {exc.name}",
            "install the tool's dependencies (pip install -e .)",
        ) from None
    except (LookupError, OSError, ValueError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WorkspaceError(
            f"{root / 'pyproject.toml'}: {source.tool} could not compute {pkg.name}'s version ({first})",
            f"tag a release in git (tag format {pkg.tag_format!r}), or fetch the tags: git -C {quote(str(root))} fetch --tags",
        ) from None


def _require_tag(pkg: Package, git: Git) -> Version:
    """A VCS version needs a reachable tag in the package's own format: the newest one's version, else a one-line
    error that says which format, and the fetch that fixes a shallow clone."""
    from juniper_release.ecosystem.tagformat import tag_version

    found = [v for t in git.tags(merged="HEAD") if (v := tag_version(pkg.tag_format, t)) is not None]
    if found:
        return max(found)
    shallow = git.run("rev-parse", "--is-shallow-repository") == "true"
    fix = (
        f"this is a shallow clone: fetch the history and tags with `git -C {quote(str(git.root))} fetch --tags --unshallow`"
        if shallow
        else f"tag the released commit (`git tag -a {quote(pkg.tag_for('X.Y.Z'))} -m ...`) or fetch the tags "
        f"(`git -C {quote(str(git.root))} fetch --tags`)"
    )
    raise WorkspaceError(
        f"{pkg.name}: its version comes from git tags, but no tag in its format {pkg.tag_format!r} is reachable "
        f"from HEAD{' (a shallow clone)' if shallow else ''}",
        fix,
    )


def _in_git(root: Path) -> bool:
    return any((p / ".git").exists() for p in (root, *root.parents))


def _pkg_info_version(root: Path) -> str | None:
    """The version an sdist's PKG-INFO records (an unpacked sdist has no git)."""
    info = root / "PKG-INFO"
    if not info.is_file():
        return None
    for line in info.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("Version:"):
            return line.split(":", 1)[1].strip()
        if not line.strip():
            break
    return None


# ------------------------------------------------------------------------------------------------------ the rule


def _parse(raw: str, where: str) -> Version:
    try:
        return Version(raw)
    except InvalidVersion:
        raise WorkspaceError(f"{where}: version {raw!r} is not a valid version", "use PEP 440, e.g. 1.2.3") from None


def load_pyproject(pyproject: Path) -> dict[str, Any]:
    """The parsed pyproject, or a one-line error naming the file and the fix."""
    try:
        with pyproject.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise WorkspaceError(f"{pyproject}: not found", "check out the package or pass --workspace DIR") from None
    except tomllib.TOMLDecodeError as exc:
        raise WorkspaceError(f"{pyproject}: not valid TOML ({exc})", "fix the syntax at the position shown") from None


def _disk_reader(root: Path) -> Reader:
    def read(rel: str) -> str | None:
        try:
            return (root / rel).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    return read


def declared_version(
    pkg: Package, root: Path, doc: Mapping[str, Any] | None = None, tagged: Version | None = None
) -> Declared:
    """THE rule: the version ``pkg`` declares in its directory ``root`` (a checkout, or an unpacked sdist), and its
    source. ``doc`` is the parsed pyproject when the caller has it already. ``tagged``: ``root`` is a tree exported
    from that release tag (no git): a version taken from git tags is the tag's."""
    pyproject = root / "pyproject.toml"
    doc = load_pyproject(pyproject) if doc is None else doc
    read = _disk_reader(root)
    source = detect_source(pkg, doc, read, str(pyproject))
    check_paths(pkg, doc, source, str(pyproject), base=root)
    if source.kind is SourceKind.STATIC:
        raw = _table(doc, "project")["version"]
        if not isinstance(raw, str):
            raise WorkspaceError(f"{pyproject}: [project].version must be a string", "write version = 'X.Y.Z'")
        return Declared(_parse(raw, str(pyproject)), raw, source)
    if source.kind is SourceKind.FILE:
        file, found = _resolve_file(source, read)
        if found is None:
            raise WorkspaceError(
                f"{pyproject}: the version is dynamic ({source.tool}) but no version literal was found in "
                f"{root / file}",
                f"write __version__ = 'X.Y.Z' in {file}, or set version_file for {pkg.name} in {pkg.registry_file}",
            )
        return Declared(_parse(found, str(root / file)), found, source, root / file)
    raw = None
    if not _in_git(root):
        raw = str(tagged) if tagged is not None else _pkg_info_version(root)
    if raw is None:
        from juniper_release.gitops import Git

        git = Git(root)
        top = next((p for p in (root, *root.parents) if (p / ".git").exists()), root)
        if not Git(top).is_repo():  # a member of a workspace (hatch-vcs root = "../..") is below its repository
            raise WorkspaceError(
                f"{pyproject}: {pkg.name}'s version comes from git tags ({source.tool}) but {root} is neither a git "
                "checkout nor an sdist with PKG-INFO",
                "build from a git checkout, or from an sdist that holds its PKG-INFO",
            )
        tagged = _require_tag(pkg, git)
        raw = _scm_version(pkg, root, source)
    version = _parse(raw, str(pyproject))
    return Declared(version, raw, source, tag_version=tagged if tagged is not None else Version(version.base_version))


def declared_at(pkg: Package, git: Git, rev: str) -> tuple[Version | None, str]:
    """The version ``pkg`` declares at commit ``rev`` of its directory's git, and the file that declares it
    (``pyproject``, or the version file). A VCS version is not declared in any file: at a tag it is the tag itself,
    so this gives ``(None, "git tags")``. None also when nothing valid is declared there."""

    def read(rel: str) -> str | None:
        # ./ is relative to the git directory's working directory: a sub-package reads its own files.
        if not git.ok("cat-file", "-e", f"{rev}:./{rel}"):
            return None
        return git.run("show", f"{rev}:./{rel}", strip=False)

    text = read("pyproject.toml")
    if text is None:
        return None, "pyproject"
    try:
        doc = tomllib.loads(text)
        source = detect_source(pkg, doc, read)
        if source.kind is SourceKind.STATIC:
            raw = _table(doc, "project").get("version")
            return (Version(raw) if isinstance(raw, str) else None), "pyproject"
        if source.kind is SourceKind.VCS:
            return None, "git tags"
        file, found = _resolve_file(source, read)
        return (Version(found) if found is not None else None), file
    except (tomllib.TOMLDecodeError, InvalidVersion, WorkspaceError, UnicodeDecodeError):
        return None, "pyproject"

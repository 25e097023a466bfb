"""The ecosystem consistency checks (``invoke check``): every statically visible release blocker, before any build.

Per package: version sync (pyproject vs module ``__version__``), sibling specifiers, LICENSE, README rendering as PyPI
renders it, secrets in the files a build sees (the policy of :mod:`juniper_release.secrets`). Across the ecosystem:
the dependency graph (cycles, layers), requires-python floors, the meta-package's extras. The workflow checks and
the driver that runs them all (:func:`juniper_release.github.checks.run_checks`) live in the github stage.

Each problem is a :class:`Finding`. Errors and warnings make the exit code 1; infos (such as the ceilings a next minor
release would escape) are reported but do not fail the check.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from shlex import quote
from typing import Literal

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from juniper_release import output as report
from juniper_release import secrets
from juniper_release.ecosystem.graph import Graph, diagnose
from juniper_release.ecosystem.project import (
    ModuleVersion,
    Project,
    VersionKind,
    find_module_version,
    load_pyproject_table,
    lockstep_files,
)
from juniper_release.ecosystem.registry import Package, Registry
from juniper_release.errors import EXIT_FINDINGS, EXIT_OK
from juniper_release.gitops import Git, own_files

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")
ECOSYSTEM = "ecosystem"
"""The ``package`` of findings that concern the ecosystem as a whole."""


@dataclass(frozen=True)
class Finding:
    """One problem: which package, which check, how bad, and a one-line message that says the fix."""

    package: str
    check: str
    severity: Severity
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"package": self.package, "check": self.check, "severity": self.severity, "message": self.message}


# --------------------------------------------------------------------------------------------------- per package


def check_version_sync(pkg: Package, project: Project) -> list[Finding]:
    """pyproject version == module ``__version__`` (static literal, or derived from importlib.metadata)."""
    out: list[Finding] = []
    for import_name in pkg.imports:
        mv = find_module_version(project.root, import_name)
        where = mv.file.relative_to(project.root).as_posix() if mv.file else import_name
        target = project.module_target  # the version; for a version from git tags, its release tag's
        said = f"the release tag {pkg.tag_for(target)} says" if project.is_vcs else "pyproject.toml says"
        if mv.kind is VersionKind.MISSING and project.is_vcs:
            pass  # a version from git tags needs no literal: none is demanded where none exists
        elif mv.kind is VersionKind.MISSING:
            out.append(
                Finding(
                    pkg.name,
                    "version-sync",
                    "error",
                    f"ANOMALY: module {import_name} has no recognisable __version__ (pyproject says "
                    f'{project.version}). Fix: add __version__ = "{project.version}" to its __init__.py or '
                    f'_version.py, or derive it with importlib.metadata.version("{project.name}")',
                )
            )
        elif mv.disagrees_with(target):
            out.append(
                Finding(
                    pkg.name,
                    "version-sync",
                    "error",
                    f"{import_name}.__version__ is {mv.value!r} in {where} but {said} "
                    f'{str(target) if project.is_vcs else project.raw_version!r}. Fix: set __version__ = "{target}" '
                    f"in {where} (or derive it from importlib.metadata)",
                )
            )
        # Every other literal of the module (_version.py beside __init__.py) moves in lockstep too.
        source = (
            f"the release tag {pkg.tag_for(target)}"
            if project.is_vcs
            else "the dynamic version"
            if project.is_dynamic
            else "pyproject.toml"
        )
        shown = str(target) if project.is_vcs else project.raw_version
        for file, literal in lockstep_files(project.root, import_name):
            if file == mv.file or not ModuleVersion(VersionKind.STATIC, literal, file).disagrees_with(target):
                continue
            rel = file.relative_to(project.root).as_posix()
            out.append(
                Finding(
                    pkg.name,
                    "version-sync",
                    "error",
                    f"{rel} says __version__ = {literal!r} but {source} is {shown!r}: the version files "
                    f'are not in lockstep. Fix: set __version__ = "{target}" in {rel}',
                )
            )
    return out


_LICENSE_RE = re.compile(r"^(LICEN[CS]E|COPYING)([.-].*)?$", re.IGNORECASE)


def check_license(pkg: Package, project: Project) -> list[Finding]:
    if any(_LICENSE_RE.match(p.name) and p.is_file() for p in project.root.iterdir()):
        return []
    if pkg.subdir:
        # A sub-package's sdist is built from its own directory: the repository root's LICENSE is not in it, and
        # license-files (PEP 639) may not reach outside the package's directory with "..".
        message = (
            f"no LICENSE file in {project.root} (a sub-package's sdist holds only its own directory, so the "
            f"repository root's LICENSE is not in it). Fix: add the project's LICENSE (MIT) in {pkg.subdir}/ "
            "(a copy of the repository root's)"
        )
    else:
        message = f"no LICENSE file in {project.root}. Fix: add the project's LICENSE (MIT) at the repository root"
    return [Finding(pkg.name, "license", "error", message)]


def check_license_table(pkg: Package, project: Project) -> list[Finding]:
    """A TOML-table ``project.license`` builds, but setuptools prints deprecation warnings for it (an info). Only
    setuptools deprecates it: other backends (flit, hatchling, pdm) are not told so."""
    if project.backend != "setuptools":
        return []
    license_value = load_pyproject_table(project.pyproject).get("project", {}).get("license")
    if not isinstance(license_value, dict):
        return []
    text = license_value.get("text")
    spdx = text if isinstance(text, str) and text.strip() and "\n" not in text.strip() else "MIT"
    return [
        Finding(
            pkg.name,
            "license-table",
            "info",
            f"project.license is a TOML table ({license_value!r}), which setuptools deprecates: every build prints "
            f'warnings. Fix: write license = "{spdx.strip()}" (an SPDX expression) and license-files = ["LICENSE*"]',
        )
    ]


def render_readme(text: str, content_type: str) -> tuple[bool, str]:
    """Render a README the way PyPI does (readme_renderer, the library behind ``twine check``).

    Returns (ok, detail): detail is the renderer's first complaint when it fails.
    """
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "text/markdown":
        import readme_renderer.markdown

        variant = "CommonMark" if "variant=commonmark" in content_type.replace(" ", "").lower() else "GFM"
        rendered = readme_renderer.markdown.render(text, variant=variant)
        if rendered is None:
            return False, "no Markdown renderer available (install readme_renderer[md])"
        return True, ""
    if kind == "text/x-rst":
        import readme_renderer.rst

        stream = io.StringIO()
        if readme_renderer.rst.render(text, stream=stream) is None:
            lines = [line.strip() for line in stream.getvalue().splitlines() if line.strip()]
            return False, lines[0] if lines else "reStructuredText does not render"
        return True, ""
    if kind == "text/plain":
        return True, ""
    return False, f"content type {content_type!r} is not one PyPI renders (text/markdown, text/x-rst, text/plain)"


def check_readme(pkg: Package, project: Project) -> list[Finding]:
    def finding(message: str) -> list[Finding]:
        return [Finding(pkg.name, "readme", "error", message)]

    if not project.readme and "readme" in project.dynamic:
        return []  # the backend (a plugin) fills it in: the build's `twine check --strict` judges what it made
    if not project.readme:
        found = sorted(p.name for p in project.root.glob("README*") if p.is_file())
        hint = f"readme = {found[0]!r}" if found else "a README.md and readme = 'README.md'"
        return finding(f"pyproject.toml declares no readme: PyPI would show no long description. Fix: add {hint}")
    path = project.root / project.readme
    if not path.is_file():
        return finding(f"README {project.readme} (named in pyproject.toml) does not exist. Fix: add it or fix readme")
    text = path.read_text(encoding="utf-8", errors="replace")
    if not text.strip():
        return finding(f"{project.readme} is empty: PyPI would show no long description. Fix: write the README")
    ok, detail = render_readme(text, project.readme_content_type or "text/plain")
    if not ok:
        detail = detail.replace("<string>", project.readme).rstrip(".")
        return finding(
            f"{project.readme} does not render on PyPI: {detail}. Fix: correct the markup (check with `twine check "
            "--strict dist/*`)"
        )
    return []


_SKIP_DIRS = {".git", ".venv", "venv", ".nox", ".tox", "build", "dist", "node_modules", "__pycache__"}


def _scanned_files(pkg: Package, root: Path) -> tuple[list[str], set[str] | None]:
    """The files a build of the package sees (:meth:`Git.package_files`: its own directory, without its sub-packages'
    directories), relative to ``root``, and which of them are untracked; every such file under ``root`` when it is
    not in a git checkout (untracked None)."""
    if Git(pkg.top_of(root)).is_repo():
        git = Git(root)  # run in the package's own directory: git lists the files below it, relative to it
        return git.package_files(), set(git.untracked())
    files = [
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and not _SKIP_DIRS.intersection(p.relative_to(root).parts)
    ]
    return own_files(sorted(files)), None


def _secret_fix(rel: str, shown: str, untracked: set[str] | None) -> tuple[str, str]:
    """How a finding names the file (``shown``: from the repository root), and the fix for a tracked file, an
    untracked one or one outside git."""
    if untracked is None:
        return f"file {shown}", "delete it and revoke the credential"
    if rel in untracked:
        return (
            f"untracked file {shown}",
            "delete it or add it to .gitignore (a build copies every file git does not ignore), and revoke the "
            "credential",
        )
    return (
        f"tracked file {shown}",
        f"`git rm --cached {quote(shown)}`, add it to .gitignore, revoke the credential, and purge it from history",
    )


def check_secrets(pkg: Package, project: Project) -> list[Finding]:
    """The secrets policy over the files a build of this package sees: a sub-package's own directory; for the root
    package of a shared repository, everything but its sub-packages' directories (theirs are their findings)."""
    files, untracked = _scanned_files(pkg, project.root)
    out: list[Finding] = []
    for rel in files:
        reasons = secrets.scan(rel, secrets.read_head(project.root / rel))
        if reasons:
            which, fix = _secret_fix(rel, f"{pkg.subdir}/{rel}" if pkg.subdir else rel, untracked)
            out.append(Finding(pkg.name, "secrets", "error", f"{which} holds {secrets.describe(reasons)}. Fix: {fix}"))
    return out


# --------------------------------------------------------------------------------------------------- ecosystem


def check_graph(graph: Graph) -> list[Finding]:
    """The graph's layer/extras defects (:func:`graph.diagnose`, the same finding and fix ``invoke graph`` gives)."""
    return [Finding(d.package, d.check, "error", f"{d.what}. Fix: {d.fix}") for d in diagnose(graph)]


def _next_releases(version: Version) -> list[tuple[str, Version]]:
    major, minor = version.major, version.minor
    return [("minor", Version(f"{major}.{minor + 1}.0")), ("major", Version(f"{major + 1}.0.0"))]


def check_specifiers(graph: Graph) -> list[Finding]:
    """Each sibling specifier admits the sibling's current version; report the ceilings a next release escapes."""
    out: list[Finding] = []
    for target in graph.registry.packages:
        current = graph.projects[target.name].version
        incoming = [e for e in graph.edges if e.target == target.name]
        for edge in incoming:
            if not edge.requirement.specifier.contains(current, prereleases=True):
                where = f"[{edge.extra}] " if edge.extra else ""
                out.append(
                    Finding(
                        edge.source,
                        "sibling-specifier",
                        "error",
                        f"{where}requires {edge.requirement}, which excludes {target.name}'s current version "
                        f"{current}. Fix: widen the specifier in {edge.source}'s pyproject.toml to admit {current}",
                    )
                )
        reported: set[str] = set()
        for kind, nxt in _next_releases(current):
            escaped = [
                e
                for e in incoming
                if e.requirement.specifier.contains(current, prereleases=True)
                and not e.requirement.specifier.contains(nxt, prereleases=True)
                and e.source not in reported
            ]
            if not escaped:
                continue
            reported.update(e.source for e in escaped)
            who = ", ".join(
                f"{e.source}{f' [{e.extra}]' if e.extra else ''} ({e.requirement.specifier})" for e in escaped
            )
            breaking = (
                " (before 1.0 a minor release may break things)" if kind == "minor" and current.major == 0 else ""
            )
            out.append(
                Finding(
                    target.name,
                    "upper-bound",
                    "info",
                    f"the next {kind} release {nxt}{breaking} would escape the ceilings of: {who}. Fix: when "
                    f"releasing {nxt}, raise those ceilings and release the consumers too",
                )
            )
    return out


def _floor(spec: SpecifierSet | None) -> Version | None:
    floors = [Version(s.version) for s in spec or () if s.operator in {">=", "~=", "==", ">"}]
    return max(floors) if floors else None


def check_python_floors(registry: Registry, projects: dict[str, Project]) -> list[Finding]:
    out: list[Finding] = []
    groups: dict[str, list[str]] = {}
    for pkg in registry.packages:
        spec = projects[pkg.name].requires_python
        if spec is None:
            out.append(
                Finding(
                    pkg.name,
                    "requires-python",
                    "warning",
                    "pyproject.toml declares no requires-python. Fix: add requires-python = '>=3.11' (or the "
                    "ecosystem's agreed floor)",
                )
            )
            continue
        floor = _floor(spec)
        groups.setdefault(f">={floor}" if floor else str(spec), []).append(pkg.name)
    if len(groups) > 1:
        parts = [f"{floor} ({', '.join(names)})" for floor, names in sorted(groups.items())]
        excluded = [
            f"{p.name} is verified on Python {py} in {registry.shown_path}"
            for p in registry.packages
            for py in p.python
            if (spec := projects[p.name].requires_python) is not None and not spec.contains(py, prereleases=True)
        ]
        extra = f"; {'; '.join(excluded)}, which its floor excludes" if excluded else ""
        choices = " or ".join(sorted(groups))
        out.append(
            Finding(
                ECOSYSTEM,
                "requires-python",
                "warning",
                f"requires-python floors differ: {'; '.join(parts)}{extra}. Fix: decide the ecosystem floor "
                f"({choices}) and use it in every pyproject.toml",
            )
        )
    return out


def check_meta_extras(graph: Graph) -> list[Finding]:
    """Every extra the registry verifies exists (a meta-package missing packages is :func:`check_graph`'s
    finding)."""
    out: list[Finding] = []
    registry = graph.registry
    diagnosed = {d.package for d in diagnose(graph) if d.check == "meta-extras"}
    for pkg in registry.packages:
        missing_extras = [x for x in pkg.extras if x not in graph.projects[pkg.name].optional]
        if missing_extras and pkg.name not in diagnosed:
            out.append(
                Finding(
                    pkg.name,
                    "extras",
                    "error",
                    f"{registry.shown_path} verifies extras {', '.join(missing_extras)} that pyproject.toml does "
                    "not define. Fix: define them under [project.optional-dependencies] or drop them from "
                    f"{registry.shown_path}",
                )
            )
    return out


# --------------------------------------------------------------------------------------------------- driver


def problems(findings: Iterable[Finding]) -> list[Finding]:
    """The findings that fail the check (errors and warnings)."""
    return [f for f in findings if f.severity != "info"]


def exit_code(findings: Iterable[Finding]) -> int:
    """0 when there is nothing but infos, 1 otherwise (2 is for errors raised before checking)."""
    return EXIT_FINDINGS if problems(findings) else EXIT_OK


def render(findings: Sequence[Finding], *, as_json: bool = False) -> str:
    """JSON (a list of {package, check, severity, message}) or a table with a summary line."""
    if as_json:
        return report.to_json([f.as_dict() for f in findings])
    counts = {s: sum(1 for f in findings if f.severity == s) for s in SEVERITIES}
    summary = ", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s, n in counts.items())
    if not findings:
        return "check: all packages consistent (0 findings)"
    rows = [f.as_dict() for f in findings]
    return report.table(rows, ["severity", "package", "check", "message"], painted="severity") + f"\n\ncheck: {summary}"

"""GitHub Actions: render every package's publish and validation workflows from one template, and the CI matrix.

The templates live in ``templates/`` next to this module. ``publish.yml`` becomes each package's
``registry.publish_workflow`` and ``validate.yml`` (the pre-release validation gate) lands beside it. Both are
filled from repos.toml only, so a rendered file never depends on the machine that rendered it.

Template syntax, kept deliberately small:

- ``@NAME@`` is replaced by a value (upper-case names only, so ``actions/checkout@v5`` is left alone);
- a line ``#@ if FLAG`` / ``#@ else`` / ``#@ endif`` keeps or drops the lines between them;
- a line ``#@ include FILE`` inserts ``templates/FILE``, indented like the directive;
- a ``uses: owner/name`` without a ``@ref`` is pinned from :data:`juniper_release.github.pins.PINS`
  (``owner/name@<commit sha> # <tag>``), so no template names a version and one edit of the table moves them all;
  an action the file on disk already pins at a newer release keeps that release (:mod:`.forward`; never a downgrade
  unless ``allow_downgrade``).

A lockstep group's one publish workflow (every member in one run) is hand-written and left alone (:func:`group_notes`);
no two packages' renderings may land on one path, so a per-member copy onto it is refused.

Beside the workflows, every package repository gets ``.github/dependabot.yml`` (``templates/dependabot.yml``):
Dependabot watches the pinned actions and proposes newer releases.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from juniper_release.commands import run
from juniper_release.ecosystem.paths import inside
from juniper_release.ecosystem.project import read_project
from juniper_release.ecosystem.registry import (
    PYTHON_CANDIDATES,
    ROOT,
    Package,
    Registry,
    load_registry,
    require_checkout,
)
from juniper_release.errors import EXIT_FINDINGS, EXIT_OK, ConfigError, JuniperError, suggest
from juniper_release.files import unified_diff, write_text
from juniper_release.github.forward import Held, forward_only
from juniper_release.github.group_workflows import group_notes
from juniper_release.github.pins import apply_pins
from juniper_release.output import emit, table, to_stderr
from juniper_release.verify.pythons import workflow_python

TEMPLATES = Path(__file__).resolve().parent / "templates"
PUBLISH_TEMPLATE = "publish.yml"
VALIDATE_TEMPLATE = "validate.yml"
VALIDATE_NAME = "validate.yml"
"""The validation gate's file name, written next to the registry's ``publish_workflow``."""
DEPENDABOT_TEMPLATE = "dependabot.yml"
DEPENDABOT_PATH = ".github/dependabot.yml"
"""Dependabot's configuration, one per repository (GitHub reads it only from there)."""

NOX_CI_COMMAND = ("nox", "-l", "--json", "-t", "ci")
"""The command ci.yml runs to list the per-package sessions (the matrix)."""
NOX_CI_ENV = {"PIP_QUIET": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
"""The environment of that command: in script mode nox installs the noxfile's PEP 723 dependencies with pip when
uv is missing, and pip's progress would land on stdout before the JSON."""

_PLACEHOLDER = re.compile(r"@([A-Z][A-Z0-9_]*)@")
_DIRECTIVE = re.compile(r"^(?P<indent>\s*)#@\s*(?P<word>if|else|endif|include)\b\s*(?P<arg>\S*)\s*$")

Status = Literal["ok", "missing", "drifted"]


# --------------------------------------------------------------------------------------------------- rendering


def render_template(
    name: str,
    values: Mapping[str, str],
    flags: Mapping[str, bool],
    templates: Path = TEMPLATES,
) -> str:
    """Render ``templates/name``: includes, then conditionals, then placeholders. Unknown names are errors."""
    lines = _expand(name, templates, "", ())
    kept: list[str] = []
    stack: list[bool] = []  # one entry per open `if`: is this branch kept?
    for lineno, line in enumerate(lines, 1):
        match = _DIRECTIVE.match(line)
        if match is None:
            if all(stack):
                kept.append(line)
            continue
        word, arg = match["word"], match["arg"]
        if word == "if":
            if arg not in flags:
                raise _template_error(name, f"line {lineno}: unknown flag {arg!r}", flags)
            stack.append(flags[arg])
        elif not stack:
            raise _template_error(name, f"line {lineno}: `#@ {word}` without `#@ if`", flags)
        elif word == "else":
            stack[-1] = not stack[-1]
        else:
            stack.pop()
    if stack:
        raise _template_error(name, "an `#@ if` is never closed with `#@ endif`", flags)

    def fill(match: re.Match[str]) -> str:
        key = match[1]
        if key not in values:
            raise _template_error(name, f"unknown placeholder @{key}@", values)
        return values[key]

    return apply_pins(_PLACEHOLDER.sub(fill, "".join(kept)), f"template {name}", only_bare=True)


def _template_error(name: str, what: str, known: Mapping[str, object]) -> JuniperError:
    return JuniperError(f"template {name}: {what}", f"use one of: {', '.join(sorted(known))}")


def _expand(name: str, templates: Path, indent: str, seen: tuple[str, ...]) -> list[str]:
    """The template's lines with every ``#@ include`` replaced by the included file, re-indented."""
    if name in seen:
        raise JuniperError(f"template {name}: includes itself via {' -> '.join(seen)}", "remove the include cycle")
    path = templates / name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise JuniperError(f"template {path} not found", "restore it from git or fix the #@ include") from None
    out: list[str] = []
    for line in text.splitlines(keepends=True):
        match = _DIRECTIVE.match(line)
        if match and match["word"] == "include":
            out += _expand(match["arg"], templates, indent + match["indent"], (*seen, name))
        else:
            out.append(indent + line if line.strip() else line)
    return out


def canonical_registry(registry: Registry) -> Registry:
    """The registry as repos.toml states it: environment overrides (local test indexes) never reach a workflow."""
    return load_registry(registry.path, env={}) if registry.overrides else registry


def template_values(registry: Registry, pkg: Package, requires_python: SpecifierSet | None = None) -> dict[str, str]:
    """The placeholders of one package's workflows, from the registry and the package's requires-python."""
    prefix, _, suffix = pkg.tag_format.partition("{version}")
    torch = registry.torch
    return {
        "PACKAGE_NAME": pkg.name,
        "PROJECT_SLUG": canonicalize_name(pkg.name),
        "IMPORT_NAMES": " ".join(pkg.imports),
        "PYTHON_VERSION": workflow_python(pkg, requires_python),
        "EXTRAS": f"[{','.join(pkg.extras)}]" if pkg.extras else "",
        "TAG_FORMAT": pkg.tag_format,
        "PACKAGE_DIR": pkg.subdir or ".",
        "DIST_DIR": f"{pkg.subdir}/dist/" if pkg.subdir else "dist/",
        "TAG_PREFIX": prefix,
        "TAG_SUFFIX": suffix,
        "TAG_GLOB": f"{prefix}*{suffix}",
        "TORCH_VERSION": torch.version,
        "TORCH_PIP_ARGS": f"{'--index-url' if torch.is_index else '--find-links'} {torch.source}",
        "PYPI_UPLOAD_URL": registry.index("pypi").upload_url,
        "PYPI_SIMPLE_URL": registry.index("pypi").simple_url,
        "TESTPYPI_UPLOAD_URL": registry.index("testpypi").upload_url,
        "TESTPYPI_SIMPLE_URL": registry.index("testpypi").simple_url,
        "PRERELEASE_WORKFLOW": PurePosixPath(registry.workflow_for(pkg, prerelease=True)).name,
        "FINAL_WORKFLOW": PurePosixPath(registry.workflow_for(pkg)).name,
    }


def template_flags(pkg: Package) -> dict[str, bool]:
    """The conditionals: TORCH (install CPU torch first), IMPORTS (a module to import and test), META, SUBDIR (a
    package in a sub-directory of a shared repository: gated on its own tags, built from its directory). The publish
    template's PAIR_PRE and PAIR_FINAL (:data:`ONE_WORKFLOW`) are set by :func:`render_pair` alone."""
    return {"TORCH": pkg.torch, "IMPORTS": not pkg.is_meta, "META": pkg.is_meta, "SUBDIR": pkg.subdir is not None}


def validate_workflow_path(registry: Registry, pkg: Package | None = None) -> str:
    """Where the validation gate goes: next to the publish workflow (``validate-<name>.yml`` for a sub-package)."""
    name = VALIDATE_NAME
    if pkg is not None and pkg.subdir:
        stem, dot, suffix = VALIDATE_NAME.rpartition(".")
        name = f"{stem}-{pkg.name}{dot}{suffix}"
    return str(PurePosixPath(registry.workflow_for(pkg) if pkg else registry.publish_workflow).with_name(name))


@dataclass(frozen=True)
class Rendered:
    """One rendered workflow file of one package (``path`` is relative to the package's repository checkout)."""

    package: str
    path: str
    text: str


def render_package(
    registry: Registry, pkg: Package, requires_python: SpecifierSet | None = None
) -> tuple[Rendered, Rendered]:
    """The package's publish and validation workflows."""
    registry = canonical_registry(registry)
    values, flags = template_values(registry, pkg, requires_python), {**template_flags(pkg), **ONE_WORKFLOW}
    return (
        Rendered(pkg.name, registry.workflow_for(pkg), render_template(PUBLISH_TEMPLATE, values, flags)),
        Rendered(pkg.name, validate_workflow_path(registry, pkg), render_template(VALIDATE_TEMPLATE, values, flags)),
    )


ONE_WORKFLOW = {"PAIR_PRE": False, "PAIR_FINAL": False}
"""The publish template's pair flags for one workflow publishing both kinds of Release."""

GENERATED_MARKER = "# Generated by juniper-release"
"""The first words of every rendered workflow: a file without them is hand-written."""


def render_pair(
    registry: Registry, pkg: Package, requires_python: SpecifierSet | None = None
) -> tuple[Rendered, Rendered]:
    """The pre-release and final workflows of a package whose registry names both (``prerelease_workflow``): the
    publish template, the first keeping only TestPyPI (its jobs run for a pre-release Release), the second only
    PyPI (for a final one)."""
    registry = canonical_registry(registry)
    values, flags = template_values(registry, pkg, requires_python), {**template_flags(pkg), **ONE_WORKFLOW}
    pre = render_template(PUBLISH_TEMPLATE, values, {**flags, "PAIR_PRE": True})
    final = render_template(PUBLISH_TEMPLATE, values, {**flags, "PAIR_FINAL": True})
    return (
        Rendered(pkg.name, registry.workflow_for(pkg, prerelease=True), pre),
        Rendered(pkg.name, registry.workflow_for(pkg), final),
    )


def hand_written_pair(registry: Registry, pkg: Package, top: Path | None) -> bool:
    """The package's two publish workflows are a pair the tool leaves alone: a sub-package's (the template renders
    no pair for it), or one whose files exist without the generated marker (hand-written)."""
    if not registry.has_prerelease_workflow(pkg):
        return False
    if pkg.subdir:
        return True
    paths = (registry.workflow_for(pkg, prerelease=True), registry.workflow_for(pkg))
    return top is not None and any(
        (top / p).is_file() and not (top / p).read_text(encoding="utf-8").startswith(GENERATED_MARKER) for p in paths
    )


def render_dependabot(pkg: Package) -> Rendered:
    """The repository's Dependabot configuration (the ``github-actions`` ecosystem), attributed to ``pkg``."""
    text = render_template(DEPENDABOT_TEMPLATE, {"REPO": pkg.repo}, {})
    return Rendered(pkg.name, DEPENDABOT_PATH, text)


def render_all(
    registry: Registry, packages: Sequence[Package] | None = None, workspace: Path | None = None
) -> list[Rendered]:
    """Every selected package's workflows (with its checkout's requires-python when ``workspace`` is given), and
    one Dependabot configuration per repository (with the first selected package of that repository)."""
    out: list[Rendered] = []
    repos: set[str] = set()
    for pkg in registry.packages if packages is None else packages:
        root = require_checkout(pkg, workspace) if workspace else None
        spec = read_project(pkg, root).requires_python if root else None
        publish, validate = render_package(registry, pkg, spec)
        if registry.group_of(pkg) is not None:
            out.append(validate)  # the group's one publish run is hand-written: left alone (group_notes says so)
        elif not registry.has_prerelease_workflow(pkg):
            out += [publish, validate]
        elif hand_written_pair(registry, pkg, pkg.top_of(root) if root else None):
            out.append(validate)  # the same topology by hand: left alone (pair_notes says so)
        else:
            out += [*render_pair(registry, pkg, spec), validate]
        if pkg.repo not in repos:
            repos.add(pkg.repo)
            out.append(render_dependabot(pkg))
    _one_per_path(registry, out)
    if workspace is not None:
        for rendered in out:
            _inside_checkout(registry.get(rendered.package), rendered.path, workspace)
    return out


def _one_per_path(registry: Registry, rendered: Sequence[Rendered]) -> None:
    """No two packages' renderings land on one file of a repository: one would silently replace the other (a
    per-member copy of a group's publish workflow, or two packages naming one ``publish_workflow``)."""
    seen: dict[tuple[str, str], Rendered] = {}
    for r in rendered:
        key = (registry.get(r.package).repo, r.path)
        if (first := seen.setdefault(key, r)) is not r and first.text != r.text:
            raise ConfigError(
                f"{registry.path.name}: packages {first.package} and {r.package} would both render {r.path} in "
                f"{key[0]}: one rendering would replace the other",
                "give each package its own publish_workflow, or make them one [[group]] (its one publish workflow "
                "is left alone)",
            )


def _inside_checkout(pkg: Package, path: str, workspace: Path) -> None:
    """A rendered file lands inside its repository's checkout: no symlinked directory leads a write out of it."""
    inside(
        path,
        field="publish workflow",
        where=pkg.name,
        place="its repository",
        base=pkg.top_of(require_checkout(pkg, workspace)),
        fix="name a workflow inside the repository in the registry (such as .github/workflows/publish.yml), and "
        "make .github/workflows a plain directory of the checkout",
    )


# --------------------------------------------------------------------------------------------------- check / write


@dataclass(frozen=True)
class Drift:
    """How one committed workflow compares with its rendering."""

    package: str
    path: str
    status: Status
    diff: str = ""
    text: str = ""
    """What ``--write`` writes: the rendering, with the newer pins the file on disk runs kept."""
    held: tuple[Held, ...] = ()
    """Actions the file on disk pins at a newer release than the pin table (kept unless downgrades are allowed)."""


def compare(rendered: Rendered, checkout: Path, *, allow_downgrade: bool = False) -> Drift:
    """Compare the rendered workflow with the file in ``checkout``; the diff is unified (``a/`` committed). An action
    the file pins at a newer release than the table stays at that release unless ``allow_downgrade``."""
    target = checkout / rendered.path
    label = f"{checkout.name}/{rendered.path}"
    if not target.is_file():
        diff = unified_diff(None, rendered.text, label)
        return Drift(rendered.package, rendered.path, "missing", diff, rendered.text)
    current = target.read_text(encoding="utf-8")
    text, held = forward_only(rendered.text, current, allow_downgrade=allow_downgrade)
    if current == text:
        return Drift(rendered.package, rendered.path, "ok", "", text, held)
    return Drift(rendered.package, rendered.path, "drifted", unified_diff(current, text, label), text, held)


def check(
    registry: Registry, workspace: Path, packages: Sequence[Package] | None = None, *, allow_downgrade: bool = False
) -> list[Drift]:
    """Every selected package's workflows against their rendering (checkouts must exist)."""
    chosen = registry.packages if packages is None else packages
    checkouts = {pkg.name: pkg.top_of(require_checkout(pkg, workspace)) for pkg in chosen}
    return [
        compare(r, checkouts[r.package], allow_downgrade=allow_downgrade)
        for r in render_all(registry, chosen, workspace)
    ]


def write(
    registry: Registry, workspace: Path, packages: Sequence[Package] | None = None, *, allow_downgrade: bool = False
) -> list[Drift]:
    """Write every rendered workflow that is missing or drifted; return what was (re)written. Never commits."""
    return _apply(registry, workspace, check(registry, workspace, packages, allow_downgrade=allow_downgrade))


def _apply(registry: Registry, workspace: Path, drifts: Sequence[Drift]) -> list[Drift]:
    """Write each missing or drifted file of ``drifts`` (atomically) and return those."""
    written = [d for d in drifts if d.status != "ok"]
    for drift in written:
        target = registry.get(drift.package).top_of(require_checkout(registry.get(drift.package), workspace))
        (target / drift.path).parent.mkdir(parents=True, exist_ok=True)
        write_text(target / drift.path, drift.text)
    return written


def held_rows(drifts: Sequence[Drift]) -> list[dict[str, str]]:
    """One row per action a workflow on disk pins newer than the pin table: kept, or downgraded on request."""
    return [h.row(d.package, d.path) for d in drifts for h in d.held]


def held_report(drifts: Sequence[Drift]) -> str:
    """The digest's part on newer pins: what was kept (or downgraded) and how to move the table forward."""
    rows = held_rows(drifts)
    if not rows:
        return ""
    kept = any(not h.downgraded for d in drifts for h in d.held)
    head = (
        "the repositories run newer releases than the pin table; rendered at their release, never older. "
        f"Move the table forward: `{suggest('invoke pin-actions --from-workspace')}`"
        if kept
        else "--allow-downgrade: these actions are rendered at the pin table's older release"
    )
    return f"{head}\n{table(rows)}"


def pair_notes(
    registry: Registry, packages: Sequence[Package] | None = None, workspace: Path | None = None
) -> list[str]:
    """One line per package whose two publish workflows (pre-releases and finals) are hand-written: left alone."""
    return [
        f"{pkg.name}: {registry.workflow_for(pkg, prerelease=True)} (pre-releases) and {registry.workflow_for(pkg)} "
        "(finals) are a hand-written pair: left alone (`workflows --write` renders the pair where they are missing)"
        for pkg in (registry.packages if packages is None else packages)
        if (
            registry.group_of(pkg) is None
            and hand_written_pair(registry, pkg, pkg.top_of(pkg.checkout(workspace)) if workspace else None)
        )
        or (registry.group_of(pkg) is None and registry.has_prerelease_workflow(pkg) and workspace is None)
    ]


def drifted_packages(drifts: Sequence[Drift]) -> list[str]:
    """Packages (registry order kept) with at least one missing or drifted workflow."""
    return list(dict.fromkeys(d.package for d in drifts if d.status != "ok"))


def summary_rows(drifts: Sequence[Drift], registry: Registry | None = None) -> list[dict[str, str]]:
    """One row per package: the status of each workflow file, every row with every column (``-``: no such file).
    With ``registry`` a column is a role: a sub-package's publish workflow and gate share publish.yml and
    validate.yml with the root packages'."""
    rows: dict[str, dict[str, str]] = {}
    for d in drifts:
        rows.setdefault(d.package, {"package": d.package})[_column(d, registry)] = d.status
    columns = dict.fromkeys(k for row in rows.values() for k in row)
    return [{c: row.get(c, "-") for c in columns} for row in rows.values()]


def _column(drift: Drift, registry: Registry | None) -> str:
    if registry is None:
        return PurePosixPath(drift.path).name
    pkg = registry.get(drift.package)
    roles = {
        registry.workflow_for(pkg): registry.publish_workflow,
        validate_workflow_path(registry, pkg): VALIDATE_NAME,
    }
    return PurePosixPath(roles.get(drift.path, drift.path)).name


def stat_rows(drifts: Sequence[Drift]) -> list[dict[str, Any]]:
    """The digest first: per repository (its first package), how many files drift and the lines added and removed."""
    rows: dict[str, dict[str, Any]] = {}
    for d in drifts:
        row = rows.setdefault(d.package, {"package": d.package, "files drifted": 0, "added": 0, "removed": 0})
        if d.status == "ok":
            continue
        row["files drifted"] += 1
        for line in d.diff.splitlines():
            if line.startswith("+") and not line.startswith("+++"):
                row["added"] += 1
            elif line.startswith("-") and not line.startswith("---"):
                row["removed"] += 1
    return list(rows.values())


def check_report(drifts: Sequence[Drift]) -> str:
    """The per-repo diffs of every missing or drifted workflow (empty when all match)."""
    parts: list[str] = []
    for name in drifted_packages(drifts):
        mine = [d for d in drifts if d.package == name and d.status != "ok"]
        states = ", ".join(f"{PurePosixPath(d.path).name} {d.status}" for d in mine)
        parts.append(f"== {name}: {states}\n" + "".join(d.diff for d in mine))
    return "\n".join(parts)


def check_flags(*, check: bool, write: bool, sandbox: bool) -> None:
    """``invoke workflows`` takes exactly one of --check and --write, and never writes into the shared sandbox."""
    if check == write:
        raise JuniperError(
            "pass exactly one of --check and --write",
            "add --check to the same command first (it shows the diff), then --write",
        )
    if write and sandbox:
        raise JuniperError(
            "--write would change the shared cached sandbox", "use --check with --sandbox, or --write --workspace DIR"
        )


def run_write(
    registry: Registry,
    workspace: Path,
    packages: Sequence[Package],
    out: Callable[[str], None] = emit,
    *,
    allow_downgrade: bool = False,
) -> int:
    """Write the missing or drifted workflows and say which (and which newer pins were kept); always EXIT_OK."""
    drifts = check(registry, workspace, packages, allow_downgrade=allow_downgrade)
    written = _apply(registry, workspace, drifts)
    for note in (*pair_notes(registry, packages, workspace), *group_notes(registry, packages, workspace)):
        out(f"note: {note}")
    for drift in written:
        out(f"wrote {registry.get(drift.package).path}/{drift.path} (was {drift.status})")
    if held := held_report(drifts):
        out(held)
    out(f"{len(written)} workflow file(s) written, {len(drifts) - len(written)} already up to date")
    return EXIT_OK


def run_check(
    registry: Registry,
    workspace: Path,
    packages: Sequence[Package],
    out: Callable[[str], None] = emit,
    err: Callable[[str], None] = to_stderr,
    *,
    stat: bool = False,
    sandbox: bool = False,
    allow_downgrade: bool = False,
) -> int:
    """The digest first (per repository: files drifted, lines added and removed, each file's status, and the newer
    pins kept), then the diffs (``stat``: the digest alone); EXIT_FINDINGS (with the fix on ``err``) when any
    workflow drifts."""
    drifts = check(registry, workspace, packages, allow_downgrade=allow_downgrade)
    for note in (*pair_notes(registry, packages, workspace), *group_notes(registry, packages, workspace)):
        out(f"note: {note}")
    out(table(stat_rows(drifts)))
    out(table(summary_rows(drifts, registry)))
    if held := held_report(drifts):
        out(held)
    diff = check_report(drifts)
    if diff and not stat:
        out(diff)
    stale = drifted_packages(drifts)
    if not stale:
        return EXIT_OK
    # The fix names --write, never the --check just run; the shared sandbox is written only through a copy.
    fix = (
        f"copy the sandbox to DIR, then run `{suggest('invoke workflows --write --workspace DIR')}` (the shared "
        "sandbox is never written)"
        if sandbox
        else f"run `{suggest('invoke workflows --write')}` and commit in each repo"
    )
    err(f"workflows drift in {', '.join(stale)}. Fix: {fix}")
    return EXIT_FINDINGS


# --------------------------------------------------------------------------------------------------- CI matrix


def ci_matrix(registry: Registry, nox_json: str) -> list[dict[str, Any]]:
    """Join ``nox -l --json -t ci`` with repos.toml: one ``{session, package, python}`` per package and Python.

    Every listed session must name a registry package and a Python, every package must have at least one session,
    and no package may be listed twice for one Python, so the matrix can neither skip a package nor run one twice.
    """
    try:
        sessions = json.loads(nox_json)
    except json.JSONDecodeError as exc:
        raise JuniperError(
            f"`{' '.join(NOX_CI_COMMAND)}` printed no JSON ({exc})", "run it by hand and fix the noxfile"
        ) from None
    if not isinstance(sessions, list):
        raise JuniperError(f"`{' '.join(NOX_CI_COMMAND)}` printed {type(sessions).__name__}, not a list", "upgrade nox")
    matrix: list[dict[str, Any]] = []
    for entry in sessions:
        spec = entry.get("call_spec") if isinstance(entry, dict) else None
        name = spec.get("package") if isinstance(spec, dict) else None
        python = spec.get("interpreter") if isinstance(spec, dict) else None
        if not isinstance(name, str) or not isinstance(python, str):
            raise ConfigError(
                f"nox session {entry.get('session') if isinstance(entry, dict) else entry!r} is tagged ci "
                "but takes no package and Python",
                "tag only the per-package, per-Python verify(<package>, <python>) sessions with 'ci' in noxfile.py",
            )
        pkg = registry.get(name)
        matrix.append({"session": entry["session"], "package": pkg.name, "python": python})
    listed = [(m["package"], m["python"]) for m in matrix]
    covered = {n for n, _ in listed}
    missing = [n for n in registry.names if n not in covered]
    twice = sorted({f"{n} on {py}" for n, py in listed if listed.count((n, py)) > 1})
    if missing or twice:
        raise ConfigError(
            f"the ci sessions do not cover the registry once per package and Python (missing: "
            f"{', '.join(missing) or '-'}; listed twice: {', '.join(twice) or '-'})",
            "parametrize exactly one tagged 'ci' session per package and Python in noxfile.py",
        )
    order = {n: i for i, n in enumerate(registry.names)}
    return sorted(
        matrix,
        key=lambda m: (
            order[m["package"]],
            PYTHON_CANDIDATES.index(m["python"]) if m["python"] in PYTHON_CANDIDATES else len(PYTHON_CANDIDATES),
        ),
    )


def nox_ci_sessions(root: Path = ROOT) -> str:
    """The JSON printed by ``nox -l --json -t ci`` in this repository (what ci.yml's setup job runs)."""
    proc = run(
        [sys.executable, "-m", *NOX_CI_COMMAND],
        cwd=root,
        env=NOX_CI_ENV,
        what="list the ci sessions",
        fix="run `nox -l -t ci` in the juniper-release checkout and fix the noxfile",
    )
    return proc.stdout

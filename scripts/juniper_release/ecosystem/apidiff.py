"""The public API diff of one package between two revisions: what a user of the package can see change.

The code is compared with griffe (``load_git`` at the baseline tag, ``load`` at the target when the target is the
clean checkout, else ``load_git`` there too), never imported. **Public** is griffe's rule: the names a module lists in
``__all__`` where it defines one, else the names without a leading underscore, in modules that are not private
(``pkg._internal`` and everything below it is not public). The registry's per-package ``api_exclude`` (module paths
or globs, ``pkg.vendored`` or ``pkg.*._compat``) leaves more out. The pyproject facts come from
:func:`juniper_release.ecosystem.changes.runtime_fields`.

Each :class:`ApiChange` names the object path, and its old and new form where there is one:

- **breaking**: a public object removed or its kind changed; a parameter removed, made required (or added as
  required), changed in kind or position; a return annotation changed; a base class removed; a console script,
  GUI script, entry point or extra removed; ``requires-python`` raised;
- **feature**: a new public module, class or function (a method too), a new parameter with a default; a new console
  script, entry point or extra;
- anything else that changed in the code is **internal** (detect knows from the changed files); a changed parameter
  default is listed as internal, for the reviewer.

The diff is cached by the git tree hashes of the package directory at both revisions (plus the import names, the
exclusions and this module's rules), in the cache dir's ``apidiff/`` part: a re-run on an unchanged tree reads one
small JSON file.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import json
import logging
import re
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import griffe
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from juniper_release.ecosystem.changes import runtime_fields
from juniper_release.ecosystem.model import Package
from juniper_release.ecosystem.paths import cache_part
from juniper_release.errors import GitError
from juniper_release.files import write_json
from juniper_release.gitops import Git

BREAKING = "breaking"
FEATURE = "feature"
INTERNAL = "internal"

RULES_VERSION = "1"
"""Bump when the classification changes, so cached diffs are recomputed."""

_BREAKAGES = {
    griffe.BreakageKind.OBJECT_REMOVED: "removed",
    griffe.BreakageKind.OBJECT_CHANGED_KIND: "kind changed",
    griffe.BreakageKind.PARAMETER_REMOVED: "parameter removed",
    griffe.BreakageKind.PARAMETER_CHANGED_REQUIRED: "parameter made required",
    griffe.BreakageKind.PARAMETER_ADDED_REQUIRED: "required parameter added",
    griffe.BreakageKind.PARAMETER_MOVED: "parameter moved",
    griffe.BreakageKind.PARAMETER_CHANGED_KIND: "parameter kind changed",
    griffe.BreakageKind.RETURN_CHANGED_TYPE: "return type changed",
    griffe.BreakageKind.CLASS_REMOVED_BASE: "base class removed",
}
"""griffe's breakages that are breaking here, by the name a finding gives them (a changed default is internal; a
changed attribute value is no finding)."""

_SCRIPT_TABLES = {"scripts": "console script", "gui-scripts": "GUI script"}
_PYTHONS = (*(f"3.{minor}" for minor in range(40)), "4.0")


@dataclass(frozen=True)
class ApiChange:
    """One finding: its level (breaking, feature, internal), what happened, the object path, old and new form."""

    level: str
    kind: str
    path: str
    old: str | None = None
    new: str | None = None

    def line(self) -> str:
        """``breaking: removed juniper_data.spiral (function)`` or ``... (old -> new)``."""
        forms = f" ({self.old} -> {self.new})" if self.old and self.new else f" ({self.old or self.new})"
        return f"{self.level}: {self.kind} {self.path}" + (forms if self.old or self.new else "")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ApiDiff:
    """The findings of one package between two trees; ``error`` when the code could not be read (no evidence)."""

    base: str
    target: str
    changes: tuple[ApiChange, ...] = ()
    error: str | None = None
    cached: bool = False

    def of(self, level: str) -> tuple[ApiChange, ...]:
        return tuple(c for c in self.changes if c.level == level)

    def level(self, code_changed: bool) -> str | None:
        """The highest level found: breaking, feature, internal (code changed, public surface did not), or None."""
        for level in (BREAKING, FEATURE):
            if self.of(level):
                return level
        return INTERNAL if code_changed or self.changes else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "target": self.target,
            "error": self.error,
            "cached": self.cached,
            "changes": [c.as_dict() for c in self.changes],
        }


# --------------------------------------------------------------------------------------------------- scope


def excluded(path: str, patterns: Sequence[str]) -> bool:
    """Whether the object path ``path`` is one of ``patterns``, lies below one, or matches one as a glob."""
    return any(path == p or path.startswith(f"{p}.") or fnmatch.fnmatchcase(path, p) for p in patterns)


def _public(obj: griffe.Object | griffe.Alias) -> bool:
    try:
        return bool(obj.is_public)
    except griffe.AliasResolutionError:
        return not obj.name.startswith("_")


def _form(obj: griffe.Object | griffe.Alias) -> str:
    """The form of an object a finding shows: a function's signature, else its kind."""
    try:
        target = obj.final_target if isinstance(obj, griffe.Alias) else obj
    except griffe.AliasResolutionError:
        return "name"
    if isinstance(target, griffe.Function):
        params = ", ".join(_param(p) for p in target.parameters)
        returns = f" -> {target.returns}" if target.returns is not None else ""
        return f"{target.name}({params}){returns}"
    return str(target.kind.value)


def _param(param: griffe.Parameter) -> str:
    stars = {"var_positional": "*", "var_keyword": "**"}.get(param.kind.name if param.kind else "", "")
    text = f"{stars}{param.name}"
    if param.annotation is not None:
        text += f": {param.annotation}"
    if param.default is not None:
        text += f" = {param.default}"
    return text


# --------------------------------------------------------------------------------------------------- code


def breaking_changes(old: griffe.Object, new: griffe.Object, exclude: Sequence[str]) -> list[ApiChange]:
    """griffe's breaking changes between two loads of one import package, as findings (``exclude``d paths left
    out); a changed parameter default is an internal finding."""
    found: list[ApiChange] = []
    for breakage in griffe.find_breaking_changes(old, new):
        path = breakage.obj.path
        if excluded(path, exclude):
            continue
        if breakage.kind is griffe.BreakageKind.PARAMETER_CHANGED_DEFAULT:
            found.append(ApiChange(INTERNAL, "parameter default changed", _param_path(breakage), *_values(breakage)))
        elif breakage.kind is griffe.BreakageKind.CLASS_REMOVED_BASE and not _bases_removed(breakage):
            continue  # ``class A(object)`` written ``class A``: nothing a user sees
        elif breakage.kind in _BREAKAGES:
            kind = _BREAKAGES[breakage.kind]
            if breakage.kind is griffe.BreakageKind.OBJECT_REMOVED and _served(new, breakage.obj):
                found.append(ApiChange(INTERNAL, "served by the module's __getattr__", path, _form(breakage.obj)))
            elif breakage.kind is griffe.BreakageKind.OBJECT_REMOVED:
                found.append(ApiChange(BREAKING, kind, path, _form(breakage.obj)))
            else:
                found.append(ApiChange(BREAKING, kind, _param_path(breakage), *_values(breakage)))
    return found


def _served(new: griffe.Object, removed: griffe.Object | griffe.Alias) -> bool:
    """The removed name is still served by its module's ``__getattr__`` in the new tree (a deprecation shim that
    names it), so ``import pkg.mod; pkg.mod.name`` still works."""
    parent = removed.parent
    if parent is None or not parent.is_module:
        return False
    relative = parent.path.removeprefix(new.path).lstrip(".")
    try:
        module = new[relative] if relative else new
        hook = module.members.get("__getattr__")
        source = hook.source if isinstance(hook, griffe.Function) else ""
    except (KeyError, griffe.AliasResolutionError, ValueError):
        return False
    return bool(re.search(rf"""["']{re.escape(removed.name)}["']""", source))


def _bases_removed(breakage: griffe.Breakage) -> bool:
    def names(bases: Any) -> set[str]:
        return {str(b).removeprefix("builtins.") for b in bases or ()} - {"object"}

    return bool(names(breakage.old_value) - names(breakage.new_value))


def _param_path(breakage: griffe.Breakage) -> str:
    param = breakage.old_value if isinstance(breakage.old_value, griffe.Parameter) else breakage.new_value
    return f"{breakage.obj.path}({param.name})" if isinstance(param, griffe.Parameter) else breakage.obj.path


def _values(breakage: griffe.Breakage) -> tuple[str | None, str | None]:
    def shown(value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, griffe.Parameter):
            return _param(value)
        if isinstance(value, list | tuple):
            return "[" + ", ".join(str(v) for v in value) + "]"
        return str(getattr(value, "value", value))

    return shown(breakage.old_value), shown(breakage.new_value)


_TYPING_ALIASES = {
    "List": "list",
    "Dict": "dict",
    "Tuple": "tuple",
    "Set": "set",
    "FrozenSet": "frozenset",
    "Type": "type",
}


def _annotation(value: Any) -> str:
    """A return annotation in one spelling: module prefixes dropped (``t.List``, ``te.NoReturn``),
    ``List`` as ``list``, ``Optional[X]`` as ``X | None`` and ``Union[A, B]`` as ``A | B`` (at the top level),
    whitespace and quotes ignored."""
    text = str(value).replace(" ", "").replace("'", "").replace('"', "")
    text = re.sub(r"\b(?:[A-Za-z_]\w*\.)+([A-Za-z_]\w*)", r"\1", text)  # t.List, te.NoReturn, cabc.Sequence
    text = re.sub(r"\b(List|Dict|Tuple|Set|FrozenSet|Type)\b", lambda m: _TYPING_ALIASES[m.group(1)], text)
    for _ in range(3):
        text = re.sub(r"^Optional\[(.*)\]$", r"\1|None", text)
        text = re.sub(r"^Union\[(.*)\]$", lambda m: "|".join(_split(m.group(1), ",")), text)
    return text


_DEPTH = {"[": 1, "(": 1, "]": -1, ")": -1}


def _split(text: str, sep: str) -> list[str]:
    """``A,B[C,D]`` split on ``,`` as ``["A", "B[C,D]"]``: only at the top level of brackets."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += _DEPTH.get(char, 0)
        if char == sep and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]


def _members(obj: griffe.Object | griffe.Alias) -> dict[str, griffe.Object | griffe.Alias]:
    """A module's members, or a class's with the inherited ones (a method moved into the class from a base it drops
    is not new)."""
    if isinstance(obj, griffe.Alias) or not (obj.is_module or obj.is_class):
        return {}
    if obj.is_class:
        try:
            return dict(obj.all_members)
        except (griffe.AliasResolutionError, griffe.CyclicAliasError, ValueError):
            pass
    return dict(obj.members)


def additions(old: griffe.Object | None, new: griffe.Object, exclude: Sequence[str]) -> list[ApiChange]:
    """What the new tree adds to the public surface (features), and the return annotations that changed (breaking):
    walked from ``new`` (``old`` None: the whole import package is new)."""
    found: list[ApiChange] = []
    _walk(old, new, exclude, found)
    return found


def _walk(
    old: griffe.Object | griffe.Alias | None,
    new: griffe.Object | griffe.Alias,
    exclude: Sequence[str],
    found: list[ApiChange],
    seen: set[str] | None = None,
) -> None:
    seen = set() if seen is None else seen
    if excluded(new.path, exclude):
        return
    if old is None:
        if _kind(new) in _ADDED_KINDS:
            found.append(ApiChange(FEATURE, "added", new.path, None, _form(new)))
        return
    if isinstance(old, griffe.Alias) and isinstance(new, griffe.Alias):
        try:  # a public name re-exported from a private module: compare what it names
            old, new = old.final_target, new.final_target
        except griffe.AliasResolutionError:
            return
    if new.path in seen or excluded(new.path, exclude):
        return
    seen.add(new.path)
    if isinstance(new, griffe.Function) and isinstance(old, griffe.Function):
        _function_changes(old, new, found)
        return
    old_members, new_members = _members(old), _members(new)
    for name, before in old_members.items():
        after = new_members.get(name)
        if after is None or name.startswith("__") or excluded(after.path, exclude):
            continue  # gone (griffe reports it), or a dunder such as __version__: public whatever __all__ says
        if _public(before) and not _public(after):
            found.append(ApiChange(BREAKING, "no longer public", after.path, _form(before), "private"))
    for name, member in new_members.items():
        prior = old_members.get(name)
        if not _public(member) or (prior is None and name.startswith("_")):
            continue  # private, or a new special method (no new public name)
        if prior is not None and (prior.is_alias != member.is_alias or prior.kind != member.kind):
            continue  # griffe reports a changed kind
        _walk(prior, member, exclude, found, seen)


_ADDED_KINDS = frozenset({"module", "class", "function", "name"})
"""What counts as a new public name (a new attribute, such as an instance attribute set in ``__init__``, does not)."""


def _kind(obj: griffe.Object | griffe.Alias) -> str:
    try:
        target = obj.final_target if isinstance(obj, griffe.Alias) else obj
    except griffe.AliasResolutionError:
        return "name"
    return str(target.kind.value)


def _function_changes(old: griffe.Function, new: griffe.Function, found: list[ApiChange]) -> None:
    """A new parameter with a default (feature); a return annotation that now admits what it did not (breaking)."""
    names = {p.name for p in old.parameters}
    for param in new.parameters:
        if param.name not in names and not param.required and not param.name.startswith("_"):
            found.append(ApiChange(FEATURE, "parameter added", f"{new.path}({param.name})", None, _param(param)))
    if not (old.overloads or new.overloads) and _widened(old.returns, new.returns):
        found.append(ApiChange(BREAKING, "return type changed", new.path, str(old.returns), str(new.returns)))


def _widened(old: Any, new: Any) -> bool:
    """The new return annotation admits a type the old did not, spelled alike (:func:`_annotation`): a function
    that returned nothing (``None``) or anything (``Any``) may return something more; a narrower return (``X | None``
    to ``X``) breaks no caller; an overloaded function's implementation annotation is not its contract."""
    if old is None or new is None or re.search(r"(?<![\w.])_[A-Za-z]", str(old)):
        return False  # a private type's name says nothing of its shape (``_HookImplOpts`` made ``HookimplOpts``)
    before, after = _union(_annotation(old)), _union(_annotation(new))
    if before == {"None"} or (before | after) & {"Any", "object"}:
        return False  # nothing returned before, or anything at all: no caller relied on a type
    return not after <= before


def _union(text: str) -> set[str]:
    """The members of a top-level ``A | B`` union (brackets kept whole)."""
    return {p for p in _split(text, "|") if p}


# --------------------------------------------------------------------------------------------------- pyproject


def _floor(spec: str | None) -> str | None:
    """The oldest Python (3.N) a ``requires-python`` admits (None: every one)."""
    if spec is None:
        return None
    try:
        specifier = SpecifierSet(spec)
    except InvalidSpecifier:
        return None
    return next((v for v in _PYTHONS if specifier.contains(v, prereleases=True)), None)


def pyproject_findings(old_text: str | None, new_text: str | None) -> list[ApiChange]:
    """Console scripts, GUI scripts, entry points and extras removed (breaking) or added (feature), and a raised
    ``requires-python`` (breaking), from the two pyproject texts."""
    old = runtime_fields(old_text) if old_text else None
    new = runtime_fields(new_text) if new_text else None
    unknown = _not_static(old_text) | _not_static(new_text)
    if old is None or new is None or "*" in unknown:
        return []
    found: list[ApiChange] = []
    for key in sorted({*old, *new}):
        if key.split(".")[0] in unknown:
            continue
        before, after = old.get(key), new.get(key)
        if key in _SCRIPT_TABLES or key.startswith("entry-points."):
            what = _SCRIPT_TABLES.get(key) or f"entry point [{key.removeprefix('entry-points.')}]"
            before, after = before or {}, after or {}
            found += [ApiChange(BREAKING, f"{what} removed", n, before[n]) for n in sorted(set(before) - set(after))]
            found += [ApiChange(FEATURE, f"{what} added", n, None, after[n]) for n in sorted(set(after) - set(before))]
        elif key.startswith("optional-dependencies."):
            extra = f"[{key.removeprefix('optional-dependencies.')}]"
            if after is None:
                found.append(ApiChange(BREAKING, "extra removed", extra, _reqs(before)))
            elif before is None:
                found.append(ApiChange(FEATURE, "extra added", extra, None, _reqs(after)))
    old_floor, new_floor = _floor(old.get("requires-python")), _floor(new.get("requires-python"))
    if "requires-python" not in unknown and new_floor and (old_floor is None or _key(new_floor) > _key(old_floor)):
        found.append(
            ApiChange(BREAKING, "requires-python raised", "requires-python", old.get("requires-python"), new_floor)
        )
    return found


def _not_static(text: str | None) -> set[str]:
    """The ``[project]`` fields a pyproject does not state: its ``dynamic`` ones, or every one (``*``) when it has
    no ``[project]`` table (the metadata lives in setup.cfg, setup.py or a tool's own table)."""
    try:
        project = tomllib.loads(text or "").get("project")
    except tomllib.TOMLDecodeError:
        return {"*"}
    if not isinstance(project, dict) or "name" not in project:
        return {"*"}
    dynamic = project.get("dynamic", [])
    return {str(d) for d in dynamic} if isinstance(dynamic, list) else set()


def _reqs(reqs: Any) -> str:
    return ", ".join(str(r).replace("[]", "") for r in reqs or [])


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


# --------------------------------------------------------------------------------------------------- loading


@contextlib.contextmanager
def _quiet_griffe() -> Iterator[None]:
    """griffe's warnings (an unresolved alias, a docstring it cannot parse) are not this tool's output."""
    log = logging.getLogger("griffe")
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        log.setLevel(level)


def _search_paths(prefix: str) -> list[str]:
    base = prefix.rstrip("/")
    return [f"{base}/src" if base else "src", base or "."]


def _load(name: str, top: Path, ref: str, prefix: str, on_disk: bool) -> griffe.Object | None:
    """The import package ``name`` at ``ref`` of the repository ``top`` (None: it is not there): from the checkout
    when ``on_disk``."""
    kwargs: dict[str, Any] = {"allow_inspection": False, "resolve_aliases": False}
    try:
        if on_disk:
            found = griffe.load(name, search_paths=[top / p for p in _search_paths(prefix)], **kwargs)
        else:
            found = griffe.load_git(name, ref=ref, repo=top, search_paths=_search_paths(prefix), **kwargs)
    except ModuleNotFoundError:
        return None
    return found if isinstance(found, griffe.Object) else None


def code_findings(
    git: Git, imports: Sequence[str], base: str, target: str, prefix: str, exclude: Sequence[str]
) -> list[ApiChange]:
    """The code's findings for every import package between the two revisions."""
    on_disk = _is_checkout(git, target, prefix)
    top = Path(git.run("rev-parse", "--show-toplevel"))
    found: list[ApiChange] = []
    with _quiet_griffe():
        for name in imports:
            if excluded(name, exclude):
                continue
            old = _load(name, top, base, prefix, on_disk=False)
            new = _load(name, top, target, prefix, on_disk=on_disk)
            if old is not None and new is None:
                found.append(ApiChange(BREAKING, "removed", name, "module"))
            elif new is not None:
                if old is not None:
                    found += breaking_changes(old, new, exclude)
                found += additions(old, new, exclude)
    return found


def _is_checkout(git: Git, target: str, prefix: str) -> bool:
    """The target is the checked-out commit and the package's files are unchanged in the work tree."""
    if git.run("rev-parse", f"{target}^{{commit}}") != git.run("rev-parse", "HEAD^{commit}"):
        return False
    return not git.run("status", "--porcelain", "--untracked-files=no", "--", f":(top){prefix}")


# --------------------------------------------------------------------------------------------------- the diff


def trees(git: Git, refs: Sequence[str], prefix: str) -> list[str]:
    """The git tree hashes of the package directory at each of ``refs`` (one git call)."""
    return git.run("rev-parse", *(f"{ref}:{prefix}" if prefix else f"{ref}^{{tree}}" for ref in refs)).split()


def cache_key(pkg: Package, base_tree: str, target_tree: str) -> str:
    data = {
        "rules": RULES_VERSION,
        "griffe": _griffe_version(),
        "imports": list(pkg.imports),
        "exclude": list(pkg.api_exclude),
        "trees": [base_tree, target_tree],
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:32]


def _griffe_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("griffelib")
    except PackageNotFoundError:
        return version("griffe")


def api_diff(
    pkg: Package, git: Git, base: str, target: str, *, use_cache: bool = True, prefix: str | None = None
) -> ApiDiff:
    """The public API diff of ``pkg`` from the release tag ``base`` to ``target`` (``git`` runs in the package's
    directory, ``prefix`` is that directory from the repository root when the caller knows it), read from the cache
    when both trees were diffed before."""
    prefix = git.run("rev-parse", "--show-prefix") if prefix is None else prefix
    try:
        base_tree, target_tree = trees(git, (base, target), prefix)
    except GitError:
        return ApiDiff(base, target, error=f"the package directory {prefix or '.'} is not in both {base} and {target}")
    path = cache_part("apidiff") / f"{cache_key(pkg, base_tree, target_tree)}.json" if use_cache else None
    if path is not None and path.is_file():
        cached = _read(path, base, target)
        if cached is not None:
            return cached
    try:
        found = code_findings(git, pkg.imports, base, target, prefix, pkg.api_exclude)
    except (griffe.GriffeError, OSError, SyntaxError, ValueError) as exc:
        return ApiDiff(base, target, error=f"griffe could not read the code ({type(exc).__name__}: {exc})")
    old_py = _show(git, base, f"{prefix}pyproject.toml")
    new_py = _show(git, target, f"{prefix}pyproject.toml")
    found += pyproject_findings(old_py, new_py)
    diff = ApiDiff(base, target, tuple(_ordered(found)))
    if path is not None:
        write_json(path, [c.as_dict() for c in diff.changes])
    return diff


def _ordered(found: list[ApiChange]) -> list[ApiChange]:
    rank = {BREAKING: 0, FEATURE: 1, INTERNAL: 2}
    unique = list(dict.fromkeys(found))
    return sorted(unique, key=lambda c: (rank[c.level], c.path, c.kind))


def _read(path: Path, base: str, target: str) -> ApiDiff | None:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        changes = tuple(ApiChange(**item) for item in raw)
    except (OSError, ValueError, TypeError):
        return None
    return ApiDiff(base, target, changes, cached=True)


def _show(git: Git, rev: str, path: str) -> str | None:
    if not git.ok("cat-file", "-e", f"{rev}:{path}"):
        return None
    return git.run("show", f"{rev}:{path}", strip=False)

"""The registry's field checks: one TOML table against its fields, string lists, Python versions, URLs, relative
paths, tag formats, ref names, the release branch and GitHub ``owner/name``.

Each raises :class:`juniper_release.errors.ConfigError` with the file, the field and the fix; called by the strict
loader :mod:`juniper_release.ecosystem.registry` (and :func:`bad_ref_name` by the maintenance lines).
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from juniper_release.ecosystem.model import PYTHON_CANDIDATES, is_url
from juniper_release.ecosystem.paths import inside
from juniper_release.errors import ConfigError

_REPO_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


_PYTHON_RE = re.compile(r"^3\.\d+$")


def _type_name(tp: type) -> str:
    return {str: "a string", int: "an integer", bool: "true or false", list: "a list", dict: "a table"}[tp]


def _table(
    file: str, where: str, raw: Any, fields: Mapping[str, type], optional: set[str] | frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Check one TOML table against its fields: unknown keys, missing keys and wrong types are errors."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{file}: {where} must be a table", f"write it as [{where}]")
    for key in raw:
        if key not in fields:
            raise ConfigError(
                f"{file}: unknown key {where}.{key}",
                f"remove it or use one of: {', '.join(fields)}",
            )
    out: dict[str, Any] = {}
    for key, tp in fields.items():
        if key not in raw:
            if key in optional:
                continue
            raise ConfigError(f"{file}: missing field {where}.{key}", f"add {key} = ... ({_type_name(tp)})")
        value = raw[key]
        # bool is a subclass of int: a layer of `true` is not an integer.
        if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
            raise ConfigError(
                f"{file}: {where}.{key} must be {_type_name(tp)}, got {type(value).__name__} {value!r}",
                f"set {key} to {_type_name(tp)}",
            )
        out[key] = value
    return out


def _string_list(file: str, where: str, key: str, value: list[Any]) -> tuple[str, ...]:
    for item in value:
        if not isinstance(item, str):
            raise ConfigError(
                f"{file}: {where}.{key} must be a list of strings, got {item!r}", f"quote every item of {key}"
            )
    return tuple(value)


def _pythons(file: str, where: str, raw: dict[str, Any]) -> tuple[str, ...]:
    """The optional ``python`` list: distinct "3.N" strings among the candidate interpreters."""
    if "python" not in raw:
        return ()
    value = raw["python"]
    fix = (
        f"write python = [{', '.join(repr(p) for p in PYTHON_CANDIDATES[1:])}] (a list), or drop it to verify on "
        "the floor of the package's requires-python"
    )
    if not isinstance(value, list):
        raise ConfigError(f"{file}: {where}.python must be a list of versions like '3.12', got {value!r}", fix)
    if not value:
        raise ConfigError(f"{file}: {where}.python is an empty list", fix)
    for item in value:
        if not isinstance(item, str) or not _PYTHON_RE.match(item) or item not in PYTHON_CANDIDATES:
            raise ConfigError(
                f"{file}: {where}.python: {item!r} is not one of the supported Pythons {', '.join(PYTHON_CANDIDATES)}",
                fix,
            )
    if len(set(value)) != len(value):
        raise ConfigError(f"{file}: {where}.python lists a version twice: {value!r}", fix)
    return tuple(sorted(value, key=PYTHON_CANDIDATES.index))


def _check_url(file: str, where: str, value: str) -> None:
    if not is_url(value):
        raise ConfigError(
            f"{file}: {where} is not a valid http(s) URL: {value!r}",
            "write a full URL such as https://pypi.org/simple/",
        )


def _relative(file: str, where: str, key: str, value: str, example: str, place: str = "its directory") -> str:
    """A relative path inside a directory (no absolute path, no ``..``), normalised to forward slashes: the one rule
    of :func:`paths.inside`, which every path the registry names goes through."""
    if ".." in Path(value).parts:  # even a/../b: the registry names its paths plainly
        raise ConfigError(
            f"{file}: {where}: {key} {value!r} must be a relative path inside {place} (it holds '..')",
            f"write {key} = {example!r}",
        )
    return inside(
        value, field=key, where=f"{file}: {where}", place=place, fix=f"write {key} = {example!r}", error=ConfigError
    )


def _paths(file: str, where: str, key: str, data: dict[str, Any]) -> tuple[str, ...]:
    """The optional ``ship_paths``/``exclude_paths``: a non-empty list of distinct relative paths (files, directories
    or globs inside the package directory)."""
    if key not in data:
        return ()
    items = _string_list(file, where, key, data[key])
    fix = f"list paths relative to the package directory, such as {key} = ['src/pkg', 'data/*.json'], or drop {key}"
    if not items:
        raise ConfigError(f"{file}: {where}.{key} is an empty list", fix)
    paths = tuple(_relative(file, where, key, item.rstrip("/"), "src/pkg") for item in items)
    if len(set(paths)) != len(paths):
        raise ConfigError(f"{file}: {where}.{key} lists a path twice: {list(items)!r}", fix)
    return paths


def _check_tag_format(file: str, where: str, fmt: str, fix: str) -> None:
    """A tag format has exactly one ``{version}`` and no other placeholder than ``{name}``."""
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(fmt) if f is not None]
    except ValueError:
        fields = ["?"]
    if fields.count("version") != 1 or any(f not in {"version", "name"} for f in fields):
        raise ConfigError(f"{file}: {where}tag_format {fmt!r} has no {{version}} (or another placeholder)", fix)
    sample = fmt.replace("{name}", "pkg").replace("{version}", "1.0.0rc1")
    bad = bad_ref_name(sample)
    if bad:
        raise ConfigError(f"{file}: {where}tag_format {fmt!r} makes tags git refuses ({sample!r}: {bad})", fix)


_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")


def bad_ref_name(tag: str) -> str | None:
    """Why git would refuse ``tag`` as a tag name (``git check-ref-format`` rules), or None when it is valid."""
    if not tag:
        return "it is empty"
    forbidden = _REF_FORBIDDEN.search(tag)
    if forbidden:
        return f"it holds {forbidden.group()!r}"
    if ".." in tag or "@{" in tag or "//" in tag or tag == "@":
        return "it holds '..', '//' or '@{'"
    if tag.startswith(("/", "-")) or tag.endswith(("/", ".", ".lock")):
        return "it starts with '/' or '-', or ends with '/', '.' or '.lock'"
    if any(part.startswith(".") or part.endswith(".lock") for part in tag.split("/")):
        return "a part starts with '.' or ends with '.lock'"
    return None


def _check_branch(file: str, branch: str) -> None:
    """``settings.branch`` is a name git accepts for a branch (``git check-ref-format --branch``): it reaches git
    commands and the commands Fix: hints print."""
    bad = "it is 'HEAD'" if branch == "HEAD" else bad_ref_name(branch)
    if bad is None and branch.startswith("-"):
        bad = "it starts with '-'"
    if bad is None and branch.startswith("refs/"):
        bad = "it is a full ref, not a branch name"
    if bad:
        raise ConfigError(
            f"{file}: settings.branch {branch!r} is not a branch name git accepts ({bad})",
            "write the release branch's name, such as branch = 'main'",
        )


def _check_repo(file: str, where: str, repo: str) -> None:
    """``owner/name`` as GitHub spells it: never a path such as ``../..`` (it would be planned as a clone source)."""
    owner, _, name = repo.partition("/")
    valid = (
        _REPO_RE.match(repo)
        and re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?", owner)
        and name not in {".", ".."}
        and not name.startswith(".")
        and not name.lower().endswith(".git")
    )
    if not valid:
        raise ConfigError(
            f"{file}: {where}: repo {repo!r} is not a GitHub owner/name",
            "write repo = 'owner/name' (letters, digits and '-' in the owner; no '.', '..' or '.git' in the name)",
        )

"""The registry's fields about how a package is released: its pre-release workflow and its notes convention.

Parsed here, beside :mod:`juniper_release.ecosystem.registry` (which calls these functions), so each concern stays
small: ``prerelease_workflow`` on ``[settings]`` and on a ``[[package]]`` (the workflow a pre-release GitHub Release
triggers, beside the ``publish_workflow`` that handles finals), and a package's ``notes`` (one of
:data:`juniper_release.ecosystem.notes.CONVENTIONS`; absent: detected from the checkout).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from juniper_release.ecosystem.notes import CONVENTIONS
from juniper_release.errors import ConfigError

SETTINGS_FIELDS: dict[str, type] = {"prerelease_workflow": str}
PACKAGE_FIELDS: dict[str, type] = {"prerelease_workflow": str, "notes": str}

_EXAMPLE = ".github/workflows/publish-testpypi.yml"


def _workflow_path(file: str, where: str, value: str) -> str:
    """A workflow path relative to the repository root (no absolute path, no ``..``), forward slashes."""
    parts = Path(value).parts
    if not value or Path(value).is_absolute() or ".." in parts or value.startswith("~"):
        raise ConfigError(
            f"{file}: {where}prerelease_workflow {value!r} must be a path relative to the repository root",
            f"write prerelease_workflow = {_EXAMPLE!r}",
        )
    if not value.endswith((".yml", ".yaml")):
        raise ConfigError(
            f"{file}: {where}prerelease_workflow {value!r} is not a workflow file (.yml or .yaml)",
            f"write prerelease_workflow = {_EXAMPLE!r}",
        )
    return "/".join(p for p in parts if p != ".")


def settings_prerelease_workflow(file: str, settings: dict[str, Any]) -> str | None:
    """``settings.prerelease_workflow`` (None: the publish workflow handles pre-releases too)."""
    value = settings.get("prerelease_workflow")
    return None if value is None else _workflow_path(file, "settings.", value)


def package_release_fields(file: str, where: str, data: dict[str, Any]) -> dict[str, Any]:
    """A package's ``prerelease_workflow`` and ``notes``, as :class:`Package` keyword arguments."""
    out: dict[str, Any] = {}
    if "prerelease_workflow" in data:
        out["prerelease_workflow"] = _workflow_path(file, f"{where}: ", data["prerelease_workflow"])
    if "notes" in data:
        if data["notes"] not in CONVENTIONS:
            raise ConfigError(
                f"{file}: {where}: notes {data['notes']!r} is not a release-notes convention",
                f"use one of: {', '.join(CONVENTIONS)} (or drop notes to detect it from the checkout)",
            )
        out["notes"] = data["notes"]
    return out

"""Markdown summaries for a GitHub step summary: the verify-all or train table, and the Mermaid dependency graph.

Written to ``--markdown PATH``, else appended to ``$GITHUB_STEP_SUMMARY`` when that is set (GitHub Actions renders
that file on the run's page, Mermaid included); neither given, nothing is written.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from juniper_release.output import markdown

ENV_STEP_SUMMARY = "GITHUB_STEP_SUMMARY"


def summary_path(option: str | None, env: Mapping[str, str] | None = None) -> Path | None:
    """Where the summary goes: ``--markdown PATH``, else ``$GITHUB_STEP_SUMMARY``, else nowhere (None)."""
    env = os.environ if env is None else env
    chosen = option or env.get(ENV_STEP_SUMMARY)
    return Path(chosen) if chosen else None


def render(title: str, rows: Sequence[Mapping[str, Any]], verdict: str, mermaid: str | None = None) -> str:
    """``## title``, the table, the one-line verdict and, when given, the graph as a ``mermaid`` block."""
    parts = [f"## {title}", "", markdown(rows), "", verdict]
    if mermaid:
        parts += ["", "```mermaid", mermaid.rstrip("\n"), "```"]
    return "\n".join(parts) + "\n"


def write(path: Path | None, text: str, *, append: bool | None = None) -> None:
    """Write ``text`` to ``path`` (appended when it is ``$GITHUB_STEP_SUMMARY``, as GitHub expects); None: nothing."""
    if path is None:
        return
    if append is None:
        append = str(path) == os.environ.get(ENV_STEP_SUMMARY)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a" if append else "w", encoding="utf-8") as fh:
        fh.write(text)

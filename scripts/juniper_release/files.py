"""Writing files: the atomic JSON writer, and the unified diff that shows a file's planned change."""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from typing import Any


def unified_diff(old: str | None, new: str, label: str) -> str:
    """A unified diff of a file's text as ``a/label`` -> ``b/label`` (``/dev/null`` when ``old`` is None)."""
    return "".join(
        difflib.unified_diff(
            (old or "").splitlines(keepends=True),
            new.splitlines(keepends=True),
            f"a/{label}" if old is not None else "/dev/null",
            f"b/{label}",
        )
    )


def write_json(path: Path, data: Any, *, sort_keys: bool = False) -> None:
    """Write JSON atomically: a temporary file beside ``path``, then a rename (never a half-written file)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=sort_keys, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)

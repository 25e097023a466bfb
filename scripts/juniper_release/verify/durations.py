"""How long each package took last time, per kind of run (``verify``, ``train``): the ETA of the progress display.

One small JSON file in the cache dir, ``durations.json``: ``{kind: {package: seconds}}``. A damaged or missing file
means no ETA, never an error; ``nox -s clean`` leaves it (it holds no result, only timings).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from juniper_release.ecosystem.registry import cache_dir

FILE = "durations.json"


def durations_path() -> Path:
    return cache_dir() / FILE


def _load() -> dict[str, dict[str, float]]:
    try:
        data = json.loads(durations_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        str(k): {str(n): float(s) for n, s in v.items() if isinstance(s, int | float)}
        for k, v in data.items()
        if isinstance(v, dict)
    }


def recorded(kind: str) -> dict[str, float]:
    """The seconds each package took in the last ``kind`` run that finished it (empty when never recorded)."""
    return _load().get(kind, {})


def record(kind: str, seconds: Mapping[str, float]) -> None:
    """Remember ``seconds`` per package for ``kind`` (merged with the others'); never fails the run."""
    if not seconds:
        return
    data = _load()
    data.setdefault(kind, {}).update({n: round(s, 2) for n, s in seconds.items()})
    path = durations_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass

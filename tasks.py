"""Invoke tasks for juniper-release: `inv --list` shows them all, `inv --help TASK` shows a task's options.

Each task is a short checklist that calls the engine in ``scripts/juniper_release``. Every irreversible task (push,
release, upload, transfer) is a dry run unless given ``--execute``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "scripts"))

from juniper_release.errors import JuniperError  # noqa: E402

F = TypeVar("F", bound=Callable[..., Any])


def guarded(fn: F) -> F:
    """Turn an engine error into a one-line message and its exit code (never a traceback)."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except JuniperError as exc:
            raise Exit(f"error: {exc}", code=exc.exit_code) from None

    return wrapper  # type: ignore[return-value]


# ----------------------------------------------------------------------------------------------- foundation (issue 2)
# (clone, graph, check, status tasks go here)

# ----------------------------------------------------------------------------------------------- release (issue 4)
# (bump, release, release-train, rehearse tasks go here)

# ----------------------------------------------------------------------------------------------- workflows (issue 5)
# (workflows task goes here)

# ----------------------------------------------------------------------------------------------- transfer (issue 6)
# (transfer, transfer-status tasks go here)

__all__ = ["Context", "guarded", "task"]

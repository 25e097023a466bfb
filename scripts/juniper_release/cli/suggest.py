"""Nearest known names for a typo, shared by the console script, invoke and nox (no invoke import: nox uses it)."""

from __future__ import annotations

import difflib
from collections.abc import Sequence


def did_you_mean(word: str, known: Sequence[str], cutoff: float = 0.6) -> str:
    """`` (did you mean X?)`` for the known name nearest ``word`` (never ``word`` itself), else nothing."""
    close = difflib.get_close_matches(word, [k for k in known if k != word], n=1, cutoff=cutoff)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown_sessions(argv: Sequence[str], known: Sequence[str]) -> str | None:
    """nox's ``-s``/``--session`` names in ``argv`` that name no session: one line with the nearest known name
    (``nox -s verfy-all`` names ``verify-all``), or None. A parametrized name (``verify(pkg)``) counts as its base."""
    wanted: list[str] = []
    taking = False
    for word in argv[1:]:
        if word == "--":
            break
        if word.startswith(("--session=", "--sessions=")):
            wanted.append(word.split("=", 1)[1])
        elif word in ("-s", "--session", "--sessions", "-e"):
            taking = True
        elif word.startswith("-"):
            taking = False
        elif taking:
            wanted.append(word)
    bad = [w for w in wanted if w not in known and w.split("(")[0] not in known]
    if not bad:
        return None
    return (
        f"error: nox has no session {bad[0]!r}{did_you_mean(bad[0], known)}. Fix: see `nox -l` "
        "(or `juniper-release --help` for the tasks)"
    )

"""Verification on more than one Python: one ``verify_all`` round per position in the packages' Python lists.

Round 1 verifies every selected package on its first Python (its floor by default); round 2 those with a second
Python on it, and so on. A package whose Pythons cannot be chosen (a requires-python no interpreter found admits)
fails its pre-check in round 1 with the reason.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from juniper_release.ecosystem.registry import Registry
from juniper_release.errors import JuniperError
from juniper_release.output import NORMAL
from juniper_release.verify.pythons import choose_for_checkout
from juniper_release.verify.scheduler import VerifyReport, report_missing, verify_all


def verify_pythons(
    registry: Registry,
    workspace: Path,
    packages: Iterable[str] | None = None,
    *,
    python: str | None = None,
    force: bool = False,
    keep_going: bool = False,
    log: Callable[[str], None] | None = None,
    verbosity: int = NORMAL,
) -> VerifyReport:
    """``verify_all`` on each selected package's Pythons (``python``: a request, see ``verify.pythons.choose``)."""
    if packages is not None:
        names = [registry.get(n).name for n in packages]
    else:  # every package the checkouts have: one an older checkout lacks is reported, never verified
        absent = report_missing(registry, workspace, log or (lambda line: print(line, file=sys.stderr, flush=True)))
        names = [n for n in registry.names if n not in absent]
    lists: dict[str, tuple[str, ...]] = {}
    for name in names:
        try:
            lists[name] = choose_for_checkout(registry.get(name), workspace, python)
        except JuniperError:
            lists[name] = ()  # round 1 verifies it without a Python, which fails its pre-check with the reason
    rounds = max((len(v) for v in lists.values()), default=1) or 1
    reports: list[VerifyReport] = []
    for i in range(rounds):
        chosen = {n: v[i] for n, v in lists.items() if len(v) > i}
        selected = [n for n in names if n in chosen or i == 0]
        reports.append(
            verify_all(
                registry,
                workspace,
                selected,
                pythons=chosen,
                python=python,
                force=force,
                keep_going=keep_going,
                log=log,
                verbosity=verbosity,
            )
        )
    if len(reports) == 1:
        return reports[0]
    return VerifyReport(
        [r for report in reports for r in report.results],
        sum(r.seconds for r in reports),
        sum(r.builds for r in reports),
        reports[-1].wheelhouse,
    )

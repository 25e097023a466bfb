"""The invoke front door: `invoke --list` in this checkout. The tasks live in the engine
(:mod:`juniper_release.cli.tasks`), which the ``juniper-release`` console script runs too."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "scripts"))  # the engine, used from the checkout

from juniper_release.cli.program import explain_invoke_errors
from juniper_release.cli.tasks import ns

explain_invoke_errors()  # `invoke relase` names `release`, as the console script does

__all__ = ["ns"]

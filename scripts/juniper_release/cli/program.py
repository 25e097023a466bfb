"""The ``juniper-release`` console script: an invoke ``Program`` over the same tasks as ``invoke`` in the checkout.

It works from any directory. The registry comes from ``--registry``, then ``$JUNIPER_REGISTRY``, then the nearest
``repos.toml`` from the working directory upwards, then this checkout's (:func:`ecosystem.paths.registry_path`).
An unknown task or option is a one-line error with the nearest known name ("did you mean"). Shell completion is
invoke's: ``juniper-release --print-completion-script bash >> ~/.bashrc`` (or ``zsh``, ``fish``).
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Sequence

from invoke.exceptions import ParseError
from invoke.program import Program

from juniper_release import __version__
from juniper_release.cli.tasks import ns
from juniper_release.errors import EXIT_ERROR


def _options_of(program: Program) -> list[str]:
    names: list[str] = []
    for name in program.collection.task_names:
        for arg in program.collection[name].get_arguments(ignore_unknown_help=True):
            names += [f"--{n}" if len(n) > 1 else f"-{n}" for n in arg.names]
    return names


def did_you_mean(word: str, known: Sequence[str]) -> str:
    """`` (did you mean X?)`` for the known name nearest ``word``, else nothing."""
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class JuniperProgram(Program):
    """invoke's Program, whose parse errors name the nearest task or option."""

    def parse_tasks(self) -> None:
        try:
            super().parse_tasks()
        except ParseError as exc:
            text = str(exc)
            word = text.split("'")[1] if text.count("'") >= 2 else ""
            known = list(self.collection.task_names) + _options_of(self)
            hint = did_you_mean(word, known) if word else ""
            print(f"error: {text}{hint}. Fix: see `{self.binary_names[0]} --list`", file=sys.stderr)
            raise SystemExit(EXIT_ERROR) from None


program = JuniperProgram(namespace=ns, name="juniper-release", binary="juniper-release", version=__version__)


def main() -> None:
    """The console script's entry point (a closed pipe, as ``| head`` makes, ends it quietly)."""
    try:
        program.run()
    except BrokenPipeError:
        sys.stderr.close()
        raise SystemExit(0) from None

"""The ``juniper-release`` console script: an invoke ``Program`` over the same tasks as ``invoke`` in the checkout.

It works from any directory. The registry comes from ``--registry``, then ``$JUNIPER_REGISTRY``, then the nearest
``repos.toml`` from the working directory upwards, then this checkout's (:func:`ecosystem.paths.registry_path`).
A parse error is one line naming the task, the nearest known name ("did you mean") and the task's ``--help``; the
same explanation reaches ``invoke`` in the checkout (:func:`explain_invoke_errors`). Help and completion are in
:mod:`juniper_release.cli.helptext`; ``juniper-release --print-completion-script bash >> ~/.bashrc`` (or ``zsh``).
"""

from __future__ import annotations

import re
import sys
from typing import NoReturn

from invoke.collection import Collection
from invoke.exceptions import ParseError
from invoke.program import Program

from juniper_release import __version__
from juniper_release.cli.helptext import HelpfulProgram
from juniper_release.cli.suggest import did_you_mean
from juniper_release.cli.tasks import ns
from juniper_release.errors import EXIT_ERROR


def _options(collection: Collection, task: str) -> list[str]:
    names: list[str] = []
    for arg in collection[task].get_arguments(ignore_unknown_help=True):
        names += [f"--{n}" if len(n) > 1 else f"-{n}" for n in arg.names]
    return names


def explain(exc: ParseError, collection: Collection, prog: str) -> str:
    """invoke's parse error as one line: what is wrong, the nearest known name, and where the help is."""
    text = str(exc)
    task = exc.context.name if exc.context is not None and exc.context.name in collection.task_names else None
    helps = f"see `{prog} {task} --help`" if task else f"see `{prog} --help`"
    if missing := re.match(r"Flag <Argument: ([\w-]+)", text):
        name = missing.group(1)
        return f"{task or prog}: --{name} needs a value. Fix: pass --{name} VALUE ({helps})"
    unknown = re.match(r"No idea what '(.*)' is!", text)
    if not unknown:
        return f"{task or prog}: {text.rstrip('!')}. Fix: {helps}"
    word = unknown.group(1)
    if word.startswith("-") and task:
        return f"{task} has no option {word}{did_you_mean(word, _options(collection, task), 0.75)}. Fix: {helps}"
    if word.startswith("-"):
        return f"unknown option {word} (a task's options go after the task). Fix: {helps}"
    hint = did_you_mean(word, list(collection.task_names))
    after = f" (after {task}, which takes no positional argument)" if task else ""
    return f"unknown task {word!r}{after}{hint}. Fix: see `{prog} --list` or `{prog} --help`"


class JuniperProgram(HelpfulProgram):
    """invoke's Program, whose parse errors are one explained line (exit 2)."""

    def parse_tasks(self) -> None:
        try:
            super().parse_tasks()
        except ParseError as exc:
            self._fail(exc)

    def parse_cleanup(self) -> None:
        try:
            super().parse_cleanup()
        except ParseError as exc:  # `--help relase`
            self._fail(exc)

    def _fail(self, exc: ParseError) -> NoReturn:
        print(f"error: {explain(exc, self.collection, self.binary_names[0])}", file=sys.stderr)
        raise SystemExit(EXIT_ERROR) from None


def explain_invoke_errors() -> None:
    """Give ``invoke`` in the checkout the same one-line parse errors (``invoke relase`` names ``release``):
    ``tasks.py`` calls this while invoke's own Program loads it, before the tasks are parsed."""
    original = Program.parse_tasks
    if getattr(original, "explained", False):
        return

    def parse_tasks(self: Program) -> None:
        try:
            original(self)
        except ParseError as exc:
            print(f"error: {explain(exc, self.collection, 'invoke')}", file=sys.stderr)
            raise SystemExit(EXIT_ERROR) from None

    parse_tasks.explained = True  # type: ignore[attr-defined]
    Program.parse_tasks = parse_tasks  # type: ignore[method-assign]


program = JuniperProgram(namespace=ns, name="juniper-release", binary="juniper-release", version=__version__)


def main() -> None:
    """The console script's entry point (a closed pipe, as ``| head`` makes, ends it quietly)."""
    try:
        program.run()
    except BrokenPipeError:
        sys.stderr.close()
        raise SystemExit(0) from None


__all__ = ["did_you_mean", "explain", "main", "program"]

"""One command line: every option's short flag is the same in every task, and a short flag means one option.

invoke derives short flags from the first free letter of each parameter, so ``-d`` meant ``--defects`` in one task,
``--dry-run`` in another and ``--dir`` in a third. Here :data:`SHORT` is the only source of short flags: the
:func:`task` decorator gives each parameter the short flag the table names, or none. ``--package`` takes one
package or a comma list, and ``--packages`` is the same option under its plural name.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NoReturn

from juniper_release.frontdoor import HELP

SHORT: dict[str, str] = {
    "package": "p",
    "workspace": "w",
    "sandbox": "s",
    "registry": "r",
    "layout": "l",
    "execute": "x",
    "yes": "y",
    "json": "j",
    "dry_run": "n",
    "timeout": "t",
    "mode": "m",
    "quiet": "q",
    "verbose": "v",
    "force": "f",
}
"""Parameter name -> its one short flag, in every task. A parameter not listed has none."""

ALIASES: dict[str, tuple[str, ...]] = {"package": ("packages",)}
"""Parameter name -> further long names of the same option."""


# ----------------------------------------------------------------------------------------------- the flag table


@dataclass(frozen=True)
class Flag:
    """One option as every front door spells it: its help, and the metavar of its value (None: an on/off switch)."""

    help: str
    value: str | None = None


FLAGS: dict[str, Flag] = {
    "package": Flag("one package or a comma list (default: all); --packages is the same option", "NAME[,NAME]"),
    "workspace": Flag(HELP["workspace"], "DIR"),
    "sandbox": Flag(HELP["sandbox"]),
    "registry": Flag(HELP["registry"], "FILE"),
    "layout": Flag(HELP["layout"], "LAYOUT"),
    "defects": Flag(HELP["defects"], "DEFECTS"),
    "json": Flag(HELP["json"]),
    "quiet": Flag("print only the summary (the outcome table); no progress"),
    "verbose": Flag("also print every command run and every step"),
    "force": Flag("rebuild and re-verify even when cached"),
    "python": Flag(
        "verify on this Python ('3.12'), or on every supported one ('all') (default: each package's floor)", "VERSION"
    ),
    "keep_going": Flag(
        "also verify the dependents of a package that built but failed verification, against its wheel, instead of "
        "skipping them (independent packages are always verified)"
    ),
    "markdown": Flag(
        "also write the summary table and the Mermaid dependency graph as Markdown to PATH (default: append to "
        "$GITHUB_STEP_SUMMARY when it is set)",
        "PATH",
    ),
}
"""Parameter name -> its help and value: the options invoke tasks and nox sessions share, read from this one table
(the task's ``help=`` and :func:`parser` for nox's ``--`` options)."""

TARGET = ("workspace", "sandbox", "registry", "layout", "defects")
VERIFY = ("package", *TARGET, "json", "quiet", "verbose", "force", "python", "keep_going", "markdown")
"""The options of ``verify`` (the task) and of the verify sessions (``nox -s verify-all -- ...``)."""


def long_names(name: str) -> list[str]:
    """``--keep-going`` for ``keep_going``, then the aliases (``--packages``), then the short flag (``-p``)."""
    names = [f"--{n.replace('_', '-')}" for n in (name, *ALIASES.get(name, ()))]
    return names + ([f"-{SHORT[name]}"] if name in SHORT else [])


def helps(*names: str) -> dict[str, str]:
    """The ``help=`` of an invoke task for these options, from :data:`FLAGS`."""
    return {name: FLAGS[name].help for name in names}


def parser(prog: str, names: Iterable[str]) -> argparse.ArgumentParser:
    """An argparse parser for ``names`` with the same long names, aliases and short flags as the invoke tasks."""
    chosen = list(names)
    out = OneLineParser(
        prog=prog, description=f"Options after `--`; the same as `juniper-release {prog.split()[2]} --help`."
    )
    loud = out.add_mutually_exclusive_group() if {"quiet", "verbose"} <= set(chosen) else out
    for name in chosen:
        flag = FLAGS[name]
        where = loud if name in ("quiet", "verbose") else out
        if flag.value is None:
            where.add_argument(*long_names(name), dest=name, action="store_true", help=flag.help)
        else:
            where.add_argument(*long_names(name), dest=name, metavar=flag.value, help=flag.help)
    return out


class OneLineParser(argparse.ArgumentParser):
    """argparse whose error is one line naming the fix (``--help``), exit 2 like every task."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog}: {message}. Fix: see `{self.prog} --help`\n")

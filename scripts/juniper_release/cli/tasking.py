"""The invoke task class behind :func:`juniper_release.cli.flags.task`: short flags from the flag table alone."""

from __future__ import annotations

from typing import Any

from invoke.tasks import Task
from juniper_release.cli.flags import ALIASES, SHORT


class JuniperTask(Task[Any]):
    """A task whose short flags come from :data:`SHORT` alone (never guessed from a parameter's letters)."""

    def arg_opts(self, name: str, default: str, taken_names: set[str]) -> dict[str, Any]:
        auto, self.auto_shortflags = self.auto_shortflags, False
        try:
            opts: dict[str, Any] = super().arg_opts(name, default, taken_names)
        finally:
            self.auto_shortflags = auto
        shown = default not in (None, False, "", True) and "default" not in opts.get("help", "default")
        if shown:  # every default in --help (--mode, --timeout...)
            opts["help"] = f"{opts['help']} (default: {default})"
        names = list(opts["names"])
        names += [alias for alias in ALIASES.get(name, ()) if alias not in taken_names]
        short = SHORT.get(name)
        if short and short not in taken_names:
            names.append(short)
        opts["names"] = names
        return opts

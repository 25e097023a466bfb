"""One command line: every option's short flag is the same in every task, and a short flag means one option.

invoke derives short flags from the first free letter of each parameter, so ``-d`` meant ``--defects`` in one task,
``--dry-run`` in another and ``--dir`` in a third. Here :data:`SHORT` is the only source of short flags: the
:func:`task` decorator gives each parameter the short flag the table names, or none. ``--package`` takes one
package or a comma list, and ``--packages`` is the same option under its plural name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from invoke.tasks import Task
from invoke.tasks import task as invoke_task

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


class JuniperTask(Task[Any]):
    """A task whose short flags come from :data:`SHORT` alone (never guessed from a parameter's letters)."""

    def arg_opts(self, name: str, default: str, taken_names: set[str]) -> dict[str, Any]:
        auto, self.auto_shortflags = self.auto_shortflags, False
        try:
            opts: dict[str, Any] = super().arg_opts(name, default, taken_names)
        finally:
            self.auto_shortflags = auto
        names = list(opts["names"])
        names += [alias for alias in ALIASES.get(name, ()) if alias not in taken_names]
        short = SHORT.get(name)
        if short and short not in taken_names:
            names.append(short)
        opts["names"] = names
        return opts


def task(*args: Any, **kwargs: Any) -> Callable[..., Any]:
    """``invoke.task`` with :class:`JuniperTask`: use as ``@task`` or ``@task(help=...)``."""
    kwargs.setdefault("klass", JuniperTask)
    kwargs.pop("auto_shortflags", None)
    return invoke_task(*args, **kwargs)

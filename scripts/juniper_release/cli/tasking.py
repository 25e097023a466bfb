"""The invoke task class behind :func:`task`: short flags from the flag table alone; every task made here is
recorded in :data:`REGISTERED`, so hints can name only the options a task has without importing the task modules."""

from __future__ import annotations

from collections.abc import Callable
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


REGISTERED: dict[str, JuniperTask] = {}
"""Every task made by :func:`task`, by its command-line name (``release-train``), aliases included."""


def task(*args: Any, **kwargs: Any) -> Callable[..., Any]:
    """``invoke.task`` with :class:`JuniperTask`, recorded in :data:`REGISTERED`: use as ``@task`` or
    ``@task(help=...)``."""
    from invoke.tasks import task as invoke_task

    kwargs.setdefault("klass", JuniperTask)
    kwargs.pop("auto_shortflags", None)
    made = invoke_task(*args, **kwargs)
    if isinstance(made, JuniperTask):  # @task on a function
        _register(made)
        return made

    def decorate(body: Callable[..., Any]) -> JuniperTask:  # @task(...)
        made_task: JuniperTask = made(body)
        _register(made_task)
        return made_task

    return decorate


def _register(made: JuniperTask) -> None:
    for name in (made.name, *made.aliases):
        REGISTERED[name.replace("_", "-")] = made

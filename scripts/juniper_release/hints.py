"""The commands that ``next:`` lines and ``Fix:`` hints name, as the user can paste them.

The engine writes a hint in one canonical form, ``invoke TASK ...`` or ``nox -s verify-all`` / ``nox -s
"verify(PKG)"``. :class:`Invocation` (made once by the front door from what the user typed) turns it into the
command to run next: the same program (``juniper-release``, ``invoke`` or ``nox``), every context flag the user
gave that the task accepts (``--workspace``, ``--sandbox``, ``--registry``, ``--pre``, ``--part``, ``--branch``...),
shell-quoted.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field

PROGRAMS = ("juniper-release", "invoke", "nox")
"""The front doors a user can type; ``nox`` runs only the verify sessions, its other hints name the console script."""

TARGET_FLAGS = ("--workspace", "--sandbox", "--defects", "--registry", "--layout")
"""The flags that say what a run works on, in the order hints show them."""

_TARGET_ONLY_WITH = {"pin-actions": "--from-workspace"}
"""Tasks that take the target flags only beside another option (without it they work on this repository)."""

_DRY_ON_SANDBOX = {"workflows": ("--write", "--check"), "transfer": ("--execute", "")}
"""Tasks that never write into the shared sandbox: there a hint names their read-only form instead."""


@dataclass(frozen=True)
class Invocation:
    """What the user typed: the program, and the context flags given (flag -> value; ``""`` for a switch).

    ``accepts`` maps each task to the long options it has (``--package``...), so a hint never names an option its
    task lacks; a task it does not list keeps only the flags the hint itself names."""

    program: str = "invoke"
    flags: Mapping[str, str] = field(default_factory=dict)
    accepts: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def hint(self, command: str) -> str:
        """``command`` (canonical form) as the exact command to run next."""
        task, args = _canonical(command)
        if task in _DRY_ON_SANDBOX and "--sandbox" in self.flags and "--workspace" not in args:
            writes, dry = _DRY_ON_SANDBOX[task]
            args = [w for w in (dry if w == writes else w for w in args) if w]
        known = self.accepts.get(task)
        if known is not None:
            args = _only_known(args, known)
        needs = _TARGET_ONLY_WITH.get(task)
        for flag, value in self.flags.items():
            if needs and needs not in args and flag in TARGET_FLAGS:
                continue
            if flag in args or (known is not None and flag not in known):
                continue
            if "--workspace" in args and flag in TARGET_FLAGS and flag != "--registry":
                continue  # a command naming its workspace is not about the sandbox
            if known is None and flag not in TARGET_FLAGS:
                continue
            args += [flag, value] if value else [flag]
        return self._render(task, args)

    def _render(self, task: str, args: list[str]) -> str:
        if self.program != "nox" or task not in ("verify", "demo"):
            program = "juniper-release" if self.program == "nox" else self.program
            return shlex.join([*program.split(), task, *args])
        session, rest = _session(task, args)
        line = shlex.join(["nox", "-s", session, *(["--", *rest] if rest else [])])
        if registry := self.flags.get("--registry"):  # nox names its sessions after the registry it imports
            line = f"JUNIPER_REGISTRY={shlex.quote(registry)} {line}"
        return line


def _canonical(command: str) -> tuple[str, list[str]]:
    """``invoke TASK ARGS`` or a nox verify session -> (task, args); nox's ``verify(PKG)`` is ``verify --package``."""
    words = shlex.split(command)
    if words[:2] == ["nox", "-s"] and len(words) > 2:
        session, rest = words[2], [w for w in words[3:] if w != "--"]
        if session.startswith("verify(") and session.endswith(")"):
            return "verify", ["--package", session[7:-1].split(",")[0].strip(), *rest]
        return ("demo" if session == "demo" else "verify"), rest
    if words[:1] in (["invoke"], ["juniper-release"]) and len(words) > 1:
        return words[1], words[2:]
    raise ValueError(f"not a command a hint can name: {command!r}")


def _only_known(args: list[str], known: frozenset[str]) -> list[str]:
    """Drop the options (and their values) a task lacks."""
    out: list[str] = []
    skipping = False
    for word in args:
        if word.startswith("--"):
            skipping = word not in known
        if not skipping:
            out.append(word)
    return out


def _session(task: str, args: list[str]) -> tuple[str, list[str]]:
    """The nox session of a verify hint: ``verify(PKG)`` for one package, else verify-all."""
    if task == "demo":
        return "demo", [w for w in args if w != "--sandbox"]
    if "--package" in args:
        at = args.index("--package")
        names = args[at + 1] if at + 1 < len(args) else ""
        if names and "," not in names:
            return f"verify({names})", args[:at] + args[at + 2 :]
    return "verify-all", args

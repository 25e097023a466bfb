"""What ``juniper-release --help`` and ``--list`` show, and what completion offers.

``--help`` says what the tool does and lists the tasks by stage; ``TASK --help`` adds two or three examples
(:data:`EXAMPLES`) and every default. invoke's own core options stay accepted but out of the help, except
``--list``, ``--help``, ``--version``, ``--complete`` and ``--print-completion-script``. Completion after
``-p``/``--package`` offers the registry's package names.
"""

from __future__ import annotations

import inspect
import shlex
import shutil
import textwrap
from collections.abc import Sequence
from pathlib import Path

from invoke.exceptions import Exit
from invoke.parser.argument import Argument
from invoke.program import Program

ABOUT = (
    "Release automation for an ecosystem of Python packages, each in its own git repository: check the registry "
    "and the checkouts, verify every package in fresh environments, propose the version bumps, and release "
    "bottom-up to TestPyPI, then PyPI (every irreversible step a dry run unless --execute)."
)

STAGES: dict[str, tuple[str, ...]] = {
    "Ecosystem": ("init", "clone", "check", "graph", "status", "detect"),
    "Verify": ("verify",),
    "Release": ("bump", "propose", "release", "release-train", "rehearse"),
    "GitHub": ("workflows", "pin-actions", "ci-matrix"),
    "Transfer": ("transfer", "transfer-status"),
}
"""The tasks by stage, in the order a release meets them (every task is in exactly one; a test checks)."""

EXAMPLES: dict[str, tuple[str, ...]] = {
    "init": ("init -w ~/src --output repos.toml", "init -w ~/src --output repos.toml --force"),
    "clone": ("clone -w ~/src", "clone -w ~/src --dry-run"),
    "check": ("check -s", "check -w ~/src -j", "check -s --defects seed"),
    "graph": ("graph -s", "graph -s --format svg > graph.svg", "graph -w ~/src --labels"),
    "status": ("status -s", "status -w ~/src -j", "status -s --layout grown"),
    "detect": ("detect -s", "detect -w ~/src -p juniper-data --offline", "detect -s -j"),
    "verify": ("verify -s", "verify -w ~/src -p juniper-data,juniper-data-client", "verify -s -q --python all"),
    "bump": (
        "bump -s -p juniper-data --part minor -n",
        "bump -w ~/src -p juniper-data --part minor --pre rc --commit --tag",
        "bump -w ~/src -p juniper-data --to 1.2.0 -n",
    ),
    "propose": ("propose -s", "propose -w ~/src -p juniper-data --part patch", "propose -w ~/src --execute"),
    "release": ("release -s -p juniper-data", "release -w ~/src -p juniper-data --execute"),
    "release-train": ("release-train -s", "release-train -w ~/src --execute -y -j", "release-train -s -q"),
    "rehearse": ("rehearse -s", "rehearse -s --flow pr", "rehearse -w ~/src --resume --dir .juniper/rehearsal"),
    "workflows": ("workflows -s --check", "workflows -w ~/src --check --stat", "workflows -w ~/src --write"),
    "pin-actions": ("pin-actions", "pin-actions --write", "pin-actions --from-workspace -w ~/src"),
    "ci-matrix": ("ci-matrix", "ci-matrix --sessions sessions.json"),
    "transfer": ("transfer -s", "transfer -w ~/src --to new-org", "transfer -w ~/src --to new-org --execute"),
    "transfer-status": ("transfer-status -s", "transfer-status -w ~/src --to new-org -j"),
}
"""Two or three examples per task, without the program name (help prefixes the program typed)."""

KEPT_CORE = ("list", "help", "version", "complete", "print-completion-script")
"""invoke's core options the help shows; the others (--pty, --echo, ...) are accepted but not advertised."""

NAME_COLUMN = 28
"""An option spec wider than this goes on its own line, its description below it at full width."""

VALUE_FLAGS = ("-p", "--package", "--packages")


def summary(doc: str | None) -> str:
    """A task's summary for ``--list``: its docstring's whole first paragraph (never cut mid-sentence)."""
    if not doc:
        return ""
    return " ".join(inspect.cleandoc(doc).split("\n\n")[0].split())


class HelpfulProgram(Program):
    """invoke's Program with the help, list and completion described in this module."""

    def core_args(self) -> list[Argument]:
        """invoke's core options, without the short flags that would clash with a task's (``-p`` is ``--package``
        here, never ``--pty``; ``-w``, ``-r``, ``-f``, ``-e``...): only ``-h``, ``-l`` and ``-V`` keep theirs."""
        args = super().core_args()
        for arg in args:
            if arg.name not in KEPT_CORE:
                arg.names = tuple(n for n in arg.names if len(n) > 1)
        return args

    def print_help(self) -> None:
        width = _width()
        print(f"{self.binary} {self.version}\n")
        print(textwrap.fill(ABOUT, width))
        print(f"\nUsage: {self.binary} TASK [--options]\n")
        print("Options:")
        self.print_columns([t for t in self.initial_context.help_tuples() if _core_name(t[0]) in KEPT_CORE])
        self.list_tasks()

    def list_flat(self) -> None:
        print(f"Tasks by stage ({self.binary} TASK --help: its options, defaults, examples):")
        print("")
        for stage, names in STAGES.items():
            print(f"{stage}:")
            pairs = [(n, summary(self.collection[n].__doc__)) for n in names if n in self.collection.task_names]
            self.print_columns(pairs)

    def print_task_help(self, name: str) -> None:
        task = self.collection[name]
        print(f"Usage: {self.binary} {name} [--options]\n")
        for line in inspect.cleandoc(task.__doc__ or "").splitlines():
            print(textwrap.fill(line, _width(), initial_indent="  ", subsequent_indent="  ") if line else "")
        print("\nOptions:")
        self.print_columns(self.parser.contexts[name].help_tuples())
        examples = EXAMPLES.get(self.collection.transform(name), ())
        if examples:
            print("Examples:")
            for example in examples:
                print(f"  {self.binary} {example}")
            print("")

    def print_columns(self, tuples: Sequence[tuple[str, str | None]]) -> None:
        width = _width()
        if not tuples:
            print("  none\n")
            return
        column = min(max(len(name) for name, _ in tuples), NAME_COLUMN)
        for name, text in tuples:
            lines = textwrap.wrap(text or "", max(width - column - 4, 30))
            if len(name) > column:  # a long spec on its own line; its description below, at full width
                print(f"  {name}")
                for line in textwrap.wrap(text or "", width - 6):
                    print(f"      {line}")
                continue
            print(f"  {name.ljust(column)}  {lines[0] if lines else ''}".rstrip())
            for line in lines[1:]:
                print(f"  {' ' * column}  {line}")
        print("")

    def parse_cleanup(self) -> None:
        if self.args.complete.value and (names := _package_names(self.core.remainder)) is not None:
            print("\n".join(names))
            raise Exit
        super().parse_cleanup()


def _core_name(spec: str) -> str:
    """``--list`` from ``-l [STRING], --list[=STRING]``."""
    longs = [word for word in spec.replace(",", " ").split() if word.startswith("--")]
    return longs[0][2:].split("=")[0].split("[")[0] if longs else ""


def _width() -> int:
    return max(shutil.get_terminal_size((100, 24)).columns, 60)


def _package_names(line: str) -> list[str] | None:
    """The registry's package names when the word being completed is a ``--package`` value, else None."""
    try:
        words = shlex.split(line)
    except ValueError:
        return None
    ends_with_space = line.endswith(" ")
    flag = words[-1] if words and ends_with_space else (words[-2] if len(words) > 1 else "")
    if flag not in VALUE_FLAGS:
        return None
    from juniper_release.ecosystem.registry import load_registry
    from juniper_release.errors import JuniperError

    registry = None
    for i, word in enumerate(words[:-1]):
        if word in ("-r", "--registry"):
            registry = words[i + 1]
    try:
        return list(load_registry(Path(registry) if registry else None).names)
    except (JuniperError, OSError):
        return []

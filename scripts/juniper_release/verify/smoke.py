"""The smoke test of an installed package: one routine for ``verify`` and for post-publish verification.

In an environment where the package is installed:

1. every configured import succeeds, each in its own interpreter;
2. each imported module's ``__version__``, when it has one, is exactly the expected version;
3. every console script the installed distribution declares answers ``--help``;
4. every smoke command of repos.toml exits 0.

Every step runs the same way: from an empty temporary directory (a checkout in the current directory is never
imported instead of the installed package), with the environment's ``bin`` first on PATH, VIRTUAL_ENV set and
PYTHONPATH emptied, and within :data:`COMMAND_TIMEOUT`. Smoke commands are split with :func:`shlex.split`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.version import Version

from juniper_release.commands import run
from juniper_release.ecosystem.registry import Package
from juniper_release.verify.envs import Env, VerifyError, tool_env

COMMAND_TIMEOUT = 300.0
_RESULT_TAG = "JUNIPER-SMOKE "

_IMPORT_SCRIPT = f"""
import importlib, json, sys, warnings
warnings.simplefilter("ignore")
try:
    version = getattr(importlib.import_module(sys.argv[1]), "__version__", None)
    out = {{"error": None, "version": None if version is None else str(version)}}
except BaseException as exc:
    out = {{"error": type(exc).__name__ + ": " + str(exc), "version": None}}
print({_RESULT_TAG!r} + json.dumps(out))
"""

_SCRIPTS_SCRIPT = f"""
import importlib.metadata, json, sys
eps = importlib.metadata.distribution(sys.argv[1]).entry_points
print({_RESULT_TAG!r} + json.dumps(sorted(ep.name for ep in eps if ep.group == "console_scripts")))
"""


@dataclass(frozen=True)
class Imported:
    """The outcome of importing one module: the error, or its ``__version__`` (None when it has none)."""

    module: str
    error: str | None
    version: str | None


@dataclass(frozen=True)
class Shell:
    """Runs smoke steps against ``env`` from the empty directory ``cwd``."""

    env: Env
    cwd: Path

    def variables(self) -> dict[str, str]:
        """The child environment: the env's ``bin`` first on PATH, VIRTUAL_ENV set, PYTHONPATH emptied."""
        base = tool_env()
        base["PATH"] = os.pathsep.join([str(self.env.path / "bin"), base.get("PATH", "")])
        base["VIRTUAL_ENV"] = str(self.env.path)
        base["PYTHONPATH"] = ""  # empty is the same as unset for Python, and overrides the caller's value
        return base

    def run(self, argv: list[str], *, what: str, fix: str | None = None) -> str:
        """Run ``argv``; a non-zero exit or a timeout raises :class:`~juniper_release.errors.CommandError`."""
        proc = run(argv, cwd=self.cwd, env=self.variables(), what=what, fix=fix, timeout=COMMAND_TIMEOUT)
        return proc.stdout

    def which(self, program: str) -> str | None:
        """Where ``program`` resolves with this shell's PATH (the env's ``bin`` first)."""
        return shutil.which(program, path=self.variables()["PATH"])

    def probe(self, script: str, arg: str, *, what: str) -> Any:
        """Run a Python ``script`` in the env with ``arg``; return the JSON it printed after the result tag."""
        out = self.run([str(self.env.python), "-c", script, arg], what=what)
        for line in reversed(out.splitlines()):
            if line.startswith(_RESULT_TAG):
                return json.loads(line[len(_RESULT_TAG) :])
        raise VerifyError(f"{what} printed no result", f"run it in {self.env.path} by hand to see why")

    def import_module(self, module: str) -> Imported:
        """Import ``module`` in a fresh interpreter of the env."""
        out = self.probe(_IMPORT_SCRIPT, module, what=f"import {module}")
        return Imported(module, out["error"], out["version"])

    def console_scripts(self, distribution: str) -> list[str]:
        """The console scripts the installed ``distribution`` declares."""
        return list(self.probe(_SCRIPTS_SCRIPT, distribution, what=f"list {distribution}'s console scripts"))


@contextlib.contextmanager
def shell(env: Env) -> Iterator[Shell]:
    """A :class:`Shell` for ``env`` in a new empty directory, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="juniper-smoke-") as tmp:
        yield Shell(env, Path(tmp))


def smoke_test(env: Env, pkg: Package, expected: Version) -> None:
    """Smoke-test the installed ``pkg`` (see the module docstring); a failure raises a one-line error naming the fix."""
    with shell(env) as sh:
        check_imports(sh, pkg, expected)
        check_console_scripts(sh, pkg)
        check_smoke_commands(sh, pkg)


def check_imports(sh: Shell, pkg: Package, expected: Version) -> None:
    """Each of ``pkg.imports`` imports, and its ``__version__`` (if any) is exactly ``expected``."""
    for module in pkg.imports:
        imported = sh.import_module(module)
        if imported.error is not None:
            raise VerifyError(
                f"import {module} failed in a fresh environment: {imported.error}",
                f"declare the missing dependency in {pkg.name}'s pyproject.toml or fix the import",
            )
        if imported.version is not None and imported.version != str(expected):
            raise VerifyError(
                f"installed {module}.__version__ is {imported.version or repr(imported.version)} but the installed "
                f"wheel is {pkg.name} {expected}",
                f"set __version__ = '{expected}' or derive it with importlib.metadata.version('{pkg.name}')",
            )


def check_console_scripts(sh: Shell, pkg: Package) -> None:
    """Every console script of the installed distribution exits 0 on ``--help``."""
    for script in sh.console_scripts(pkg.name):
        sh.run(
            [str(sh.env.bin(script)), "--help"],
            what=f"console script `{script} --help`",
            fix=f"fix the [project.scripts] entry point {script} so `{script} --help` exits 0",
        )


def check_smoke_commands(sh: Shell, pkg: Package) -> None:
    """Every smoke command of repos.toml exits 0; its program is looked up with the env's ``bin`` first."""
    fix = f"fix {pkg.name}, or the smoke command in {pkg.registry_file}"
    for command in pkg.smoke:
        argv = shlex.split(command)
        if not argv:
            raise VerifyError(
                f"{pkg.name} has an empty smoke command in {pkg.registry_file}", "remove it or write the command"
            )
        program = sh.which(argv[0])
        if program is None:
            raise VerifyError(
                f"smoke command `{command}`: {argv[0]} is neither in the environment nor on PATH",
                f"{fix} (a program of the package must be one of its console scripts)",
            )
        sh.run([program, *argv[1:]], what=f"smoke command `{command}`", fix=fix)

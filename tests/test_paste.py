"""Every ``next:`` line a task prints is the exact command to run next (issue 28 §2): the program typed, every
context flag given (shell-quoted), only options its task has; pasted, it parses, and the cheap ones run."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from invoke.parser import Parser, ParserContext
from juniper_release.cli import flags
from juniper_release.cli.common import accepts
from juniper_release.cli.program import program
from juniper_release.cli.tasks import ns
from juniper_release.hints import Invocation

SCRIPT = Path(sys.executable).parent / "juniper-release"
needs_script = pytest.mark.skipif(not SCRIPT.exists(), reason="the console script is installed by `pip install -e .`")


def parses(command: str) -> None:
    """``command`` parses as its program would parse it (a ParseError or SystemExit fails the test)."""
    words = shlex.split(command)
    while "=" in words[0]:  # JUNIPER_REGISTRY=... nox ...
        words.pop(0)
    if words[0] == "nox":
        assert words[1] == "-s" and words[2].startswith("verify"), command
        flags.parser(f"nox -s {words[2]} --", flags.VERIFY).parse_args(words[4:] if words[3:4] == ["--"] else [])
        return
    assert words[0] in ("juniper-release", "invoke"), command
    parser = Parser(initial=ParserContext(args=program.core_args()), contexts=ns.to_contexts())
    parsed = parser.parse_argv(words[1:])
    assert [ctx.name for ctx in parsed[1:]] == [words[1]], command


def next_lines(stderr: str) -> list[str]:
    return [line.removeprefix("next: ").split("  (")[0] for line in stderr.splitlines() if line.startswith("next: ")]


def script(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], cwd=cwd, env=dict(os.environ), capture_output=True, text=True, timeout=600, check=False
    )


# ----------------------------------------------------------------------------------------------- every kind, parsed


HINTS = [
    "invoke bump --package a --update-dependents --force",
    "invoke release --package a --direct-push",
    "invoke propose --package a",
    "invoke status",
    "invoke rehearse",
    "invoke release --package a --execute",
    "invoke release-train --execute",
    "invoke rehearse --flow pr",
    "invoke propose --package a,b --execute",
    "invoke check --workspace '/w s' --registry r.toml",
    'nox -s "verify(a)"',
    "nox -s verify-all -- --force",
    "invoke workflows --write",
    "invoke pin-actions --write",
    "invoke pin-actions --from-workspace --write",
    "invoke detect --packages a",
    "invoke transfer-status --to org",
]
"""Every next: line the tasks print (cli/tasks.py, cli/repo_tasks.py) and the kinds of Fix: command the engine names."""

CONTEXTS = [
    {},
    {"--sandbox": "", "--defects": "seed", "--layout": "grown"},
    {"--workspace": "/a dir/with 'quotes'", "--registry": "r s.toml"},
    {"--sandbox": "", "--part": "minor", "--pre": "rc", "--branch": "release/1.2"},
]


@pytest.mark.parametrize("program_name", ["juniper-release", "invoke", "nox"])
@pytest.mark.parametrize("context", CONTEXTS, ids=["plain", "sandbox", "quoted", "part"])
def test_every_hint_parses_in_the_program_typed(program_name, context):
    via = Invocation(program_name, context, accepts())
    for hint in HINTS:
        command = via.hint(hint)
        parses(command)
        words = shlex.split(command)
        if "nox" not in words:
            assert words[0] == ("juniper-release" if program_name == "nox" else program_name), command
        assert "without" not in command and "..." not in command


def test_context_flags_follow_where_the_task_has_them():
    via = Invocation("juniper-release", {"--sandbox": "", "--part": "minor", "--pre": "rc"}, accepts())
    assert via.hint("invoke bump --package a") == "juniper-release bump --package a --sandbox --part minor --pre rc"
    assert via.hint("invoke propose --package a") == "juniper-release propose --package a --sandbox --part minor"
    assert via.hint("invoke status") == "juniper-release status --sandbox"  # status has no --part, no --package
    assert via.hint("invoke status --package a") == "juniper-release status --sandbox"
    assert via.hint("invoke pin-actions --write") == "juniper-release pin-actions --write"  # this repository


# ----------------------------------------------------------------------------------------------- printed, pasted, run


@needs_script
def test_bump_dry_run_hint_is_the_bump_and_runs(ecosystem, tmp_path):
    ws = str(ecosystem.workspace)
    args = ("bump", "-p", "juniper-data-client", "--part", "minor", "--pre", "rc", "-n", "-w", ws)
    dry = script(*args, cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    (hint,) = next_lines(dry.stderr)
    assert (
        hint
        == f"juniper-release bump --package juniper-data-client --workspace {shlex.quote(ws)} --part minor --pre rc"
    )
    pasted = script(*shlex.split(hint)[1:], cwd=tmp_path)
    assert pasted.returncode == 0, pasted.stderr
    assert "0.4.0rc1" in (ecosystem.workspace / "juniper-data-client" / "pyproject.toml").read_text()
    (after,) = next_lines(pasted.stderr)
    assert after.startswith("juniper-release propose --package juniper-data-client --workspace ")
    parses(after)


@needs_script
def test_init_hint_runs(ecosystem, tmp_path):
    out = tmp_path / "my registry.toml"
    done = script("init", "-w", str(ecosystem.workspace), "--output", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (hint,) = next_lines(done.stderr)
    assert hint.startswith("juniper-release check --workspace ") and shlex.quote(str(out)) in hint
    pasted = script(*shlex.split(hint)[1:], cwd=tmp_path)
    assert "Traceback" not in pasted.stderr and "No idea" not in pasted.stderr, pasted.stderr


@pytest.mark.slow
@needs_script
def test_release_fix_and_next_hints_from_the_console_script_run(tmp_path):
    """The verify gate's Fix: names `juniper-release verify --package X --sandbox`; pasted, it verifies, the release
    then passes, and its next: line (the sandbox is rehearsed, never released) parses."""
    first = script("release", "-s", "-p", "juniper-data-client", cwd=tmp_path)
    assert first.returncode != 0 and "Fix:" in first.stderr, first.stderr
    fixes = re.findall(r"`(juniper-release [^`]+)`", first.stderr)
    verify = next(c for c in fixes if c.startswith("juniper-release verify --package juniper-data-client"))
    assert verify == "juniper-release verify --package juniper-data-client --sandbox", fixes
    pasted = script(*shlex.split(verify)[1:], cwd=tmp_path)
    assert pasted.returncode == 0, pasted.stderr
    again = script("release", "-s", "-p", "juniper-data-client", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert next_lines(again.stderr) == ["juniper-release rehearse --sandbox"]
    parses(next_lines(again.stderr)[0])

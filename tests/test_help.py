"""Messages and help (issue 28 §3): one-line parse errors that never suggest the flag just typed and point to the
task's --help, typo suggestions from invoke and nox too, --help that says what the tool does with the tasks by
stage, examples and defaults per task, invoke's core options kept out, --list whole summaries, package completion."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, run_session, run_task
from invoke.exceptions import ParseError
from invoke.parser import Parser
from juniper_release.cli.helptext import EXAMPLES, STAGES, summary
from juniper_release.cli.program import explain, program
from juniper_release.cli.tasks import ns
from juniper_release.ecosystem.registry import load_registry
from test_paste import parses

SCRIPT = Path(sys.executable).parent / "juniper-release"
needs_script = pytest.mark.skipif(not SCRIPT.exists(), reason="the console script is installed by `pip install -e .`")


def error_of(*argv: str) -> str:
    parser = Parser(initial=program.initial_context, contexts=ns.to_contexts(ignore_unknown_help=True))
    with pytest.raises(ParseError) as caught:
        parser.parse_argv(list(argv))
    return explain(caught.value, ns, "juniper-release")


def script(*args: str, columns: int = 80) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": str(columns)}
    return subprocess.run(
        [str(SCRIPT), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


# ----------------------------------------------------------------------------------------------- parse errors


def test_an_unknown_flag_names_the_task_and_its_help_never_itself():
    text = error_of("ci-matrix", "-s")
    assert text == "ci-matrix has no option -s. Fix: see `juniper-release ci-matrix --help`"
    text = error_of("status", "--package")
    assert "did you mean '--package'" not in text and "status has no option --package" in text
    assert error_of("status", "--sandboxx").startswith("status has no option --sandboxx (did you mean '--sandbox'?)")


def test_a_missing_value_is_a_sentence_not_a_repr():
    text = error_of("release", "--package")
    assert text == "release: --package needs a value. Fix: pass --package VALUE (see `juniper-release release --help`)"
    assert "<" not in text and "\n" not in text


def test_short_flags_of_invokes_core_never_shadow_a_task():
    assert "status has no option -p" in error_of("status", "-p", "x")  # not --pty, then "unknown task 'x'"
    names = set(program.initial_context.flag_names())
    assert {"-h", "-l", "-V", "--pty"} <= names and not {"-p", "-w", "-r", "-f", "-e"} & names


def test_an_unknown_task_names_the_nearest_in_all_three_front_doors():
    assert "unknown task 'relase' (did you mean 'release'?)" in error_of("relase")
    if SCRIPT.exists():
        helped = script("--help", "relase")
        assert helped.returncode == 2 and "did you mean 'release'?" in helped.stderr
    task = run_task("relase")
    assert task.returncode == 2 and "did you mean 'release'?" in task.stderr and "Traceback" not in task.stderr
    session = run_session("-s", "verfy-all")
    assert session.returncode == 2 and "did you mean 'verify-all'?" in session.stderr


@needs_script
def test_propose_without_a_bump_says_which_and_how(ecosystem):
    done = script("propose", "-w", str(ecosystem.workspace), "-p", "juniper-data")
    assert done.returncode == 2, done.stderr
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("error:")]
    assert line == (
        "error: detect proposes no bump for juniper-data. Fix: pass --part major, minor or patch (see "
        "`juniper-release propose --help`)"
    )


# ----------------------------------------------------------------------------------------------- help


def test_every_task_has_one_stage_and_two_or_three_examples_that_parse():
    staged = [name for names in STAGES.values() for name in names]
    assert sorted(staged) == sorted(ns.task_names) and len(set(staged)) == len(staged)
    for name in ns.task_names:
        assert 2 <= len(EXAMPLES[name]) <= 3, name
        for example in EXAMPLES[name]:
            parses(f"juniper-release {example.split(' > ')[0].replace('~/src', '/src')}")


@needs_script
def test_help_says_what_the_tool_does_groups_the_tasks_and_hides_invokes_options():
    text = script("--help").stdout
    assert text.splitlines()[2].startswith("Release automation for an ecosystem of Python packages")
    for stage in STAGES:
        assert f"\n{stage}:\n" in text
    for hidden in ("--pty", "--prompt-for-sudo-password", "--write-pyc", "--echo", "--search-root"):
        assert hidden not in text
    for kept in ("--list", "--help", "--version", "--complete", "--print-completion-script"):
        assert kept in text
    assert max(len(line) for line in text.splitlines()) <= 80


@needs_script
def test_task_help_shows_examples_and_every_default_within_the_width():
    text = script("release", "--help").stdout
    assert "Examples:\n  juniper-release release -s -p juniper-data\n" in text
    flat = " ".join(text.split())
    assert "(default: github)" in flat and "(default: 600)" in flat
    assert "-p STRING, --package=STRING, --packages=STRING\n      the package to release" in text
    assert max(len(line) for line in text.splitlines()) <= 80


@needs_script
def test_list_shows_whole_summaries():
    flat = " ".join(script("--list").stdout.split())
    for name in ns.task_names:  # every summary whole, ending its sentence
        whole = summary(ns[name].__doc__)
        assert whole.endswith(".") and whole in flat, name


@needs_script
def test_completion_offers_the_registrys_package_names():
    six = load_registry(ROOT / "repos.toml", env={}).names
    done = script("--complete", "--", "juniper-release", "release", "-p", "")
    assert done.stdout.split() == list(six), done.stdout + done.stderr
    grown = load_registry(ROOT / "registries" / "grown.toml", env={}).names
    done = script("--complete", "--", "juniper-release", "verify", "-r", "registries/grown.toml", "--package", "jun")
    assert done.stdout.split() == list(grown)
    tasks = script("--complete", "--", "juniper-release", "rel").stdout.split()
    assert "release" in tasks and "release-train" in tasks


# ----------------------------------------------------------------------------------------------- output volume


@needs_script
def test_status_fits_80_columns_and_says_what_it_hid():
    done = script("status", "-s")
    assert done.returncode == 0, done.stderr
    assert max(len(line) for line in done.stdout.splitlines()) <= 80
    assert "hidden to fit 80 columns" in done.stdout and "testpypi_version" in done.stdout
    wide = script("status", "-s", columns=200).stdout
    assert "testpypi_version" in wide.splitlines()[0]
    detect = script("detect", "-s").stdout
    assert max(len(line) for line in detect.splitlines()) <= 80 and "hidden to fit 80 columns" in detect


@needs_script
def test_transfer_prints_a_digest_and_the_diffs_with_v():
    short = script("transfer", "-s")
    assert short.returncode == 0, short.stderr
    lines = short.stdout.splitlines()
    assert len(lines) <= 12 and "juniper-data: 4 file(s), +8 -8 lines" in lines and "@@" not in short.stdout
    long = script("transfer", "-s", "-v").stdout
    assert "@@" in long and len(long.splitlines()) > 5 * len(lines)

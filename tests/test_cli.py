"""The front doors as a maintainer meets them: bad input is a one-line error with its fix, help is help, and every
``--json`` output is pure JSON."""

from __future__ import annotations

import json

import pytest
from conftest import PACKAGE_NAMES, run_session, run_task
from juniper_release.github.workflows import NOX_CI_ENV


@pytest.mark.parametrize(
    "args, message",
    [
        (["status", "--timeout", "abc"], "--timeout 'abc' is not a number of seconds"),
        (["status", "--timeout", "-5"], "--timeout must be a positive number of seconds, got '-5'"),
        (["status", "--timeout", "0"], "--timeout must be a positive number of seconds, got '0'"),
        (["release-train", "--timeout", "nan"], "--timeout must be a positive number of seconds, got 'nan'"),
        (["release"], "--package is required"),
        (["bump", "--part", "patch"], "--package is required"),
    ],
)
def test_bad_options_are_one_line_errors(args, message):
    proc = run_task(*args)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr
    assert message in proc.stderr and "Fix:" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


@pytest.mark.parametrize("task", ["release", "bump"])
def test_task_help_is_invokes_help_not_a_package_name(task):
    proc = run_task(task, "--help")
    assert proc.returncode == 0, proc.stderr
    assert f"{task} [--options]" in proc.stdout
    assert "--package" in proc.stdout and "unknown package" not in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["check", "--json"],
        ["status", "--json", "--timeout", "1"],
        ["release-train", "--json"],
        ["transfer-status", "--json"],
    ],
)
def test_every_json_task_prints_pure_json(ecosystem, index_env, args):
    proc = run_task(*args, env={**index_env, "JUNIPER_WORKSPACE": str(ecosystem.workspace)})
    assert "Traceback" not in proc.stderr, proc.stderr
    json.loads(proc.stdout)


def test_nox_ci_listing_is_pure_json_even_when_script_mode_installs_with_pip():
    """ci-matrix runs `nox -l --json -t ci` with the installer quiet: in script mode (only nox installed, no uv)
    nox installs the PEP 723 dependencies with pip, whose output would otherwise land on stdout."""
    assert NOX_CI_ENV["PIP_QUIET"] == "1"
    proc = run_session("-l", "--json", "-t", "ci", env=NOX_CI_ENV)
    assert proc.returncode == 0, proc.stderr
    sessions = json.loads(proc.stdout)
    assert {s["name"] for s in sessions} == {"verify"}  # one verify(package, python) per package and Python
    assert {s["call_spec"]["package"] for s in sessions} == set(PACKAGE_NAMES)
    matrix = run_task("ci-matrix")
    assert matrix.returncode == 0 and json.loads(matrix.stdout), matrix.stderr

"""The front doors as a maintainer meets them: bad input is a one-line error with its fix, help is help, and every
``--json`` output is pure JSON."""

from __future__ import annotations

import pytest
from conftest import run_task


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

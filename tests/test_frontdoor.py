"""What the two front doors share: option help, the output format flags, and redacted one-line failures."""

from __future__ import annotations

import pytest
from conftest import run_session, run_task
from juniper_release.errors import JuniperError
from juniper_release.frontdoor import HELP, failure, output_format

TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


def test_failure_is_one_line_with_every_secret_redacted(monkeypatch):
    monkeypatch.setenv("TWINE_PASSWORD", "hunter2-password")
    exc = JuniperError(f"push to https://bot:{TOKEN}@github.com failed with hunter2-password", "retry")
    assert failure(exc) == "push to https://bot:***@github.com failed with ***. Fix: retry"


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({}, "table"),
        ({"json": True}, "json"),
        ({"markdown": True}, "markdown"),
        ({"json": True, "markdown": True}, "json"),
        ({"default": "text"}, "text"),
    ],
)
def test_output_format(flags, expected):
    assert output_format(**flags) == expected


def test_both_front_doors_redact_a_token_in_an_error(tmp_path):
    workspace = tmp_path / TOKEN  # the error names the workspace: the token must not reach the terminal
    task = run_task("check", "--workspace", str(workspace))
    session = run_session("-s", "check", "--", "--workspace", str(workspace))
    for proc in (task, session):
        assert proc.returncode != 0 and "Traceback" not in proc.stderr
        assert "is not a directory" in proc.stderr and TOKEN not in proc.stdout + proc.stderr
    assert f"error: workspace {tmp_path}/***" in task.stderr


def test_the_shared_help_is_what_invoke_shows():
    shown = " ".join(run_task("--help", "status").stdout.split())
    for key in ("workspace", "sandbox", "defects"):
        assert HELP[key] in shown

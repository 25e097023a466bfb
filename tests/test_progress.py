"""Issue 20 §1, §2 and §6: the live progress display, verbosity, the terminal/colour rules, multi-package errors and
the Markdown step summaries."""

from __future__ import annotations

import io
import re
import time

import pytest
from juniper_release import output, summary
from juniper_release.ecosystem.graph import build_graph
from juniper_release.errors import JuniperError
from juniper_release.output import NORMAL, QUIET, VERBOSE, colour_enabled, live_enabled, paint_diff, verbosity
from juniper_release.progress import Board, fmt_seconds
from juniper_release.release.train import TrainHalted
from juniper_release.verify import durations
from juniper_release.verify.results import PackageResult, VerifyReport
from juniper_release.verify.runstate import phase_of
from rich.console import Console

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def terminal_env(monkeypatch):
    """A person at a colour terminal (no NO_COLOR, no CI, a real TERM)."""
    for var in ("NO_COLOR", "CI"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")


def test_terminal_rules_in_one_place(terminal_env, monkeypatch):
    assert colour_enabled(_Tty()) and live_enabled(_Tty())
    assert not colour_enabled(io.StringIO()) and not live_enabled(io.StringIO())  # a pipe, a CI log
    monkeypatch.setenv("TERM", "dumb")
    assert not colour_enabled(_Tty()) and not live_enabled(_Tty())
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setenv("NO_COLOR", "1")
    assert not colour_enabled(_Tty()) and not live_enabled(_Tty())
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("CI", "true")
    assert colour_enabled(_Tty()) and not live_enabled(_Tty())  # colour in a CI log is fine; redrawing is not


def test_diffs_are_coloured_on_a_terminal_only(terminal_env, monkeypatch):
    diff = "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new\n same"
    coloured = paint_diff(diff, _Tty())
    assert "\x1b[31m-old\x1b[0m" in coloured and "\x1b[32m+new\x1b[0m" in coloured and "\x1b[36m@@" in coloured
    assert ANSI.sub("", coloured) == diff
    assert paint_diff(diff, io.StringIO()) == diff
    monkeypatch.setenv("NO_COLOR", "1")
    assert paint_diff(diff, _Tty()) == diff


def test_verdicts_of_verify_and_outcome_tables_are_coloured(terminal_env):
    assert output.paint("failed (build)", "failed (build)", _Tty()).startswith("\x1b[31m")
    assert output.paint("skipped: dependency failed", "skipped: dependency failed", _Tty()).startswith("\x1b[33m")
    assert output.paint("released", "released", _Tty()).startswith("\x1b[32m")
    assert output.paint("halted", "halted", _Tty()).startswith("\x1b[31m")


def test_quiet_and_verbose_contradict():
    assert verbosity() == NORMAL and verbosity(quiet=True) == QUIET and verbosity(verbose=True) == VERBOSE
    with pytest.raises(JuniperError, match="--quiet and --verbose contradict each other"):
        verbosity(quiet=True, verbose=True)


def test_without_a_terminal_the_board_prints_the_plain_lines_unchanged(terminal_env):
    stream, lines = io.StringIO(), []
    with Board("verify-all", ["a", "b"], stream=stream, out=lines.append) as board:
        assert not board.live
        board.phase("a", "build")
        board.log("[a] build ...")
        board.log("[a] build FAILED: boom", important=True)
        board.phase("a", "failed: build")
    assert lines == ["[a] build ...", "[a] build FAILED: boom"]
    assert stream.getvalue() == ""  # nothing drawn


def test_quiet_prints_no_progress_line(terminal_env):
    lines: list[str] = []
    with Board("t", ["a"], verbosity=QUIET, out=lines.append) as board:
        board.log("[a] build ...")
        board.log("[a] FAILED", important=True)
    assert lines == []


def test_forced_terminal_draws_a_line_per_package_a_counter_and_an_eta_from_recorded_durations(terminal_env):
    durations.record("verify", {"juniper-data-client": 20.0, "juniper-ml": 40.0})
    expected = durations.recorded("verify")
    assert expected == {"juniper-data-client": 20.0, "juniper-ml": 40.0}
    sink = io.StringIO()
    console = Console(file=sink, force_terminal=True, width=100, color_system="standard")
    board = Board("verify-all", ["juniper-data-client", "juniper-ml"], expected=expected, jobs=2, console=console)
    with board:
        board.phase("juniper-data-client", "build")
        board.phase("juniper-ml", "verify: install")
        board.log("[juniper-ml] FAILED: one important line", important=True)
        board.log("[juniper-ml] an ordinary line")  # only with -v above a live display
        eta = board.eta()
        assert eta is not None and 39 <= eta <= 40  # juniper-ml's 40s is the longest of the two running at once
        board.phase("juniper-data-client", "passed")
        assert board.finished() == 1
    shown = ANSI.sub("", sink.getvalue())
    assert "juniper-data-client" in shown and "verify: install" in shown and "passed" in shown
    assert re.search(r"1/2 done, \d+s elapsed, ETA (3\ds|40s)", shown), shown
    assert "FAILED: one important line" in shown and "an ordinary line" not in shown
    assert "\x1b[" in sink.getvalue()  # drawn, in colour


def test_eta_is_unknown_without_recorded_durations_and_zero_when_all_are_done():
    board = Board("t", ["a", "b"], expected={"a": 10.0})
    assert board.eta() is None
    board.phase("b", "cached")
    assert 9 <= (board.eta() or 0) <= 10
    board.phase("a", "passed")
    assert board.eta() == 0.0 and board.counter().startswith("2/2 done") and fmt_seconds(125) == "2m05s"


def test_durations_of_finished_packages_only():
    board = Board("t", ["a", "b"])
    board.phase("a", "build")
    time.sleep(0.05)
    board.phase("a", "passed")
    board.phase("b", "verify")
    assert set(board.durations()) == {"a"} and board.durations()["a"] >= 0.05


def test_log_messages_move_the_progress_line():
    assert phase_of("build ...", None) == "build"
    assert phase_of("built a.tar.gz, a.whl (2.0s)", None) == "built"
    assert phase_of("verify ...", None) == "verify"
    assert phase_of("CPU torch from find-links /opt/wheels", "install") == "verify: install"
    assert phase_of("smoke FAILED: no module (environment kept at /x)", "smoke") == "failed: smoke"
    assert phase_of("build FAILED: boom", None) == "failed: build"
    assert phase_of("passed (4.6s, uv)", None) == "passed"
    assert phase_of("cached (source unchanged since its last successful verify)", None) == "cached"
    assert phase_of("skipped: dependency failed (a)", None) == "skipped"


def test_a_multi_package_halt_has_one_line_per_package():
    many = TrainHalted(
        "the release train stopped 3 package(s)",
        "fix what each reason says, then re-run to resume",
        ["halted a: " + "x" * 300, "held b (depends on a, which halted)", "held c (depends on a, which halted)"],
    )
    lines = str(many).splitlines()
    assert lines[0] == "the release train stopped 3 package(s):"
    assert lines[1].startswith("  - halted a: xxx") and lines[2] == "  - held b (depends on a, which halted)"
    assert lines[-1] == "Fix: fix what each reason says, then re-run to resume"
    one = TrainHalted("the release train stopped 1 package(s): halted a: boom", "fix it")
    assert str(one) == "the release train stopped 1 package(s): halted a: boom. Fix: fix it"


def test_markdown_summary_of_verify_all_with_the_mermaid_graph(ecosystem, registry, tmp_path, monkeypatch):
    report = VerifyReport(
        [PackageResult("juniper-data-client", "0.3.1", "3.11", "passed", "uv", {"build": 2.0})], 2.0, 1, tmp_path
    )
    mermaid = build_graph(registry, ecosystem.workspace).to_mermaid()
    target = tmp_path / "summary.md"
    monkeypatch.delenv(summary.ENV_STEP_SUMMARY, raising=False)
    assert summary.summary_path(None) is None
    summary.write(summary.summary_path(str(target)), report.to_markdown(mermaid))
    text = target.read_text()
    assert text.startswith("## verify-all\n\n| package | version | python | result |")
    assert "| juniper-data-client | 0.3.1 | 3.11 | passed | uv |" in text
    assert "verify-all passed: 1 passed;" in text
    assert "```mermaid\ngraph TB" in text and text.rstrip().endswith("```")
    step = tmp_path / "step.md"
    step.write_text("earlier step\n")
    monkeypatch.setenv(summary.ENV_STEP_SUMMARY, str(step))
    summary.write(summary.summary_path(None), report.to_markdown())
    assert step.read_text().startswith("earlier step\n## verify-all")  # appended, as GitHub expects


def test_verify_all_quiet_prints_no_progress_and_normal_prints_the_plain_lines(ecosystem, registry, capsys):
    from juniper_release.verify.scheduler import verify_all

    name = "juniper-data-client"
    report = verify_all(registry, ecosystem.workspace, [name], verbosity=QUIET, force=True)
    assert report.ok, report.render()
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert name in durations.recorded("verify")  # the next run's ETA
    verify_all(registry, ecosystem.workspace, [name], force=True)
    err = capsys.readouterr().err
    assert f"[{name}] build ..." in err and f"[{name}] passed (" in err and "\x1b[" not in err

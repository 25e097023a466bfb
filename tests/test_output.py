"""Output: aligned text tables, Markdown tables, JSON, procedure steps, unified diffs and atomic JSON files."""

from __future__ import annotations

import io
import json
from pathlib import Path

from juniper_release.files import unified_diff, write_json
from juniper_release.output import emit, markdown, paint, step, table, to_json
from packaging.version import Version

ROWS = [
    {"package": "juniper-data", "layer": 1, "ok": True, "took": 2.345, "tag": None},
    {"package": "juniper-ml", "layer": 2, "ok": False, "took": 10.0, "tag": "v0.6.0"},
]


def test_table_aligns_columns_and_shows_values_for_people():
    assert table(ROWS).splitlines() == [
        "package       layer  ok   took  tag",
        "------------  -----  ---  ----  ------",
        "juniper-data  1      yes  2.3   -",
        "juniper-ml    2      no   10.0  v0.6.0",
    ]


def test_table_follows_the_given_columns_and_says_when_empty():
    assert table(ROWS, ["tag", "package"]).splitlines()[0] == "tag     package"
    assert table(ROWS, ["missing"]).splitlines()[2] == "-"
    assert table([]) == "(nothing to show)"


def test_markdown_escapes_pipes_and_newlines():
    rows = [{"step": "a | b", "detail": "line one\nline two", "done": True}]
    assert markdown(rows).splitlines() == [
        "| step | detail | done |",
        "|---|---|---|",
        "| a \\| b | line one line two | yes |",
    ]
    assert markdown([]) == "_nothing to show_"


def test_json_keeps_order_and_stringifies_paths_and_versions():
    text = to_json({"z": 1, "a": Path("/x/y"), "v": Version("1.0rc1")})
    assert list(json.loads(text)) == ["z", "a", "v"]
    assert json.loads(text) == {"z": 1, "a": "/x/y", "v": "1.0rc1"}
    assert text.startswith("{\n  ")


def test_emit_and_step():
    stream = io.StringIO()
    emit("hello", stream)
    assert stream.getvalue() == "hello\n"
    assert step("tag", "ok") == "[     ok] tag"
    assert step("push", "FAIL", "rejected") == "[   FAIL] push: rejected"


def test_unified_diff_of_a_new_and_a_changed_file():
    new = unified_diff(None, "a\n", "pkg/file.txt")
    assert new.splitlines()[:2] == ["--- /dev/null", "+++ b/pkg/file.txt"] and new.endswith("+a\n")
    changed = unified_diff("a\nb\n", "a\nc\n", "f")
    assert changed.splitlines()[:2] == ["--- a/f", "+++ b/f"] and "-b\n+c\n" in changed
    assert unified_diff("same\n", "same\n", "f") == ""


def test_write_json_replaces_the_file_whole_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "state.json"
    path.write_text("old", encoding="utf-8")
    write_json(path, {"b": 1, "a": [Path("p")]}, sort_keys=True)
    assert path.read_text(encoding="utf-8") == '{\n  "a": [\n    "p"\n  ],\n  "b": 1\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_table_wraps_the_message_column_to_the_width():
    rows = [{"package": "juniper-ml", "message": "word " * 60}, {"package": "x", "message": "short"}]
    lines = table(rows, width=60).splitlines()
    assert max(len(line) for line in lines) <= 60 and len(lines) > 4
    assert lines[3].startswith(" " * len("juniper-ml  ")) and lines[-1] == "x           short"
    assert table(rows, width=60).count("word") == 60 and len(table(rows, width=1000).splitlines()) == 4


def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert paint("[FAIL]", "FAIL", Tty()) == "\x1b[31m[FAIL]\x1b[0m"
    assert paint("[FAIL]", "FAIL", io.StringIO()) == "[FAIL]"
    monkeypatch.setenv("NO_COLOR", "1")
    assert paint("[FAIL]", "FAIL", Tty()) == "[FAIL]"


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


RED, YELLOW, GREEN = "\x1b[31m", "\x1b[33m", "\x1b[32m"


def test_check_and_status_tables_colour_their_severity_and_state_only_on_a_terminal(monkeypatch):
    from juniper_release.ecosystem import checks, status
    from juniper_release.ecosystem.checks import Finding
    from juniper_release.release.gates import Gate

    findings = [Finding("a", "license", "error", "no LICENSE"), Finding("b", "readme", "warning", "long")]
    versions = ("1.0", "1.0", "v1.0", 0, "1.0", "1.0")
    rows = [
        status.StatusRow("a", 0, *versions, status.State.ANOMALY),
        status.StatusRow("b", 0, *versions, status.State.UP_TO_DATE),
    ]
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr("sys.stdout", _Tty())
    text = checks.render(findings)
    assert f"{RED}error  " in text and f"{YELLOW}warning" in text and "no LICENSE" in text
    matrix = status.render(rows)
    assert f"{RED}ANOMALY" in matrix and f"{GREEN}UP_TO_DATE" in matrix
    assert Gate("tag", False, "stale", "bump").line().startswith(f"  {RED}[FAIL]")
    assert Gate("tag", True).line().startswith(f"  {GREEN}[  ok]")
    lines = text.splitlines()  # colour does not disturb the alignment of the columns after it
    assert lines[2].index("a ") - len(RED) - len("\x1b[0m") == lines[0].index("package")
    assert "\x1b[" not in checks.render(findings, as_json=True) + status.render(rows, fmt="json")

    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in checks.render(findings) + status.render(rows) + Gate("tag", False, "x", "y").line()
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setattr("sys.stdout", io.StringIO())
    assert "\x1b[" not in checks.render(findings) + status.render(rows) + Gate("tag", False, "x", "y").line()


def test_a_wide_table_drops_its_least_important_columns_first_and_says_so():
    from juniper_release.output import table

    rows = [{"package": "p" * 20, "layer": 0, "detail": "d" * 40, "extra": "e" * 30, "state": "UP_TO_DATE"}]
    text = table(rows, width=90, expendable=("extra", "detail", "layer"))
    header = text.splitlines()[0]
    assert "extra" not in header and "detail" in header and "layer" in header  # only as many as needed go
    assert text.splitlines()[-1] == "(hidden to fit 90 columns: extra; --json shows every column)"
    assert "(hidden" not in table(rows, width=200, expendable=("extra",))


def test_a_code_span_keeps_untrusted_text_literal():
    """Names from the code (an API finding's path and signature) go into Markdown as code spans: a backtick inside
    cannot close the span early, a newline cannot start a `::` workflow-command line, control characters show
    escaped, and HTML inside a code span is never read as HTML."""
    from juniper_release.output import markdown_code

    assert markdown_code("demo_pkg.Box") == "`demo_pkg.Box`"
    assert markdown_code("a``b") == "```a``b```"
    assert markdown_code("`edge") == "`` `edge ``"
    shown = markdown_code("pkg.a\x1b[31mred\n::error::pwned <img src=x onerror=alert(1)>")
    assert "\x1b" not in shown and "\n" not in shown and shown.startswith("`") and shown.endswith("`")

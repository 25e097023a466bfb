"""Output: aligned text tables, GitHub-flavoured Markdown tables, JSON and the step lines of a procedure."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import sys
import textwrap
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

# ------------------------------------------------------------------------------------------- untrusted text

_INVISIBLE = frozenset("\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff")
"""Format characters that reorder or hide what is shown (bidi overrides, zero-width marks): escaped like controls."""


def _escaped(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, multiline: bool = False) -> str:
    """Text from people (a commit subject, a CHANGELOG line, a file or tag name, a PR title) as it may reach a
    terminal or a CI log: every control character (escape sequences, carriage returns, C1 controls, bidi overrides)
    shown escaped (``\\x1b``); a newline kept only when ``multiline``, and then no line may start with ``::``
    (:func:`no_workflow_commands`). Every printer here passes its cells through it."""
    out = []
    for char in text:
        keep = (char == "\n" and multiline) or char == "\t"
        unsafe = not keep and (unicodedata.category(char) == "Cc" or char in _INVISIBLE)
        out.append(_escaped(char) if unsafe else char)
    shown = "".join(out)
    return no_workflow_commands(shown) if multiline else shown


def no_workflow_commands(text: str) -> str:
    """``text`` with a backslash before every line that would start (after blanks) with ``::``: GitHub Actions reads
    such a log line as a workflow command (``::add-mask::``, ``::stop-commands::``, ``::error::``). Markdown shows
    ``\\::`` as ``::``."""
    lines = text.split("\n")
    return "\n".join(
        f"{line[: len(line) - len(s)]}\\{s}" if (s := line.lstrip()).startswith("::") else line for line in lines
    )


_MARKDOWN_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`*_[]|~"})


def markdown_text(text: Any) -> str:
    """Untrusted text inside Markdown (a job summary, a PR or issue body): shown as the very characters, never as
    markup. HTML is escaped (a tag ``v1<img src=x onerror=...>`` stays text), Markdown punctuation (code spans,
    emphasis, links, tables) gets its backslash, a newline becomes a space and control characters are escaped."""
    return html.escape(printable(str(text).replace("\n", " ")), quote=False).translate(_MARKDOWN_SPECIAL)


def markdown_code(text: Any) -> str:
    """Untrusted text as a Markdown code span: shown literally (neither HTML nor markup is read inside one), on one
    line, its control characters escaped, fenced by more backticks than any run of them inside it."""
    shown = printable(str(text).replace("\n", " "))
    fence = "`" * (max((len(run) for run in re.findall(r"`+", shown)), default=0) + 1)
    pad = " " if shown[:1] == "`" or shown[-1:] == "`" else ""
    return f"{fence}{pad}{shown}{pad}{fence}"


def _plain(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _cell(value: Any) -> str:
    """A table cell on one line (a newline reads as a space, as wrapping does), its control characters escaped."""
    return printable(_plain(value).replace("\n", " "))


DEFAULT_WIDTH = 120
"""The width tables wrap to without a terminal (CI logs)."""

_MIN_LAST_COLUMN = 30


def diffstat(diff: str) -> tuple[int, int]:
    """The lines a unified diff adds and removes (its ``+++``/``---`` headers not counted)."""
    lines = diff.splitlines()
    added = sum(1 for line in lines if line.startswith("+") and not line.startswith("+++"))
    return added, sum(1 for line in lines if line.startswith("-") and not line.startswith("---"))


def asked_width() -> int | None:
    """The width ``$COLUMNS`` asks for (a terminal's size as the shell exports it), if set."""
    value = os.environ.get("COLUMNS", "")
    return int(value) if value.isdigit() and int(value) > 0 else None


def terminal_width(stream: TextIO | None = None) -> int:
    """The terminal's width (``$COLUMNS`` when set), or :data:`DEFAULT_WIDTH` when the output is not a terminal."""
    stream = stream or sys.stdout
    if not stream.isatty():
        return asked_width() or DEFAULT_WIDTH
    return shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns


def table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str] | None = None,
    width: int | None = None,
    painted: str | None = None,
    expendable: Sequence[str] = (),
) -> str:
    """An aligned plain-text table with a header row; the last column (messages) is wrapped to ``width``
    (default: :func:`terminal_width`), continuation lines indented under it. The cells of column ``painted`` (a
    severity or state) are coloured by their value (:func:`paint`). When the table is wider than ``width``, the
    ``expendable`` columns go first, least important first, and a line under the table names them."""
    if not rows:
        return "(nothing to show)"
    # Columns are dropped only to fit a terminal (or an asked width): a log or a pipe keeps every column.
    drop = expendable if width is not None or sys.stdout.isatty() or asked_width() else ()
    width = terminal_width() if width is None else width
    cols = _fitting(rows, list(columns or rows[0].keys()), width, drop)
    hidden = [c for c in (columns or rows[0].keys()) if c not in cols]
    cells = [[_cell(row.get(c)) for c in cols] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(cols)]
    indent = sum(w + 2 for w in widths[:-1])
    widths[-1] = min(widths[-1], max(_MIN_LAST_COLUMN, len(cols[-1]), width - indent))
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for r in cells:
        last = textwrap.wrap(r[-1], widths[-1], break_on_hyphens=False) or [r[-1]]
        shown = [v.ljust(w) for v, w in zip([*r[:-1], last[0]], widths, strict=True)]
        if painted in cols:
            at = cols.index(painted)
            shown[at] = paint(shown[at], r[at])
        lines.append("  ".join(shown).rstrip())
        lines += [" " * indent + more for more in last[1:]]
    if hidden:
        note = f"(hidden to fit {width} columns: {', '.join(hidden)}; --json shows every column)"
        lines += textwrap.wrap(note, width, break_on_hyphens=False)
    return no_workflow_commands("\n".join(lines))  # a wrapped cell may begin a line


def _fitting(rows: Sequence[Mapping[str, Any]], cols: list[str], width: int, expendable: Sequence[str]) -> list[str]:
    """``cols`` without the first ``expendable`` ones, until the table fits ``width`` (or none is left to drop)."""
    for name in [*expendable, None]:
        widths = [max(len(c), *(len(_cell(r.get(c))) for r in rows)) for c in cols]
        if sum(w + 2 for w in widths) - 2 <= width or name is None:
            return cols
        if name in cols:
            cols = [c for c in cols if c != name]
    return cols


_COLOURS = {
    **dict.fromkeys(("ok", "passed", "done", "UP_TO_DATE", "cached", "released", "opened"), "32"),
    **dict.fromkeys(("warning", "skipped", "held", "pending-approval"), "33"),
    **dict.fromkeys(("would", "ready"), "36"),
    **dict.fromkeys(("failed", "FAIL", "error", "ANOMALY", "UNKNOWN", "halted", "drifted", "missing"), "31"),
}
"""Green for success, yellow for a warning, cyan for what a dry run would do, red for a failure or finding."""


QUIET, NORMAL, VERBOSE = 0, 1, 2
"""Verbosity: ``-q`` prints only the summary, the default the progress, ``-v`` also every command and step table."""


def verbosity(*, quiet: bool = False, verbose: bool = False) -> int:
    """The verbosity ``-q``/``--quiet`` and ``-v``/``--verbose`` ask for (both at once is an error)."""
    if quiet and verbose:
        from juniper_release.errors import JuniperError

        raise JuniperError("--quiet and --verbose contradict each other", "pass one of them")
    return QUIET if quiet else VERBOSE if verbose else NORMAL


def is_terminal(stream: TextIO | None = None) -> bool:
    """The one rule for "a person is watching": ``stream`` is a terminal that is not ``TERM=dumb``.

    CI logs and pipes are not terminals; they get plain lines."""
    stream = stream or sys.stdout
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):  # a closed or odd stream
        return False
    return tty and os.environ.get("TERM", "") != "dumb"


def colour_enabled(stream: TextIO | None = None) -> bool:
    """Colour only on a terminal (:func:`is_terminal`), and never when ``NO_COLOR`` is set (https://no-color.org)."""
    return not os.environ.get("NO_COLOR") and is_terminal(stream)


def live_enabled(stream: TextIO | None = None) -> bool:
    """A live progress display (redrawn in place) only where colour is enabled, and never under CI (``CI`` set)."""
    return colour_enabled(stream) and not os.environ.get("CI")


def paint(text: str, outcome: str, stream: TextIO | None = None) -> str:
    """``text`` in the colour of ``outcome`` (green ok, yellow warning, red failed) when colour is enabled."""
    key = outcome.strip()
    code = _COLOURS.get(key) or _COLOURS.get(key.split(" ", 1)[0].rstrip(":"))  # "failed (build)", "skipped: ..."
    return f"\x1b[{code}m{text}\x1b[0m" if code and colour_enabled(stream) else text


_DIFF_COLOURS = (("+++", "1"), ("---", "1"), ("@@", "36"), ("+", "32"), ("-", "31"))


def paint_diff(text: str, stream: TextIO | None = None) -> str:
    """A unified diff with added lines green, removed lines red and hunk headers cyan, when colour is enabled."""
    if not colour_enabled(stream):
        return text
    lines = []
    for line in text.split("\n"):
        code = next((c for prefix, c in _DIFF_COLOURS if line.startswith(prefix)), None)
        lines.append(f"\x1b[{code}m{line}\x1b[0m" if code and line else line)
    return "\n".join(lines)


def bullets(head: str, items: Sequence[str]) -> str:
    """A message about several packages: ``head`` then one indented line per item (never one 900-character line)."""
    return head + "".join(f"\n  - {printable(item)}" for item in items)


def markdown(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """A GitHub-flavoured Markdown table (for step summaries)."""
    if not rows:
        return "_nothing to show_"
    cols = list(columns or rows[0].keys())

    def esc(v: Any) -> str:
        return markdown_text(_plain(v))

    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(esc(row.get(c)) for c in cols) + " |" for row in rows]
    return "\n".join(lines)


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=False, default=str)


def emit(text: str, stream: TextIO | None = None) -> None:
    print(text, file=stream or sys.stdout, flush=True)


def to_stderr(text: str) -> None:
    """A line for the person at the terminal (a warning, a wait, a plan): on stderr, so stdout stays the task's own
    output (a table, JSON)."""
    print(text, file=sys.stderr, flush=True)


def step(name: str, outcome: str, detail: str = "") -> str:
    """One line of an ordered procedure: ``[outcome] name: detail``."""
    return paint(f"[{outcome:>7}]", outcome) + f" {printable(name)}" + (f": {printable(detail)}" if detail else "")

"""The README and the pages under docs/ are tested like code.

- Every command they show uses the console script (``juniper-release``), never ``invoke``.
- Every ``juniper-release`` command in a fenced code block parses: its task and every flag exist, so a renamed flag
  or task fails here.
- Every line of a ```` ```console ```` block that starts with ``$ juniper-release`` (or ``$ nox``) is run, on the stand-in, in the
  page's own fresh cache directory (so the commands of one page run in order, as a flow does). It must exit 0, or the
  code its comment names (``# exit 1: findings``), and every output line the block shows under it must appear in its stdout, in order (a line
  ``...`` stands for lines left out). A command ending in ``# slow`` is marked slow.
- The Layout page lists every module of the engine, and no module that is gone.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from invoke.exceptions import Exit, ParseError

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PROGRAM = "juniper-release"
SHELL_STOPS = frozenset({">", ">>", "|", "&&", "||", ";", "2>", "2>&1"})
"""Where a shown command ends and the shell takes over (a redirection or a pipe)."""
SECRET_ENV = ("JUNIPER_REGISTRY", "JUNIPER_WORKSPACE", "GITHUB_TOKEN", "GH_TOKEN", "TWINE_PASSWORD")


def doc_files() -> list[Path]:
    """The README and every page under docs/."""
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


@dataclass(frozen=True)
class Block:
    """One fenced code block: its info string, the line its body starts on, and its lines."""

    page: Path
    info: str
    line: int
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Command:
    """One ``juniper-release`` command shown in a fenced block, with the output shown under it (console blocks)."""

    page: Path
    line: int
    argv: tuple[str, ...]
    runs: bool
    program: str
    slow: bool
    exit: int
    shown: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(ROOT).as_posix()}:{self.line}"


def fenced_blocks(page: Path) -> list[Block]:
    """The fenced code blocks of a Markdown page."""
    blocks: list[Block] = []
    fence: str | None = None
    info, start, body = "", 0, []
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        stripped = line.strip()
        if fence is None:
            match = re.match(r"(`{3,}|~{3,})\s*([\w-]*)", stripped)
            if match:
                fence, info, start, body = match[1], match[2], number + 1, []
        elif stripped.startswith(fence) and stripped.strip(fence[0]) == "":
            blocks.append(Block(page, info, start, tuple(body)))
            fence = None
        else:
            body.append(line)
    assert fence is None, f"{page.name}: a code block is never closed"
    return blocks


def _argv(text: str) -> tuple[tuple[str, ...], bool]:
    """The command's words up to the first shell operator, and whether it is marked ``# slow``."""
    slow = bool(re.search(r"#.*\bslow\b", text))
    words: list[str] = []
    for word in shlex.split(text, comments=True):
        if word in SHELL_STOPS:
            break
        words.append(word)
    return tuple(words), slow


def commands(page: Path) -> list[Command]:
    """Every ``juniper-release`` command of the page's fenced blocks."""
    found: list[Command] = []
    for block in fenced_blocks(page):
        console = block.info == "console"
        for offset, line in enumerate(block.lines):
            text = line.strip()
            prompt = text.startswith("$ ")
            text = text.removeprefix("$ ")
            first = text.split()[0] if text else ""
            if first != PROGRAM and not (first == "nox" and console and prompt):
                continue
            argv, slow = _argv(text)
            shown: list[str] = []
            if console and prompt:
                for following in block.lines[offset + 1 :]:
                    if following.startswith("$ "):
                        break
                    shown.append(following.rstrip())
            runs = console and prompt
            code = re.search(r"#.*\bexit (\d+)", text)
            exit_code = int(code[1]) if code else 0
            found.append(Command(page, block.line + offset, argv, runs, argv[0], slow, exit_code, tuple(shown)))
    return found


EVERY = [cmd for page in doc_files() for cmd in commands(page)]
ALL = [cmd for cmd in EVERY if cmd.program == PROGRAM]
RUN = [cmd for cmd in EVERY if cmd.runs]


def test_the_docs_show_commands_to_run() -> None:
    assert len(ALL) >= 40, "the README and docs/ show the console script's commands"
    assert len(RUN) >= 15, "console blocks with `$ juniper-release` lines are run"
    assert {cmd.page.name for cmd in RUN} >= {"README.md", "status.md", "detect.md"}


@pytest.mark.parametrize("page", doc_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_command_uses_the_console_script(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    inline = re.findall(r"`(invoke [^`]*)`", text)
    fenced = [
        f"{block.line + i}: {line.strip()}"
        for block in fenced_blocks(page)
        for i, line in enumerate(block.lines)
        if re.match(r"(\$ )?(inv|invoke) ", line.strip())
    ]
    assert not inline and not fenced, f"{page.name}: use `{PROGRAM}`, not invoke: {inline + fenced}"


@pytest.mark.parametrize("cmd", ALL, ids=lambda c: c.id)
def test_every_command_parses(cmd: Command, capsys: pytest.CaptureFixture[str]) -> None:
    from juniper_release.cli.program import program

    argv = [PROGRAM, *cmd.argv[1:]]
    try:
        program.create_config()
        program.parse_core(argv)
        program.parse_collection()
        program.parse_tasks()
    except Exit:  # --version, --print-completion-script: done after parsing
        pass
    except (ParseError, SystemExit) as exc:
        said = capsys.readouterr().err.strip() or repr(exc)
        pytest.fail(f"{cmd.id}: `{shlex.join(cmd.argv)}` does not parse: {said}")


@pytest.fixture(scope="module")
def page_caches(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, Path]:
    """One fresh cache directory (hence one fresh stand-in) per page, shared by its commands in order."""
    return {page: tmp_path_factory.mktemp(page.stem) for page in doc_files()}


def _shown_in_order(shown: tuple[str, ...], stdout: str) -> list[str]:
    """The shown output lines (``...`` elides) that do not appear in ``stdout`` in that order."""
    actual = [line.rstrip() for line in stdout.splitlines()]
    missing: list[str] = []
    at = 0
    for line in shown:
        if not line.strip() or line.strip() == "...":
            continue
        try:
            at = actual.index(line, at) + 1
        except ValueError:
            missing.append(line)
    return missing


@pytest.mark.parametrize(
    "cmd", [pytest.param(c, marks=[pytest.mark.slow] if c.slow else []) for c in RUN], ids=lambda c: c.id
)
def test_every_console_command_runs_on_the_stand_in(cmd: Command, page_caches: dict[Path, Path]) -> None:
    env = {k: v for k, v in os.environ.items() if k not in SECRET_ENV}
    env.update(JUNIPER_CACHE_DIR=str(page_caches[cmd.page]), NO_COLOR="1", COLUMNS="160")  # tables at full width
    if cmd.program == "nox":
        front = [sys.executable, "-m", "nox", "-f", str(ROOT / "noxfile.py")]
    else:
        front = [sys.executable, "-c", "from juniper_release.cli.program import main; main()"]
    result = subprocess.run(
        [*front, *cmd.argv[1:]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    shown = shlex.join(cmd.argv)
    assert result.returncode == cmd.exit, f"{cmd.id}: `{shown}` exited {result.returncode}:\n{result.stderr[-2000:]}"
    missing = _shown_in_order(cmd.shown, result.stdout)
    assert not missing, f"{cmd.id}: `{shown}` no longer prints {missing}; it prints:\n{result.stdout}"


# ----------------------------------------------------------------------------------------------------- layout


def _layout_listed() -> set[str]:
    """The modules the Layout page lists: one per line, under the directory line (``name/``) above it."""
    blocks = [b for b in fenced_blocks(DOCS / "layout.md") if b.info == "text"]
    assert blocks, "docs/layout.md holds the tree in a ```text block"
    listed: set[str] = set()
    stack: list[tuple[int, str]] = []
    for line in blocks[0].lines:
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        name = line.split()[0]
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = "/".join([*(d for _, d in stack), name.rstrip("/")])
        if name.endswith("/"):
            stack.append((indent, name.rstrip("/")))
        else:
            listed.add(path)
    return listed


def test_the_layout_page_lists_every_module_and_no_stale_one() -> None:
    engine = ROOT / "scripts" / "juniper_release"
    modules = {
        p.relative_to(ROOT).as_posix()
        for p in engine.rglob("*.py")
        if p.name != "__init__.py" and "__pycache__" not in p.parts
    }
    templates = {p.relative_to(ROOT).as_posix() for p in (engine / "github" / "templates").iterdir() if p.is_file()}
    front = {"noxfile.py", "tasks.py"}
    listed = _layout_listed()
    assert sorted((modules | templates | front) - listed) == [], "add these to docs/layout.md"
    assert sorted(p for p in listed if not (ROOT / p).exists()) == [], "these are gone: drop them from docs/layout.md"


@pytest.mark.parametrize("page", doc_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_names_a_file_that_exists(page: Path) -> None:
    text = "\n".join(line for block in fenced_blocks(page) for line in block.lines)
    prose = page.read_text(encoding="utf-8")
    for line in text.splitlines():
        prose = prose.replace(line, "")
    targets = re.findall(r"\]\(([^)\s]+)\)", prose)
    broken = [t for t in targets if not re.match(r"[a-z]+:", t) and not (page.parent / t.split("#")[0]).exists()]
    assert not broken, f"{page.name}: links to missing files: {broken}"


def test_the_readme_is_a_guide_under_400_lines() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) < 400
    headings = [line for line in lines if line.startswith("## ")]
    assert headings[0] == "## Get started", "the first screen: what the tool is, then how to start"
    assert "## Developing" in headings


def test_the_registry_page_documents_every_registry_field() -> None:
    from juniper_release.ecosystem import groups, registry

    fields = {
        *groups._GROUP_FIELDS,
        *registry._SETTINGS_FIELDS,
        *registry._PACKAGE_FIELDS,
        *registry._INDEX_FIELDS,
        *registry._TORCH_FIELDS,
    }
    page = (DOCS / "registry.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`(?:[\w.]+\.|\[\[(?:package|group)\]\] )?(\w+)`", page))
    assert sorted(fields - named) == [], "document these registry fields in docs/registry.md"

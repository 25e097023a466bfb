"""The tool's own packaging: one dependency list, declared twice (pyproject and the noxfile's PEP 723 header)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pep723(path: Path) -> dict[str, object]:
    text = path.read_text(encoding="utf-8")
    match = re.search(r"^# /// script\n(?P<body>(?:#.*\n)+?)# ///$", text, re.MULTILINE)
    assert match, f"{path.name} has no PEP 723 block"
    body = "".join(line[2:] if line.startswith("# ") else line[1:] for line in match["body"].splitlines(True))
    return tomllib.loads(body)


def test_noxfile_header_matches_pyproject_dependencies() -> None:
    header = _pep723(ROOT / "noxfile.py")
    with (ROOT / "pyproject.toml").open("rb") as fh:
        project = tomllib.load(fh)["project"]
    assert sorted(header["dependencies"]) == sorted(project["dependencies"])  # type: ignore[call-overload]
    assert header["requires-python"] == project["requires-python"]


def test_engine_is_importable_and_typed() -> None:
    import juniper_release

    assert (Path(juniper_release.__file__).parent / "py.typed").is_file()


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = re.findall(r"^(python3 -m pip install nox uv && nox -s tests)\b", readme, re.MULTILINE)
    assert commands, "README.md must show the test command"
    assert any(line.strip() == commands[0] for line in ci.splitlines())

"""``invoke detect``: the classes of changed files, the bump, changelog conflicts, the baseline and target, the JSON
manifest and the exit codes; on real git repositories in tmp dirs and on the stand-in ecosystem."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT, run_task
from juniper_release.ecosystem import detect, detect_report, status
from juniper_release.ecosystem.changes import FileClass, changed_files, pyproject_changes, same_code
from juniper_release.ecosystem.detect import Finding, Level, bump_part, changelog_categories, commit_level
from juniper_release.ecosystem.project import read_project
from juniper_release.ecosystem.registry import Registry, parse_registry
from juniper_release.errors import ConfigError
from juniper_release.gitops import Git
from juniper_release.sandbox.standin import GIT_ENV
from packaging.version import Version

REGISTRY = """
[settings]
owner = "o"
organization = "org"
tag_format = "v{{version}}"
branch = "main"
publish_workflow = ".github/workflows/publish.yml"
[indexes.pypi]
upload_url = "https://upload.pypi.org/legacy/"
simple_url = "https://pypi.org/simple/"
[indexes.testpypi]
upload_url = "https://test.pypi.org/legacy/"
simple_url = "https://test.pypi.org/simple/"
[torch]
version = "2.5.0"
source = "https://download.pytorch.org/whl/cpu"
[[package]]
name = "demo-pkg"
repo = "o/demo-pkg"
path = "demo-pkg"
import = ["demo_pkg"]
layer = 0
torch = false
{extra}
"""

PYPROJECT = """[build-system]
requires = ["setuptools>=77"]
build-backend = "setuptools.build_meta"

[project]
name = "demo-pkg"
version = "{version}"
requires-python = ">=3.11"
dependencies = ["numpy>=1.26,<3", "requests>=2.31"]

[project.optional-dependencies]
api = ["fastapi>=0.110"]

[project.scripts]
demo = "demo_pkg.cli:main"

[tool.ruff]
line-length = 120
"""

MODULE = '''"""Demo package."""

__version__ = "{version}"


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b  # plain
'''

CHANGELOG = "# Changelog\n\n## [Unreleased]\n{unreleased}\n## [{version}] - 2026-01-01\n\n### Added\n\n- First.\n"


def _registry(tmp_path: Path, extra: str = "") -> Registry:
    path = tmp_path / "repos.toml"
    text = REGISTRY.format(extra=extra)
    path.write_text(text, encoding="utf-8")
    return parse_registry(text, path, env={})


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")


def _commit(root: Path, message: str, files: dict[str, str]) -> None:
    _write(root, files)
    git = Git(root, env=GIT_ENV)
    git.run("add", "-A")
    git.run("commit", "-q", "-m", message)


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """A released demo package (v0.4.0, tagged) with a bare origin, in ``tmp_path/ws/demo-pkg``."""
    root = tmp_path / "ws" / "demo-pkg"
    root.mkdir(parents=True)
    bare = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    git = Git(root, env=GIT_ENV)
    git.run("init", "-q", "-b", "main")
    _commit(
        root,
        "feat: initial import",
        {
            "pyproject.toml": PYPROJECT.format(version="0.4.0"),
            "src/demo_pkg/__init__.py": MODULE.format(version="0.4.0"),
            "src/demo_pkg/schema.json": "{}\n",
            "tests/test_demo.py": "def test_add():\n    assert True\n",
            "docs/index.md": "# Demo\n",
            "README.md": "# demo\n",
            "CHANGELOG.md": CHANGELOG.format(unreleased="", version="0.4.0"),
            ".github/workflows/ci.yml": "name: ci\n",
        },
    )
    git.tag_annotated("v0.4.0", "Release 0.4.0")
    git.run("remote", "add", "origin", str(bare))
    git.run("push", "-q", "--follow-tags", "origin", "main")
    return root


def _classes(reg: Registry, root: Path) -> dict[str, list[str]]:
    found = changed_files(reg, reg.get("demo-pkg"), Git(root), "v0.4.0")
    return {str(cls): [f.path for f in files] for cls, files in found.by_class().items()}


def _detect(reg: Registry, root: Path, *, fetch: bool = False, packages: str | None = None) -> detect.Detection:
    found = detect_report.collect(reg, root.parent, packages, sandbox=True, fetch=fetch, warn=lambda _m: None)
    return found[0]


# --------------------------------------------------------------------------------------------------- classes


def test_tokens_not_lines_decide_a_code_change():
    old = MODULE.format(version="0.4.0")
    assert same_code(old, old.replace("# plain", "# a new comment\n# and another"))
    assert same_code(old, old.replace('"""Add two numbers."""', '"""Add two numbers, documented at length."""'))
    assert same_code(old, old.replace('"""Demo package."""', "'''Another module docstring.'''"))
    assert same_code(old, old.replace("\n\ndef add", "\n\n\n\ndef add").replace("\n    ", "\n        "))
    assert not same_code(old, old.replace("a + b", "a - b"))
    assert not same_code("x = 1\n-y\n", "x = 1 - y\n")  # a statement break is a token
    assert same_code(old, old.replace('    """Add two numbers."""\n', ""))  # a docstring removed


def test_comment_and_docstring_only_changes_are_cosmetic(tmp_path, demo):
    reg = _registry(tmp_path)
    module = (demo / "src/demo_pkg/__init__.py").read_text()
    changed = module.replace("# plain", "# why it is plain").replace("Add two numbers.", "Sum of a and b.")
    _commit(demo, "docs: explain add", {"src/demo_pkg/__init__.py": changed})
    assert _classes(reg, demo) == {"cosmetic": ["src/demo_pkg/__init__.py"]}
    d = _detect(reg, demo)
    assert d.state is Finding.SHIPPED_NOTHING and detect_report.exit_code([d]) == 0


def test_a_token_change_is_code(tmp_path, demo):
    reg = _registry(tmp_path)
    module = (demo / "src/demo_pkg/__init__.py").read_text()
    _commit(demo, "fix: add really adds", {"src/demo_pkg/__init__.py": module.replace("a + b", "b + a + 0")})
    assert _classes(reg, demo) == {"code": ["src/demo_pkg/__init__.py"]}


def test_package_data_and_a_new_module(tmp_path, demo):
    reg = _registry(tmp_path)
    _commit(demo, "feat: schema v2", {"src/demo_pkg/schema.json": '{"v": 2}\n', "src/demo_pkg/extra.py": "X = 1\n"})
    assert _classes(reg, demo) == {"code": ["src/demo_pkg/extra.py"], "package data": ["src/demo_pkg/schema.json"]}


def test_pyproject_runtime_fields_count_tool_tables_and_reformatting_do_not(tmp_path, demo):
    reg = _registry(tmp_path)
    text = PYPROJECT.format(version="0.4.0")
    deep = text.replace('api = ["fastapi>=0.110"]', 'api = ["fastapi>=0.115"]')
    assert pyproject_changes(text, deep) == ["optional-dependencies.api"]
    assert pyproject_changes(text, text.replace('"numpy>=1.26,<3"', '"numpy>=2"')) == ["dependencies"]
    assert pyproject_changes(text, text.replace("main", "run")) == ["scripts"]
    assert pyproject_changes(text, text.replace(">=3.11", ">=3.12")) == ["requires-python"]
    reformatted = text.replace(
        'dependencies = ["numpy>=1.26,<3", "requests>=2.31"]',
        'dependencies = [\n    "Requests >= 2.31",\n    "numpy <3, >=1.26",  # sorted\n]',
    )
    assert pyproject_changes(text, reformatted) == []
    assert pyproject_changes(text, text.replace("line-length = 120", "line-length = 100")) == []
    _commit(demo, "chore: ruff", {"pyproject.toml": reformatted.replace("line-length = 120", "line-length = 100")})
    assert _classes(reg, demo) == {"cosmetic": ["pyproject.toml"]}
    _commit(demo, "feat(api): newer fastapi", {"pyproject.toml": deep})
    found = changed_files(reg, reg.get("demo-pkg"), Git(demo), "v0.4.0")
    assert [(f.path, f.cls, f.detail) for f in found.files] == [
        ("pyproject.toml", FileClass.PYPROJECT, "optional-dependencies.api")
    ]


def test_tests_docs_and_ci_only_ship_nothing(tmp_path, demo):
    reg = _registry(tmp_path)
    _commit(
        demo,
        "fix: tests and notes",
        {
            "tests/test_demo.py": "def test_add():\n    assert 1\n",
            "docs/index.md": "# Demo, documented\n",
            "NOTES.md": "notes\n",
            ".github/workflows/ci.yml": "name: ci2\n",
        },
    )
    assert _classes(reg, demo) == {
        "tests": ["tests/test_demo.py"],
        "docs": ["NOTES.md", "docs/index.md"],
        "ci": [".github/workflows/ci.yml"],
    }
    d = _detect(reg, demo)
    assert (d.state, d.bump.part) == (Finding.SHIPPED_NOTHING, None)
    assert detect_report.exit_code([d]) == 0


def test_ship_and_exclude_paths_from_the_registry(tmp_path, demo):
    reg = _registry(tmp_path, 'ship_paths = ["src/demo_pkg", "data"]\nexclude_paths = ["src/demo_pkg/*.json"]')
    assert reg.get("demo-pkg").ship_paths == ("src/demo_pkg", "data")
    _commit(demo, "feat: data", {"data/table.csv": "a,b\n", "src/demo_pkg/schema.json": "[]\n"})
    assert _classes(reg, demo) == {"package data": ["data/table.csv"], "other": ["src/demo_pkg/schema.json"]}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("ship_paths = []", "ship_paths is an empty list"),
        ('ship_paths = "src"', "ship_paths must be a list"),
        ('exclude_paths = ["../x"]', "exclude_paths '../x' must be a relative path"),
        ('exclude_paths = ["a", "a/"]', "exclude_paths lists a path twice"),
        ("ship_paths = [1]", "ship_paths must be a list of strings"),
    ],
)
def test_ship_paths_are_validated_strictly(tmp_path, extra, message):
    with pytest.raises(ConfigError, match=r"repos\.toml: package demo-pkg") as info:
        _registry(tmp_path, extra)
    assert message in str(info.value) and "Fix:" in str(info.value)


# --------------------------------------------------------------------------------------------------- the bump


def test_commit_levels_and_the_bump_rule_before_and_after_1_0():
    assert commit_level("feat(api)!: drop v1") is Level.BREAKING
    assert commit_level("fix: x", "body\n\nBREAKING CHANGE: the API moved") is Level.BREAKING
    assert commit_level("feat: y") is Level.FEATURE and commit_level("fix(core): z") is Level.FIX
    assert commit_level("docs: a") is Level.NONE and commit_level("Update things") is Level.NONE
    assert [bump_part(level, Version("0.4.0")) for level in Level] == [None, "patch", "minor", "minor"]
    assert [bump_part(level, Version("1.2.0")) for level in Level] == [None, "patch", "minor", "major"]


def test_changelog_categories():
    log = CHANGELOG.format(unreleased="\n### Removed\n\n- The v1 API.\n\n### Fixed\n\n- A crash.\n", version="1.0.0")
    assert changelog_categories(log) == (Level.BREAKING, ("Removed", "Fixed"))
    assert changelog_categories(CHANGELOG.format(unreleased="", version="1.0.0")) == (Level.NONE, ())
    assert changelog_categories(None) == (Level.NONE, ())


def test_bump_from_the_evidence_before_1_0(tmp_path, demo):
    reg = _registry(tmp_path)
    log = CHANGELOG.format(unreleased="\n### Added\n\n- extra.\n", version="0.4.0")
    _commit(demo, "feat: an extra module", {"src/demo_pkg/extra.py": "X = 1\n", "CHANGELOG.md": log})
    d = _detect(reg, demo)
    assert (d.state, d.bump.part, d.bump.next_version, d.bump.conflict) == (
        Finding.RELEASE_WORTHY,
        "minor",
        "0.5.0",
        None,
    )
    _commit(demo, "feat!: drop add", {"src/demo_pkg/extra.py": "X = 2\n"})
    d = _detect(reg, demo)
    assert (d.bump.part, d.bump.from_commits, d.state) == ("minor", Level.BREAKING, Finding.CHANGELOG_CONFLICT)


def test_changelog_conflicts_removed_with_only_fixes_and_code_with_an_empty_unreleased(tmp_path, demo):
    reg = _registry(tmp_path)
    _commit(demo, "fix: off by one", {"src/demo_pkg/_extra.py": "X = 1\n"})
    d = _detect(reg, demo)
    assert d.state is Finding.CHANGELOG_CONFLICT and d.bump.part == "patch"
    assert d.bump.conflict == "release-worthy changes but the CHANGELOG's [Unreleased] is empty"
    assert "patch -> 0.4.1 (changelog conflict)" in detect_report.render([d])
    log = CHANGELOG.format(unreleased="\n### Removed\n\n- add().\n", version="0.4.0")
    _commit(demo, "fix: changelog", {"CHANGELOG.md": log})
    d = _detect(reg, demo)
    assert d.state is Finding.CHANGELOG_CONFLICT and d.bump.part == "minor"  # proposed from the evidence anyway
    assert d.bump.conflict == "[Unreleased] (Removed) asks for a breaking bump, the commits for a fix one"
    assert detect_report.exit_code([d]) == 1


def test_from_1_0_a_breaking_change_is_major(tmp_path, demo):
    reg = _registry(tmp_path)
    git = Git(demo, env=GIT_ENV)
    module = MODULE.format(version="1.0.0")
    bumped = {"pyproject.toml": PYPROJECT.format(version="1.0.0"), "src/demo_pkg/__init__.py": module}
    _commit(demo, "Bump version to 1.0.0", bumped)
    git.tag_annotated("v1.0.0", "Release 1.0.0")
    log = CHANGELOG.format(unreleased="\n### Removed\n\n- add().\n", version="1.0.0")
    _commit(
        demo,
        "feat!: rename add",
        {"src/demo_pkg/__init__.py": module.replace("def add", "def plus"), "CHANGELOG.md": log},
    )
    d = _detect(reg, demo)
    assert (d.tag, d.released, d.bump.part, d.bump.next_version, d.state) == (
        "v1.0.0",
        "1.0.0",
        "major",
        "2.0.0",
        Finding.RELEASE_WORTHY,
    )


# --------------------------------------------------------------------------------------------------- baseline


def test_offline_compares_with_the_local_head_and_says_so(tmp_path, demo):
    reg = _registry(tmp_path)
    _commit(demo, "fix: local only", {"src/demo_pkg/extra.py": "X = 1\n"})  # not pushed
    online = _detect(reg, demo, fetch=True)
    assert (online.target, online.local_head, online.state) == ("origin/main", False, Finding.UP_TO_DATE)
    offline = _detect(reg, demo, fetch=False)
    assert (offline.target, offline.local_head, offline.state) == ("HEAD", True, Finding.CHANGELOG_CONFLICT)
    assert any("compared with the local HEAD" in n for n in offline.notes)
    table = detect_report.render([offline])
    assert "HEAD (local)" in table and "notes:\n- demo-pkg: offline:" in table


def test_a_failing_fetch_falls_back_to_the_local_head(tmp_path, demo):
    Git(demo).run("remote", "set-url", "origin", str(tmp_path / "gone.git"))
    d = _detect(_registry(tmp_path), demo, fetch=True)
    assert d.target == "HEAD" and "git fetch failed" in d.notes[0]


def test_a_release_without_a_tag_is_an_anomaly(tmp_path, demo):
    reg = _registry(tmp_path)
    pkg = reg.get("demo-pkg")
    Git(demo).run("tag", "-d", "v0.4.0")
    row = status.package_status(reg, pkg, read_project(pkg, demo), 0, (Version("0.4.0"),), ())
    assert row.state is status.State.ANOMALY
    d = detect.detect_package(reg, pkg, row, demo, ("HEAD", None))
    assert (d.state, d.tag, d.released) == (Finding.ANOMALY, None, "0.4.0")
    assert d.reasons == ("released 0.4.0 has no tag v0.4.0",)
    assert "anomalies:\n- demo-pkg: released 0.4.0 has no tag v0.4.0" in detect_report.render([d])
    assert detect_report.exit_code([d]) == 1


def test_json_manifest_shape(tmp_path, demo):
    reg = _registry(tmp_path)
    log = CHANGELOG.format(unreleased="\n### Fixed\n\n- add.\n", version="0.4.0")
    _commit(demo, "fix: add", {"src/demo_pkg/__init__.py": MODULE.format(version="0.4.0").replace("+", "*")})
    _commit(demo, "test: more", {"tests/test_demo.py": "def test_add():\n    assert 2\n", "CHANGELOG.md": log})
    text, code = detect_report.run(reg, demo.parent, sandbox=True, fetch=False, fmt="json", warn=lambda _m: None)
    doc = json.loads(text)
    assert code == 1 and set(doc) == {"manifest", "registry", "to_release", "packages"}
    assert doc["to_release"] == ["demo-pkg"]
    (entry,) = doc["packages"]
    assert set(entry) == {"package", "layer", "state", "baseline", "target", "bump", "classes", "commits"} | {
        "reasons",
        "notes",
        "api",
    }
    assert entry["api"]["changes"] == [] and entry["bump"]["from_api"] == "fix"  # internal: the surface is the same
    assert entry["bump"]["decided_by"] == "api"
    assert entry["state"] == "release-worthy" and entry["baseline"] == {"released": "0.4.0", "tag": "v0.4.0"}
    assert entry["target"]["ref"] == "HEAD" and entry["target"]["local_head"] is True
    assert entry["bump"]["part"] == "patch" and entry["bump"]["changelog_categories"] == ["Fixed"]
    code_class = entry["classes"]["code"]
    assert code_class["release_worthy"] is True
    assert code_class["files"] == [{"path": "src/demo_pkg/__init__.py", "status": "M", "detail": None}]
    assert [c["subject"] for c in code_class["commits"]] == ["fix: add"]
    docs = entry["classes"]["docs"]
    assert docs["release_worthy"] is False and [c["subject"] for c in docs["commits"]] == ["test: more"]
    assert [c["subject"] for c in entry["classes"]["tests"]["commits"]] == ["test: more"]
    assert [c["level"] for c in entry["commits"]] == [None, "fix"]


# --------------------------------------------------------------------------------------------------- the stand-in


def test_standin_and_the_task_exit_codes(make_ecosystem):
    eco = make_ecosystem(unreleased=["juniper-data"])
    client = eco.checkout("juniper-data-client")
    _commit(client, "docs: notes", {"NOTES.md": "notes\n"})

    def task(*args: str) -> subprocess.CompletedProcess[str]:
        return run_task("detect", "--workspace", str(eco.workspace), "--offline", *args)

    found = task("--json")
    assert found.returncode == 1, found.stderr
    states = {p["package"]: p["state"] for p in json.loads(found.stdout)["packages"]}
    assert states["juniper-data"] == "changelog conflict"  # code, a fix commit, an empty [Unreleased]
    assert states["juniper-data-client"] == "shipped nothing"
    assert {states[n] for n in states if n not in {"juniper-data", "juniper-data-client"}} == {"up to date"}
    quiet = task("--packages", "juniper-data-client,juniper-ml")
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout.splitlines()[0].split() == list(detect_report.COLUMNS)
    wrong = task("--packages", "nope")
    assert wrong.returncode == 2 and "unknown package 'nope'" in wrong.stderr and "Traceback" not in wrong.stderr


def test_status_counts_a_notes_only_commit_but_calls_it_up_to_date(ecosystem, registry):
    root = ecosystem.checkout("juniper-data-client")
    _commit(root, "fix: notes", {"NOTES.md": "notes\n", "tests/test_more.py": "def test_x():\n    pass\n"})
    rows = {r.package: r for r in status.collect(registry, ecosystem.workspace, query_indexes=False, warn=print)}
    assert rows["juniper-data-client"].commits_since_tag == 1
    assert rows["juniper-data-client"].state is status.State.UP_TO_DATE
    _commit(root, "fix: code", {"src/juniper_data_client/more.py": "X = 1\n"})
    rows = {r.package: r for r in status.collect(registry, ecosystem.workspace, query_indexes=False, warn=print)}
    assert rows["juniper-data-client"].state is status.State.UNRELEASED_CHANGES


def test_the_registry_page_documents_ship_paths():
    registry_page = (ROOT / "docs" / "registry.md").read_text(encoding="utf-8")
    assert "`ship_paths`, `exclude_paths`" in registry_page and "juniper-release detect" in registry_page

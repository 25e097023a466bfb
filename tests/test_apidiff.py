"""The public API diff (griffe): every class of change on the stand-in's switchable changes, ``__all__``, the
registry's ``api_exclude`` and ``breaking_bump``, the 0.x and 1.x rules, an understated bump, the pyproject facts
and the cache by tree hash; real git repositories in tmp dirs."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT
from juniper_release.ecosystem import apidiff, detect, detect_report
from juniper_release.ecosystem.apidiff import BREAKING, FEATURE, INTERNAL, api_diff, pyproject_findings
from juniper_release.ecosystem.detect import Finding, Level, bump_part
from juniper_release.ecosystem.paths import PART_MARKER, cache_part
from juniper_release.ecosystem.registry import Registry, parse_registry
from juniper_release.errors import ConfigError
from juniper_release.gitops import Git
from juniper_release.sandbox.changes import apply_change
from juniper_release.sandbox.standin import GIT_ENV
from packaging.version import Version

MODULE = '''"""Demo."""

__version__ = "{version}"


def add(a: int, b: int = 0) -> int:
    return a + b


class Box:
    def open(self, force: bool = False) -> None:
        pass
'''

PYPROJECT = """[project]
name = "demo-pkg"
version = "{version}"
requires-python = ">=3.11"
dependencies = []

[project.optional-dependencies]
api = ["requests"]

[project.scripts]
demo = "demo_pkg:main"

[project.gui-scripts]
demo-gui = "demo_pkg:gui"
"""

REGISTRY = (ROOT / "tests" / "test_detect.py").read_text(encoding="utf-8").split('REGISTRY = """', 1)[1].split('"""')[0]


def _registry(tmp_path: Path, extra: str = "") -> Registry:
    path = tmp_path / "repos.toml"
    text = REGISTRY.format(extra=extra)
    path.write_text(text, encoding="utf-8")
    return parse_registry(text, path, env={})


def _commit(root: Path, message: str, files: dict[str, str | None]) -> None:
    for rel, text in files.items():
        path = root / rel
        if text is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    git = Git(root, env=GIT_ENV)
    git.run("add", "-A")
    git.run("commit", "-q", "-m", message)


def _demo(tmp_path: Path, version: str = "0.4.0") -> Path:
    root = tmp_path / "ws" / "demo-pkg"
    root.mkdir(parents=True)
    Git(root, env=GIT_ENV).run("init", "-q", "-b", "main")
    files: dict[str, str | None] = {
        "pyproject.toml": PYPROJECT.format(version=version),
        "src/demo_pkg/__init__.py": MODULE.format(version=version),
        "CHANGELOG.md": f"# Changelog\n\n## [Unreleased]\n\n## [{version}] - 2026-01-01\n",
    }
    _commit(root, "feat: initial import", files)
    Git(root, env=GIT_ENV).tag_annotated(f"v{version}", f"Release {version}")
    return root


def _diff(reg: Registry, root: Path, **kw: bool) -> apidiff.ApiDiff:
    return api_diff(reg.get("demo-pkg"), Git(root), "v0.4.0" if "0.4.0" in _tags(root) else "v1.2.0", "HEAD", **kw)


def _tags(root: Path) -> str:
    return Git(root).run("tag")


def _lines(diff: apidiff.ApiDiff) -> list[str]:
    return [c.line() for c in diff.changes]


# --------------------------------------------------------------------------------------------------- classes


def test_every_class_of_code_change(tmp_path):
    reg, root = _registry(tmp_path), _demo(tmp_path)
    module = MODULE.format(version="0.4.0")
    changed = (
        module.replace("b: int = 0", "b: int")  # made required
        .replace("def open(self, force: bool = False)", "def open(self, force: bool = False, *, mode: str = 'r')")
        .replace("class Box:", "def fresh() -> None:\n    pass\n\n\nclass Box:")
        + "\n\ndef _private() -> None:\n    pass\n"
    )
    _commit(
        root,
        "fix: tidy",
        {"src/demo_pkg/__init__.py": changed, "src/demo_pkg/io.py": "def read() -> str:\n    return ''\n"},
    )
    lines = _lines(_diff(reg, root))
    assert "breaking: parameter made required demo_pkg.add(b) (b: int = 0 -> b: int)" in lines
    assert "feature: added demo_pkg.fresh (fresh() -> None)" in lines
    assert "feature: parameter added demo_pkg.Box.open(mode) (mode: str = 'r')" in lines
    assert "feature: added demo_pkg.io (module)" in lines
    assert not [line for line in lines if "_private" in line]  # an underscore-only change is internal
    _commit(
        root,
        "fix: more",
        {"src/demo_pkg/__init__.py": module.replace("class Box:", "class Box(dict):").replace("-> int", "-> str")},
    )
    lines = _lines(_diff(reg, root))
    assert "breaking: return type changed demo_pkg.add (int -> str)" in lines
    based = module.replace("class Box:", "class Base:\n    pass\n\n\nclass Box(Base):")
    _commit(root, "fix: a base", {"src/demo_pkg/__init__.py": based})
    Git(root).run("tag", "-a", "-m", "r", "v0.4.1")
    shuffled = module.replace("a: int, b: int = 0", "b: int = 0, *, a: int").replace("force: bool = False", "")
    _commit(
        root,
        "fix: more",
        {"src/demo_pkg/__init__.py": shuffled.replace("class Box:", "class Base:\n    pass\n\n\nclass Box:")},
    )
    lines = _lines(api_diff(reg.get("demo-pkg"), Git(root), "v0.4.1", "HEAD"))
    assert "breaking: base class removed demo_pkg.Box ([Base] -> [])" in lines
    assert "breaking: parameter removed demo_pkg.Box.open(force) (force: bool = False)" in lines
    assert "breaking: parameter moved demo_pkg.add(b) (b: int = 0 -> b: int = 0)" in lines
    assert "breaking: parameter kind changed demo_pkg.add(a) (a: int -> a: int)" in lines
    _commit(root, "fix: more", {"src/demo_pkg/__init__.py": module.split("class Box")[0] + "Box = 1\n"})
    assert "breaking: kind changed demo_pkg.Box (class -> attribute)" in _lines(_diff(reg, root))
    _commit(root, "fix: broken", {"src/demo_pkg/__init__.py": module + "\n  def bad(:\n"})
    broken = _diff(reg, root)
    assert broken.error and "Syntax error" in broken.error and detect.api_level(broken, True) is Level.NONE
    (found,) = detect_report.collect(reg, root.parent, sandbox=True, fetch=False, warn=lambda _m: None)
    assert any(note.startswith("no API evidence: griffe could not read the code") for note in found.notes)


def test_an_underscore_only_change_is_internal_and_the_commits_decide(tmp_path):
    reg, root = _registry(tmp_path), _demo(tmp_path)
    _commit(root, "feat: faster", {"src/demo_pkg/_speed.py": "def go() -> None:\n    pass\n"})
    (found,) = detect_report.collect(reg, root.parent, sandbox=True, fetch=False, warn=lambda _m: None)
    assert found.api is not None and found.api.changes == () and found.api.level(code_changed=True) == INTERNAL
    assert (found.bump.part, found.bump.from_api, found.bump.decided_by) == ("minor", Level.FIX, "commits")


def test_all_decides_what_is_public(tmp_path):
    reg, root = _registry(tmp_path), _demo(tmp_path)
    module = MODULE.format(version="0.4.0")
    _commit(
        root,
        "fix: exports",
        {
            "src/demo_pkg/__init__.py": module
            + '\n__all__ = ["add", "Box", "extra"]\n\ndef extra() -> None:\n    pass\n\n\ndef hidden() -> None:\n    pass\n'
        },
    )
    lines = _lines(_diff(reg, root))
    assert "feature: added demo_pkg.extra (extra() -> None)" in lines
    assert not [line for line in lines if "hidden" in line]  # public by name, but not in __all__
    Git(root).run("tag", "-a", "-m", "x", "v0.4.1")
    _commit(root, "fix: exports", {"src/demo_pkg/__init__.py": module + '\n__all__ = ["add"]\n'})
    lines = _lines(api_diff(reg.get("demo-pkg"), Git(root), "v0.4.1", "HEAD"))
    assert (
        "breaking: no longer public demo_pkg.Box (class -> private)" in lines
        and "breaking: removed demo_pkg.extra (extra() -> None)" in lines
    )


def test_api_exclude_leaves_paths_out_and_bad_values_are_one_line_errors(tmp_path):
    reg = _registry(tmp_path, 'api_exclude = ["demo_pkg.vendored", "demo_pkg.*.compat"]')
    root = _demo(tmp_path)
    _commit(
        root,
        "feat: vendored",
        {
            "src/demo_pkg/vendored/__init__.py": "def v() -> None:\n    pass\n",
            "src/demo_pkg/io/__init__.py": "",
            "src/demo_pkg/io/compat.py": "X = 1\ndef c() -> None:\n    pass\n",
        },
    )
    assert _lines(_diff(reg, root)) == ["feature: added demo_pkg.io (module)"]
    for extra, message in (
        ("api_exclude = ['demo_pkg/x']", "is not a module path or glob"),
        ("api_exclude = [1]", "must be a list of strings"),
        ("breaking_bump = 'huge'", "breaking_bump must be one of auto, major, minor"),
    ):
        with pytest.raises(ConfigError, match=message) as exc:
            _registry(tmp_path, extra)
        assert "\n" not in str(exc.value) and exc.value.fix


def test_the_0x_and_1x_rules_and_the_policy():
    for policy, before, after in (("auto", "minor", "major"), ("major", "major", "major"), ("minor", "minor", "minor")):
        assert bump_part(Level.BREAKING, Version("0.4.0"), policy) == before
        assert bump_part(Level.BREAKING, Version("1.2.0"), policy) == after
        assert bump_part(Level.FEATURE, Version("1.2.0"), policy) == "minor"


def test_an_understated_breaking_change_from_1_0_is_major(tmp_path):
    reg, root = _registry(tmp_path), _demo(tmp_path, "1.2.0")
    log = "# Changelog\n\n## [Unreleased]\n\n### Fixed\n\n- Tidy.\n\n## [1.2.0] - 2026-01-01\n"
    _commit(
        root,
        "fix: tidy",
        {"src/demo_pkg/__init__.py": MODULE.format(version="1.2.0").split("class Box")[0], "CHANGELOG.md": log},
    )
    (found,) = detect_report.collect(reg, root.parent, sandbox=True, fetch=False, warn=lambda _m: None)
    assert (found.bump.part, found.bump.next_version, found.bump.decided_by) == ("major", "2.0.0", "api")
    assert (
        found.bump.understated
        and "claim a fix, the API shows a breaking change (removed demo_pkg.Box" in found.bump.understated
    )
    text = detect_report.render([found])
    assert (
        "major -> 2.0.0 (understated)" in text
        and "understated bumps:" in text
        and "- demo-pkg: breaking: removed demo_pkg.Box (class)" in text
    )
    assert "API breaking: removed `demo_pkg.Box`: `class`" in detect_report.render([found], "markdown")
    (entry,) = __import__("json").loads(detect_report.render([found], "json"))["packages"]
    assert entry["api"]["changes"][0] == {
        "level": "breaking",
        "kind": "removed",
        "path": "demo_pkg.Box",
        "old": "class",
        "new": None,
    }
    minor = _registry(tmp_path, 'breaking_bump = "minor"')
    (found,) = detect_report.collect(minor, root.parent, sandbox=True, fetch=False, warn=lambda _m: None)
    assert (found.bump.part, found.bump.next_version) == ("minor", "1.3.0")


# --------------------------------------------------------------------------------------------------- pyproject


def test_pyproject_facts():
    old = PYPROJECT.format(version="1")
    assert pyproject_findings(old, old.replace('version = "1"', 'version = "2"')) == []  # an unchanged gui-script too
    new = (
        old.replace('demo = "demo_pkg:main"', 'demo-cli = "demo_pkg:main"')
        .replace('demo-gui = "demo_pkg:gui"\n', "")
        .replace('api = ["requests"]', 'web = ["requests"]')
        .replace(">=3.11", ">=3.12")
        + '\n[project.entry-points."demo.plugins"]\nx = "demo_pkg:x"\n'
    )
    assert sorted(c.line() for c in pyproject_findings(old, new)) == sorted(
        [
            "breaking: console script removed demo (demo_pkg:main)",
            "breaking: GUI script removed demo-gui (demo_pkg:gui)",
            "breaking: extra removed [api] (requests)",
            "feature: extra added [web] (requests)",
            "feature: entry point [demo.plugins] added x (demo_pkg:x)",
            "feature: console script added demo-cli (demo_pkg:main)",
            "breaking: requires-python raised requires-python (>=3.11 -> 3.12)",
        ]
    )
    assert pyproject_findings(old, old.replace(">=3.11", ">=3.10")) == []  # lowered: nothing breaks
    assert [c.level for c in pyproject_findings(new, old)].count(BREAKING) == 3  # the entry point, web, demo-cli


# --------------------------------------------------------------------------------------------------- the cache


def test_the_diff_is_cached_by_tree_hash(tmp_path):
    reg, root = _registry(tmp_path), _demo(tmp_path)
    _commit(root, "feat: more", {"src/demo_pkg/more.py": "def m() -> None:\n    pass\n"})
    first = _diff(reg, root)
    again = _diff(reg, root)
    assert not first.cached and again.cached and again.changes == first.changes
    assert (cache_part("apidiff") / PART_MARKER).is_file()
    _commit(root, "docs: notes", {"NOTES.md": "x\n"})  # the package's tree changed: diffed again
    assert not _diff(reg, root).cached
    assert not _diff(reg, root, use_cache=False).cached
    gone = api_diff(reg.get("demo-pkg"), Git(root), "v0.4.0", "HEAD", prefix="elsewhere/")
    assert gone.error == "the package directory elsewhere/ is not in both v0.4.0 and HEAD" and not gone.changes
    for stale in cache_part("apidiff").glob("*.json"):
        stale.write_text("not json", encoding="utf-8")  # a damaged entry is recomputed, not trusted
    assert not _diff(reg, root).cached and _diff(reg, root).cached
    from juniper_release.verify.cache import clean_cache

    assert cache_part("apidiff") in clean_cache() and not _diff(reg, root).cached  # `nox -s clean` drops it


# --------------------------------------------------------------------------------------------------- the stand-in


@pytest.fixture
def standin(make_ecosystem, registry):
    eco = make_ecosystem()
    changes = {
        "juniper-data": "removed-function",
        "juniper-cascor-worker": "required-parameter",
        "juniper-data-client": "new-function",
        "juniper-cascor": "underscore-only",
    }
    for name, kind in changes.items():
        pkg = registry.get(name)
        apply_change(pkg.checkout(eco.workspace), pkg.imports[0], kind)
    worker = registry.get("juniper-cascor-worker")
    apply_change(worker.checkout(eco.workspace), worker.imports[0], "renamed-script")
    return eco


def test_the_standin_switchable_changes(standin, registry: Registry):
    found = {
        d.package: d
        for d in detect_report.collect(registry, standin.workspace, sandbox=True, fetch=False, warn=lambda _m: None)
    }
    data = found["juniper-data"]
    assert [c.line() for c in data.api.changes] == [
        "breaking: removed juniper_data.spiral (spiral(n: int) -> np.ndarray)"
    ]
    assert (data.bump.part, data.bump.decided_by, data.state) == ("minor", "api", Finding.RELEASE_WORTHY)
    assert data.bump.understated  # a fix: commit that removes a function
    worker = found["juniper-cascor-worker"]
    assert [c.line() for c in worker.api.of(BREAKING)] == [
        "breaking: console script removed juniper-cascor-worker (juniper_cascor_worker.cli:main)",
        "breaking: parameter made required juniper_cascor_worker.cli.main(argv) (argv: list[str] | None = None -> argv: list[str] | None)",
    ]
    assert [c.line() for c in worker.api.of(FEATURE)] == [
        "feature: console script added juniper-cascor-worker-cli (juniper_cascor_worker.cli:main)"
    ]
    client = found["juniper-data-client"]
    assert [c.line() for c in client.api.changes] == ["feature: added juniper_data_client.describe (describe() -> str)"]
    assert (client.bump.part, client.bump.understated) == ("minor", None)
    cascor = found["juniper-cascor"]
    assert cascor.api.changes == () and (cascor.bump.part, cascor.bump.decided_by) == ("patch", "api")
    assert found["juniper-ml"].api is None  # nothing ships: nothing to compare


def test_return_annotations_that_break_and_those_that_do_not():
    widened = apidiff._widened
    assert widened("int", "str") and widened("X", "X | None") and widened("Dict[str, int]", "Mapping[str, int]")
    assert not widened("t.List[str]", "list[str]")  # one type, two spellings
    assert not widened("t.Optional[t.Type[A]]", "type[A] | None")
    assert not widened("Optional[int]", "int | None") and not widened("typing.Union[A, B]", "B | A")
    assert not widened("X | None", "X")  # narrower: no caller breaks
    assert not widened("None", "bool") and not widened("t.Any | None", "str")  # nothing or anything before
    assert not widened("_HookImplOpts | None", "HookimplOpts | None")  # a private type's name is no shape


def test_re_exports_of_private_modules_deprecation_shims_and_metadata_elsewhere(tmp_path):
    reg, root = _registry(tmp_path), _demo(tmp_path)
    impl = "def go(a: int) -> int:\n    return a\n\n\ndef old() -> None:\n    pass\n"
    _commit(root, "refactor: a private module", {"src/demo_pkg/_impl.py": impl, "src/demo_pkg/api.py": impl})
    Git(root).run("tag", "-a", "-m", "r", "v0.4.1")
    shim = 'def __getattr__(name):\n    if name == "old":\n        return go\n    raise AttributeError(name)\n'
    init = MODULE.format(version="0.4.0") + '\nfrom ._impl import go\n\n__all__ = ["add", "Box", "go"]\n'
    _commit(
        root,
        "feat: more",
        {
            "src/demo_pkg/_impl.py": impl.replace("a: int)", "a: int, b: int = 1)"),
            "src/demo_pkg/api.py": impl.split("\n\n\ndef old")[0] + "\n\n\n" + shim,
            "src/demo_pkg/__init__.py": init,
        },
    )
    Git(root).run("tag", "-a", "-m", "r", "v0.4.2")
    _commit(
        root,
        "feat: a keyword",
        {"src/demo_pkg/_impl.py": impl.replace("a: int)", "a: int, b: int = 1, *, c: int = 0)")},
    )
    lines = _lines(api_diff(reg.get("demo-pkg"), Git(root), "v0.4.2", "HEAD"))
    assert lines == ["feature: parameter added demo_pkg._impl.go(c) (c: int = 0)"]  # found through demo_pkg.go
    lines = _lines(api_diff(reg.get("demo-pkg"), Git(root), "v0.4.1", "v0.4.2"))
    assert "internal: served by the module's __getattr__ demo_pkg.api.old (old() -> None)" in lines
    assert not [line for line in lines if line.startswith("breaking")]
    setup_cfg = "[build-system]\nrequires = ['setuptools']\n"  # the metadata lives in setup.cfg: nothing known
    assert pyproject_findings(setup_cfg, PYPROJECT.format(version="1")) == []
    dynamic = (
        PYPROJECT.format(version="1")
        .replace("[project.scripts]", "[project.urls]")
        .replace("dependencies = []", 'dependencies = []\ndynamic = ["scripts"]')
    )
    assert [c.kind for c in pyproject_findings(PYPROJECT.format(version="1"), dynamic)] == []

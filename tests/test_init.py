"""``invoke init``: a registry from the checkouts under a workspace.

On the generated stand-ins (six, grown, kinds) the written registry loads and agrees with the stand-in's own registry
on every fact but the ones listed here with their reason; ``invoke check`` finds nothing wrong with it. A uv
workspace released from one tag becomes a ``[[group]]``, and a pre-release/final pair of workflows a
``prerelease_workflow`` (checked on the text: their loaders arrive with the lockstep and maintenance branches).
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest
from conftest import run_task
from juniper_release.ecosystem.discover import import_packages
from juniper_release.ecosystem.initfile import render, run_init, write_registry
from juniper_release.ecosystem.onboard import plan_registry
from juniper_release.ecosystem.regdiff import differences
from juniper_release.ecosystem.registry import ROOT, load_registry
from juniper_release.ecosystem.repofacts import github_repo, learn_tag_format, path_repo
from juniper_release.errors import ConfigError, WorkspaceError
from juniper_release.github.checks import run_checks
from juniper_release.sandbox.grown import create_grown
from juniper_release.sandbox.kinds import create_kinds
from juniper_release.sandbox.standin import GIT_ENV, create_ecosystem

REGISTRY_CHECKS = {"registry", "graph", "meta-extras", "extras", "missing-package"}


def _init(workspace: Path, out: Path) -> tuple[str, str]:
    summary = run_init(workspace, out)
    return summary, out.read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------- the stand-ins


def test_six_reproduces_repos_toml(tmp_path: Path) -> None:
    reference = load_registry(ROOT / "repos.toml", env={})
    eco = create_ecosystem(tmp_path / "ws", reference, remotes=tmp_path / "remotes")
    summary, text = _init(eco.workspace, tmp_path / "out.toml")
    ours = load_registry(tmp_path / "out.toml", env={})
    # The one difference: repos.toml verifies juniper-cascor's [ml] only; init also verifies [data] (not a
    # development extra, not an aggregate of its own extras).
    assert differences(ours, reference) == [("juniper-cascor", "extras", ["data", "ml"], ["ml"])]
    assert [f for f in run_checks(ours, eco.workspace) if f.severity != "info"] == []
    assert "init: 6 packages in 6 repositories" in summary
    assert "/remotes" not in text and str(tmp_path) not in text  # no directory of this machine in the file


def test_grown_reproduces_grown_toml(tmp_path: Path) -> None:
    reference = load_registry(ROOT / "registries" / "grown.toml", env={})
    eco = create_grown(tmp_path / "ws", reference, remotes=tmp_path / "remotes")
    _init(eco.workspace, tmp_path / "out.toml")
    ours = load_registry(tmp_path / "out.toml", env={})
    found = {(pkg, key): (a, b) for pkg, key, a, b in differences(ours, reference)}
    # Every layer, repo, path, subdir, import, torch flag, tag format and publish workflow agrees. The rest:
    # grown.toml sets version_file where the setuptools attr the backend reads names the same file;
    assert {k for k in found if k[1] == "version_file"} == {
        (n, "version_file")
        for n in ("juniper-model-core", "juniper-recurrence", "juniper-recurrence-client", "juniper-recurrence-model")
    }
    # init smoke-tests every console script; grown.toml lists none for these two;
    assert found[("juniper-ci-tools", "smoke")] == (["juniper-ci-check --help"], [])
    # and init verifies every extra but development ones; grown.toml verifies fewer.
    assert {k[1] for k in found} == {"version_file", "smoke", "extras"}
    for (pkg, key), (ours_value, theirs) in found.items():
        if key == "extras":
            assert set(theirs) <= set(ours_value), pkg
    assert [f for f in run_checks(ours, eco.workspace) if f.check in REGISTRY_CHECKS] == []


def test_kinds_reproduces_kinds_toml(tmp_path: Path) -> None:
    reference = load_registry(ROOT / "registries" / "kinds.toml", env={})
    eco = create_kinds(tmp_path / "ws", reference, remotes=tmp_path / "remotes")
    summary, _ = _init(eco.workspace, tmp_path / "out.toml")
    ours = load_registry(tmp_path / "out.toml", env={})
    assert differences(ours, reference) == [
        ("kinds-static", "smoke", ["kinds-static --help"], ["kinds-static --version"])
    ]
    for label in ("vcs: hatch-vcs", "vcs: setuptools-scm", "(flit)", "(hatch path)", "(setuptools attr)"):
        assert label in summary


def test_lockstep_reproduces_lockstep_toml(tmp_path: Path) -> None:
    """A uv workspace whose members take their version from the repository's one tag (hatch-vcs, ``root =
    "../.."``): init finds each member's version source (the root above it is the member's own repository) and
    the group, and the registry it writes loads with the group and a clean registry check."""
    from juniper_release.sandbox.lockstep import create_lockstep

    reference = load_registry(ROOT / "registries" / "lockstep.toml", env={})
    eco = create_lockstep(tmp_path / "ws", reference, remotes=tmp_path / "remotes")
    summary, _ = _init(eco.workspace, tmp_path / "out.toml")
    ours = load_registry(tmp_path / "out.toml", env={})
    members = set(reference.groups[0].members)
    assert {m for g in ours.groups for m in g.members} == members
    for name in members:
        row = next(line for line in summary.splitlines() if line.startswith(f"{name} "))
        assert "vcs: hatch-vcs" in row, row
    assert [f for f in run_checks(ours, eco.workspace) if f.check in REGISTRY_CHECKS] == []


# ------------------------------------------------------------------------------------------ guesses, safety


def test_guesses_are_marked_in_the_file_and_listed(tmp_path: Path) -> None:
    """A checkout without a GitHub origin, tags or workflows: owner/name from [project.urls], the default tag
    format and workflow path, each a guess in the file and in the summary."""
    repo = tmp_path / "ws" / "lonely"
    _package(repo, "lonely", urls='[project.urls]\nRepository = "https://github.com/someone/lonely-repo"\n')
    _git(repo, "init", "-q", "-b", "trunk")
    _commit(repo)
    summary, text = _init(tmp_path / "ws", tmp_path / "out.toml")
    doc = tomllib.loads(text)
    assert doc["package"][0]["repo"] == "someone/lonely-repo"
    assert doc["settings"]["branch"] == "trunk"
    for field in ("repo", "tag_format", "publish_workflow"):
        assert f"lonely.{field}: " in summary
    assert 'repo = "someone/lonely-repo" # guess: no origin remote: owner/name taken from [project.urls]' in text
    assert "# tag_format: guess: no tag of the repository follows a known format" in text
    assert text.count("# guess:") + text.count(": guess:") == summary.count("\n  - ")
    load_registry(tmp_path / "out.toml", env={})


def test_existing_output_needs_force(tmp_path: Path) -> None:
    reference = load_registry(ROOT / "registries" / "kinds.toml", env={})
    eco = create_kinds(tmp_path / "ws", reference, remotes=tmp_path / "remotes")
    out = tmp_path / "registry.toml"
    out.write_text("# mine\n", encoding="utf-8")
    refused = run_task("init", "--workspace", str(eco.workspace), "--output", str(out))
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1] == (
        f"error: {out}: already exists. Fix: pass --force to overwrite it, or choose another --output"
    )
    assert out.read_text(encoding="utf-8") == "# mine\n"
    done = run_task("init", "--workspace", str(eco.workspace), "--output", str(out), "--force")
    assert done.returncode == 0, done.stderr
    assert "init: 6 packages in 6 repositories" in done.stdout
    assert f"next: invoke check --workspace {eco.workspace} --registry {out}" in done.stderr
    assert load_registry(out, env={}).names


def test_bad_input_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="no such directory"):
        run_init(tmp_path / "missing", tmp_path / "out.toml")
    (tmp_path / "empty" / "not-git").mkdir(parents=True)
    (tmp_path / "empty" / "not-git" / "pyproject.toml").write_text('[project]\nname = "x"\n', encoding="utf-8")
    with pytest.raises(WorkspaceError, match="no git checkout found"):
        run_init(tmp_path / "empty", tmp_path / "out.toml")
    bare = tmp_path / "bare" / "docs-only"
    bare.mkdir(parents=True)
    _git(bare, "init", "-q", "-b", "main")
    with pytest.raises(WorkspaceError, match="no package found in 1 checkout"):
        run_init(tmp_path / "bare", tmp_path / "out.toml")
    with pytest.raises(ConfigError, match="no directory"):
        write_registry(tmp_path / "nowhere" / "out.toml", "x")
    with pytest.raises(ConfigError, match="is a directory"):
        write_registry(tmp_path / "empty", "x", force=True)
    assert not (tmp_path / "out.toml").exists()
    missing = run_task("init", "--workspace", str(tmp_path / "bare"))
    assert missing.returncode == 2 and "--output is required" in missing.stderr


def test_extras_no_build_can_satisfy_are_left_out(tmp_path: Path) -> None:
    """Verification installs the checkouts' builds: an extra requiring a version no checkout declares (and a
    meta-package's aggregate including it) is left out, with a guess naming the requirement."""
    ws = tmp_path / "ws"
    _package(ws / "base", "base")  # declares 1.2.0
    (ws / "meta").mkdir(parents=True)
    (ws / "meta" / "pyproject.toml").write_text(
        '[project]\nname = "meta"\nversion = "1.0.0"\n[tool.setuptools]\npackages = []\n'
        '[project.optional-dependencies]\nold = ["base<1"]\nnew = ["base>=1.2"]\nall = ["meta[old,new]"]\n',
        encoding="utf-8",
    )
    for repo in (ws / "base", ws / "meta"):
        _git(repo, "init", "-q", "-b", "main")
        _commit(repo)
    summary, text = _init(ws, tmp_path / "out.toml")
    meta = next(p for p in tomllib.loads(text)["package"] if p["name"] == "meta")
    assert meta["extras"] == ["new"] and meta["layer"] == 1 and meta["import"] == []
    assert (
        "meta.extras: left out, not installable from the checkouts: [old]: base<1 excludes 1.2.0; "
        "[all]: it includes [old]"
    ) in summary


def test_the_tool_itself_and_plain_directories_are_skipped(tmp_path: Path) -> None:
    """The default workspace is juniper-release's parent: the tool's own checkout is no package of the ecosystem,
    and a directory that is no git checkout is named, not read."""
    ws = tmp_path / "ws"
    _package(ws / "one", "one")
    _git(ws / "one", "init", "-q", "-b", "main")
    _commit(ws / "one")
    (ws / "juniper-release").symlink_to(ROOT)
    _package(ws / "loose", "loose")
    plan = plan_registry(ws)
    assert [p.name for p in plan.packages] == ["one"]
    assert plan.skipped == ["juniper-release: juniper-release itself", "loose: not a git checkout"]


# --------------------------------------------------------------------------- a uv workspace, two workflows


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, env={**GIT_ENV, "PATH": "/usr/bin:/bin"}, check=True, capture_output=True)


def _commit(root: Path) -> None:
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "initial")


def _package(root: Path, name: str, *, body: str = "", urls: str = "", deps: str = "[]") -> None:
    module = name.replace("-", "_")
    (root / "src" / module).mkdir(parents=True)
    (root / "src" / module / "__init__.py").write_text('"""A package."""\n', encoding="utf-8")
    (root / "pyproject.toml").write_text(
        f'[build-system]\nrequires = ["hatchling", "hatch-vcs"]\nbuild-backend = "hatchling.build"\n\n'
        f'[project]\nname = "{name}"\nversion = "1.2.0"\nrequires-python = ">=3.11"\ndependencies = {deps}\n\n'
        f"{urls}{body}",
        encoding="utf-8",
    )


VCS_MEMBER = '[tool.hatch.version]\nsource = "vcs"\n\n[tool.hatch.version.raw-options]\nroot = "../.."\n'


def test_uv_workspace_in_lockstep_is_a_group(tmp_path: Path) -> None:
    repo = tmp_path / "ws" / "sdk"
    repo.mkdir(parents=True)
    (repo / "pyproject.toml").write_text(
        '[tool.uv.workspace]\nmembers = ["libs/*"]\nexclude = ["libs/scratch"]\n', encoding="utf-8"
    )
    names = ["sdk-core", "sdk-http", "sdk-cli"]
    for i, name in enumerate(names):
        deps = '["sdk-core"]' if i else "[]"
        _package(repo / "libs" / name.removeprefix("sdk-"), name, body=VCS_MEMBER, deps=deps)
        text = (repo / "libs" / name.removeprefix("sdk-") / "pyproject.toml").read_text(encoding="utf-8")
        text = text.replace('version = "1.2.0"\n', 'dynamic = ["version"]\n')
        (repo / "libs" / name.removeprefix("sdk-") / "pyproject.toml").write_text(text, encoding="utf-8")
    _package(repo / "libs" / "scratch", "sdk-scratch")
    _package(repo / "tests" / "fixtures" / "sample", "sample-project")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "remote", "add", "origin", "git@github.com:acme/sdk.git")
    _commit(repo)
    _git(repo, "tag", "-a", "v2.1.0", "-m", "2.1.0")
    plan = plan_registry(tmp_path / "ws")
    assert sorted(p.name for p in plan.packages) == sorted(names)
    assert any("libs/scratch: excluded from the uv workspace" in s for s in plan.skipped)
    doc = tomllib.loads(render(plan))
    assert doc["group"] == [{"name": "sdk", "members": ["sdk-cli", "sdk-core", "sdk-http"], "tag_format": "v{version}"}]
    by_name = {p["name"]: p for p in doc["package"]}
    assert {p["tag_format"] for p in by_name.values()} == {"v{version}"}
    assert {p["repo"] for p in by_name.values()} == {"acme/sdk"}
    assert by_name["sdk-core"]["layer"] == 0 and by_name["sdk-http"]["layer"] == 1
    assert by_name["sdk-cli"]["subdir"] == "libs/cli"


def test_prerelease_and_final_workflows(tmp_path: Path) -> None:
    repo = tmp_path / "ws" / "single"
    _package(repo, "single")
    flows = repo / ".github" / "workflows"
    flows.mkdir(parents=True)
    job = (
        "on:\n  release:\n    types: [published]\njobs:\n  publish:\n    if: {cond}\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - uses: pypa/gh-action-pypi-publish@release/v1\n"
    )
    (flows / "publish-testpypi.yml").write_text(job.format(cond="github.event.release.prerelease == true"), "utf-8")
    (flows / "publish-pypi.yml").write_text(job.format(cond="${{ !github.event.release.prerelease }}"), "utf-8")
    (flows / "ci.yml").write_text("on: push\njobs:\n  t:\n    runs-on: x\n    steps:\n      - run: pytest\n", "utf-8")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "remote", "add", "origin", "https://github.com/acme/single.git")
    _commit(repo)
    _git(repo, "tag", "-a", "v0.1.0", "-m", "0.1.0")
    doc = tomllib.loads(render(plan_registry(tmp_path / "ws")))
    assert doc["settings"]["publish_workflow"] == ".github/workflows/publish-pypi.yml"
    assert doc["package"][0]["prerelease_workflow"] == ".github/workflows/publish-testpypi.yml"
    assert "publish_workflow" not in doc["package"][0]  # the settings' one


# ------------------------------------------------------------------------------------------------ the parts


@pytest.mark.parametrize(
    ("url", "repo"),
    [
        ("https://github.com/pcalnon/juniper-ml.git", "pcalnon/juniper-ml"),
        ("https://github.com/pcalnon/juniper-ml", "pcalnon/juniper-ml"),
        ("git@github.com:pcalnon/juniper-ml.git", "pcalnon/juniper-ml"),
        ("git@github-juniper:pcalnon/juniper-ml.git", "pcalnon/juniper-ml"),  # a per-repo SSH host alias
        ("ssh://git@github.com/pcalnon/juniper-ml", "pcalnon/juniper-ml"),
        ("https://gitlab.com/pcalnon/juniper-ml.git", None),
        ("/srv/mirror/juniper-ml", None),
    ],
)
def test_github_repo_from_origin(url: str, repo: str | None) -> None:
    assert github_repo(url) == repo


def test_path_repo() -> None:
    assert path_repo("/tmp/remotes/pcalnon/juniper-ml.git") == "pcalnon/juniper-ml"
    assert path_repo("/srv/owner+name/repo") is None
    assert path_repo("https://example.org/a/b") is None


def test_tag_formats_learnt() -> None:
    assert learn_tag_format("pkg", ["v1.0.0", "v1.1.0", "1.0.0"]) == ("v{version}", 2)
    assert learn_tag_format("pkg", ["3.4.9", "3.5.0", "cascor-pre-migration-v0.3.17"]) == ("{version}", 2)
    assert learn_tag_format("pkg-a", ["v1.0.0", "pkg-a-v0.1.0"]) == ("{name}-v{version}", 1)
    assert learn_tag_format("pkg-b", ["v1.0.0", "pkg-a-v0.1.0"]) == ("v{version}", 1)
    assert learn_tag_format("pkg", ["release-1", "nightly"]) == (None, 0)


@pytest.mark.parametrize(
    ("on", "condition", "expected"),
    [
        ("types: [published]", "github.event.release.prerelease == true", "prerelease"),
        ("types: [published]", "${{ github.event.release.prerelease }}", "prerelease"),
        ("types: [published]", "github.event.release.prerelease == false", "final"),
        ("types: [published]", "${{ !github.event.release.prerelease && github.repository == 'a/b' }}", "final"),
        ("types: [published]", "startsWith(github.event.release.tag_name, 'v')", "both"),
        ("types: [prereleased]", "", "prerelease"),  # the pair told by the event types alone (a real quirk)
        ("types: [released]", "", "final"),
    ],
)
def test_workflow_roles(tmp_path: Path, on: str, condition: str, expected: str) -> None:
    """init reads a workflow's role with the one rule of check and the release (ecosystem/triggers.py)."""
    from juniper_release.ecosystem.repofacts import publish_workflows

    flows = tmp_path / ".github" / "workflows"
    flows.mkdir(parents=True)
    guard = f"    if: {condition}\n" if condition else ""
    (flows / "p.yml").write_text(
        f"on:\n  release:\n    {on}\njobs:\n  publish:\n{guard}    runs-on: ubuntu-latest\n"
        "    steps:\n      - uses: pypa/gh-action-pypi-publish@release/v1\n",
        encoding="utf-8",
    )
    assert [w.role for w in publish_workflows(tmp_path)] == [expected]


@pytest.mark.parametrize(
    ("pyproject", "layout", "expected"),
    [
        ('[build-system]\nbuild-backend = "flit_core.buildapi"\n[tool.flit.module]\nname = "flat"\n', [], ("flat",)),
        (
            '[build-system]\nbuild-backend = "hatchling.build"\n[tool.hatch.build.targets.wheel]\npackages = ["src/hx"]\n',
            [],
            ("hx",),
        ),
        ("[tool.setuptools]\npackages = []\n", ["src/ignored/__init__.py"], ()),
        ('[tool.setuptools]\npackages = ["a", "a.b", "c"]\n', [], ("a", "c")),
        (
            '[tool.setuptools.packages.find]\ninclude = ["demo*"]\n',
            ["demo/__init__.py", "other/__init__.py"],
            ("demo",),
        ),
        ("", ["src/demo/__init__.py", "src/demo/x.py", "tests/__init__.py"], ("demo",)),
    ],
)
def test_import_packages(tmp_path: Path, pyproject: str, layout: list[str], expected: tuple[str, ...]) -> None:
    for rel in layout:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("", encoding="utf-8")
    doc = tomllib.loads(pyproject + '\n[project]\nname = "demo"\n')
    assert import_packages(tmp_path, doc, "demo")[0] == expected


def test_a_wheel_shipping_stray_top_levels_imports_its_own(tmp_path: Path) -> None:
    """A setuptools find with namespaces (juniper-cascor's) ships every directory holding Python files: the own
    package is imported, the strays are named in the guess; a directory without Python files ships nothing."""
    for rel in ("demo_pkg/__init__.py", "util/helpers.py", "data/table.csv"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("", encoding="utf-8")
    doc = tomllib.loads('[tool.setuptools.packages.find]\nwhere = ["."]\n[project]\nname = "demo-pkg"\n')
    assert import_packages(tmp_path, doc, "demo-pkg") == (("demo_pkg",), "its wheel also ships util (not imported)")


_ABSOLUTE = re.compile(r"(?:^|[\s\"'(=,])(?:/[\w.+-]+){2,}|~/|\b[A-Za-z]:\\\\")


def test_committed_registries_name_no_machine_path() -> None:
    files = [ROOT / "repos.toml", *sorted((ROOT / "registries").rglob("*.toml"))]
    assert len(files) > 3
    found = [
        f"{f.relative_to(ROOT)}:{n}: {line.strip()}"
        for f in files
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1)
        if _ABSOLUTE.search(line)
    ]
    assert found == []
    assert _ABSOLUTE.search("# Workspace: /home/someone/ext/flit  (origin = ...)")
    assert _ABSOLUTE.search('source = "/srv/wheels/torch"')
    assert not _ABSOLUTE.search('simple_url = "https://pypi.org/simple/"  # .github/workflows/publish.yml')

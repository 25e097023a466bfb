"""The lockstep stand-in: a uv workspace whose members share one version and one tag (``--sandbox --layout lockstep``).

One repository (``lockstep-sdk``) holds a virtual uv workspace root (``[tool.uv.workspace] members = ["libs/*"]``,
a ``uv.lock``) and five members under ``libs/``, each built by hatchling with hatch-vcs and
``[tool.hatch.version.raw-options] root = "../.."``, so every member's version is the repository's one tag
``vX.Y.Z``:

- sdk-core (layer 0), with a CHANGELOG;
- sdk-http and sdk-auth (layer 1), requiring ``sdk-core``; sdk-http has a CHANGELOG;
- sdk-client (layer 2), requiring ``sdk-http`` and ``sdk-auth``, with a CHANGELOG;
- sdk-cli (layer 3), requiring ``sdk-client``, with the console script ``sdk``.

Each member's ``LICENSE`` is a symlink to the repository's (``../../LICENSE``), as in real workspaces.

Members require each other by bare name, resolved in the workspace by ``[tool.uv.sources] <member> =
{ workspace = true }``, and read ``__version__`` from their installed metadata. A sixth package outside the group,
``lockstep-app`` (its own repository, a static version), requires ``sdk-client>=1.2,<1.3``: a minor bump of the
group escapes that ceiling. The registry (``registries/lockstep.toml``) declares the group (``[[group]]``).

Every repository gets its release commit tagged ``v{version}`` (annotated); sdk-http gets one ``fix:`` commit after
the tag by default (``unreleased``), so the group's computed version is ``1.2.1.dev1+g<sha>``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

import tomlkit
from packaging.specifiers import SpecifierSet
from tomlkit.items import Table

from juniper_release.ecosystem.registry import Package, Registry
from juniper_release.errors import ConfigError
from juniper_release.github.pins import pinned_uses
from juniper_release.sandbox.specs import PackageSpec
from juniper_release.sandbox.standin import Ecosystem, new_repository, template_workflows, unreleased_change
from juniper_release.sandbox.writers import LICENSE_TEXT, pyproject_text, write_package

GROUP_VERSION = "1.2.0"
"""The version of the group's one release tag."""

APP_VERSION = "0.4.0"

MEMBERS: dict[str, tuple[str, list[str]]] = {
    "sdk-core": ("Core types of the SDK.", []),
    "sdk-http": ("HTTP transport of the SDK.", ["sdk-core"]),
    "sdk-auth": ("Authentication helpers of the SDK.", ["sdk-core"]),
    "sdk-client": ("The SDK's client.", ["sdk-http", "sdk-auth"]),
    "sdk-cli": ("The SDK's command line.", ["sdk-client"]),
}
"""Each member's description and the members it requires (by bare name)."""

WITH_CHANGELOG = frozenset({"sdk-core", "sdk-http", "sdk-client"})
"""The members that keep a CHANGELOG.md (the others keep none)."""

APP = "lockstep-app"
APP_REQUIRES = "sdk-client>=1.2,<1.3"

DEFAULT_UNRELEASED = ("sdk-http",)

UNRELEASED_NOTE = "## [Unreleased]\n\n### Fixed\n\n- Handle empty input.\n"


def publish_workflow() -> str:
    """The workspace's one publish workflow: on a published release, every member built and uploaded in one run."""
    checkout = pinned_uses("actions/checkout", "the stand-in")
    setup = pinned_uses("actions/setup-python", "the stand-in")
    publish = pinned_uses("pypa/gh-action-pypi-publish", "the stand-in")
    return (
        "name: Publish the SDK\n\non:\n  release:\n    types: [published]\n\npermissions: {}\n\njobs:\n"
        "  publish:\n    runs-on: ubuntu-latest\n    environment: pypi\n    permissions:\n      id-token: write\n"
        f"    steps:\n      - uses: {checkout}\n        with:\n          fetch-depth: 0\n"
        f"          persist-credentials: false\n      - uses: {setup}\n        with:\n"
        "          python-version: '3.11'\n      - run: pip install build twine\n"
        '      - run: for lib in libs/*/; do python -m build --outdir dist "$lib"; done\n'
        f"      - run: twine check --strict dist/*\n      - uses: {publish}\n"
    )


def _member_spec(name: str) -> PackageSpec:
    description, requires = MEMBERS[name]
    spec = PackageSpec(name, name.replace("-", "_"), GROUP_VERSION, "src", description, dependencies=list(requires))
    body = "".join(f"import {dep.replace('-', '_')}  # noqa: F401\n" for dep in requires)
    spec.files[f"{spec.module_root}/__init__.py"] = (
        f'"""{description}"""\n\nimport importlib.metadata\n\n{body}\n'
        f'__version__ = importlib.metadata.version("{name}")\n'
    )
    if name == "sdk-cli":
        spec.scripts["sdk"] = "sdk_cli.main:main"
        spec.files[f"{spec.module_root}/main.py"] = (
            "import argparse\n\nfrom . import __version__\n\n\n"
            "def main(argv: list[str] | None = None) -> int:\n"
            '    parser = argparse.ArgumentParser(prog="sdk")\n'
            '    parser.add_argument("--version", action="version", version=__version__)\n'
            "    parser.parse_args(argv)\n"
            "    return 0\n"
        )
    return spec


def member_pyproject(spec: PackageSpec, repo: str) -> str:
    """A member's pyproject: hatchling and hatch-vcs reading the repository's tag (``root = "../.."``), its sibling
    members resolved in the workspace (``[tool.uv.sources]``)."""
    doc = tomlkit.parse(pyproject_text(spec, repo))
    doc["build-system"]["requires"] = ["hatchling>=1.27", "hatch-vcs>=0.4"]
    doc["build-system"]["build-backend"] = "hatchling.build"
    project = doc["project"]
    assert isinstance(project, Table)
    del project["version"]
    project["dynamic"] = ["version"]
    tool = doc["tool"]
    assert isinstance(tool, Table)
    del tool["setuptools"]
    hatch = tomlkit.table(is_super_table=True)
    version = tomlkit.table()
    version["source"] = "vcs"
    version["raw-options"] = {"root": "../.."}
    hatch["version"] = version
    hatch["build"] = {"targets": {"wheel": {"packages": [spec.module_root]}}}
    tool["hatch"] = hatch
    if spec.dependencies:
        sources = tomlkit.table()
        for dep in spec.dependencies:
            inline = tomlkit.inline_table()
            inline["workspace"] = True
            sources[dep] = inline
        tool["uv"] = {"sources": sources}
    return tomlkit.dumps(doc)


def workspace_pyproject() -> str:
    """The virtual workspace root: no project of its own."""
    return '[tool.uv.workspace]\nmembers = ["libs/*"]\n'


def uv_lock(members: Iterable[str], subdirs: dict[str, str]) -> str:
    """The workspace's ``uv.lock`` as ``uv lock`` writes it for dynamic-version members without third-party
    dependencies (written here so making the stand-in needs no index; ``uv lock --check --offline`` accepts it)."""
    names = sorted(members)
    lines = ["version = 1", "revision = 3", 'requires-python = ">=3.11"', "", "[manifest]", "members = ["]
    lines += [f'    "{n}",' for n in names] + ["]"]
    for name in names:
        lines += ["", "[[package]]", f'name = "{name}"', f'source = {{ editable = "{subdirs[name]}" }}']
        deps = sorted(MEMBERS[name][1])
        if deps:
            lines += ["dependencies = ["] + [f'    {{ name = "{d}" }},' for d in deps] + ["]"]
            lines += ["", "[package.metadata]"]
            shown = ", ".join(f'{{ name = "{d}", editable = "{subdirs[d]}" }}' for d in deps)
            lines += [f"requires-dist = [{shown}]"]
    return "\n".join(lines) + "\n"


def _write_group(workspace: Path, registry: Registry, members: list[str]) -> tuple[Path, str]:
    pkgs = [registry.get(n) for n in members]
    repo_root = pkgs[0].repo_dir(workspace)
    if repo_root.exists():
        shutil.rmtree(repo_root)
    repo_root.mkdir(parents=True)
    (repo_root / "README.md").write_text("# The SDK\n\nA uv workspace of the SDK's packages under libs/.\n")
    (repo_root / "LICENSE").write_text(LICENSE_TEXT, encoding="utf-8")
    (repo_root / ".gitignore").write_text("__pycache__/\ndist/\n.venv/\n", encoding="utf-8")
    (repo_root / "pyproject.toml").write_text(workspace_pyproject(), encoding="utf-8")
    subdirs = {p.name: p.subdir or "." for p in pkgs}
    (repo_root / "uv.lock").write_text(uv_lock(members, subdirs), encoding="utf-8")
    workflow = repo_root / registry.workflow_for(pkgs[0])
    workflow.parent.mkdir(parents=True, exist_ok=True)
    workflow.write_text(publish_workflow(), encoding="utf-8")
    for pkg in pkgs:
        spec = _member_spec(pkg.name)
        root = pkg.checkout(workspace)
        write_package(root, spec, pkg.repo, pkg.torch, {"no-workflow"})
        (root / "pyproject.toml").write_text(member_pyproject(spec, pkg.repo), encoding="utf-8")
        if pkg.name not in WITH_CHANGELOG:
            (root / "CHANGELOG.md").unlink()
        (root / "LICENSE").unlink()  # the repository's one LICENSE, linked as real workspaces do
        (root / "LICENSE").symlink_to(Path("..") / ".." / "LICENSE")
        _validate_workflow(registry, pkg, root, spec)
    return repo_root, pkgs[0].repo


def _validate_workflow(registry: Registry, pkg: Package, root: Path, spec: PackageSpec) -> None:
    """A member's validation gate and the repository's Dependabot configuration, as ``workflows --write`` renders
    them (the group's one publish workflow is hand-written: the renderer leaves it alone)."""
    from juniper_release.github.workflows import DEPENDABOT_PATH, render_dependabot, render_package

    _publish, validate = render_package(registry, pkg, SpecifierSet(spec.requires_python))
    top = pkg.top_of(root)
    for rendered in (validate, *([] if (top / DEPENDABOT_PATH).exists() else [render_dependabot(pkg)])):
        (top / rendered.path).parent.mkdir(parents=True, exist_ok=True)
        (top / rendered.path).write_text(rendered.text, encoding="utf-8")


def create_lockstep(
    workspace: Path,
    registry: Registry,
    defects: str | Iterable[str] | None = None,
    *,
    remotes: Path | None = None,
    unreleased: Iterable[str] = DEFAULT_UNRELEASED,
) -> Ecosystem:
    """Write the SDK workspace and the app into ``workspace``, each a git repository pushed to a bare ``origin``,
    tagged ``v{version}``; members in ``unreleased`` get one ``fix:`` commit in their directory after the tag."""
    if defects and (list(defects) if not isinstance(defects, str) else defects.strip()):
        raise ConfigError("the lockstep stand-in has no defects", "drop --defects with --layout lockstep")
    workspace.mkdir(parents=True, exist_ok=True)
    remotes = remotes or workspace / ".remotes"
    group = next((g for g in registry.groups if set(g.members) == set(MEMBERS)), None)
    unknown = [p.name for p in registry.packages if p.name not in MEMBERS and p.name != APP]
    if group is None or unknown:
        raise ConfigError(
            "the lockstep stand-in needs its [[group]] of " + ", ".join(MEMBERS) + f" and {APP}",
            "use registries/lockstep.toml with --layout lockstep",
        )
    repo_root, repo = _write_group(workspace, registry, list(group.members))
    git = new_repository(repo_root, remotes / f"{repo}.git", registry.branch)
    git.run("add", "-A")
    git.run("commit", "-q", "-m", "feat: initial import of the SDK")
    git.tag_annotated(group.tag_for(GROUP_VERSION), f"Release {GROUP_VERSION}")
    for name in unreleased:
        pkg = registry.get(name)
        git.run("add", f"{pkg.subdir}/{unreleased_change(pkg.checkout(workspace), _member_spec(name))}")
        changelog = pkg.checkout(workspace) / "CHANGELOG.md"
        if changelog.is_file():  # the fix noted where the member keeps notes
            text = changelog.read_text(encoding="utf-8")
            changelog.write_text(text.replace("## [Unreleased]\n", UNRELEASED_NOTE, 1), encoding="utf-8")
            git.run("add", f"{pkg.subdir}/CHANGELOG.md")
        git.run("commit", "-q", "-m", f"fix({name}): handle empty input")
    git.run("push", "-q", "--follow-tags", "origin", registry.branch)
    if registry.find(APP) is not None:
        _write_app(workspace, registry, remotes)
    return Ecosystem(workspace=workspace, remotes=remotes, defects=frozenset())


def _write_app(workspace: Path, registry: Registry, remotes: Path) -> None:
    """The package outside the group: a static version requiring the group's client below its next minor."""
    pkg = registry.get(APP)
    spec = PackageSpec(APP, "lockstep_app", APP_VERSION, "src", "An application on the SDK.")
    spec.dependencies = [APP_REQUIRES]
    spec.files[f"{spec.module_root}/__init__.py"] = (
        f'"""{spec.description}"""\n\nimport sdk_client  # noqa: F401\n\n__version__ = "{APP_VERSION}"\n'
    )
    root = pkg.checkout(workspace)
    if root.exists():
        shutil.rmtree(root)
    write_package(root, spec, pkg.repo, pkg.torch, set())
    template_workflows(registry, pkg, root, spec)
    git = new_repository(root, remotes / f"{pkg.repo}.git", registry.branch)
    git.run("add", "-A")
    git.run("commit", "-q", "-m", f"feat: initial import of {APP}")
    git.tag_annotated(pkg.tag_for(APP_VERSION), f"Release {APP_VERSION}")
    git.run("push", "-q", "--follow-tags", "origin", registry.branch)

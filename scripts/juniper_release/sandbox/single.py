"""The single-package stand-in (``--sandbox --layout single``, ``registries/single.toml``): one package released
from GitHub Releases, as the release-process document describes it.

- one repository, one package (``solo-release``, setuptools, a static version, a console script);
- two publish workflows, both ``on: release: types: [published]``: ``publish-testpypi.yml`` publishes a
  *pre-release* (``if: github.event.release.prerelease == true``) to TestPyPI, ``publish-pypi.yml`` a *final*
  (``== false``) to PyPI; the registry names both (``prerelease_workflow`` beside ``publish_workflow``);
- no CHANGELOG: the GitHub Releases are the notes;
- history: ``v0.1.0`` on ``main``; the maintenance branch ``release/0.1`` starts there and carries one unreleased
  ``fix:``; ``main`` moved on with one unreleased ``feat:`` (the next minor).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

from packaging.specifiers import SpecifierSet

from juniper_release.ecosystem.registry import Package, Registry
from juniper_release.errors import ConfigError
from juniper_release.github.pins import pinned_uses
from juniper_release.sandbox.specs import PackageSpec, init_static
from juniper_release.sandbox.standin import Ecosystem, new_repository
from juniper_release.sandbox.writers import write_package

NAME = "solo-release"
VERSION = "0.1.0"
LINE_BRANCH = "release/0.1"
"""The maintenance branch of the released minor line."""
FIX_MODULE = "_empty.py"
"""The fix on the maintenance line (a new module: it ships)."""
FEATURE_MODULE = "_summary.py"
"""The feature on main after the release (a new module: it ships)."""

DEFECTS: dict[str, str] = {}
"""This layout has no defects."""


def parse_single_defects(spec: str | Iterable[str] | None) -> frozenset[str]:
    """This layout takes no defects: any name is an error."""
    items = [] if spec is None else spec.split(",") if isinstance(spec, str) else list(spec)
    chosen = sorted(filter(None, (s.strip() for s in items)))
    if chosen:
        raise ConfigError(f"unknown defect {chosen[0]!r} of the single stand-in", "the single layout has no defects")
    return frozenset()


def single_spec() -> PackageSpec:
    """The one package: a tiny text helper with a console script."""
    spec = PackageSpec(NAME, "solo_release", VERSION, "src", "Text helpers released from GitHub Releases.")
    spec.scripts[NAME] = "solo_release.cli:main"
    spec.files[f"{spec.module_root}/__init__.py"] = init_static(
        spec, "def shout(text: str) -> str:\n    return text.upper()\n"
    )
    spec.files[f"{spec.module_root}/cli.py"] = (
        "import argparse\n\nfrom . import __version__\n\n\n"
        "def main(argv: list[str] | None = None) -> int:\n"
        f'    parser = argparse.ArgumentParser(prog="{NAME}")\n'
        '    parser.add_argument("--version", action="version", version=__version__)\n'
        "    parser.parse_args(argv)\n"
        "    return 0\n"
    )
    return spec


def publish_workflow(kind: str, import_name: str) -> str:
    """A hand-written publish workflow of the pair: ``testpypi`` for pre-releases, ``pypi`` for finals, on a
    published Release, its job gated on ``github.event.release.prerelease`` (trusted publishing, pinned actions)."""
    pre = kind == "testpypi"
    checkout = pinned_uses("actions/checkout", "the single stand-in")
    setup = pinned_uses("actions/setup-python", "the single stand-in")
    upload = pinned_uses("pypa/gh-action-pypi-publish", "the single stand-in")
    target = "          repository-url: https://test.pypi.org/legacy/\n" if pre else ""
    return (
        f"name: Publish to {'TestPyPI' if pre else 'PyPI'}\n\n"
        "on:\n  release:\n    types: [published]\n\npermissions: {}\n\njobs:\n"
        f"  publish:\n    if: github.event.release.prerelease == {'true' if pre else 'false'}\n"
        f"    runs-on: ubuntu-latest\n    environment: {kind}\n    permissions:\n      id-token: write\n"
        f"    steps:\n      - uses: {checkout}\n        with:\n          persist-credentials: false\n"
        f"      - uses: {setup}\n        with:\n          python-version: '3.11'\n"
        "      - run: python -m pip install build twine\n      - run: python -m build\n"
        "      - run: twine check --strict dist/*\n"
        f"      - uses: {upload}\n" + (f"        with:\n{target}" if target else "") + ""
        f"      - run: python -c 'import {import_name}'\n"
    )


def _write_workflows(registry: Registry, pkg: Package, root: Path, spec: PackageSpec) -> None:
    """The hand-written pair, and the validation gate and Dependabot configuration ``invoke workflows`` renders."""
    from juniper_release.github.workflows import render_dependabot, render_package

    (root / ".github" / "workflows" / "publish.yml").unlink(missing_ok=True)
    assert spec.import_name
    for kind, path in (("testpypi", registry.workflow_for(pkg, prerelease=True)), ("pypi", registry.workflow_for(pkg))):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(publish_workflow(kind, spec.import_name), encoding="utf-8")
    _publish, validate = render_package(registry, pkg, SpecifierSet(spec.requires_python))
    for rendered in (validate, render_dependabot(pkg)):
        (root / rendered.path).parent.mkdir(parents=True, exist_ok=True)
        (root / rendered.path).write_text(rendered.text, encoding="utf-8")


def _add_module(root: Path, spec: PackageSpec, name: str, body: str) -> str:
    rel = f"{spec.module_root}/{name}"
    (root / rel).write_text(body, encoding="utf-8")
    return rel


def create_single(
    workspace: Path, registry: Registry, defects: str | Iterable[str] | None = None, *, remotes: Path | None = None
) -> Ecosystem:
    """Write the one package into ``workspace``: a git repository pushed to a bare ``origin`` with ``main`` and the
    maintenance branch ``release/0.1`` (see the module's docstring)."""
    chosen = parse_single_defects(defects)
    if len(registry.packages) != 1 or registry.packages[0].name != NAME:
        raise ConfigError(f"the single stand-in has one package, {NAME!r}", "use registries/single.toml")
    pkg = registry.packages[0]
    spec = single_spec()
    workspace.mkdir(parents=True, exist_ok=True)
    remotes = remotes or workspace / ".remotes"
    root = pkg.checkout(workspace)
    if root.exists():
        shutil.rmtree(root)
    write_package(root, spec, pkg.repo, pkg.torch, set())
    (root / "CHANGELOG.md").unlink()  # the GitHub Releases are the notes
    _write_workflows(registry, pkg, root, spec)
    git = new_repository(root, remotes / f"{pkg.repo}.git", registry.branch)
    git.run("add", "-A")
    git.run("commit", "-q", "-m", f"feat: initial import of {NAME}")
    git.tag_annotated(pkg.tag_for(VERSION), f"Release {VERSION}")
    git.run("switch", "-q", "-c", LINE_BRANCH)
    fix = 'def handle_empty(text: str) -> str:\n    return text or ""\n'
    git.run("add", _add_module(root, spec, FIX_MODULE, f'"""Empty input."""\n\n\n{fix}'))
    git.run("commit", "-q", "-m", "fix: handle empty input")
    git.run("switch", "-q", registry.branch)
    feature = "def summary(text: str) -> str:\n    return text[:10]\n"
    git.run("add", _add_module(root, spec, FEATURE_MODULE, f'"""Summaries."""\n\n\n{feature}'))
    git.run("commit", "-q", "-m", "feat: add a summary helper")
    git.run("push", "-q", "--follow-tags", "origin", registry.branch, LINE_BRANCH)
    return Ecosystem(workspace=workspace, remotes=remotes, defects=chosen)

"""The grown stand-in ecosystem: 18 small packages in 8 repositories (``--sandbox --layout grown``).

The six packages of :mod:`juniper_release.sandbox.standin` (with their defects) plus the packages the ecosystem grew:
the tool and core sub-packages of juniper-ml, juniper-cascor's protocol and model sub-packages, the three
juniper-recurrence sub-packages (no root package) and juniper-canopy. Sub-packages live in sub-directories of
their shared repository, with their own pyproject, CHANGELOG and ``{name}-v{version}`` tags; model-core and the
recurrence packages declare ``dynamic = ["version"]`` read from ``<import>/_version.py``. The registry
(``registries/grown.toml``) says where each package lives; this module only makes their content.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import tomlkit

from juniper_release.ecosystem.registry import Package, Registry
from juniper_release.errors import ConfigError
from juniper_release.sandbox.defects import apply_defects, parse_defects
from juniper_release.sandbox.specs import PackageSpec, six_specs
from juniper_release.sandbox.standin import Ecosystem, new_repository, unreleased_change
from juniper_release.sandbox.writers import LICENSE_TEXT, upstream_publish_workflow, write_package

DYNAMIC = frozenset(
    {"juniper-model-core", "juniper-recurrence", "juniper-recurrence-client", "juniper-recurrence-model"}
)
"""Packages whose version is ``dynamic``, read from ``<import>/_version.py``."""


def _small(name: str, version: str, description: str, *, layout: str = "flat", **kw: Any) -> PackageSpec:
    """A small package whose module holds its ``__version__`` in ``_version.py`` (imported by ``__init__``)."""
    spec = PackageSpec(name, name.replace("-", "_"), version, layout, description, **kw)
    spec.files[f"{spec.module_root}/_version.py"] = f'__version__ = "{version}"\n'
    spec.files[f"{spec.module_root}/__init__.py"] = (
        f'"""{description}"""\n\nfrom ._version import __version__\n\n__all__ = ["__version__"]\n'
    )
    return spec


def _cli(spec: PackageSpec, prog: str) -> None:
    assert spec.import_name
    spec.scripts[prog] = f"{spec.import_name}.cli:main"
    spec.files[f"{spec.module_root}/cli.py"] = (
        "import argparse\n\nfrom . import __version__\n\n\n"
        "def main(argv: list[str] | None = None) -> int:\n"
        f'    parser = argparse.ArgumentParser(prog="{prog}")\n'
        '    parser.add_argument("--version", action="version", version=__version__)\n'
        "    parser.parse_args(argv)\n"
        "    return 0\n"
    )


def grown_specs(owner: str) -> dict[str, PackageSpec]:
    """The 18 package specs: the six of the plan with the edges they grew, and twelve more."""
    specs = six_specs(owner)
    new = [
        _small("juniper-ci-tools", "0.8.0", "CI helper scripts for the Juniper repositories."),
        _small("juniper-config-tools", "0.1.0", "Configuration loading shared by the Juniper services."),
        _small("juniper-doc-tools", "0.1.1", "Documentation link checks for the Juniper repositories."),
        _small("juniper-model-core", "0.3.1", "Model protocols shared by the Juniper models."),
        _small("juniper-observability", "0.4.0", "Metrics and tracing for the Juniper services."),
        _small(
            "juniper-service-core",
            "0.5.1",
            "Service scaffolding shared by the Juniper applications.",
            dependencies=["juniper-model-core>=0.1.0"],
        ),
        _small("juniper-cascor-protocol", "0.1.0", "Wire protocol of the cascor service and its workers."),
        _small("juniper-cascor-model", "0.1.0", "Cascade-correlation model core.", dependencies=["numpy>=1.24"]),
        _small(
            "juniper-recurrence-model",
            "0.2.0",
            "Recurrent model core for juniper-recurrence.",
            dependencies=["numpy>=1.24", "juniper-model-core>=0.2.0,<0.4.0"],
        ),
        _small(
            "juniper-recurrence-client",
            "0.2.0",
            "HTTP client for the juniper-recurrence service.",
            optional={"observability": ["juniper-observability>=0.3.1,<0.5.0"]},
        ),
        _small(
            "juniper-recurrence",
            "0.4.0",
            "The juniper-recurrence application.",
            dependencies=[
                "juniper-service-core>=0.5.0,<0.6.0",
                "juniper-recurrence-model>=0.1.5,<0.3.0",
                "juniper-data-client>=0.3.1,<0.4",
            ],
            optional={"bench": ["juniper-data>=0.6.0,<0.7"]},
        ),
        _small(
            "juniper-canopy",
            "0.3.0",
            "Dashboard for the Juniper services.",
            optional={"juniper-data": ["juniper-data-client>=0.3.1,<0.4"]},
        ),
    ]
    _cli(new[0], "juniper-ci-check")
    _cli(new[2], "juniper-check-doc-links")
    _cli(new[10], "juniper-recurrence")
    specs.update({s.name: s for s in new})
    # The edges the six grew.
    specs["juniper-data-client"].optional["observability"] = ["juniper-observability>=0.1.1"]
    specs["juniper-cascor-client"].dependencies.append("juniper-cascor-protocol>=0.1.0")
    specs["juniper-cascor-worker"].dependencies += [
        "juniper-cascor-protocol>=0.1.0",
        "juniper-config-tools>=0.1.0,<0.2.0",
        "juniper-cascor-model>=0.1.0",
    ]
    specs["juniper-cascor"].optional["juniper-data"] = ["juniper-data>=0.6.0,<0.7"]
    specs["juniper-ml"].optional["tools"] = [
        "juniper-ci-tools>=0.1.0",
        "juniper-config-tools>=0.1.0,<0.2.0",
        "juniper-doc-tools>=0.1.0,<0.2.0",
        "juniper-model-core>=0.1.0,<0.4.0",
        "juniper-observability>=0.2.0",
        "juniper-service-core>=0.2.0,<0.6.0",
    ]
    specs["juniper-ml"].optional["cascor"] = ["juniper-cascor-protocol>=0.1.0", "juniper-cascor-model>=0.1.0"]
    specs["juniper-ml"].optional.setdefault("services", []).append("juniper-canopy>=0.3.0,<0.4")
    specs["juniper-ml"].optional["recurrence"] = [
        "juniper-recurrence-model>=0.1.5,<0.3.0",
        "juniper-recurrence>=0.4.0,<0.5.0",
        "juniper-recurrence-client>=0.2.0,<0.3.0",
    ]
    return specs


def _make_dynamic(root: Path, spec: PackageSpec) -> None:
    """Turn a written package's static ``[project].version`` into ``dynamic`` read from ``_version.py``."""
    pyproject = root / "pyproject.toml"
    doc = tomlkit.parse(pyproject.read_text(encoding="utf-8"))
    project = doc["project"]
    del project["version"]
    project["dynamic"] = ["version"]
    setuptools = doc["tool"]["setuptools"]
    setuptools["dynamic"] = {"version": {"attr": f"{spec.import_name}._version.__version__"}}
    pyproject.write_text(tomlkit.dumps(doc), encoding="utf-8")


def create_grown(
    workspace: Path,
    registry: Registry,
    defects: str | Iterable[str] | None = None,
    *,
    remotes: Path | None = None,
    unreleased: Iterable[str] = (),
) -> Ecosystem:
    """Write the grown ecosystem into ``workspace``: one git repository per registry ``path`` holding its packages,
    each package tagged with its own ``tag_format``, pushed to a bare ``origin``. Packages named in ``unreleased``
    get one more commit in their own directory after the tags, adding a module (:func:`standin.unreleased_change`)."""
    chosen = parse_defects(defects)
    workspace.mkdir(parents=True, exist_ok=True)
    remotes = remotes or workspace / ".remotes"
    specs = grown_specs(registry.owner)
    flags = apply_defects(specs, chosen)
    repos: dict[str, list[Package]] = {}
    for pkg in registry.packages:
        if pkg.name not in specs:
            raise ConfigError(
                f"the grown stand-in has no package {pkg.name!r}", "use registries/grown.toml with --layout grown"
            )
        repos.setdefault(pkg.path, []).append(pkg)
    for path, members in repos.items():
        repo_root = workspace / path
        if repo_root.exists():
            shutil.rmtree(repo_root)
        repo_root.mkdir(parents=True)
        if all(p.subdir for p in members):  # no root package: the repository still has a README and a LICENSE
            (repo_root / "README.md").write_text(f"# {path}\n\nSub-packages: {', '.join(p.name for p in members)}.\n")
            (repo_root / "LICENSE").write_text(LICENSE_TEXT, encoding="utf-8")
        for pkg in members:
            spec = specs[pkg.name]
            root = pkg.checkout(workspace)
            own = set(flags[pkg.name]) | ({"no-workflow"} if pkg.subdir else set())
            write_package(root, spec, pkg.repo, pkg.torch, own)
            if pkg.name in DYNAMIC:
                _make_dynamic(root, spec)
            if pkg.subdir and "no-workflow" not in flags[pkg.name]:
                wf = repo_root / registry.workflow_for(pkg)
                wf.parent.mkdir(parents=True, exist_ok=True)
                wf.write_text(upstream_publish_workflow(spec.name, spec.import_name, pkg.torch), "utf-8")
        git = new_repository(repo_root, remotes / f"{members[0].repo}.git", registry.branch)
        git.run("add", "-A")
        git.run("commit", "-q", "-m", f"feat: initial import of {path}")
        for pkg in members:
            git.tag_annotated(pkg.tag_for(specs[pkg.name].version), f"Release {pkg.name} {specs[pkg.name].version}")
        for pkg in members:
            if pkg.name in set(unreleased):
                unreleased_change(pkg.checkout(workspace), specs[pkg.name])
                git.run("add", "-A")
                git.run("commit", "-q", "-m", f"fix({pkg.name}): handle empty datasets")
        git.run("push", "-q", "--follow-tags", "origin", registry.branch)
    return Ecosystem(workspace=workspace, remotes=remotes, defects=chosen)

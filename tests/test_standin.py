"""The stand-in ecosystem generator."""

from __future__ import annotations

import subprocess

import pytest
from juniper_release.ecosystem.project import VersionKind, find_module_version, read_project
from juniper_release.ecosystem.registry import load_registry
from juniper_release.errors import ConfigError
from juniper_release.gitops import Git
from juniper_release.sandbox.standin import DEFECTS, PRESETS, parse_defects


def test_clean_ecosystem_has_six_tagged_repos_with_bare_origins(ecosystem, registry):
    for pkg in registry.packages:
        root = ecosystem.checkout(pkg.path)
        git = Git(root)
        assert git.is_clean()
        project = read_project(pkg, root)
        assert project.name == pkg.name
        tag = registry.tag_for(project.version)
        assert git.tag_exists(tag)
        assert tag in git.remote_tags()
        assert (root / "LICENSE").is_file()
        assert (root / "README.md").is_file()
        assert (root / ".github/workflows/publish.yml").is_file()
        origin = git.remote_url()
        assert origin is not None
        subprocess.run(["git", "--git-dir", origin, "rev-parse", "main"], check=True, capture_output=True)


def test_version_locations_cover_static_version_file_and_derived(ecosystem):
    assert (
        find_module_version(ecosystem.checkout("juniper-data-client"), "juniper_data_client").kind is VersionKind.STATIC
    )
    cc = find_module_version(ecosystem.checkout("juniper-cascor-client"), "juniper_cascor_client")
    assert cc.kind is VersionKind.STATIC and cc.file is not None and cc.file.name == "_version.py"
    wk = find_module_version(ecosystem.checkout("juniper-cascor-worker"), "juniper_cascor_worker")
    assert wk.kind is VersionKind.DERIVED
    assert find_module_version(ecosystem.checkout("juniper-ml"), None).kind is VersionKind.NONE


def test_seed_preset_reproduces_known_problems(make_ecosystem):
    eco = make_ecosystem("seed")
    mv = find_module_version(eco.checkout("juniper-data-client"), "juniper_data_client")
    assert mv.value == "0.3.0"
    assert not (eco.checkout("juniper-data") / ".github/workflows/publish.yml").exists()
    ml = read_project(load_registry().get("juniper-ml"), eco.checkout("juniper-ml"))
    assert "services" not in ml.optional
    assert str(ml.requires_python) == ">=3.12"


def test_unreleased_adds_a_commit_after_the_tag(make_ecosystem):
    eco = make_ecosystem(unreleased=["juniper-data"])
    assert Git(eco.checkout("juniper-data")).commits_since("v0.6.0") == 1
    assert Git(eco.checkout("juniper-ml")).commits_since("v0.6.0") == 0


def test_every_defect_and_preset_parses():
    assert parse_defects(",".join(DEFECTS)) == frozenset(DEFECTS)
    assert parse_defects("seed") == PRESETS["seed"]


def test_unknown_defect_is_a_one_line_error():
    with pytest.raises(ConfigError, match=r"unknown stand-in defect 'nope'.*Fix: use a preset"):
        parse_defects("nope")

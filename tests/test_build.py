"""Clean builds: real pypa/build, twine check --strict, wheel inspection, sdist completeness and the manifest."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest
from juniper_release.ecosystem.project import read_project
from juniper_release.ecosystem.registry import Registry, load_registry
from juniper_release.gitops import Git
from juniper_release.sandbox.standin import FAKE_PYPI_TOKEN, Ecosystem, create_ecosystem
from juniper_release.verify.build import (
    BuildEnvs,
    BuildError,
    build_log_path,
    build_package,
    build_warnings,
    clean_copy,
    compare_wheels,
    inspect_wheel,
    scan_secrets,
    tree_wheel_inputs,
    warnings_line,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def clean_eco(tmp_path_factory: pytest.TempPathFactory, registry: Registry) -> Ecosystem:
    base = tmp_path_factory.mktemp("clean")
    return create_ecosystem(base / "ws", registry, None, remotes=base / "remotes")


@pytest.fixture(scope="module")
def defect_eco(tmp_path_factory: pytest.TempPathFactory, registry: Registry) -> Ecosystem:
    """Build-phase defects on three different packages, so one ecosystem serves them all."""
    base = tmp_path_factory.mktemp("defects")
    return create_ecosystem(
        base / "ws", registry, "stray-tests,incomplete-sdist,missing-py-typed", remotes=base / "remotes"
    )


def test_clean_build_writes_artifacts_and_manifest_without_touching_the_checkout(clean_eco, registry, tmp_path):
    pkg = registry.get("juniper-cascor-worker")
    root = clean_eco.checkout(pkg.path)
    before = sorted(p.relative_to(root) for p in root.rglob("*") if ".git" not in p.parts)
    result = build_package(registry, pkg, clean_eco.workspace, tmp_path / "out", source_key="k1")

    assert result.sdist.name == "juniper_cascor_worker-0.4.0.tar.gz"
    assert result.wheel.name == "juniper_cascor_worker-0.4.0-py3-none-any.whl"
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["package"] == pkg.name and manifest["version"] == "0.4.0" and manifest["source_key"] == "k1"
    for entry, path in zip(manifest["artifacts"], result.artifacts, strict=True):
        assert entry["name"] == path.name
        assert entry["size"] == path.stat().st_size
        assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    # The build ran on a copy: no build/, egg-info or dist/ appeared and git sees nothing new.
    assert sorted(p.relative_to(root) for p in root.rglob("*") if ".git" not in p.parts) == before
    assert Git(root).is_clean()
    with zipfile.ZipFile(result.wheel) as zf:
        entry_points = next(n for n in zf.namelist() if n.endswith("entry_points.txt"))
        assert "juniper-cascor-worker" in zf.read(entry_points).decode()


def test_rebuild_replaces_only_this_projects_artifacts(clean_eco, registry, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "juniper_cascor_client-0.0.1-py3-none-any.whl").write_bytes(b"old")
    (out / "other_project-1.0.tar.gz").write_bytes(b"keep")
    result = build_package(registry, registry.get("juniper-cascor-client"), clean_eco.workspace, out)
    names = sorted(p.name for p in out.iterdir())
    assert "juniper_cascor_client-0.0.1-py3-none-any.whl" not in names
    assert "other_project-1.0.tar.gz" in names
    assert result.wheel.name in names and result.sdist.name in names


def test_clean_copy_takes_untracked_files_but_not_ignored_ones(clean_eco, tmp_path):
    root = clean_eco.checkout("juniper-data")
    (root / "NEW.md").write_text("untracked, not ignored\n")
    (root / "build").mkdir(exist_ok=True)
    (root / "build" / "junk.txt").write_text("ignored\n")
    try:
        files = clean_copy(root, tmp_path / "copy")
    finally:
        (root / "NEW.md").unlink()
        (root / "build" / "junk.txt").unlink()
        (root / "build").rmdir()
    assert "NEW.md" in files and (tmp_path / "copy" / "NEW.md").is_file()
    assert not (tmp_path / "copy" / "build").exists()
    assert not (tmp_path / "copy" / ".git").exists()


def test_stray_top_level_tests_package_fails_the_build(defect_eco, registry, tmp_path):
    with pytest.raises(BuildError, match=r"stray top-level tests/.*Fix: the tests/ package belongs in the sdist"):
        build_package(registry, registry.get("juniper-cascor-client"), defect_eco.workspace, tmp_path)
    assert not list(tmp_path.glob("*.whl")), "a failed build must not land in the wheelhouse"


def test_missing_py_typed_fails_the_build(defect_eco, registry, tmp_path):
    with pytest.raises(BuildError, match=r"Typing :: Typed' but the wheel has no juniper_data_client/py.typed"):
        build_package(registry, registry.get("juniper-data-client"), defect_eco.workspace, tmp_path)


def test_incomplete_sdist_fails_with_a_diff(defect_eco, registry, tmp_path):
    with pytest.raises(BuildError) as exc:
        build_package(registry, registry.get("juniper-data"), defect_eco.workspace, tmp_path)
    message = str(exc.value)
    assert "sdist is incomplete" in message and "-juniper_data/schema.py" in message
    assert "Fix: include the missing files in the sdist" in message
    assert "--- wheel from the tree" in exc.value.detail and "-juniper_data/schema.py" in exc.value.detail


def test_packages_with_the_same_build_requires_share_one_build_env(make_ecosystem, registry, tmp_path):
    eco = make_ecosystem()
    with BuildEnvs() as envs:
        for name in ("juniper-data-client", "juniper-cascor-client"):
            build_package(registry, registry.get(name), eco.workspace, tmp_path / name, envs=envs)
        assert envs.shared == 1 and envs.private == set()


def test_a_backend_asking_for_more_builds_in_an_env_of_its_own(make_ecosystem, registry, tmp_path):
    eco = make_ecosystem()
    root = eco.checkout("juniper-data-client")
    (root / "_backend").mkdir()
    (root / "_backend" / "wrap.py").write_text(
        "from setuptools.build_meta import *  # noqa: F403\n"
        "def get_requires_for_build_sdist(config_settings=None):\n    return ['packaging']\n"
    )
    (root / "MANIFEST.in").write_text("recursive-include _backend *.py\n")
    pyproject = root / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            'build-backend = "setuptools.build_meta"', 'build-backend = "wrap"\nbackend-path = ["_backend"]'
        )
    )
    with BuildEnvs() as envs:
        built = build_package(registry, registry.get("juniper-data-client"), eco.workspace, tmp_path, envs=envs)
        assert envs.private == {"juniper-data-client"}
    assert built.wheel.is_file()


def test_build_noise_is_one_line_and_the_full_log_is_kept(make_ecosystem, registry, tmp_path):
    eco = make_ecosystem()
    pyproject = eco.checkout("juniper-data") / "pyproject.toml"
    text = pyproject.read_text()
    assert 'license = "MIT"' in text
    pyproject.write_text(text.replace('license = "MIT"', 'license = {text = "MIT"}'))
    built = build_package(registry, registry.get("juniper-data"), eco.workspace, tmp_path)
    assert any("`project.license` as a TOML table is deprecated" in w for w in built.warnings)
    line = warnings_line(built.warnings)
    assert "\n" not in line and "build warning" in line and built.warnings[0] in line
    log = build_log_path(registry.get("juniper-data")).read_text()
    assert "running sdist" in log and "`project.license` as a TOML table is deprecated" in log


def test_build_warnings_are_counted_once_each():
    log = (
        "/x/_apply.py:82: SetuptoolsDeprecationWarning: `project.license` as a TOML table is deprecated\n!!\n"
        "running bdist_wheel\n"
        "/x/_apply.py:82: SetuptoolsDeprecationWarning: `project.license` as a TOML table is deprecated\n"
        "/y.py:1: UserWarning: something else\n"
    )
    assert build_warnings(log) == ["`project.license` as a TOML table is deprecated", "something else"]
    assert warnings_line(build_warnings(log)) == (
        "2 build warnings: `project.license` as a TOML table is deprecated (and 1 more)"
    )
    assert warnings_line([]) == ""


def _sdist(path: Path, files: dict[str, str]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for rel, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"pkg-1.0/{rel}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def _digests(files: dict[str, str]) -> dict[str, str]:
    return {rel: hashlib.sha256(text.encode()).hexdigest() for rel, text in files.items()}


def test_the_tree_wheel_is_needed_only_when_a_missing_file_could_change_it(tmp_path):
    shipped = {"pyproject.toml": "[project]", "juniper_x/__init__.py": "", "README.md": "hi"}
    sdist = _sdist(tmp_path / "pkg-1.0.tar.gz", {**shipped, "PKG-INFO": "Name: pkg"})
    irrelevant = {".github/workflows/ci.yml": "on: push", "CHANGELOG.md": "#", ".gitignore": "*.pyc"}
    assert tree_wheel_inputs(sdist, _digests({**shipped, **irrelevant}), {"juniper_x"}) == []
    relevant = {
        "juniper_x/schema.py": "X = 1",  # a module the sdist left out
        "src/juniper_x/data.json": "{}",  # data under a shipped package
        "tools/gen.py": "",  # Python anywhere
        "setup.cfg": "[metadata]",  # build configuration
        "juniper_x/__init__.py": "changed",  # a file the sdist holds, but different
    }
    tree = {**_digests({**shipped, **irrelevant, **relevant}), "juniper_x/link": "symlink"}
    assert tree_wheel_inputs(sdist, tree, {"juniper_x"}) == sorted(
        [
            "juniper_x/__init__.py",
            "juniper_x/schema.py",
            "src/juniper_x/data.json",
            "tools/gen.py",
            "setup.cfg",
            "juniper_x/link",
        ]
    )


def test_broken_readme_fails_twine_check(make_ecosystem, registry, tmp_path):
    eco = make_ecosystem("broken-readme")
    with pytest.raises(BuildError, match=r"juniper-data: twine check --strict failed.*Fix: make the README render"):
        build_package(registry, registry.get("juniper-data"), eco.workspace, tmp_path)


def test_backend_failure_is_one_line_naming_the_package(make_ecosystem, registry, tmp_path):
    eco = make_ecosystem()
    pyproject = eco.checkout("juniper-cascor-client") / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('build-backend = "setuptools.build_meta"', 'build-backend = "nope.backend"')
    )
    with pytest.raises(BuildError) as exc:
        build_package(registry, registry.get("juniper-cascor-client"), eco.workspace, tmp_path)
    assert str(exc.value).startswith("juniper-cascor-client: building the sdist failed")
    assert "\n" not in str(exc.value) and "Fix: run `python -m build`" in str(exc.value)


# --------------------------------------------------------------------------------------------------- inspection units


def _wheel(path: Path, files: dict[str, str], version: str = "0.4.0", name: str = "juniper_cascor_client") -> Path:
    dist_info = f"{name}-{version}.dist-info"
    meta = f"Metadata-Version: 2.4\nName: {name.replace('_', '-')}\nVersion: {version}\n\n"
    with zipfile.ZipFile(path, "w") as zf:
        for rel, text in files.items():
            zf.writestr(rel, text)
        zf.writestr(f"{dist_info}/METADATA", meta)
        zf.writestr(f"{dist_info}/RECORD", "")
    return path


GOOD = {"juniper_cascor_client/__init__.py": "", "juniper_cascor_client/py.typed": ""}


def test_inspect_wheel_accepts_a_good_wheel(clean_eco, registry, tmp_path):
    project = read_project(load_registry().get("juniper-cascor-client"), clean_eco.checkout("juniper-cascor-client"))
    inspect_wheel(_wheel(tmp_path / "a.whl", GOOD), registry.get("juniper-cascor-client"), project)


@pytest.mark.parametrize(
    ("files", "version", "pattern"),
    [
        ({**GOOD, "conftest.py": ""}, "0.4.0", r"stray top-level conftest.py"),
        ({**GOOD, "docs/index.md": ""}, "0.4.0", r"stray top-level docs/"),
        ({**GOOD, "juniper_cascor_client/.env": "X=1"}, "0.4.0", r"secrets: juniper_cascor_client/.env"),
        ({**GOOD, "juniper_cascor_client/.pypirc": ""}, "0.4.0", r"secrets: juniper_cascor_client/.pypirc"),
        (
            {**GOOD, "juniper_cascor_client/k.py": f"T = '{FAKE_PYPI_TOKEN}'"},
            "0.4.0",
            r"k.py: a PyPI API token \(line 1\)",
        ),
        (
            {**GOOD, "juniper_cascor_client/id.txt": "-----BEGIN RSA PRIVATE KEY-----"},
            "0.4.0",
            r"id.txt: a private key \(line 1\)",
        ),
        ({"juniper_cascor_client/__init__.py": ""}, "0.4.0", r"no juniper_cascor_client/py.typed"),
        (GOOD, "0.3.9", r"METADATA version is 0.3.9 but pyproject.toml says 0.4.0"),
    ],
)
def test_inspect_wheel_guards(clean_eco, registry, tmp_path, files, version, pattern):
    project = read_project(load_registry().get("juniper-cascor-client"), clean_eco.checkout("juniper-cascor-client"))
    wheel = _wheel(tmp_path / "w.whl", files, version)
    with pytest.raises(BuildError, match=pattern) as exc:
        inspect_wheel(wheel, registry.get("juniper-cascor-client"), project)
    assert "Fix:" in str(exc.value)
    assert FAKE_PYPI_TOKEN not in str(exc.value)


def test_scan_secrets_reads_sdists_and_spares_env_examples(tmp_path):
    import io
    import tarfile

    sdist = tmp_path / "p-1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as tf:
        for name, data in {"p-1.0/.env.example": b"X=", "p-1.0/.env": b"X=1", "p-1.0/a.py": b"ok"}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    assert scan_secrets(sdist) == [".env: an environment file"]


def test_compare_wheels_passes_on_identical_lists(tmp_path, registry):
    a = _wheel(tmp_path / "a.whl", GOOD)
    b = _wheel(tmp_path / "b.whl", GOOD)
    compare_wheels(registry.get("juniper-cascor-client"), a, b)
    c = _wheel(tmp_path / "c.whl", {**GOOD, "juniper_cascor_client/extra.py": ""})
    with pytest.raises(BuildError, match=r"\+juniper_cascor_client/extra.py"):
        compare_wheels(registry.get("juniper-cascor-client"), a, c)

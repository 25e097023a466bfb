"""Which Python each package is verified on: its requires-python among the interpreters found, or a request."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import run_session
from juniper_release.ecosystem.registry import PYTHON_CANDIDATES, Package, Registry
from juniper_release.errors import JuniperError
from juniper_release.sandbox.standin import create_ecosystem
from juniper_release.verify.build import build_package
from juniper_release.verify.envs import VerifyError
from juniper_release.verify.matrix import verify_pythons
from juniper_release.verify.pythons import PythonNotAdmitted, check_request, choose, found_pythons, workflow_python
from juniper_release.verify.scheduler import verify_all
from packaging.specifiers import SpecifierSet


def _pkg(python: tuple[str, ...] = ()) -> Package:
    return Package("juniper-x", "o/juniper-x", "juniper-x", ("juniper_x",), 0, python, False)


FOUND = ("3.11", "3.12", "3.13")


def test_the_default_is_the_floor_and_all_is_every_admitted_python():
    assert choose(_pkg(), SpecifierSet(">=3.11"), found=FOUND) == ("3.11",)
    assert choose(_pkg(), SpecifierSet(">=3.12"), found=FOUND) == ("3.12",)
    assert choose(_pkg(), None, found=FOUND) == ("3.11",)
    assert choose(_pkg(), SpecifierSet(">=3.12"), "all", found=FOUND) == ("3.12", "3.13")
    assert choose(_pkg(), SpecifierSet(">=3.11"), "3.13", found=FOUND) == ("3.13",)
    assert choose(_pkg(("3.12", "3.13")), SpecifierSet(">=3.11"), found=FOUND) == ("3.12", "3.13")
    assert workflow_python(_pkg(), SpecifierSet(">=3.12")) == "3.12"
    assert workflow_python(_pkg(("3.13",)), SpecifierSet(">=3.12")) == "3.13"


def test_a_requires_python_no_interpreter_admits_is_a_one_line_precheck_failure():
    with pytest.raises(VerifyError) as info:
        choose(_pkg(), SpecifierSet(">=3.14"), found=FOUND)
    message = str(info.value)
    assert "\n" not in message
    assert "pre-check: juniper-x requires Python >=3.14" in message and "found: 3.11, 3.12, 3.13" in message
    with pytest.raises(VerifyError, match=r"found: 3.11 of 3.11, 3.12, 3.13"):
        choose(_pkg(), SpecifierSet(">=3.12"), found=("3.11",))


def test_a_python_the_package_excludes_is_refused_with_the_ones_it_admits():
    with pytest.raises(PythonNotAdmitted, match=r"excludes Python 3.11 \(--python 3.11\).*one of: 3.12, 3.13"):
        choose(_pkg(), SpecifierSet(">=3.12"), "3.11", found=FOUND)
    with pytest.raises(PythonNotAdmitted, match=r"repos.toml python = \['3.11'\].*drop 3.11"):
        choose(_pkg(("3.11",)), SpecifierSet(">=3.12"), found=FOUND)
    with pytest.raises(VerifyError, match=r"no Python 3.13 interpreter found"):
        choose(_pkg(), SpecifierSet(">=3.11"), "3.13", found=("3.11", "3.12"))
    with pytest.raises(JuniperError, match=r"--python '3.10' is not a supported Python.*'all' or one of"):
        check_request("3.10")
    assert check_request("all") == "all" and check_request(None) is None


def test_this_machine_has_every_candidate():
    assert found_pythons() == PYTHON_CANDIDATES


@pytest.fixture(scope="module")
def floor_eco(tmp_path_factory: pytest.TempPathFactory, registry: Registry):
    base = tmp_path_factory.mktemp("py312")
    return create_ecosystem(base / "ws", registry, "py312-floor", remotes=base / "remotes")


def test_py312_floor_verifies_on_3_12_and_cascor_client_stays_on_3_11(floor_eco, registry):
    report = verify_all(
        registry, floor_eco.workspace, ["juniper-data-client", "juniper-cascor-client"], log=lambda _m: None
    )
    assert report.get("juniper-data-client").python == "3.12", report.render()
    assert report.get("juniper-cascor-client").python == "3.11"
    assert report.ok, report.render()
    assert "3.12" in report.render()


def test_py312_floor_with_torch_says_no_cpu_torch_for_3_12_only(floor_eco, registry, tmp_path, monkeypatch):
    """This machine has a CPU torch wheel for cp311 only: the pre-check names the Python, for the torch package."""
    folder = tmp_path / "torch-cp311-only"
    folder.mkdir()
    monkeypatch.setenv("JUNIPER_TORCH_SOURCE", str(folder))
    from juniper_release.ecosystem.registry import load_registry

    local = load_registry(registry.path)
    report = verify_pythons(local, floor_eco.workspace, ["juniper-cascor-worker"], log=lambda _m: None)
    result = report.get("juniper-cascor-worker")
    assert result.status == "failed" and result.python == "3.12", report.render()
    assert "pre-check: no CPU torch 2.13.0 for Python 3.12 on this machine" in (result.error or "")
    assert "nothing was installed" in (result.error or "") and "\n" not in (result.error or "")


def test_verify_session_skips_a_python_the_package_excludes(floor_eco):
    result = run_session("-s", "verify(juniper-data-client, 3.11)", "--", "--workspace", str(floor_eco.workspace))
    assert result.returncode == 0, result.stderr
    assert "skipped: pre-check" in result.stderr and "excludes Python 3.11" in result.stderr


def test_stray_top_level_package_fails_the_build(registry, tmp_path):
    eco = create_ecosystem(tmp_path / "ws", registry, "stray-packages", remotes=tmp_path / "remotes")
    os.environ.setdefault("JUNIPER_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(JuniperError, match=r"stray top-level utils/"):
        build_package(registry, registry.get("juniper-cascor"), eco.workspace, Path(tmp_path / "out"))

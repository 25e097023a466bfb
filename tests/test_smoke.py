"""The one smoke routine (verify and post-publish): imports, exact ``__version__``, console scripts, smoke commands.

Two tiny hand-made wheels are installed into one real environment; every check then runs against it, passing and
failing, from a current directory that holds a decoy copy of the package.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

import pytest
from juniper_release.ecosystem.registry import Package, Registry
from juniper_release.errors import CommandError, JuniperError
from juniper_release.release.publish import ENV_DEPS_INDEX, PublishError, verify_install
from juniper_release.verify.envs import Env, VerifyError, create_env
from juniper_release.verify.precheck import applies
from juniper_release.verify.smoke import smoke_test
from packaging.requirements import Requirement
from packaging.version import Version

VERSION = Version("1.2.0")

GOOD = {
    "demo_pkg/__init__.py": '__version__ = "1.2.0"\n',
    "demo_pkg/cli.py": (
        "import argparse\n\nfrom . import __version__\n\n\ndef main():\n"
        "    parser = argparse.ArgumentParser(prog='demo-cli')\n"
        "    parser.add_argument('--version', action='version', version=__version__)\n"
        "    parser.parse_args()\n"
    ),
    "demo_pkg/stale.py": '__version__ = "1.1.0"\n',
    "demo_pkg/padded.py": '__version__ = "1.2.0.0"\n',
    "demo_pkg/dev.py": '__version__ = "dev"\n',
    "demo_pkg/empty.py": '__version__ = ""\n',
    "demo_pkg/unversioned.py": "",
}
BROKEN = {"demo_broken/__init__.py": "def main():\n    raise SystemExit('demo-broken is broken')\n"}


def _wheel(out: Path, name: str, files: dict[str, str], scripts: dict[str, str]) -> Path:
    """A minimal valid wheel of ``name`` 1.2.0 holding ``files`` and console ``scripts``."""
    dist = f"{name.replace('-', '_')}-{VERSION}"
    meta = {
        f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {VERSION}\n",
        f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{dist}.dist-info/entry_points.txt": "[console_scripts]\n"
        + "".join(f"{k} = {v}\n" for k, v in scripts.items()),
    }
    contents = {**files, **meta}
    record = []
    for path, text in contents.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{dist}.dist-info/RECORD,,")
    wheel = out / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, text in contents.items():
            zf.writestr(path, text)
        zf.writestr(f"{dist}.dist-info/RECORD", "\n".join(record) + "\n")
    return wheel


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    base = tmp_path_factory.mktemp("smoke")
    env = create_env(base / "env", "3.11")
    good = _wheel(base, "demo-pkg", GOOD, {"demo-cli": "demo_pkg.cli:main"})
    broken = _wheel(base, "demo-broken", BROKEN, {"demo-broken": "demo_broken:main"})
    env.install([str(good), str(broken), "--no-deps"])
    return env


@pytest.fixture(autouse=True)
def _decoy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A checkout-like current directory (and PYTHONPATH) with a wrong demo_pkg: the smoke test must never see it."""
    decoy = tmp_path / "checkout"
    (decoy / "demo_pkg").mkdir(parents=True)
    (decoy / "demo_pkg" / "__init__.py").write_text('__version__ = "9.9.9"\n')
    monkeypatch.chdir(decoy)
    monkeypatch.setenv("PYTHONPATH", str(decoy))


def _pkg(
    name: str = "demo-pkg", imports: tuple[str, ...] = ("demo_pkg",), smoke: tuple[str, ...] = (), python: str = "3.11"
) -> Package:
    return Package(name, f"test/{name}", name, imports, 0, (python,), False, (), smoke)


def test_a_good_install_passes_from_an_empty_directory_with_the_env_first_on_path(env):
    in_env = "import demo_pkg, sys; sys.exit(0 if demo_pkg.__file__.startswith(sys.prefix) else 1)"
    smoke = (
        "demo-cli --version",  # not on the caller's PATH: found in the env's bin
        f'python -c "{in_env}"',  # shlex keeps the quoted code one argument; python is the env's
        "python -c 'import os, sys; sys.exit(len(os.listdir()))'",  # the working directory is empty
    )
    pkg = _pkg(imports=("demo_pkg", "demo_pkg.cli", "demo_pkg.unversioned"), smoke=smoke)
    smoke_test(env, pkg, VERSION)


def test_missing_import_fails(env):
    with pytest.raises(VerifyError, match=r"import demo_missing failed in a fresh environment: ModuleNotFoundError"):
        smoke_test(env, _pkg(imports=("demo_pkg", "demo_missing")), VERSION)


@pytest.mark.parametrize(
    ("module", "shown"),
    [
        ("demo_pkg", "1.2.0"),  # right for 1.2.0, wrong for the 1.3.0 expected below
        ("demo_pkg.stale", "1.1.0"),
    ],
)
def test_wrong_version_fails(env, module, shown):
    match = rf"installed {module}.__version__ is {shown} but the installed wheel is demo-pkg 1.3.0.*Fix: set __version__ = '1.3.0'"
    with pytest.raises(VerifyError, match=match):
        smoke_test(env, _pkg(imports=(module,)), Version("1.3.0"))


@pytest.mark.parametrize(
    ("module", "shown"), [("demo_pkg.padded", "1.2.0.0"), ("demo_pkg.dev", "dev"), ("demo_pkg.empty", "''")]
)
def test_version_must_be_exactly_the_expected_text(env, module, shown):
    """1.2.0.0 equals 1.2.0 as a version but is not what was released; 'dev' and '' are no version at all."""
    match = (
        rf"{module}.__version__ is {shown} but the installed wheel is demo-pkg 1.2.0.*Fix: set __version__ = '1.2.0'"
    )
    with pytest.raises(VerifyError, match=match):
        smoke_test(env, _pkg(imports=(module,)), VERSION)


def test_failing_console_script_fails(env):
    pkg = _pkg("demo-broken", imports=("demo_broken",))
    with pytest.raises(CommandError, match=r"console script `demo-broken --help` failed \(exit 1\)") as err:
        smoke_test(env, pkg, VERSION)
    assert "Fix: fix the [project.scripts] entry point demo-broken" in str(err.value)


def test_failing_smoke_command_fails(env):
    pkg = _pkg(smoke=("demo-cli --version", "python -c 'raise SystemExit(3)'"))
    with pytest.raises(CommandError, match=r"smoke command `python -c 'raise SystemExit\(3\)'` failed \(exit 3\)"):
        smoke_test(env, pkg, VERSION)


def test_smoke_command_program_must_exist(env):
    with pytest.raises(VerifyError, match=r"juniper-no-such-tool is neither in the environment nor on PATH"):
        smoke_test(env, _pkg(smoke=("juniper-no-such-tool --help",)), VERSION)


def test_empty_smoke_command_is_refused(env):
    with pytest.raises(JuniperError, match=r"demo-pkg has an empty smoke command"):
        smoke_test(env, _pkg(smoke=("  ",)), VERSION)


def test_markers_are_evaluated_for_the_target_python_and_extras():
    old = Requirement('tomli; python_version < "3.12"')
    assert applies(old, "3.11.7") and not applies(old, "3.13.0")
    exact = Requirement('patch; python_full_version == "3.11.7"')
    assert applies(exact, "3.11.7") and not applies(exact, "3.11.8")
    api = Requirement('fastapi; extra == "api"')
    assert not applies(api, "3.11.7") and applies(api, "3.11.7", ["api"])
    assert applies(Requirement("numpy"), "3.13.0")


# --------------------------------------------------------------------------------------------------- post-publish


@pytest.fixture
def published(tmp_path: Path, index_servers, monkeypatch: pytest.MonkeyPatch):
    """Both demo wheels on a local index, which also serves third-party dependencies (nothing reaches PyPI)."""
    server = index_servers["testpypi"]
    _wheel(server.directory, "demo-pkg", GOOD, {"demo-cli": "demo_pkg.cli:main"})
    _wheel(server.directory, "demo-broken", BROKEN, {"demo-broken": "demo_broken:main"})
    monkeypatch.setenv(ENV_DEPS_INDEX, server.index.simple_url)
    return server.index


def _source(tmp_path: Path, name: str, dependencies: list[str]) -> Path:
    root = tmp_path / "src" / name
    root.mkdir(parents=True)
    deps = ", ".join(f"'{d}'" for d in dependencies)
    (root / "pyproject.toml").write_text(
        f"[project]\nname = '{name}'\nversion = '{VERSION}'\ndependencies = [{deps}]\n"
    )
    return root


def test_post_publish_verification_runs_the_smoke_routine_with_markers_for_the_target_python(
    registry: Registry, published, tmp_path
):
    """On Python 3.12 the 3.11-only dependency is not installed (it does not exist: installing it would fail)."""
    pkg = _pkg(smoke=("demo-cli --version",), python="3.12")
    source = _source(tmp_path, pkg.name, ['demo-missing; python_version < "3.12"'])
    summary = verify_install(registry, pkg, VERSION, published, source, tmp_path / "work", log=lambda _m: None)
    assert summary == "demo-pkg==1.2.0 installs from testpypi, imports demo_pkg"


def test_post_publish_smoke_failure_names_the_release_and_the_fix(registry: Registry, published, tmp_path):
    pkg = _pkg("demo-broken", imports=("demo_broken",))
    source = _source(tmp_path, pkg.name, [])
    with pytest.raises(PublishError) as err:
        verify_install(registry, pkg, VERSION, published, source, tmp_path / "work", log=lambda _m: None)
    assert "demo-broken 1.2.0 from testpypi: console script `demo-broken --help` failed (exit 1)" in str(err.value)
    assert "published files cannot be replaced: release a new version" in str(err.value)

"""One command line (issue 28 §1): ``juniper-release verify`` runs verify-all with the flags of every task, and nox's
sessions take the same flags after ``--`` from the same table; nox's own installs never reach stdout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, run_session, run_task
from juniper_release.cli import flags
from juniper_release.cli.tasks import ns

SCRIPT = Path(sys.executable).parent / "juniper-release"


def test_verify_task_and_nox_sessions_share_the_flag_table():
    task = {arg.name.replace("-", "_"): set(arg.names) for arg in ns["verify"].get_arguments(ignore_unknown_help=True)}
    assert set(task) == set(flags.VERIFY)
    parser = flags.parser("nox -s verify-all --", flags.VERIFY)
    for name in flags.VERIFY:
        spelled = {n.lstrip("-") for n in flags.long_names(name)}
        assert spelled == task[name], name
        assert any(spelled & set(a.lstrip("-") for a in action.option_strings) for action in parser._actions)
    opts = parser.parse_args(["-s", "-p", "a,b", "-q", "-w", "/x", "-r", "r.toml", "-j", "--keep-going"])
    assert (opts.sandbox, opts.package, opts.quiet, opts.workspace, opts.registry, opts.json) == (
        True,
        "a,b",
        True,
        "/x",
        "r.toml",
        True,
    )
    assert "verify-all" in ns.task_names["verify"]  # `juniper-release verify-all` is the same task


def test_a_bad_nox_option_is_one_line_and_exit_2():
    done = run_session("-s", "verify-all", "--", "--bogus")
    assert done.returncode == 2
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("error:")]
    assert (
        line == "error: nox -s verify-all --: unrecognized arguments: --bogus. Fix: see `nox -s verify-all -- --help`"
    )
    both = run_session("-s", "verify-all", "--", "-q", "-v")
    assert both.returncode == 2 and "not allowed with argument" in both.stderr


@pytest.mark.slow
@pytest.mark.skipif(not SCRIPT.exists(), reason="the console script is installed by `pip install -e .`")
def test_verify_selects_packages_from_every_front_door(tmp_path):
    env = dict(os.environ)
    script = subprocess.run(
        [str(SCRIPT), "verify", "-s", "-p", "juniper-data-client", "-q"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert script.returncode == 0, script.stderr
    assert "verify(juniper-data-client) passed" in script.stdout and "juniper-ml" not in script.stdout
    invoked = run_task("verify-all", "-s", "--package", "juniper-data-client", "-j")
    assert invoked.returncode == 0 and '"juniper-data-client"' in invoked.stdout
    session = run_session("-s", "verify-all", "--", "-s", "-p", "juniper-data-client", "-q")
    assert session.returncode == 0, session.stderr
    assert "verify(juniper-data-client) passed" in session.stdout and "juniper-ml" not in session.stdout


@pytest.mark.slow
def test_the_first_nox_run_installs_on_stderr_only(tmp_path):
    """nox's script mode installs the PEP 723 dependencies before reading the noxfile; with uv that output is on
    stderr, and stdout holds only the session list. It runs the nox on PATH (the test venv's satisfies the header,
    so it would install nothing)."""
    nox = shutil.which("nox", path=os.environ["PATH"].replace(str(Path(sys.executable).parent), ""))
    if nox is None:
        pytest.skip("no nox on PATH outside the test environment")
    env = {**os.environ, "NOX_SCRIPT_MODE": "fresh"}
    done = subprocess.run(
        [nox, "-f", str(ROOT / "noxfile.py"), "--envdir", str(tmp_path / "env"), "-l"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    if "nox > Creating virtual environment" not in done.stderr:
        pytest.skip("this nox satisfies the header: nothing to install")
    installer = [line for line in done.stdout.splitlines() if line.startswith((" + ", "Installed", "Resolved"))]
    assert not installer and "verify-all" in done.stdout

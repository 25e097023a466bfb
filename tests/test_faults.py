"""Fault injection: interruptions and half-done work, and what a re-run makes of them.

The table counts the faults covered (17), each with the test that injects it.

== ========================================================================== ========================================
#  fault                                                                      test
== ========================================================================== ========================================
1  index gone after the wheel was stored, before the sdist                    test_a_partial_upload_is_finished_...
2  a file of the version already on the index with other content (sha256)      test_a_partial_upload_is_finished_...
3  Ctrl-C during a post-upload verification, then resume                      test_ctrl_c_during_verify_...
4  SIGTERM to a run with a child process still working                        test_sigterm_raises_like_ctrl_c_...
5  a run exiting without stopping its local index server (orphan)             test_a_local_index_runs_in_its_own_...
6  Ctrl-C reaching a stand-in publish run (must be re-run, not failed)         test_an_interrupted_stand_in_run_...
7  a state file truncated by a kill mid-write (GitHub stand-in, rehearsal)    test_a_damaged_state_file_is_...
8  a write interrupted before its rename (no half file, no temporary left)    test_atomic_writes_leave_no_...
9  rehearse --dir on a directory it did not create (with/without --resume)    test_rehearse_never_deletes_...
10 SIGKILL during the rehearsal's set-up (half a workspace), then --resume    test_a_set_up_killed_halfway_...
11 real upload tokens in the environment of a rehearsal                       test_a_set_up_killed_halfway_...
12 a second run on a locked cache dir / journal / rehearsal dir                test_a_second_run_on_a_locked_...,
                                                                              test_verify_all_and_the_release_...
13 Ctrl-C during verify-all while a build's child fails because of it         test_an_interrupted_verify_all_...
14 SIGTERM during a release step (exit 143, an interruption, not a failure)   test_an_interrupted_release_step_...
15 a second release train on a workspace whose journal another run holds      test_a_second_release_train_waits_...
   (it must not plan before it holds the lock)
16 Ctrl-C while a verify job is between two commands (no new command starts)  test_no_verify_job_starts_a_command_...
17 a yanked version on the index (not released, but never uploadable again)   test_a_yanked_version_is_not_released_...
                                                                              (and test_indexes.py: test_yanked_...)
== ========================================================================== ========================================
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import release_options as opts
from conftest import serve_pages, start_index_server
from juniper_release import commands, files, interrupts
from juniper_release.ecosystem import status
from juniper_release.ecosystem.indexes import project_listing
from juniper_release.ecosystem.project import read_project
from juniper_release.ecosystem.registry import ENV_INDEX_URLS, Index, load_registry
from juniper_release.errors import JuniperError
from juniper_release.files import locked, read_json, write_json
from juniper_release.gitops import Git
from juniper_release.release import gates, publish, steps, train
from juniper_release.release import journal as journal_module
from juniper_release.release.gates import PreflightError
from juniper_release.release.journal import Journal
from juniper_release.release.options import Options
from juniper_release.release.package import release
from juniper_release.release.train import release_train
from juniper_release.release.versioning import bump
from juniper_release.sandbox import rehearse, rehearse_flows
from juniper_release.sandbox.fakeforge import FakeGitHub
from juniper_release.sandbox.standin import VERSIONS
from juniper_release.verify import scheduler
from juniper_release.verify.build import BuildResult
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PKG = "juniper-cascor-client"
REPO = "pcalnon/juniper-data"


def _post_release(fake: FakeGitHub, tag: str) -> int:
    body = f'{{"tag_name": "{tag}", "target_commitish": "{"a" * 40}"}}'.encode()
    request = urllib.request.Request(f"{fake.url}/repos/{REPO}/releases", data=body, method="POST")
    with urllib.request.urlopen(request) as resp:
        return int(resp.status)


@pytest.fixture
def setup(make_ecosystem, index_env, monkeypatch):
    """A stand-in ecosystem with PKG bumped, the registry on the local indexes, the verify gate assumed passed."""
    for key, value in index_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(gates, "is_verified", lambda *a: True)
    reg = load_registry(ROOT / "repos.toml", env=index_env)
    eco = make_ecosystem()
    bump(reg, eco.workspace, PKG, "patch", commit=True, out=lambda _m: None)
    return reg, eco


# ----------------------------------------------------------------------------------------------- uploads


def test_a_partial_upload_is_finished_by_the_rerun_and_other_content_is_refused(setup, monkeypatch, index_servers):
    reg, eco = setup
    real = publish.run
    uploads: list[list[str]] = []

    def wheel_only(cmd, **kw):  # the first upload: the index stores the wheel, then dies before the sdist
        files = [str(c) for c in cmd if str(c).endswith((".whl", ".tar.gz"))]
        uploads.append(files)
        if len(uploads) == 1:
            wheel = next(f for f in files if f.endswith(".whl"))
            real([c for c in cmd if str(c) == wheel or str(c) not in files], **kw)
            raise publish.CommandError("upload to testpypi failed (exit 1): connection reset", "retry")
        return real(cmd, **kw)

    monkeypatch.setattr(publish, "run", wheel_only)
    with pytest.raises(JuniperError, match=r"step 'upload testpypi' failed"):
        release(reg, eco.workspace, PKG, opts([], execute=True))
    testpypi = reg.index("testpypi")
    assert [f.endswith(".whl") for f in project_listing(testpypi, PKG).files] == [True]

    lines: list[str] = []
    rows = release(reg, eco.workspace, PKG, opts(lines, execute=True))
    assert [Path(f).name.endswith(".tar.gz") for f in uploads[1]] == [True]  # exactly the missing file
    assert "uploaded 1 files (anonymous (local index)); 1 identical already there" in "\n".join(lines)
    assert {r["step"]: r["ran"] for r in rows}["upload testpypi"] == "now"
    assert sorted(f.rsplit(".", 1)[-1] for f in project_listing(testpypi, PKG).files) == ["gz", "whl"]

    # The same version with other content (a rebuilt wheel) is the one error: the index cannot replace a file.
    other = sorted(Path(d) for d in (eco.workspace / ".juniper-release" / "dist").glob("*/*.whl"))[0]
    other.write_bytes(other.read_bytes() + b"\0")
    with pytest.raises(
        publish.PublishError,
        match=r"testpypi already holds .*\.whl of juniper-cascor-client with "
        r"other content \(sha256 differs\)\. Fix: files on an index cannot be replaced: bump",
    ):
        publish.upload(testpypi, PKG, [other])


# ----------------------------------------------------------------------------------------------- resume


def test_ctrl_c_during_verify_is_resumed_with_its_checks_and_the_table_says_what_ran(setup, monkeypatch):
    reg, eco = setup
    real = steps.verify_on

    def interrupted(ctx, index):
        if index == "pypi":
            raise KeyboardInterrupt
        return real(ctx, index)

    monkeypatch.setattr(steps, "verify_on", interrupted)
    first: list[str] = []
    with pytest.raises(JuniperError, match=r"interrupted during step 'verify pypi'"):
        release_train(reg, eco.workspace, opts(first, execute=True), PKG)
    assert "re-check" in "\n".join(first).split("[    run] verify pypi")[-1]  # the table lists it as not run
    done = Journal(eco.workspace).steps(f"{PKG}==0.4.1")
    assert "upload pypi" in done and "verify pypi" not in done and "re-check" not in done

    monkeypatch.setattr(steps, "verify_on", real)
    lines: list[str] = []
    plan = release_train(reg, eco.workspace, opts(lines, execute=True), PKG)
    assert [r.package for r in plan.releases] == [PKG] and plan.row(PKG).outcome == "released" and not plan.stopped
    text = "\n".join(lines)
    assert "[     ok] verify pypi" in text and "[     ok] re-check" in text
    table = {
        line.split()[0] + (" " + line.split()[1] if line.split()[1] not in {"ok", "done"} else ""): line
        for line in text.split("step             outcome  ran")[-1].splitlines()
        if line.split() and line.split()[0] in {"upload", "verify", "re-check", "push"}
    }
    assert table["verify pypi"].split()[-1] == "now" and table["re-check"].split()[-1] == "now"
    assert table["upload pypi"].split()[-1] == "earlier" and table["push"].split()[-1] == "earlier"
    assert Journal(eco.workspace).finished(f"{PKG}==0.4.1")


# ----------------------------------------------------------------------------------------------- signals, children


def test_an_interruption_ends_with_its_run_and_does_not_leak_into_later_work():
    with pytest.raises(KeyboardInterrupt), interrupts.handled():
        with interrupts.handled():  # nested, as a release train runs verify-all
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(30)  # never reached
        assert interrupts.was_interrupted(0)  # still set while the outer run unwinds
    assert not interrupts.was_interrupted(0)  # later work in this process (a next test, a next run) is not interrupted


def test_sigterm_raises_like_ctrl_c_and_is_passed_on_to_children():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        seen: list[bool] = []
        with pytest.raises(interrupts.Terminated), interrupts.handled():
            try:
                with interrupts.handled():
                    os.kill(os.getpid(), signal.SIGTERM)
                    time.sleep(30)  # never reached: the handler raises at once
            finally:
                seen.append(interrupts.INTERRUPTED.is_set())  # set while the run unwinds (cleared when it ends)
        assert child.wait(timeout=30) == -signal.SIGTERM
        assert seen == [True] and interrupts.exit_code(interrupts.Terminated()) == 143
    finally:
        child.kill()
        child.wait()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_a_local_index_runs_in_its_own_process_group_and_is_stopped_at_exit(tmp_path):
    server = start_index_server("pypi", tmp_path / "index")
    assert os.getpgid(server.process.pid) == server.process.pid != os.getpgrp()
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from juniper_release.sandbox.localindex import LocalIndex, "
        "free_port; from pathlib import Path; s = LocalIndex('pypi', Path(sys.argv[2]), free_port()); s.start(); "
        "print(s.process.pid, flush=True); raise SystemExit(3)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(ROOT / "scripts"), str(tmp_path / "i2")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 3
    pid = int(proc.stdout.split()[0])
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # stopped by the exit handler: no orphan
    server.stop()
    assert server.process.poll() is not None


def test_an_interrupted_stand_in_run_is_run_again_not_failed(tmp_path):
    state = tmp_path / "github.json"
    calls: list[str] = []

    def killed(repo: str, tag: str, sha: str) -> None:
        calls.append(tag)
        raise KeyboardInterrupt  # Ctrl-C reaching the run

    with FakeGitHub(killed, state_file=state) as fake:
        assert _post_release(fake, "v0.6.1") == 201
    saved = read_json(state, "-")
    ours = next(r for r in saved["runs"][REPO] if r["head_branch"] == "v0.6.1")
    assert ours["status"] != "completed" and ours["conclusion"] is None  # not a failure

    with FakeGitHub(lambda repo, tag, sha: calls.append(tag), state_file=state) as again:
        pass  # leaving waits for the re-run
    ours = next(r for r in again.state.runs[REPO] if r["head_branch"] == "v0.6.1")
    assert (ours["status"], ours["conclusion"]) == ("completed", "success") and calls == ["v0.6.1", "v0.6.1"]


# ----------------------------------------------------------------------------------------------- state files


def test_a_damaged_state_file_is_a_one_line_error_naming_it(tmp_path):
    state = tmp_path / "github.json"
    write_json(state, {"releases": {}, "runs": {}, "next_id": 100})
    state.write_text(state.read_text()[:10], encoding="utf-8")  # truncated by a kill mid-write
    with pytest.raises(JuniperError) as info:
        FakeGitHub(state_file=state)
    assert str(info.value) == (
        f"{state}: the state file is damaged (not valid JSON). Fix: delete {state} and start the rehearsal afresh "
        "(without --resume)"
    )
    reh = tmp_path / "reh"
    reh.mkdir()
    (reh / rehearse.MARKER).touch()
    (reh / rehearse.STATE).write_text('{"ports": {"te', encoding="utf-8")
    with pytest.raises(
        JuniperError,
        match=rf"^{reh / rehearse.STATE}: the state file is damaged \(not valid JSON\)\. "
        rf"Fix: start the rehearsal afresh: `invoke rehearse --dir {reh}` \(no --resume\)$",
    ):
        rehearse.rehearse(None, tmp_path, reh, resume=True, out=lambda _m: None)


def test_atomic_writes_leave_no_temporary_file(tmp_path):
    write_json(tmp_path / "s.json", {"a": 1})
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"] and read_json(tmp_path / "s.json", "-") == {"a": 1}


# ----------------------------------------------------------------------------------------------- the rehearsal dir


def test_rehearse_never_deletes_a_directory_it_did_not_create(tmp_path):
    mine = tmp_path / "project"
    (mine / ".git").mkdir(parents=True)
    (mine / "notes.txt").write_text("keep me", encoding="utf-8")
    for resume in (False, True):
        with pytest.raises(JuniperError) as info:
            rehearse.rehearse(None, tmp_path, mine, resume=resume, out=lambda _m: None)
        assert str(info.value) == (
            f"{mine} exists and is not a rehearsal directory (no .juniper-rehearsal in it); refusing to delete it. "
            "Fix: pass --dir with a new or empty directory"
        )
    assert sorted(p.name for p in mine.iterdir()) == [".git", "notes.txt"]


def test_a_set_up_killed_halfway_is_redone_and_real_tokens_never_reach_the_rehearsal(ecosystem, tmp_path, monkeypatch):
    reh = tmp_path / "reh"
    reh.mkdir()  # an empty directory may be used
    monkeypatch.setenv("TWINE_PASSWORD", "real-twine-secret")
    monkeypatch.setenv("JUNIPER_PYPI_TOKEN", "pypi-real-token-value")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_realtokenvalue")
    seen: dict[str, object] = {}

    def train(registry, workspace, opts, forge=None, fmt="table", emit=None):
        seen["env"] = {k: os.environ.get(k) for k in ("TWINE_PASSWORD", "JUNIPER_PYPI_TOKEN", "GITHUB_TOKEN")}
        seen["creds"] = publish.credentials(registry.index("pypi")).password
        seen["bumped"] = Git(workspace / PKG).run("log", "-1", "--format=%s")

    # SIGKILL during set-up: a marker, a state without "setup_complete" and half a workspace are left behind.
    (reh / rehearse.MARKER).touch()
    write_json(reh / rehearse.STATE, {"ports": {"testpypi": 1, "pypi": 2}, rehearse.SETUP_DONE: False})
    (reh / "workspace" / PKG).mkdir(parents=True)
    monkeypatch.setattr(rehearse_flows, "release_train", train)
    monkeypatch.setattr(rehearse, "released_table", lambda *a: [])
    lines: list[str] = []
    rehearse.rehearse(ROOT / "repos.toml", ecosystem.workspace, reh, resume=True, run_verify=False, out=lines.append)
    assert f"the rehearsal in {reh} was stopped during its set-up: setting it up afresh" in lines
    assert seen["bumped"] == f"Bump {PKG} to 0.4.1"
    assert read_json(reh / rehearse.STATE, "-")[rehearse.SETUP_DONE] is True
    assert seen["env"] == {"TWINE_PASSWORD": None, "JUNIPER_PYPI_TOKEN": rehearse.THROWAWAY_TOKEN, "GITHUB_TOKEN": None}
    assert seen["creds"] == rehearse.THROWAWAY_TOKEN
    assert os.environ["TWINE_PASSWORD"] == "real-twine-secret"  # restored afterwards
    lines.clear()
    rehearse.rehearse(ROOT / "repos.toml", ecosystem.workspace, reh, resume=True, run_verify=False, out=lines.append)
    assert f"resuming the rehearsal in {reh}" in lines and not any(line.startswith("bumped") for line in lines)


# ----------------------------------------------------------------------------------------------- one run at a time


def _hold(lock: Path) -> subprocess.Popen[str]:
    """Another process holding ``lock`` (an flock, its PID written in the file) until killed."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time; f = open(sys.argv[1], 'w'); fcntl.flock(f, "
            "fcntl.LOCK_EX); f.write(str(os.getpid())); f.flush(); print('held', flush=True); time.sleep(60)",
            str(lock),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def test_a_second_run_on_a_locked_directory_waits_then_names_the_holder(tmp_path):
    lock = tmp_path / "verify.lock"
    holder = _hold(lock)
    try:
        said: list[str] = []
        with pytest.raises(JuniperError) as info, locked(lock, "the verify cache", timeout=0.5, say=said.append):
            pass
        assert str(info.value) == (
            f"the verify cache is in use by another run (PID {holder.pid}, lock {lock}). "
            f"Fix: wait for PID {holder.pid} to finish, or stop it, then re-run"
        )
        assert said == [f"waiting for PID {holder.pid}, which holds {lock} (the verify cache) ..."]
    finally:
        holder.kill()
        holder.wait()
    with locked(lock, "the verify cache", timeout=0.5):
        assert lock.read_text() == str(os.getpid())


def test_verify_all_and_the_release_journal_take_their_locks(ecosystem, registry, monkeypatch, cache):
    taken: list[str] = []
    real = files.locked

    def spy(path, what, *a, **k):
        taken.append(f"{path.name}: {what}")
        return real(path, what, *a, **k)

    monkeypatch.setattr(scheduler, "locked", spy)
    monkeypatch.setattr(journal_module, "locked", spy)
    monkeypatch.setattr(scheduler, "_verify_all", lambda *a: "report")
    assert scheduler.verify_all(registry, ecosystem.workspace) == "report"
    with Journal(ecosystem.workspace).locked():
        pass
    assert taken == [
        f"verify.lock: the verify cache {cache}",
        f"journal.lock: the release journal {ecosystem.workspace / '.juniper-release' / 'journal.json'}",
    ]


def test_a_second_release_train_waits_then_names_the_holder_and_plans_nothing(ecosystem, registry, monkeypatch):
    lock = ecosystem.workspace / ".juniper-release" / "journal.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    monkeypatch.setattr(journal_module, "locked", lambda path, what, say=None: files.locked(path, what, 0.5, say))
    planned: list[str] = []

    def plan(registry, workspace, packages=None, branch=None, hints=None):  # what the plan found in the lock file
        planned.append(lock.read_text())
        raise JuniperError("planned")

    monkeypatch.setattr(train, "plan_train", plan)
    holder = _hold(lock)
    try:
        lines: list[str] = []
        with pytest.raises(JuniperError) as info:
            release_train(registry, ecosystem.workspace, opts(lines, execute=True))
        journal = ecosystem.workspace / ".juniper-release" / "journal.json"
        assert str(info.value) == (
            f"the release journal {journal} is in use by another run (PID {holder.pid}, lock {lock}). "
            f"Fix: wait for PID {holder.pid} to finish, or stop it, then re-run"
        )
        assert lines == [f"waiting for PID {holder.pid}, which holds {lock} (the release journal {journal}) ..."]
        assert planned == []  # no plan from a journal another train is still writing
    finally:
        holder.kill()
        holder.wait()
    with pytest.raises(JuniperError, match="planned"):
        release_train(registry, ecosystem.workspace, opts([], execute=True))
    assert planned == [str(os.getpid())]  # the plan starts once this train holds the lock


# ----------------------------------------------------------------------------------------------- interrupted verify-all


def test_no_verify_job_starts_a_command_once_interrupted(ecosystem, registry, monkeypatch, tmp_path):
    started: list[str] = []
    real_popen = subprocess.Popen

    def popen(args, *a, **k):
        started.append(str(args))
        return real_popen(args, *a, **k)

    monkeypatch.setattr(subprocess, "Popen", popen)
    log: list[str] = []
    results = {PKG: scheduler.PackageResult(PKG)}
    run_ = scheduler._Run(registry, ecosystem.workspace, {PKG: "key"}, results, log=log.append)

    def build(registry, pkg, workspace, key, **kwargs):  # a build between two commands when Ctrl-C arrives
        commands.run([sys.executable, "-c", "pass"], what="first command")
        interrupts.INTERRUPTED.set()
        commands.run([sys.executable, "-c", "pass"], what="second command")
        raise AssertionError("the second command ran")

    monkeypatch.setattr(scheduler, "build_into_wheelhouse", build)
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:  # jobs run on worker threads
            assert pool.submit(scheduler._build_job, run_, PKG).result() is False
            assert len(started) == 1 and "-c" in started[0]
            assert results[PKG].result == "skipped: interrupted" and results[PKG].error is None
            assert log[-1] == f"[{PKG}] build interrupted"
            # A job that has not started yet starts nothing: not its build, not its environment.
            results[PKG] = scheduler.PackageResult(PKG)
            assert pool.submit(scheduler._build_job, run_, PKG).result() is False
            run_.builds[PKG] = BuildResult(PKG, "0.4.0", tmp_path / "a.tar.gz", tmp_path / "a.whl")
            assert pool.submit(scheduler._verify_job, run_, PKG, set(), False).result() is False
            assert log[-2:] == [
                f"[{PKG}] build not started: the run is being interrupted",
                f"[{PKG}] verify not started: the run is being interrupted",
            ]
            # The guard itself, in a worker thread: not even a git command starts.
            with pytest.raises(interrupts.Interrupted, match=r"git status: not started, the run is being interrupted"):
                pool.submit(Git(ecosystem.workspace).run, "status").result()
            assert len(started) == 1
        assert results[PKG].status == "skipped" and not scheduler.record_path(PKG, "vkey").exists()
        Git(ecosystem.checkout(PKG)).run("status")  # the main thread's clean-up may still run commands
        assert len(started) == 2
    finally:
        interrupts.INTERRUPTED.clear()


def test_an_interrupted_verify_all_reports_an_interrupt_and_caches_nothing(ecosystem, registry, monkeypatch, cache):
    started = threading.Event()

    def build(registry, pkg, workspace, key, **kwargs):  # a build whose child is killed by the Ctrl-C
        started.set()
        interrupts.INTERRUPTED.wait(30)
        raise JuniperError(f"{pkg.name}: no CPU torch", "make the README render")

    monkeypatch.setattr(scheduler, "build_into_wheelhouse", build)
    monkeypatch.setattr(scheduler, "reusable_build", lambda *a: None)
    log: list[str] = []

    def interrupt() -> None:
        started.wait(30)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt, daemon=True).start()
    with pytest.raises(interrupts.Interrupted) as info:
        scheduler.verify_all(registry, ecosystem.workspace, log=log.append)
    assert info.value.exit_code == 130
    assert str(info.value) == (
        "verify-all was interrupted (Ctrl-C); no package was recorded as passed or failed by this run. "
        "Fix: re-run it: finished builds are reused"
    )
    text = "\n".join(log)
    assert "FAILED" not in text and "no CPU torch" not in text and "build interrupted" in text
    records = scheduler.record_path(PKG, "key").parent.parent
    assert not records.exists() or not any(records.rglob("*.json"))  # nothing recorded as passed


def test_an_interrupted_release_step_exits_130_not_as_a_failure(setup, monkeypatch):
    reg, eco = setup

    def interrupted(ctx):
        raise interrupts.Terminated

    monkeypatch.setattr(steps, "push", interrupted)
    monkeypatch.setattr(steps, "PUSH", steps.Step("push", steps.push_command, steps.pushed, interrupted))
    with pytest.raises(interrupts.Interrupted) as info:
        release(reg, eco.workspace, PKG, opts([], execute=True))
    assert info.value.exit_code == 143 and "interrupted during step 'push'" in str(info.value)


# ----------------------------------------------------------------------------------------------- yanked versions


def _simple_page(files: list[dict[str, object]]) -> bytes:
    return json.dumps({"meta": {"api-version": "1.0"}, "files": files}).encode()


def _file(name: str, version: str, kind: str, yanked: bool | str = False) -> dict[str, object]:
    dist = name.replace("-", "_")
    filename = f"{dist}-{version}.tar.gz" if kind == "sdist" else f"{dist}-{version}-py3-none-any.whl"
    return {"filename": filename, "url": f"/files/{filename}", "hashes": {}, "yanked": yanked}


@pytest.fixture
def yanked_indexes() -> Iterator[tuple[dict[str, str], dict[str, bytes], str]]:
    """PyPI and TestPyPI stand-ins serving PEP 691 pages (pypiserver cannot yank): every stand-in package at its
    version, PKG also at 0.4.1 (on both; on PyPI every file yanked) and juniper-data-client's 0.3.1 wheel yanked on
    PyPI (its sdist not). Yields the environment pointing the registry at them, the pages (path -> body, for a test
    to add to) and the server's URL."""
    pages: dict[str, bytes] = {}
    for index in ("pypi", "testpypi"):
        for name, version in VERSIONS.items():
            files = [_file(name, version, "sdist"), _file(name, version, "wheel")]
            if name == PKG:
                gone: bool | str = "broken metadata" if index == "pypi" else False
                files += [_file(name, "0.4.1", "sdist", gone), _file(name, "0.4.1", "wheel", gone)]
            if name == "juniper-data-client" and index == "pypi":
                files[1]["yanked"] = True
            pages[f"/{index}/simple/{name}/"] = _simple_page(files)
    with serve_pages(pages) as base:
        env = {
            var: f"{base}/{index}/simple/" if field == "simple_url" else f"{base}/{index}/"
            for (index, field), var in ENV_INDEX_URLS.items()
        }
        yield env, pages, base


def test_a_yanked_version_is_not_released_but_the_upload_gate_refuses_it(make_ecosystem, yanked_indexes, monkeypatch):
    env, pages, base = yanked_indexes
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(gates, "is_verified", lambda *a: True)
    reg = load_registry(ROOT / "repos.toml", env=env)
    eco = make_ecosystem()
    bump(reg, eco.workspace, PKG, "patch", commit=True, out=lambda _m: None)  # to 0.4.1, yanked on PyPI

    warned: list[str] = []
    rows = {r.package: r for r in status.collect(reg, eco.workspace, timeout=3, warn=warned.append)}
    assert warned == []
    row = rows[PKG]
    # Status: PyPI's release is still 0.4.0 (every 0.4.1 file there is yanked), and the bump is flagged.
    assert (row.pypi_version, row.testpypi_version, row.state) == ("0.4.0", "0.4.1", status.State.BUMPED_NOT_RELEASED)
    assert row.warnings == (
        f"0.4.1 is yanked on pypi: its files cannot be uploaded again; run `invoke bump --package {PKG} --part patch`",
    )
    # A partly yanked version (the wheel yanked, the sdist not) is still the release.
    client = rows["juniper-data-client"]
    assert (client.pypi_version, client.state, client.warnings) == ("0.3.1", status.State.UP_TO_DATE, ())
    assert "yanked" in status.render(list(rows.values()))

    # The upload gate: a yanked version is burnt, so the release refuses it and says to bump.
    with pytest.raises(PreflightError) as info:
        release(reg, eco.workspace, PKG, opts([], execute=True))
    assert [g.name for g in info.value.failures] == ["version not yet published"]
    assert info.value.failures[0].what == f"{PKG} 0.4.1 is already on pypi, testpypi"
    assert not Git(eco.checkout(PKG)).tag_exists("v0.4.1")

    # A requirement is not met by a wholly yanked version (installers skip it) unless it pins exactly that version.
    client = "juniper-data-client"
    pages[f"/gone/simple/{client}/"] = _simple_page([_file(client, "0.3.1", "sdist", True)])
    ctx = SimpleNamespace(
        registry=reg,
        project=read_project(load_registry().get("juniper-data"), eco.checkout("juniper-data")),
        planned={},
        target=Index("pypi", f"{base}/gone/", f"{base}/gone/simple/"),
        version=Version("0.6.1"),
        opts=Options(),
    )
    gate = gates.requirements_available(ctx)
    assert not gate.ok and gate.what == f"no satisfying version on pypi for [api] {client}<0.4,>=0.3.1 (on pypi: none)"
    assert [gates._pins(SpecifierSet(s)) for s in ("==0.3.1", "===0.3.1", "==0.3.*", ">=0.3.1,<0.4")] == [
        True,
        True,
        False,
        False,
    ]

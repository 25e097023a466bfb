"""Fault injection, second round (issue 19), the local rules: what the tool deletes, what it takes for a fact, no
tracebacks, and git situations with a way forward. Each test injects the fault and asserts the path it used to fail.

== ===================================================================== ==========================================
#  fault                                                                 test
== ===================================================================== ==========================================
1  JUNIPER_CACHE_DIR=<a user's directory> nox -s clean                    test_clean_removes_only_the_parts_...
2  a user's non-empty tmp/ in JUNIPER_CACHE_DIR written into              test_clean_removes_only_the_parts_...
3  an environment path that is not a venv (create_env removed it)         test_create_env_never_removes_a_...
4  GIT_DIR / GIT_WORK_TREE set in the environment                         test_git_reads_the_checkouts_own_...
5  a depth-1 clone: "released version has no tag"                         test_a_shallow_clone_is_named_...
6  repo = "../.." and tag_format = "v {version}" in the registry          test_the_registry_refuses_a_path_...
7  a package-data symlink pointing outside the checkout                   test_a_symlink_outside_the_checkout_...
8  a non-UTF-8 file name in a checkout                                    test_a_non_utf8_file_name_...
9  non-UTF-8 bytes from a git hook                                        test_a_git_hook_printing_latin1_...
10 a journal of valid JSON but the wrong shape                            test_a_journal_of_the_wrong_shape_...
11 a full disk during an atomic write (journal, records)                  test_a_full_disk_during_a_write_...
12 a full disk during the dist copy (truncated wheel, then BadZipFile)     test_a_dist_copy_cut_short_...
13 a cache dir / .juniper-release that is a regular file                  test_a_cache_dir_or_state_dir_...
14 a malformed IPv6 URL in an index override                              test_a_malformed_ipv6_url_...
15 a console script writing Latin-1 bytes                                 test_a_console_script_writing_latin1_...
16 a lightweight tag only on origin; fetch's "would clobber existing tag" test_a_lightweight_tag_on_origin_...
17 bump --commit on a detached HEAD                                       test_bump_commit_refuses_a_detached_...
18 the checkout on master while the registry says main                   test_a_checkout_on_another_branch_...
19 JUNIPER_REGISTRY with invoke rehearse                                  test_rehearse_honours_juniper_registry
20 SIGKILL of an executing twine train at seeded-random moments, re-run   test_a_train_killed_at_random_moments_...
== ===================================================================== ==========================================
"""

from __future__ import annotations

import errno
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from conftest import release_options as opts
from juniper_release import commands, files
from juniper_release.ecosystem import indexes, status
from juniper_release.ecosystem.paths import PART_MARKER, cache_part
from juniper_release.ecosystem.project import read_project
from juniper_release.ecosystem.registry import load_registry, parse_registry
from juniper_release.errors import ConfigError, GitError, JuniperError, WorkspaceError
from juniper_release.frontdoor import rehearsal_target
from juniper_release.gitops import Git
from juniper_release.release import gates, steps
from juniper_release.release.context import ReleaseContext
from juniper_release.release.journal import Journal
from juniper_release.release.package import release
from juniper_release.release.versioning import bump
from juniper_release.sandbox.standin import VERSIONS
from juniper_release.verify import cache as verify_cache
from juniper_release.verify.build import BuildError, source_files
from juniper_release.verify.envs import create_env
from packaging.version import Version
from test_faults import setup  # noqa: F401  (the fault suite shares its bumped stand-in fixture)

ROOT = Path(__file__).resolve().parents[1]
PKG = "juniper-cascor-client"


def _one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and "Traceback" not in text
    return text


# ----------------------------------------------------------------------------------------- 1. never delete


def test_clean_removes_only_the_parts_the_tool_made(tmp_path, monkeypatch):
    user = tmp_path / "mine"
    for part in ("tmp", "logs", "sandbox"):
        (user / part).mkdir(parents=True)
        (user / part / "keep.txt").write_text("the user's own file\n")
    monkeypatch.setenv("JUNIPER_CACHE_DIR", str(user))
    # Before: clean removed tmp/, logs/ and sandbox/ with the user's files inside.
    made = verify_cache.wheelhouse_dir()
    assert (made / PART_MARKER).is_file()
    kept: list[str] = []
    assert verify_cache.clean_cache(say=kept.append) == [made]
    for part in ("tmp", "logs", "sandbox"):
        assert (user / part / "keep.txt").read_text() == "the user's own file\n"
    assert len(kept) == 3 and all("not made by juniper-release" in line for line in kept)
    # Nor is a user's non-empty tmp/ written into: a one-line error with the way out.
    with pytest.raises(WorkspaceError, match=r"tmp exists and was not made by juniper-release .*Fix: point"):
        cache_part("tmp")


def test_create_env_never_removes_a_directory_that_is_not_a_venv(tmp_path):
    mine = tmp_path / "env"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine\n")
    with pytest.raises(JuniperError, match=r"is not a virtual environment \(no pyvenv.cfg\).*Fix: move"):
        create_env(mine, "3.11")
    assert (mine / "notes.txt").is_file()


# ----------------------------------------------------------------------------------------- 4. no wrong facts


def test_git_reads_the_checkouts_own_repository_whatever_git_dir_says(make_ecosystem, monkeypatch):
    eco = make_ecosystem()
    own, other = eco.checkout(PKG), eco.checkout("juniper-data")
    head = Git(own).head()
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(other))
    monkeypatch.setenv("GIT_INDEX_FILE", str(other / ".git" / "index"))
    assert Git(own).head() == head != Git(other).head()
    assert Git(own).tag_exists(f"v{VERSIONS[PKG]}") and not Git(own).tag_exists(f"v{VERSIONS['juniper-data']}")


def test_a_shallow_clone_is_named_with_the_fetch_that_fixes_it(make_ecosystem, registry, tmp_path):
    eco = make_ecosystem(unreleased=[PKG])
    pkg = registry.get(PKG)
    ws = tmp_path / "shallow"
    dest = pkg.checkout(ws)
    url = f"file://{eco.remote(pkg.repo)}"
    subprocess.run(["git", "clone", "-q", "--depth", "1", url, str(dest)], check=True, timeout=60)
    row = status.package_status(registry, pkg, read_project(pkg, dest), 0, (Version(VERSIONS[PKG]),), ())
    reason = " ".join(row.reasons)
    assert f"has no tag v{VERSIONS[PKG]}" in reason
    assert "this clone is shallow" in reason and f"git -C {dest} fetch --unshallow --tags origin" in reason


def test_the_registry_refuses_a_path_as_repo_and_a_tag_format_git_refuses():
    text = (ROOT / "repos.toml").read_text(encoding="utf-8")
    with pytest.raises(ConfigError, match=r"repo '\.\./\.\.' is not a GitHub owner/name\. Fix: write repo"):
        parse_registry(text.replace('repo = "pcalnon/juniper-ml"', 'repo = "../.."', 1), ROOT / "repos.toml", {})
    bad = text.replace('tag_format = "v{version}"', 'tag_format = "v {version}"', 1)
    with pytest.raises(ConfigError, match=r"tag_format 'v \{version\}' makes tags git refuses \('v 1\.0\.0rc1'"):
        parse_registry(bad, ROOT / "repos.toml", {})


def test_a_symlink_outside_the_checkout_is_refused_and_one_inside_is_keyed_on_its_content(
    make_ecosystem, registry, tmp_path
):
    eco = make_ecosystem()
    pkg = registry.get(PKG)
    root = eco.checkout(PKG)
    inside = root / "data.txt"
    inside.write_text("one\n")
    os.symlink("data.txt", root / "link.txt")
    before = verify_cache.source_key(registry, pkg, eco.workspace)
    inside.write_text("two\n")
    assert verify_cache.source_key(registry, pkg, eco.workspace) != before  # the link's target content counts
    outside = tmp_path / "secret.txt"
    outside.write_text("outside\n")
    os.symlink(outside, root / "escape.txt")
    with pytest.raises(BuildError, match=r"escape\.txt is a symlink to .*secret\.txt, outside the checkout.*Fix:"):
        source_files(root)


# ----------------------------------------------------------------------------------------- 5. no tracebacks


def test_a_non_utf8_file_name_in_a_checkout_is_listed_and_keyed(make_ecosystem, registry):
    eco = make_ecosystem()
    root = eco.checkout(PKG)
    (root / os.fsdecode(b"caf\xe9.txt")).write_text("latin-1 name\n")
    assert os.fsdecode(b"caf\xe9.txt") in Git(root).files()
    assert len(verify_cache.source_key(registry, registry.get(PKG), eco.workspace)) == 64


def test_a_git_hook_printing_latin1_fails_as_one_line(make_ecosystem):
    eco = make_ecosystem()
    root = eco.checkout(PKG)
    hook = root / ".git" / "hooks" / "pre-commit"
    hook.write_bytes(b"#!/bin/sh\nprintf 'refus\\351\\n' >&2\nexit 1\n")
    hook.chmod(0o755)
    (root / "NOTES.md").write_text("x\n")
    Git(root).add(["NOTES.md"])
    with pytest.raises(GitError) as info:
        Git(root).commit("x")
    assert "refus\ufffd" in _one_line(info.value)


def test_a_journal_of_the_wrong_shape_is_a_one_line_error(tmp_path):
    path = tmp_path / ".juniper-release" / "journal.json"
    path.parent.mkdir()
    for data in ([], {"releases": []}, {"releases": {"a==1": {"steps": []}}}, {"train": {"packages": 3}}):
        path.write_text(json.dumps(data))
        with pytest.raises(JuniperError, match=r"the journal is valid JSON of the wrong shape .*Fix: inspect it"):
            Journal(tmp_path)


def test_a_full_disk_during_a_write_is_a_one_line_error_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "state.json"

    def full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full)
    with pytest.raises(JuniperError, match=r"cannot write .*state\.json: No space left on device\. Fix: free space"):
        files.write_json(target, {"a": 1})
    assert list(tmp_path.iterdir()) == []


def test_a_dist_copy_cut_short_by_a_full_disk_is_rebuilt_not_uploaded(setup, monkeypatch):  # noqa: F811
    reg, eco = setup
    real = steps.build_tree

    def disk_fills(pkg, source, out_dir, tagged=None):  # the wheel is half-written when the disk fills up
        result = real(pkg, source, out_dir, tagged)
        result.wheel.write_bytes(result.wheel.read_bytes()[:100])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(steps, "build_tree", disk_fills)
    with pytest.raises(JuniperError, match=r"step 'build' failed.*No space left on device"):
        release(reg, eco.workspace, PKG, opts([], execute=True))
    monkeypatch.setattr(steps, "build_tree", real)
    lines: list[str] = []
    rows = release(reg, eco.workspace, PKG, opts(lines, execute=True))
    assert {r["step"]: r["ran"] for r in rows}["build"] == "now"  # judged by sha256, not by counting files
    for wheel in (eco.workspace / ".juniper-release" / "dist").glob("*/*.whl"):
        zipfile.ZipFile(wheel).testzip()
    assert "BadZipFile" not in "\n".join(lines)


def test_a_cache_dir_or_state_dir_that_is_a_file_is_a_one_line_error(tmp_path, monkeypatch):
    blocker = tmp_path / "cache"
    blocker.write_text("not a directory\n")
    monkeypatch.setenv("JUNIPER_CACHE_DIR", str(blocker))
    with pytest.raises(WorkspaceError) as info:
        verify_cache.wheelhouse_dir()
    assert "is a file, not a directory" in _one_line(info.value)
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / ".juniper-release").write_text("a file\n")
    with pytest.raises(JuniperError) as info2, Journal(ws).locked():
        pass
    assert "a file stands where a directory belongs" in _one_line(info2.value)


def test_a_malformed_ipv6_url_is_a_config_error(index_env):
    env = {**index_env, "JUNIPER_PYPI_SIMPLE_URL": "http://[::1/simple/"}
    with pytest.raises(ConfigError) as info:
        load_registry(ROOT / "repos.toml", env=env)
    assert "is not a valid http(s) URL: 'http://[::1/simple/'" in _one_line(info.value)


def test_a_console_script_writing_latin1_is_read_not_an_internal_error():
    proc = commands.run([sys.executable, "-c", "import sys; sys.stdout.buffer.write(b'caf\\xe9 ok')"], what="smoke")
    assert proc.returncode == 0 and proc.stdout == "caf\ufffd ok"


# ----------------------------------------------------------------------------------------- 6. git with a way out


def test_a_lightweight_tag_on_origin_gets_the_full_sequence(make_ecosystem, registry):
    eco = make_ecosystem()
    bump(registry, eco.workspace, PKG, "patch", commit=True, out=lambda _m: None)
    root = eco.checkout(PKG)
    git = Git(root)
    git.run("push", "-q", "origin", registry.branch)
    tag = registry.get(PKG).tag_for(read_project(registry.get(PKG), root).version)
    git.run("tag", tag)  # lightweight, then pushed: it exists on origin only once the local one is gone
    git.run("push", "-q", "origin", tag)
    git.run("tag", "-d", tag)
    git.fetch()
    ctx = ReleaseContext(registry, eco.workspace, PKG, opts([]), Journal(eco.workspace))
    gate = gates.existing_tag_is_annotated(ctx)
    assert not gate.ok and "on origin too" in gate.what
    assert f"git push origin --delete refs/tags/{tag} && git tag -d {tag}" in gate.fix
    # The old fix (re-make it annotated locally) ends in fetch's clobber refusal: now named, with both ways out.
    git.run("tag", "-d", tag)
    git.run("tag", "-a", tag, "-m", "annotated")
    with pytest.raises(GitError, match=rf"tag {tag} differs here .* and on origin\. Fix: keep origin's"):
        git.fetch()
    # Following the gate's sequence clears the way: no tag anywhere, the release makes the annotated one.
    git.run("push", "-q", "origin", "--delete", f"refs/tags/{tag}")
    git.run("tag", "-d", tag)
    git.fetch()
    assert gates.existing_tag_is_annotated(
        ReleaseContext(registry, eco.workspace, PKG, opts([]), Journal(eco.workspace))
    ).ok


def test_bump_commit_refuses_a_detached_head_before_writing(make_ecosystem, registry):
    eco = make_ecosystem()
    root = eco.checkout(PKG)
    Git(root).run("switch", "-q", "--detach", "HEAD")
    with pytest.raises(
        GitError, match=r"HEAD is detached .*--commit would make a commit on no branch\. Fix: `git switch main`"
    ):
        bump(registry, eco.workspace, PKG, "patch", commit=True, out=lambda _m: None)
    assert Git(root).is_clean()


def test_a_checkout_on_another_branch_names_both_branches(make_ecosystem, registry):
    eco = make_ecosystem()
    root = eco.checkout(PKG)
    Git(root).run("branch", "-m", registry.branch, "master")
    ctx = ReleaseContext(registry, eco.workspace, PKG, opts([]), Journal(eco.workspace))
    for check in (gates.on_main, gates.in_sync_with_origin):
        gate = check(ctx)
        assert not gate.ok and "ambiguous" not in gate.what
        assert f"branch {registry.branch!r} does not exist in this checkout (checked out: 'master'" in gate.what
        assert f"git switch -c {registry.branch} origin/{registry.branch}" in gate.fix


def test_rehearse_honours_juniper_registry(ecosystem, tmp_path):
    other = tmp_path / "other.toml"
    shutil.copy(ROOT / "repos.toml", other)
    env = {"JUNIPER_REGISTRY": str(other), "JUNIPER_WORKSPACE": str(ecosystem.workspace)}
    assert rehearsal_target(env=env).registry.path == other
    assert rehearsal_target(env=env, registry_path=ROOT / "repos.toml").registry.path == ROOT / "repos.toml"
    tasks = (ROOT / "scripts" / "juniper_release" / "cli" / "tasks.py").read_text(encoding="utf-8")
    flat = " ".join(tasks.split()).replace("( ", "(")  # however the formatter wraps the calls
    assert "t = rehearsal_target(workspace, sandbox=sandbox, registry_path=registry" in flat
    assert "run_rehearse(t.registry.path," in flat


# ----------------------------------------------------------------------------------------- kill -9, then resume

_TRAIN = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from juniper_release.ecosystem.registry import load_registry
    from juniper_release.release import gates
    from juniper_release.release.options import Options
    from juniper_release.release.train import release_train

    gates.is_verified = lambda *a: True  # the verify gate is not what this fault is about
    reg = load_registry(Path(sys.argv[1]))
    opts = Options(out=print, mode="twine", yes=True, execute=True, verify_installs=False, timeout=30,
                   direct_push=True)
    release_train(reg, Path(sys.argv[2]), opts, sys.argv[3])
    """
)

TRAIN_PACKAGES = ("juniper-data-client", "juniper-cascor-client")


def test_a_train_killed_at_random_moments_is_rerun_to_the_end_exactly_once(make_ecosystem, index_env, tmp_path):
    reg = load_registry(ROOT / "repos.toml", env=index_env)
    eco = make_ecosystem()
    for name in TRAIN_PACKAGES:
        bump(reg, eco.workspace, name, "patch", commit=True, out=lambda _m: None)
    script = tmp_path / "train.py"
    script.write_text(_TRAIN, encoding="utf-8")
    cmd = [sys.executable, str(script), str(ROOT / "repos.toml"), str(eco.workspace), ",".join(TRAIN_PACKAGES)]
    env = {**os.environ, **index_env}
    rng = random.Random(19)
    kills = 0
    for _ in range(3):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            proc.wait(timeout=rng.uniform(0.3, 2.5))  # the whole train takes a few seconds
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the train and whatever it runs
            proc.wait(timeout=30)
            kills += 1
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert again.returncode == 0 and "[     ok] upload" not in again.stdout  # nothing is released twice
    assert kills >= 1
    journal = Journal(eco.workspace)
    assert journal.train is not None and journal.train["finished"]
    for name in TRAIN_PACKAGES:
        pkg = reg.get(name)
        version = read_project(pkg, eco.checkout(name)).version
        assert journal.finished(f"{name}=={version}")
        assert Git(eco.checkout(name)).tag_is_annotated(pkg.tag_for(version))
        for index in ("testpypi", "pypi"):
            listing = indexes.project_listing(reg.index(index), name)
            mine = [f for f in listing.files if f"-{version}" in f]
            assert sorted(f.rsplit(".", 1)[-1] for f in mine) == ["gz", "whl"], (index, listing.files)

"""Third fault round (issue 27, sections 3-6): untrusted text stays text, every signal is honoured, exact answers
from git and files, and verdicts that say what is true. Each test names the rule it holds."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT
from juniper_release.ecosystem.registry import ENV_INDEX_URLS, Package
from juniper_release.ecosystem.tags import release_tag
from juniper_release.gitops import Git
from packaging.version import Version

PKG = Package("p", "o/p", "p", (), 0, (), False, tag_format="v{version}")


def _commit_at(git: Git, date: str, message: str, version: str | None = None) -> None:
    if version is not None:
        (git.root / "pyproject.toml").write_text(f'[project]\nname = "p"\nversion = "{version}"\n', encoding="utf-8")
    else:
        (git.root / "notes.txt").write_text(message, encoding="utf-8")
    git.run("add", "-A")
    dated = Git(git.root, env={"GIT_COMMITTER_DATE": date, "GIT_AUTHOR_DATE": date})
    dated.run("commit", "-q", "-m", message)


# ------------------------------------------------------------------------------------ 5. exact answers from git


def test_a_tag_in_a_clock_skewed_history_is_an_ancestor(tmp_path: Path) -> None:
    """Rule 5.1: ancestry is asked of git exactly. A release tag on a commit dated in the future, followed by commits
    dated in the past (a skewed clock), is still reachable from HEAD; `git tag --merged HEAD` misses it."""
    git = Git(tmp_path / "p")
    git.root.mkdir()
    git.run("init", "-q", "-b", "main")
    _commit_at(git, "2020-01-01T00:00:00", "first", "0.1.0")
    _commit_at(git, "2030-01-01T00:00:00", "release", "0.2.0")
    git.tag_annotated("v0.2.0", "Release 0.2.0")
    git.run("tag", "light-0.2.0")
    for i in range(8):
        _commit_at(git, f"2001-01-0{i + 1}T00:00:00", f"fix {i}")
    assert git.tags(merged="HEAD") == ["light-0.2.0", "v0.2.0"]
    choice = release_tag(git, PKG, Version("0.2.0"), Version("0.2.0"))
    assert choice.tag == "v0.2.0"
    # the failure path: a tag on another line of history is not an ancestor, however it is dated
    git.run("switch", "-q", "-c", "side", "HEAD~3")
    _commit_at(git, "2040-01-01T00:00:00", "side", "0.3.0")
    git.tag_annotated("v0.3.0", "Release 0.3.0")
    git.run("switch", "-q", "main")
    assert "v0.3.0" not in git.tags(merged="HEAD")
    assert set(git.tags()) == {"light-0.2.0", "v0.2.0", "v0.3.0"}


def _to_crlf(root: Path, *names: str) -> dict[str, bytes]:
    """Rewrite ``names`` with CRLF line endings and commit and push them: the checkout and origin agree."""
    for name in names:
        path = root / name
        path.write_bytes(path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    git = Git(root)
    git.run("add", "--", *names)
    git.run("commit", "-q", "-m", "chore: CRLF")
    git.run("push", "-q", "origin", "HEAD")
    return {name: (root / name).read_bytes() for name in names}


def test_a_bump_keeps_crlf_files_crlf_and_changes_only_their_version_lines(ecosystem, registry):
    """Rule 5.2: a CRLF file stays CRLF through every edit: the bump and the consumers' ceilings it rewrites."""
    from juniper_release.release.versioning import bump

    root = ecosystem.checkout("juniper-data-client")
    before = _to_crlf(root, "pyproject.toml", "CHANGELOG.md")
    consumer = ecosystem.checkout("juniper-data") / "pyproject.toml"
    consumer_before = _to_crlf(consumer.parent, "pyproject.toml")["pyproject.toml"]
    lf = root / "README.md"
    lf_before = lf.read_bytes()
    bump(registry, ecosystem.workspace, "juniper-data-client", "minor", update_dependents=True, force=True, out=print)
    for name, old in before.items():
        new = (root / name).read_bytes()
        assert new.count(b"\n") == new.count(b"\r\n") > 0, f"{name} is no longer CRLF"
        assert new != old
    changed = set((root / "pyproject.toml").read_bytes().split(b"\r\n")) ^ set(before["pyproject.toml"].split(b"\r\n"))
    assert changed == {b'version = "0.3.1"', b'version = "0.4.0"'}  # one line, not the whole file
    new = consumer.read_bytes()
    assert new != consumer_before and new.count(b"\n") == new.count(b"\r\n")
    assert lf.read_bytes() == lf_before and b"\r\n" not in lf_before  # an LF file stays LF


def test_propose_accepts_a_crlf_pyproject_equal_to_origin_and_pushes_it_crlf(ecosystem, registry):
    """Rule 5.2: a CRLF pyproject compares equal to origin when it is; the proposal's commit keeps it CRLF. The
    failure path: a CRLF file that really differs from origin is still refused."""
    from juniper_release.errors import JuniperError
    from juniper_release.github.forge import GitHub
    from juniper_release.release.propose import run
    from juniper_release.sandbox.fakeforge import FakeGitHub

    root = ecosystem.checkout("juniper-cascor-client")
    _to_crlf(root, "pyproject.toml")
    parts = {"juniper-cascor-client": "patch"}
    with FakeGitHub(token="t0ken", remotes=ecosystem.remotes) as fake:
        forge = GitHub(fake.url, token="t0ken", allowed_repos=frozenset(p.repo for p in registry.packages))
        out: list[str] = []
        assert (
            run(registry, ecosystem.workspace, parts, draft_notes=True, execute_=True, forge=forge, out=out.append) == 0
        )
        bare = Git(ecosystem.remote("pcalnon/juniper-cascor-client"))
        shown = bare.run("show", "release/juniper-cascor-client-0.4.1:pyproject.toml", strip=False)
        assert 'version = "0.4.1"\r\n' in shown and shown.count("\n") == shown.count("\r\n")
        other = ecosystem.checkout("juniper-data-client")
        _to_crlf(other, "pyproject.toml")
        (other / "pyproject.toml").write_bytes((other / "pyproject.toml").read_bytes() + b"# local\r\n")
        with pytest.raises(JuniperError, match=r"pyproject\.toml in the checkout differs from origin/main"):
            run(
                registry,
                ecosystem.workspace,
                {"juniper-data-client": "patch"},
                draft_notes=True,
                execute_=True,
                forge=forge,
                out=out.append,
            )


def test_a_rejected_push_keeps_the_remote_hooks_reason_and_names_the_repository(tmp_path: Path) -> None:
    """Rule 5.3: the remote's own reason survives (git's last lines alone drop it), with the repository named."""
    from juniper_release.errors import GitError

    bare = tmp_path / "o" / "r.git"
    Git(tmp_path).run("init", "-q", "--bare", "-b", "main", str(bare))
    hook = bare / "hooks" / "pre-receive"
    hook.write_text(
        "#!/bin/sh\necho 'error: GH006: Protected branch update failed for refs/heads/main.' >&2\n"
        "echo 'error: Commits must have verified signatures.' >&2\nexit 1\n",
        encoding="utf-8",
    )
    hook.chmod(0o755)
    git = Git(tmp_path / "w")
    git.root.mkdir()
    git.run("init", "-q", "-b", "main")
    git.run("remote", "add", "origin", str(bare))
    _commit_at(git, "2020-01-01T00:00:00", "first")
    with pytest.raises(GitError) as caught:
        git.run("push", "--atomic", "origin", "main", fix="fix the cause, then re-run")
    text = str(caught.value)
    assert "Commits must have verified signatures" in text and "GH006" in text
    assert f"{bare} rejected the push" in text and "[remote rejected] main -> main" in text
    assert text.endswith("Fix: fix the cause, then re-run")
    # the failure path of the rule: any other git failure keeps git's own last lines
    with pytest.raises(GitError, match="unknown revision"):
        git.run("log", "no-such-ref")


# ------------------------------------------------------------------------------------ 4. signals, everywhere


@contextlib.contextmanager
def _silent_index() -> Iterator[tuple[str, threading.Event]]:
    """An index that accepts connections and never answers: a look-up waits for its whole timeout. Yields its URL
    and an event set once a client is waiting on it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    waiting = threading.Event()
    held: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                held.append(server.accept()[0])
                waiting.set()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}", waiting
    finally:
        server.close()
        for conn in held:
            conn.close()


def _task(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "invoke", "-r", str(ROOT), *args],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_network_bound_task_ends_at_once_on_ctrl_c_with_its_own_exit_code(ecosystem, signum, code):
    """Rules 4.2 and 4.3: every task exits 130 on Ctrl-C (143 on SIGTERM), and a task waiting on the network (detect,
    its index look-up given 300 s) ends at once instead of when the look-up times out (invoke alone exits 1)."""
    with _silent_index() as (url, waiting):
        env = {var: f"{url}/{index}/" for (index, key), var in ENV_INDEX_URLS.items() if key == "simple_url"}
        proc = _task("detect", "--workspace", str(ecosystem.workspace), "--timeout", "300", env=env)
        try:
            assert waiting.wait(60), proc.communicate(timeout=60)
            time.sleep(0.3)  # the look-up is under way
            proc.send_signal(signum)
            _, err = proc.communicate(timeout=30)  # far below the look-up's 300 s
        finally:
            proc.kill()
    assert proc.returncode == code, err
    name = "Ctrl-C" if signum == signal.SIGINT else "SIGTERM"
    assert f"interrupted by {name}" in err and "Traceback" not in err


# ------------------------------------------------------------------------------------ 3. untrusted text stays text

HOSTILE_SUBJECT = "fix: \x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\ \x1b[2J\rdone \u202egnp.exe"
HOSTILE_FILE = "src/juniper_data_client/a\x1b[31mred\n::error::pwned.py"
HOSTILE_TAG = "v1<img/src=x/onerror=alert(1)>"


def _shown_safely(text: str) -> None:
    """No escape sequence, carriage return or bidi override reaches the terminal; no line is a workflow command."""
    assert not any(c in text for c in "\x1b\r\u202e"), repr(text)
    assert not [line for line in text.splitlines() if line.lstrip().startswith("::")], text


def test_the_printers_escape_control_characters_and_workflow_commands():
    """Rules 3.1 and 3.2, in the one place every printer uses (output.py): cells, steps, bullets, wrapped lines."""
    from juniper_release.output import bullets, markdown, printable, step, table
    from juniper_release.release.gates import Gate

    assert printable("a\x1b[31mb\r\x07\x9b\u202ec\td") == "a\\x1b[31mb\\x0d\\x07\\x9b\\u202ec\td"
    assert printable("one\n::warning::x", multiline=True) == "one\n\\::warning::x"
    assert printable("one\n  ::warning::x") == "one\\x0a  ::warning::x"
    for text in (
        table([{"package": "p", "message": HOSTILE_SUBJECT}]),
        table([{"package": "p", "message": "x " * 40 + "::add-mask::secret " + "y " * 40}], width=60),
        step("push", "ok", HOSTILE_SUBJECT),
        step(HOSTILE_FILE, "ok"),
        bullets("files:", [HOSTILE_FILE]),
        markdown([{"file": HOSTILE_FILE}]),
        Gate("clean tree", False, f"uncommitted: {HOSTILE_FILE}", "commit or stash it").line(),
        Gate("version not yet published", True, HOSTILE_SUBJECT, skipped=True).line(),
    ):
        _shown_safely(text)
    # the failure path: the tool's own colours still reach a terminal (only what it prints from people is escaped)
    assert "\x1b[" not in printable("plain text") and printable("plain text") == "plain text"


def test_markdown_and_bodies_show_untrusted_text_as_text():
    """Rule 3.3: in --markdown summaries and PR or issue bodies, HTML and Markdown from people stay characters."""
    from juniper_release.output import markdown, markdown_text

    shown = markdown([{"tag": HOSTILE_TAG, "subject": "[click](javascript:alert(1)) `x` **b** a|b"}])
    assert "<img" not in shown and "&lt;img/src=x/onerror=alert(1)&gt;" in shown
    assert "\\[click\\](javascript:alert(1)) \\`x\\` \\*\\*b\\*\\* a\\|b" in shown
    assert markdown_text("a\nb <b>") == "a b &lt;b&gt;"


def test_detect_and_propose_show_hostile_commits_files_and_changelog_lines_as_text(ecosystem, registry):
    """Rules 3.1-3.3 end to end: a hostile commit subject and file name through detect's table, its --markdown
    summary and the PR evidence, and a hostile CHANGELOG line through the propose dry run."""
    from juniper_release.ecosystem import detect_report
    from juniper_release.release.propose import plan_proposals, render

    root = ecosystem.checkout("juniper-data-client")
    path = root / HOSTILE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("X = 1\n", encoding="utf-8")
    changelog = root / "CHANGELOG.md"
    text = changelog.read_text(encoding="utf-8")
    line = f"- {HOSTILE_TAG} \x1b[8mhidden\x1b[0m\n::set-env name=X::y\n"
    changelog.write_text(
        text.replace("## [Unreleased]\n", f"## [Unreleased]\n\n### Fixed\n\n{line}", 1), encoding="utf-8"
    )
    git = Git(root)
    git.run("add", "-A")
    git.run("commit", "-q", "-m", HOSTILE_SUBJECT)
    git.run("push", "-q", "origin", "main")
    found = detect_report.collect(registry, ecosystem.workspace, "juniper-data-client", fetch=False, warn=print)
    table = detect_report.render(found, "table")
    assert "evidence:" in table and "pwned.py" in table
    _shown_safely(table)
    summary = detect_report.render(found, "markdown")
    _shown_safely(summary)
    _, evidence, _ = detect_report.selection(found)
    _shown_safely(evidence["juniper-data-client"])
    assert "\\\\x1b\\]8;;http://evil" in evidence["juniper-data-client"]  # Markdown shows it as \x1b]8;;
    [proposal] = plan_proposals(registry, ecosystem.workspace, {"juniper-data-client": "patch"}, evidence=evidence)
    dry_run = render([proposal])
    _shown_safely(dry_run)
    assert "\\x1b[8mhidden" in dry_run and "\\::set-env" in dry_run


HOSTILE_BRANCH = "rel;$(touch${IFS}pwned)"
"""A name git accepts as a branch (no space, no '..', no ':'), which a shell would run if a hint pasted it bare."""


@pytest.mark.parametrize(
    ("branch", "why"),
    [
        ("-main", "'-'"),
        ("HEAD", "'HEAD'"),
        ("a..b", "'..'"),
        ("a b", "' '"),
        ("main.lock", ".lock"),
        ("refs/heads/main", "a full ref"),
        ("a:b", "':'"),
    ],
)
def test_the_registry_refuses_a_branch_git_would_refuse(branch, why):
    """Rule 3.4: settings.branch is validated like `git check-ref-format --branch`, in one line naming the field."""
    import tomlkit
    from juniper_release.ecosystem.registry import DEFAULT_REGISTRY, parse_registry
    from juniper_release.errors import ConfigError

    doc = tomlkit.parse(DEFAULT_REGISTRY.read_text(encoding="utf-8"))
    doc["settings"]["branch"] = branch
    with pytest.raises(ConfigError, match=r"settings\.branch .* is not a branch name git accepts") as caught:
        parse_registry(tomlkit.dumps(doc), Path("repos.toml"), {})
    assert why in str(caught.value) and "Fix: write the release branch's name" in str(caught.value)
    git_says = subprocess.run(["git", "check-ref-format", "--branch", branch], capture_output=True, check=False)
    assert git_says.returncode != 0 or branch.startswith("refs/")  # git agrees (a full ref is ours to refuse)
    doc["settings"]["branch"] = HOSTILE_BRANCH  # the failure path: a valid, if odd, name is accepted
    assert parse_registry(tomlkit.dumps(doc), Path("repos.toml"), {}).branch == HOSTILE_BRANCH


def test_a_hint_quotes_the_registry_values_it_names(ecosystem, registry, tmp_path):
    """Rule 3.4: a registry value inside a fix hint is shell-quoted: pasted, the command runs git, never the value."""
    import dataclasses
    import shlex

    from juniper_release.errors import GitError
    from juniper_release.release.versioning import bump

    odd = dataclasses.replace(registry, branch=HOSTILE_BRANCH)
    root = ecosystem.checkout("juniper-data-client")
    Git(root).run("switch", "-q", "--detach", "HEAD")
    with pytest.raises(GitError) as caught:
        bump(odd, ecosystem.workspace, "juniper-data-client", "patch", commit=True, out=print)
    fix = caught.value.fix or ""
    command = fix.split("`")[1]
    assert shlex.split(command) == ["git", "switch", HOSTILE_BRANCH]
    subprocess.run(["sh", "-c", command.replace("git switch", "echo")], cwd=tmp_path, check=True, capture_output=True)
    assert not (tmp_path / "pwned").exists()


# ------------------------------------------------------------------------------------ 6. say what is true

PKG_CC = "juniper-cascor-client"
TOKEN = "pypi-" + "AgEIcHlwaS5vcmcCJGZha2UtdG9rZW4tZm9yLXRlc3RzAAIqWzMsImZha2UiXQ"


@pytest.mark.slow
def test_a_released_package_is_released_already_in_release_and_up_to_date_in_the_train(
    make_ecosystem, index_env, monkeypatch
):
    """Rules 6.1 and 6.2: after a release made elsewhere (no journal here), the train calls the package up to date and
    release says released already, never "resuming"; the index gate it skips shows [skip], never [ok]. The failure
    path: a release this workspace started and did not finish is still "resuming"."""
    from conftest import release_options
    from juniper_release.ecosystem.registry import load_registry
    from juniper_release.release import gates
    from juniper_release.release.journal import journal_path
    from juniper_release.release.package import release
    from juniper_release.release.train_plan import Action, plan_train
    from juniper_release.release.versioning import bump

    for key, value in {**index_env, "JUNIPER_TESTPYPI_TOKEN": TOKEN, "JUNIPER_PYPI_TOKEN": TOKEN}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(gates, "is_verified", lambda *a: True)
    reg = load_registry(ROOT / "repos.toml", env=index_env)
    eco = make_ecosystem()
    bump(reg, eco.workspace, PKG_CC, "patch", commit=True, out=lambda _m: None)
    release(reg, eco.workspace, PKG_CC, release_options([], execute=True))
    journal_path(eco.workspace).unlink()  # released from another machine (CI): this workspace recorded nothing
    row = plan_train(reg, eco.workspace, PKG_CC).row(PKG_CC)
    assert row.action is Action.UP_TO_DATE and row.reason == "up to date"
    lines: list[str] = []
    release(reg, eco.workspace, PKG_CC, release_options(lines))
    text = "\n".join(lines)
    assert "resuming" not in text, text
    assert f"{PKG_CC} 0.4.1 is released already (its tag on origin, its files on the index)" in text
    gate = next(line for line in lines if "version not yet published" in line)
    assert "[skip] version not yet published: skipped (v0.4.1 is on origin at the release commit" in gate
    assert "ok]" not in gate
    # the failure path: a run here that stopped after its first upload is resuming
    from juniper_release.release.journal import Journal

    Journal(eco.workspace).record(f"{PKG_CC}==0.4.1", "upload testpypi", "uploaded")
    again: list[str] = []
    release(reg, eco.workspace, PKG_CC, release_options(again))
    assert f"{PKG_CC} 0.4.1: resuming, the steps marked done are not run again" in again


def test_a_train_for_one_package_names_the_unfinished_release_it_resumes(make_ecosystem, registry):
    """Rule 6.3: `release-train --packages X` resumes another package's unfinished release only saying so: its row
    names why, and a line names it. The failure path: a package of no unfinished train is not released."""
    from conftest import release_options
    from juniper_release.offline import offline
    from juniper_release.release.journal import Journal
    from juniper_release.release.train import release_train
    from juniper_release.release.train_plan import Action, plan_train, resumed_unselected
    from juniper_release.release.versioning import bump

    eco = make_ecosystem()
    for name in (PKG_CC, "juniper-data-client"):
        bump(registry, eco.workspace, name, "patch", commit=True, out=lambda _m: None)
    Journal(eco.workspace).start_train({"juniper-data-client": "0.3.2"})  # an earlier train, never finished
    with offline(True):
        plan = plan_train(registry, eco.workspace, PKG_CC)
    other = plan.row("juniper-data-client")
    assert other.action is Action.RELEASE
    assert other.reason == "not selected (--packages), resumed from the unfinished train: its release is unfinished"
    assert resumed_unselected(plan) == ["juniper-data-client"]
    assert plan.row(PKG_CC).action is Action.RELEASE and plan.row(PKG_CC).reason == ""
    lines: list[str] = []
    from juniper_release.errors import JuniperError

    with contextlib.suppress(JuniperError):  # the dry run's gates may stop it (unverified); the plan comes first
        release_train(registry, eco.workspace, release_options(lines, offline=True), PKG_CC)
    assert any(
        line.startswith("resuming the unfinished train: juniper-data-client too (not in --packages") for line in lines
    )
    # the failure path: with no unfinished train, an unselected package stays out
    Journal(eco.workspace).finish_train()
    with offline(True):
        plan = plan_train(registry, eco.workspace, PKG_CC)
    assert plan.row("juniper-data-client").action is Action.UP_TO_DATE
    assert plan.row("juniper-data-client").reason == "not selected (--packages)" and not resumed_unselected(plan)


HOOK_SLEEP = "97.31"
"""An unusual sleep, so the test can tell its remote hook's process from any other."""


def _hooks_running() -> list[str]:
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if f"sleep {HOOK_SLEEP}" in line]


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_propose_execute_interrupted_mid_push_removes_its_worktree_and_leaves_no_push(ecosystem, signum, code):
    """Rule 4.1: `propose --execute` ends 130 on SIGINT, 143 on SIGTERM; its temporary worktree is removed and the
    push it was making (a slow remote hook) is stopped too: the branch never lands."""
    from juniper_release.sandbox.fakeforge import FakeGitHub

    repo = "pcalnon/juniper-cascor-client"
    root = ecosystem.checkout("juniper-cascor-client")
    bare = ecosystem.remote(repo)
    started = bare / "hook-started"
    hook = bare / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\ntouch '{started}'\nsleep {HOOK_SLEEP}\nexit 0\n", encoding="utf-8")
    hook.chmod(0o755)
    with FakeGitHub(token="t0ken", remotes=ecosystem.remotes) as fake:
        env = {"JUNIPER_GITHUB_API_URL": fake.url, "GITHUB_TOKEN": "t0ken"}
        proc = _task(
            "propose",
            "--workspace",
            str(ecosystem.workspace),
            "--package",
            "juniper-cascor-client",
            "--part",
            "patch",
            "--draft-notes",
            "--execute",
            env=env,
        )
        try:
            for _ in range(600):
                if started.exists() or proc.poll() is not None:
                    break
                time.sleep(0.1)
            assert started.exists(), proc.communicate(timeout=60)
            proc.send_signal(signum)
            _, err = proc.communicate(timeout=30)
        finally:
            proc.kill()
    assert proc.returncode == code, err
    assert "Traceback" not in err
    assert Git(root).run("worktree", "list", "--porcelain").count("worktree ") == 1  # the checkout's own
    for _ in range(50):  # SIGTERM reaches the hook at once; give the process table a moment
        if not _hooks_running():
            break
        time.sleep(0.1)
    assert not _hooks_running()
    assert not Git(bare).ok("rev-parse", "-q", "--verify", "refs/heads/release/juniper-cascor-client-0.4.1")


def test_a_rerun_after_sigkill_removes_the_worktrees_killed_runs_left_and_nothing_else(ecosystem, tmp_path):
    """Rule 4.1: a propose run killed by SIGKILL leaves its worktree; the next run removes it, but only a worktree
    its marker says propose made, for a run that is gone (a live run's and a person's own worktrees stay)."""
    from juniper_release.release.propose import WORKTREE_MARKER, prune_stale_worktrees

    root = ecosystem.checkout("juniper-cascor-client")
    git = Git(root)
    dead = subprocess.Popen(["true"])
    dead.wait()
    trees = {}
    for name, marker in (("killed", str(dead.pid)), ("live", str(os.getpid())), ("mine", None)):
        scratch = tmp_path / name
        scratch.mkdir()
        if marker is not None:
            (scratch / WORKTREE_MARKER).write_text(marker + "\n", encoding="utf-8")
        git.run("worktree", "add", "--quiet", "--detach", str(scratch / "tree"), "HEAD")
        trees[name] = scratch / "tree"
    said: list[str] = []
    assert prune_stale_worktrees(root, said.append) == [trees["killed"].resolve()]
    listed = git.run("worktree", "list", "--porcelain")
    assert str(trees["killed"].resolve()) not in listed and not (tmp_path / "killed").exists()
    assert str(trees["live"].resolve()) in listed and str(trees["mine"].resolve()) in listed
    assert "left by a propose run that was killed" in said[0]


@pytest.mark.slow
def test_an_interrupted_train_stops_at_once_and_reports_the_rest_as_not_started(make_ecosystem, index_env, monkeypatch):
    """Rules 4.2 and 4.4: Ctrl-C during one package's release ends the whole train as an interruption (130, not a
    halt with exit 1): the later packages are reported "not started", never started and never failed by what the
    interruption broke, and no issue is filed."""
    from conftest import release_options
    from juniper_release import interrupts
    from juniper_release.ecosystem.registry import load_registry
    from juniper_release.release import gates, steps
    from juniper_release.release.train import release_train
    from juniper_release.release.train_plan import Outcome
    from juniper_release.release.versioning import bump

    for key, value in {**index_env, "JUNIPER_TESTPYPI_TOKEN": TOKEN, "JUNIPER_PYPI_TOKEN": TOKEN}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(gates, "is_verified", lambda *a: True)
    reg = load_registry(ROOT / "repos.toml", env=index_env)
    eco = make_ecosystem()
    for name in (PKG_CC, "juniper-data-client"):
        bump(reg, eco.workspace, name, "patch", commit=True, out=lambda _m: None)

    def ctrl_c(ctx, index):
        raise KeyboardInterrupt

    monkeypatch.setattr(steps, "upload", ctrl_c)
    lines: list[str] = []
    table: list[str] = []
    with pytest.raises(interrupts.Interrupted) as caught:
        release_train(reg, eco.workspace, release_options(lines, execute=True), emit=table.append)
    assert caught.value.exit_code == 130
    assert f"{PKG_CC}: interrupted during step 'upload testpypi'" in str(caught.value)
    shown = " ".join(table[-1].split())
    assert f"{PKG_CC} 0.4.1 {Outcome.INTERRUPTED}" in shown
    assert f"juniper-data-client 0.3.2 {Outcome.NOT_STARTED} the train was interrupted before its turn" in shown
    assert "halted" not in shown
    assert "v0.3.2" not in Git(eco.checkout("juniper-data-client")).remote_tags()  # never started


def test_a_failed_stand_in_publish_run_is_reported_with_its_own_cause():
    """Rule 4.4: a rehearsal (or its --resume) that cannot finish names the real cause: the stand-in publish run's
    own error (a sha256 mismatch on the index), which GitHub's API answer (a conclusion) does not carry."""
    from juniper_release.errors import JuniperError
    from juniper_release.github.forge import GitHub
    from juniper_release.sandbox.fakeforge import FakeGitHub
    from juniper_release.sandbox.rehearse_flows import with_run_causes

    cause = "testpypi already holds demo-0.4.1.tar.gz of demo with other content (sha256 differs)"

    def runner(repo: str, tag: str, sha: str) -> None:
        raise JuniperError(cause, "delete it")

    with FakeGitHub(runner, token="t0ken") as fake:
        forge = GitHub(fake.url, token="t0ken", allowed_repos=frozenset({"o/demo"}))
        forge.create_release("o/demo", "v0.4.1", sha="a" * 40, title="v0.4.1", body="notes", prerelease=False)
        with pytest.raises(JuniperError) as caught:
            forge.watch("o/demo", ".github/workflows/publish.yml", tag="v0.4.1", sha="a" * 40, timeout=30)
        reported = with_run_causes(caught.value.what, fake)
        assert "concluded failure" in reported and cause in reported
        # the failure path: a message naming no failed run is left as it is
        assert with_run_causes("origin rejected the push", fake) == "origin rejected the push"

"""invoke release: preflight gates (every failing path), steps, dry run, twine and GitHub modes, faults and resume."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import release_options as opts
from juniper_release.ecosystem.indexes import versions
from juniper_release.ecosystem.project import read_project
from juniper_release.ecosystem.registry import ENV_INDEX_URLS, load_registry
from juniper_release.errors import JuniperError
from juniper_release.github.forge import GitHub
from juniper_release.gitops import Git
from juniper_release.release import gates, publish
from juniper_release.release.gates import PreflightError
from juniper_release.release.journal import Journal
from juniper_release.release.package import release
from juniper_release.release.versioning import bump
from juniper_release.sandbox.fakeforge import FakeGitHub
from juniper_release.sandbox.rehearse import workflow_runner
from juniper_release.verify.build import build_package
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PKG = "juniper-cascor-client"
TOKEN = "pypi-" + "AgEIcHlwaS5vcmcCJGZha2UtdG9rZW4tZm9yLXRlc3RzAAIqWzMsImZha2UiXQ"


@pytest.fixture
def verified(monkeypatch):
    """The verification gate (the verify cache) is exercised in its own test; elsewhere it is assumed passed."""
    monkeypatch.setattr(gates, "is_verified", lambda *a: True)


@pytest.fixture
def setup(make_ecosystem, index_env, monkeypatch):
    for key, value in index_env.items():
        monkeypatch.setenv(key, value)
    reg = load_registry(ROOT / "repos.toml", env=index_env)

    def make(part: str = "patch", package: str = PKG, **kwargs):
        eco = make_ecosystem(**kwargs)
        if part:
            bump(reg, eco.workspace, package, part, commit=True, out=lambda _m: None)
        return reg, eco

    return make


def remote_tags(eco, pkg: str = PKG) -> list[str]:
    return Git(eco.checkout(pkg)).remote_tags()


def test_dry_run_prints_every_step_with_its_command_and_changes_nothing(setup, verified):
    reg, eco = setup()
    lines: list[str] = []
    rows = release(reg, eco.workspace, PKG, opts(lines))
    text = "\n".join(lines)
    assert [r["step"] for r in rows] == [
        "commit bump",
        "tag",
        "push",
        "build",
        "upload testpypi",
        "verify testpypi",
        "upload pypi",
        "verify pypi",
        "re-check",
    ]
    assert "git -C" in text and "push --atomic origin main v0.4.1" in text and "twine upload" in text
    assert "[  would] upload pypi" in text
    assert "GitHub token" not in text and "publish workflow present" not in text  # GitHub-mode gates only
    assert not Git(eco.checkout(PKG)).tag_exists("v0.4.1")
    assert not versions(reg.index("testpypi"), PKG)


@pytest.mark.parametrize("mode", ["github", "twine"])
def test_dry_run_is_offline_and_needs_no_token(make_ecosystem, verified, monkeypatch, mode):
    """Unreachable indexes, GitHub API and origin, a dummy token: the dry run still lists every gate and step."""
    from juniper_release.sandbox.localindex import free_port

    closed = f"http://127.0.0.1:{free_port()}"
    env = {var: f"{closed}/simple/" if var.endswith("SIMPLE_URL") else f"{closed}/" for var in ENV_INDEX_URLS.values()}
    for key, value in {**env, "JUNIPER_GITHUB_API_URL": closed, "GITHUB_TOKEN": "ghp_dummy0123456789"}.items():
        monkeypatch.setenv(key, value)
    reg = load_registry(ROOT / "repos.toml", env=env)
    eco = make_ecosystem()
    bump(reg, eco.workspace, PKG, "patch", out=lambda _m: None)
    git = Git(eco.checkout(PKG))
    origin = git.remote_url()
    git.run("remote", "set-url", "origin", f"{closed}/juniper-cascor-client.git")
    lines: list[str] = []
    rows = release(reg, eco.workspace, PKG, opts(lines, mode=mode))
    text = "\n".join(lines)
    expected = ["commit bump", "tag", "push"]
    expected += (
        ["GitHub Release", "watch publish run", "verify pypi"]
        if mode == "github"
        else ["build", "upload testpypi", "verify testpypi", "upload pypi", "verify pypi"]
    )
    assert [r["step"] for r in rows] == [*expected, "re-check"]
    for gate in ("in sync with origin", "tag is new", "version not yet published"):
        assert f"[  --] {gate}: not checked (offline)" in text, text
    assert "FAIL" not in text and "ghp_dummy0123456789" not in text
    assert not git.tag_exists("v0.4.1") and "CHANGELOG.md" in git.changed_paths()
    if mode == "github":
        monkeypatch.delenv("GITHUB_TOKEN")
        monkeypatch.delenv("JUNIPER_GITHUB_API_URL")  # the real API: the offline guard keeps the dry run off it
        again: list[str] = []
        release(reg, eco.workspace, PKG, opts(again, mode=mode))
        shown = "\n".join(again)
        assert "[  --] GitHub token: not checked (no token)" in shown
        # the dry run's last line says how many checks it could not make, and why
        assert [line for line in again if line.startswith("dry run: ")][-1].startswith("dry run: ")
        assert (
            "check(s) not made (offline: in sync with origin, tag is new" in shown and "no token: GitHub token" in shown
        )
        git.run("remote", "set-url", "origin", str(origin))
        with pytest.raises(PreflightError) as exc:
            release(reg, eco.workspace, PKG, opts([], mode=mode, execute=True))  # --execute requires them
        failed = [g.name for g in exc.value.failures]
        assert "GitHub token" in failed and "version not yet published" in failed


def test_twine_release_uploads_testpypi_then_pypi_and_rerun_does_nothing(setup, verified, monkeypatch):
    reg, eco = setup()
    monkeypatch.setenv("JUNIPER_TESTPYPI_TOKEN", TOKEN)
    monkeypatch.setenv("JUNIPER_PYPI_TOKEN", TOKEN)
    lines: list[str] = []
    release(reg, eco.workspace, PKG, opts(lines, execute=True))
    assert "v0.4.1" in remote_tags(eco)
    assert versions(reg.index("testpypi"), PKG) == (Version("0.4.1"),)
    assert versions(reg.index("pypi"), PKG) == (Version("0.4.1"),)
    journal = Journal(eco.workspace)
    assert {"tag", "push", "upload testpypi", "upload pypi", "re-check"} <= set(journal.steps(f"{PKG}==0.4.1"))
    again: list[str] = []
    rows = release(reg, eco.workspace, PKG, opts(again, execute=True))
    assert all(r["outcome"] == "done" for r in rows if r["step"] != "re-check")
    assert TOKEN not in "\n".join(lines + again)
    # a dry run of a released package says so, and that its tag is at the release commit: it plans nothing anew
    dry: list[str] = []
    release(reg, eco.workspace, PKG, opts(dry))
    assert "juniper-cascor-client 0.4.1 is released already: every step is done, nothing would run" in dry
    assert any("tag v0.4.1 already at the release commit" in line for line in dry)


def test_token_never_appears_in_output_even_when_twine_fails(setup, verified, monkeypatch, index_servers):
    reg, eco = setup()
    monkeypatch.setenv("JUNIPER_TESTPYPI_TOKEN", TOKEN)
    index_servers["testpypi"].stop()
    lines: list[str] = []
    with pytest.raises(JuniperError) as exc:
        release(reg, eco.workspace, PKG, opts(lines, execute=True))
    assert "unreachable" in str(exc.value) or "failed" in str(exc.value)
    assert TOKEN not in str(exc.value) and TOKEN not in "\n".join(lines)


def test_upload_keeps_the_token_off_the_command_line():
    index = load_registry(ROOT / "repos.toml", env={}).index("pypi")
    cmd = publish.upload_command(index, [Path("dist/x.whl")])
    creds = publish.credentials(index, env={"JUNIPER_PYPI_TOKEN": TOKEN})
    assert creds.username == "__token__" and TOKEN not in " ".join(cmd)
    assert publish.redact(f"password {TOKEN}") == "password ***"


def test_credentials_from_pypirc_and_missing_credentials(tmp_path):
    index = load_registry(ROOT / "repos.toml", env={}).index("testpypi")
    rc = tmp_path / ".pypirc"
    rc.write_text("[testpypi]\nusername = __token__\npassword = pypi-secretsecretsecretsecret\n")
    creds = publish.credentials(index, env={}, pypirc=rc)
    assert creds.password.startswith("pypi-") and "[testpypi]" in creds.source
    with pytest.raises(publish.PublishError, match=r"no upload credentials for testpypi.*JUNIPER_TESTPYPI_TOKEN"):
        publish.credentials(index, env={}, pypirc=tmp_path / "none")


# ---------------------------------------------------------------------------------------------- gates


def _gate_fails(reg, eco, name: str, package: str = PKG, **kw) -> PreflightError:
    lines: list[str] = []
    head = Git(eco.checkout(package)).head()
    with pytest.raises(PreflightError) as exc:
        release(reg, eco.workspace, package, opts(lines, execute=True, **kw))
    assert name in [g.name for g in exc.value.failures], exc.value.failures
    assert "Fix:" in str(exc.value) and "\n" not in str(exc.value)
    assert Git(eco.checkout(package)).head() == head  # nothing changed
    assert not Git(eco.checkout(package)).tag_exists(
        reg.tag_for(read_project(reg.get(package), eco.checkout(package)).version)
    )
    return exc.value


def test_gate_dirty_tree(setup, verified):
    reg, eco = setup()
    (eco.checkout(PKG) / "README.md").write_text("edited\n")
    _gate_fails(reg, eco, "clean tree")


def test_uncommitted_bump_is_committed_by_the_release(setup, verified):
    """The documented path: `invoke bump` without --commit, then the release commits the bump itself."""
    reg, eco = setup(part="")
    bump(reg, eco.workspace, PKG, "patch", out=lambda _m: None)
    git = Git(eco.checkout(PKG))
    assert "CHANGELOG.md" in git.changed_paths()  # porcelain output keeps its first column
    lines: list[str] = []
    release(reg, eco.workspace, PKG, opts(lines, execute=True))
    assert git.is_clean() and git.subjects_since("HEAD~1") == [f"Bump {PKG} to 0.4.1"]
    assert "v0.4.1" in remote_tags(eco)


def test_status_porcelain_keeps_the_first_letter_of_every_path(tmp_path):
    git = Git(tmp_path)
    git.run("init", "-q")
    (tmp_path / "CHANGELOG.md").write_text("x\n")
    (tmp_path / "a b.txt").write_text("x\n")
    git.run("add", "CHANGELOG.md")
    git.run("commit", "-q", "-m", "init")
    (tmp_path / "CHANGELOG.md").write_text("y\n")
    git.run("mv", "CHANGELOG.md", "NEWS.md")
    assert sorted(git.changed_paths()) == ["NEWS.md", "a b.txt"]


def test_gate_wrong_branch(setup, verified):
    reg, eco = setup()
    Git(eco.checkout(PKG)).run("switch", "-q", "-c", "feature")
    _gate_fails(reg, eco, "on main")


def test_gate_main_behind_origin(setup, verified, tmp_path):
    reg, eco = setup()
    other = tmp_path / "other"
    subprocess.run(["git", "clone", "-q", str(eco.remote(reg.get(PKG).repo)), str(other)], check=True)
    (other / "x.txt").write_text("x\n")
    Git(other).run("add", "x.txt")
    Git(other).run("commit", "-q", "-m", "feat: elsewhere")
    Git(other).run("push", "-q", "origin", "main")
    err = _gate_fails(reg, eco, "in sync with origin")
    assert "1 behind" in str(err) or any("1 behind" in g.what for g in err.failures)


def test_gate_unpushed_foreign_commit(setup, verified):
    reg, eco = setup(part="")
    root = eco.checkout(PKG)
    (root / "x.txt").write_text("x\n")
    Git(root).run("add", "x.txt")
    Git(root).run("commit", "-q", "-m", "feat: not pushed")
    bump(reg, eco.workspace, PKG, "patch", commit=True, out=lambda _m: None)
    _gate_fails(reg, eco, "in sync with origin")


def test_gate_lightweight_tag_at_head_is_refused(setup, verified):
    reg, eco = setup()
    git = Git(eco.checkout(PKG))
    git.run("tag", "v0.4.1")  # lightweight, at HEAD
    with pytest.raises(PreflightError) as exc:
        release(reg, eco.workspace, PKG, opts([], execute=True))
    assert [g.name for g in exc.value.failures] == ["tag is annotated"]
    assert "git tag -d v0.4.1 && git tag -a v0.4.1 -m" in str(exc.value) and "\n" not in str(exc.value)
    assert "v0.4.1" not in remote_tags(eco)


def test_gate_tag_already_exists(setup, verified):
    reg, eco = setup()
    git = Git(eco.checkout(PKG))
    git.run("tag", "-a", "v0.4.1", "-m", "stale", "HEAD~1")
    lines: list[str] = []
    with pytest.raises(PreflightError) as exc:
        release(reg, eco.workspace, PKG, opts(lines, execute=True))
    assert [g.name for g in exc.value.failures] == ["tag is new"]
    assert "already exists locally" in exc.value.failures[0].what
    assert "v0.4.1" not in remote_tags(eco)


def test_gate_upload_already_exists_on_an_index(setup, verified, tmp_path):
    reg, eco = setup()
    files = sorted(build_package(reg, reg.get(PKG), eco.workspace, tmp_path / "dist").artifacts)
    publish.upload(reg.index("testpypi"), PKG, files)
    # a second upload of the same files is recognised, not duplicated
    assert "already on the index" in publish.upload(reg.index("testpypi"), PKG, files)
    err = _gate_fails(reg, eco, "version not yet published")
    assert "already on testpypi" in err.failures[0].what


def test_gate_index_down_is_not_called_already_published(setup, verified, index_servers):
    reg, eco = setup()
    index_servers["testpypi"].stop()
    err = _gate_fails(reg, eco, "version not yet published")
    gate = next(g for g in err.failures if g.name == "version not yet published")
    assert "cannot check whether" in gate.what and "testpypi" in gate.what and "already on" not in gate.what
    assert "JUNIPER_TESTPYPI_SIMPLE_URL" in gate.fix and "bump" not in gate.fix


def test_gate_index_down_never_prints_credentials_of_the_index_url(setup, verified, index_servers, monkeypatch):
    reg, eco = setup()
    index_servers["testpypi"].stop()
    url = index_servers["testpypi"].url.replace("http://", "http://uploader:s3cr3t-pass@")
    monkeypatch.setenv("JUNIPER_TESTPYPI_SIMPLE_URL", f"{url}simple/")
    reg = load_registry(ROOT / "repos.toml")
    lines: list[str] = []
    with pytest.raises(PreflightError) as exc:
        release(reg, eco.workspace, PKG, opts(lines, execute=True))
    assert "cannot check whether" in str(exc.value)
    assert "s3cr3t-pass" not in str(exc.value) and "s3cr3t-pass" not in "\n".join(lines)


def test_gate_version_mismatch(setup, verified):
    reg, eco = setup()
    root = eco.checkout(PKG)
    vf = root / "src/juniper_cascor_client/_version.py"
    vf.write_text('__version__ = "0.4.0"\n')
    Git(root).run("commit", "-q", "-am", "fix: oops")
    Git(root).run("push", "-q", "origin", "main")
    _gate_fails(reg, eco, "pyproject == __version__ == tag")


def test_gate_juniper_requirements_unavailable(setup, verified):
    reg, eco = setup(package="juniper-ml")
    err = _gate_fails(reg, eco, "Juniper requirements available", package="juniper-ml")
    assert "juniper-data-client" in str(err) or any("juniper-data-client" in g.what for g in err.failures)


def test_gate_verification_uses_the_real_cache(setup, tmp_path, monkeypatch):
    monkeypatch.setenv("JUNIPER_CACHE_DIR", str(tmp_path / "empty-cache"))  # an empty verification cache
    reg, eco = setup()
    _gate_fails(reg, eco, "verified at this commit")


def test_gate_dropped_entry_point_halts_unless_the_api_change_is_accepted(setup, verified):
    """The gate "the bump covers the API change" (it replaced "no dropped entry points or extras"): a console script
    dropped in a patch release halts with the finding; --accept-api-change REASON lets the maintainer through."""
    reg, eco = setup(part="")
    root = eco.checkout("juniper-cascor-worker")
    py = root / "pyproject.toml"
    py.write_text(
        py.read_text().replace('[project.scripts]\njuniper-cascor-worker = "juniper_cascor_worker.cli:main"\n', "")
    )
    Git(root).run("commit", "-q", "-am", "refactor!: drop the console script")
    Git(root).run("push", "-q", "origin", "main")
    bump(reg, eco.workspace, "juniper-cascor-worker", "patch", commit=True, out=lambda _m: None)
    err = _gate_fails(reg, eco, "the bump covers the API change", package="juniper-cascor-worker")
    (gate,) = [g for g in err.failures if g.name == "the bump covers the API change"]
    assert "asks for a minor bump but this release is a patch" in gate.what
    assert "breaking: console script removed juniper-cascor-worker (juniper_cascor_worker.cli:main)" in gate.what
    assert "--accept-api-change REASON" in gate.fix and "--part minor" in gate.fix
    lines: list[str] = []
    release(reg, eco.workspace, "juniper-cascor-worker", opts(lines, accept_api_change="the CLI moved to cascor"))
    assert "the bump covers the API change: accepted (the CLI moved to cascor)" in "\n".join(lines)
    with pytest.raises(JuniperError, match="--accept-api-change needs a reason"):
        opts([], accept_api_change=" ")


def test_gate_an_unchanged_gui_script_passes(setup, verified):
    """The old gate compared the previous release's gui-scripts with none at all: an unchanged one failed."""
    reg, eco = setup(part="")
    name = "juniper-cascor-worker"
    root, git = eco.checkout(name), Git(eco.checkout(name))
    py = root / "pyproject.toml"
    py.write_text(
        py.read_text() + '\n[project.gui-scripts]\njuniper-cascor-worker-gui = "juniper_cascor_worker.cli:main"\n'
    )
    git.run("commit", "-q", "-am", "feat: a GUI entry")
    bump(reg, eco.workspace, name, "minor", commit=True, out=lambda _m: None)
    git.tag_annotated("v0.5.0", "Release 0.5.0")
    git.run("push", "-q", "--follow-tags", "origin", "main")
    bump(reg, eco.workspace, name, "patch", commit=True, out=lambda _m: None)
    lines: list[str] = []
    release(reg, eco.workspace, name, opts(lines))
    gate = [line for line in lines if "the bump covers the API change" in line]
    assert gate and "FAIL" not in gate[0], lines


@pytest.mark.slow
def test_github_release_carries_the_accepted_api_change(setup, verified, tmp_path):
    reg, eco = setup(part="")
    root = eco.checkout(PKG)
    init = root / "src/juniper_cascor_client/__init__.py"
    init.write_text(init.read_text().replace('__all__ = ["CascorClient", "__version__"]', '__all__ = ["__version__"]'))
    Git(root).run("commit", "-q", "-am", "fix: CascorClient is internal")
    Git(root).run("push", "-q", "origin", "main")
    bump(reg, eco.workspace, PKG, "patch", commit=True, out=lambda _m: None)
    (tmp_path / "ci").mkdir()
    runner = workflow_runner(reg, eco.remotes, tmp_path / "ci", False, 30)
    with FakeGitHub(runner) as fake:
        forge = GitHub(fake.url, token="")
        reason = "nobody imports CascorClient directly"
        release(reg, eco.workspace, PKG, opts([], execute=True, mode="github", accept_api_change=reason), forge=forge)
        rel = forge.release_by_tag(reg.get(PKG).repo, "v0.4.1")
    assert rel is not None and f"(`--accept-api-change`): {reason}" in rel["body"]


def test_gate_github_mode_needs_the_publish_workflow(setup, verified):
    reg, eco = setup(part="", defects="missing-workflow")
    bump(reg, eco.workspace, "juniper-data", "patch", commit=True, out=lambda _m: None)
    with FakeGitHub() as fake:
        lines: list[str] = []
        with pytest.raises(PreflightError) as exc:
            release(
                reg,
                eco.workspace,
                "juniper-data",
                opts(lines, execute=True, mode="github"),
                forge=GitHub(fake.url, token=""),
            )
    assert "publish workflow present" in [g.name for g in exc.value.failures]


def test_gate_github_mode_needs_a_token_for_the_real_api(setup, verified, monkeypatch):
    monkeypatch.delenv("JUNIPER_GITHUB_API_URL", raising=False)  # the real API: no token, no local stand-in
    reg, eco = setup()
    err = _gate_fails(reg, eco, "GitHub token", mode="github")
    gate = next(g for g in err.failures if g.name == "GitHub token")
    assert "GITHUB_TOKEN" in gate.what and "export GITHUB_TOKEN" in gate.fix


def test_execute_without_terminal_needs_yes(setup, verified):
    reg, eco = setup()
    with pytest.raises(JuniperError, match=r"not a terminal.*Fix: pass --yes"):
        release(reg, eco.workspace, PKG, opts([], execute=True, yes=False, interactive=False))


# ---------------------------------------------------------------------------------------------- faults


def test_push_rejected_by_remote_then_resume(setup, verified, monkeypatch):
    reg, eco = setup()
    hook = eco.remote(reg.get(PKG).repo) / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'protected branch' >&2\nexit 1\n")
    hook.chmod(0o755)
    lines: list[str] = []
    with pytest.raises(JuniperError, match=r"step 'push' failed.*Fix: origin rejected the push"):
        release(reg, eco.workspace, PKG, opts(lines, execute=True))
    assert "v0.4.1" not in remote_tags(eco)  # --atomic: nothing pushed
    assert Git(eco.checkout(PKG)).tag_exists("v0.4.1")
    assert not versions(reg.index("testpypi"), PKG)
    hook.unlink()
    again: list[str] = []
    release(reg, eco.workspace, PKG, opts(again, execute=True))
    assert "[   done] tag" in "\n".join(again)
    assert "v0.4.1" in remote_tags(eco) and versions(reg.index("pypi"), PKG) == (Version("0.4.1"),)


def test_ctrl_c_between_tag_and_upload_then_resume(setup, verified, monkeypatch):
    reg, eco = setup()
    real = publish.upload

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(publish, "upload", interrupted)
    with pytest.raises(JuniperError, match=r"interrupted during step 'upload testpypi'.*Fix: re-run"):
        release(reg, eco.workspace, PKG, opts([], execute=True))
    steps = Journal(eco.workspace).steps(f"{PKG}==0.4.1")
    assert {"tag", "push", "build"} <= set(steps) and "upload testpypi" not in steps
    monkeypatch.setattr(publish, "upload", real)
    lines: list[str] = []
    release(reg, eco.workspace, PKG, opts(lines, execute=True))
    text = "\n".join(lines)
    assert "[   done] push" in text and "[     ok] upload testpypi" in text
    listing = publish.indexes.project_listing(reg.index("pypi"), PKG)
    assert len(listing.files) == 2  # one sdist, one wheel: nothing duplicated


def test_prerelease_goes_to_testpypi_only(setup, verified):
    reg, eco = setup(part="pre")
    lines: list[str] = []
    rows = release(reg, eco.workspace, PKG, opts(lines, execute=True))
    assert "upload pypi" not in [r["step"] for r in rows]
    assert versions(reg.index("testpypi"), PKG) == (Version("0.4.1rc1"),)
    assert not versions(reg.index("pypi"), PKG)


@pytest.mark.slow
def test_github_mode_creates_the_release_watches_the_run_and_verifies_install(setup, verified, tmp_path):
    reg, eco = setup()
    runner = workflow_runner(reg, eco.remotes, tmp_path / "ci", False, 30)
    (tmp_path / "ci").mkdir()
    with FakeGitHub(runner) as fake:
        forge = GitHub(fake.url, token="")
        lines: list[str] = []
        release(reg, eco.workspace, PKG, opts(lines, execute=True, mode="github", verify_installs=True), forge=forge)
        rel = forge.release_by_tag(reg.get(PKG).repo, "v0.4.1")
    assert rel is not None and rel["prerelease"] is False and "Initial release" not in rel["body"]
    assert rel["target_commitish"] == Git(eco.checkout(PKG)).head()
    text = "\n".join(lines)
    assert "succeeded" in text and "installs from pypi" in text
    assert versions(reg.index("pypi"), PKG) == (Version("0.4.1"),)


def test_twine_release_uploads_the_very_files_verify_installed(setup, index_servers, monkeypatch, tmp_path):
    """Build once: the release reuses the verified wheelhouse artifacts instead of rebuilding them."""
    from juniper_release.verify.build import sha256_file
    from juniper_release.verify.cache import wheelhouse_dir
    from juniper_release.verify.scheduler import verify_all

    monkeypatch.setenv("JUNIPER_CACHE_DIR", str(tmp_path / "cache"))
    reg, eco = setup()
    report = verify_all(reg, eco.workspace, [PKG])
    assert report.ok, report.render()
    monkeypatch.setenv("JUNIPER_TESTPYPI_TOKEN", TOKEN)
    monkeypatch.setenv("JUNIPER_PYPI_TOKEN", TOKEN)
    lines: list[str] = []
    release(reg, eco.workspace, PKG, opts(lines, execute=True))
    assert "reusing the verified artifacts" in "\n".join(lines)
    verified = {p.name: sha256_file(p) for p in (wheelhouse_dir() / PKG).iterdir() if p.suffix in {".whl", ".gz"}}
    uploaded = {p.name: sha256_file(p) for p in index_servers["pypi"].directory.iterdir()}
    assert len(verified) == 2 and uploaded == verified


def test_fallback_build_inspects_the_wheel_like_verify_does(setup, verified):
    """With no verified artifacts, the tag is built through verify's build path: its wheel inspection applies."""
    reg, eco = setup(defects="stray-tests")
    lines: list[str] = []
    with pytest.raises(JuniperError, match=r"step 'build' failed: .*stray top-level tests/.*Fix: the tests/ package"):
        release(reg, eco.workspace, PKG, opts(lines, execute=True))
    assert "[    run] build" in "\n".join(lines)
    assert not versions(reg.index("testpypi"), PKG)
    assert "build" not in Journal(eco.workspace).steps(f"{PKG}==0.4.1")


@pytest.mark.parametrize(
    "args, message",
    [
        (["release", "--package", PKG, "--timeout", "abc"], "--timeout 'abc' is not a number of seconds"),
        (["release-train", "--timeout", "soon"], "--timeout 'soon' is not a number of seconds"),
        (["release", "--package", PKG, "--mode", "pigeon"], "unknown --mode 'pigeon'"),
        (["release", "--package", "juniper-nope"], "unknown package 'juniper-nope'"),
    ],
)
def test_front_door_bad_options_are_one_line_errors(ecosystem, args, message):
    import os

    env = {**os.environ, "JUNIPER_WORKSPACE": str(ecosystem.workspace)}
    proc = subprocess.run(["invoke", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert message in proc.stderr and "Fix:" in proc.stderr


def test_github_mode_prerelease_is_marked_and_goes_to_testpypi_only(setup, verified, tmp_path):
    reg, eco = setup(part="pre")
    (tmp_path / "ci").mkdir()
    runner = workflow_runner(reg, eco.remotes, tmp_path / "ci", False, 30)
    with FakeGitHub(runner) as fake:
        forge = GitHub(fake.url, token="")
        lines: list[str] = []
        rows = release(reg, eco.workspace, PKG, opts(lines, execute=True, mode="github"), forge=forge)
        rel = forge.release_by_tag(reg.get(PKG).repo, "v0.4.1rc1")
    assert rel is not None and rel["prerelease"] is True
    assert "verify testpypi" in [r["step"] for r in rows] and "verify pypi" not in [r["step"] for r in rows]
    assert "-> testpypi" in lines[0]
    assert versions(reg.index("testpypi"), PKG) == (Version("0.4.1rc1"),)
    assert not versions(reg.index("pypi"), PKG)


def test_front_door_redacts_credentials_in_any_error(tmp_path):
    """A credential in an index URL never reaches a task's one-line error, whatever raised it."""
    import os
    import sys

    env = {
        **os.environ,
        "JUNIPER_CACHE_DIR": str(tmp_path / "cache"),
        "JUNIPER_TESTPYPI_SIMPLE_URL": "ftp://maintainer:s3cr3t-passw0rd@127.0.0.1/simple/",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "invoke", "-r", str(ROOT), "status"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 2 and "JUNIPER_TESTPYPI_SIMPLE_URL" in proc.stderr, proc.stderr
    assert "s3cr3t-passw0rd" not in proc.stdout + proc.stderr

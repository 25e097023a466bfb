"""Fault injection: interruptions and half-done work, and what a re-run makes of them.

FAULTS (the table is the count: each row is one fault and the test that injects it)

== ======================================================================== ==========================================
#  fault                                                                    test
== ======================================================================== ==========================================
1  index gone after the wheel was stored, before the sdist                  test_a_partial_upload_is_finished_...
2  a file of the version already on the index with other content            test_a_partial_upload_is_finished_...
3  Ctrl-C during a post-upload verification, then --resume                  test_ctrl_c_during_verify_...
== ======================================================================== ==========================================
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import release_options as opts
from juniper_release.ecosystem.indexes import project_listing
from juniper_release.ecosystem.registry import load_registry
from juniper_release.errors import JuniperError
from juniper_release.release import gates, publish, steps
from juniper_release.release.journal import Journal
from juniper_release.release.package import release
from juniper_release.release.train import release_train
from juniper_release.release.versioning import bump

ROOT = Path(__file__).resolve().parents[1]
PKG = "juniper-cascor-client"


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
    assert [r.package for r in plan.releases] == [PKG] and plan.outcome == "finished"
    text = "\n".join(lines)
    assert "[     ok] verify pypi" in text and "[     ok] re-check" in text
    table = {
        line.split()[0] + (" " + line.split()[1] if line.split()[1] not in {"ok", "done"} else ""): line
        for line in text.splitlines()[-12:]
        if line.split() and line.split()[0] in {"upload", "verify", "re-check", "push"}
    }
    assert table["verify pypi"].split()[-1] == "now" and table["re-check"].split()[-1] == "now"
    assert table["upload pypi"].split()[-1] == "earlier" and table["push"].split()[-1] == "earlier"
    assert Journal(eco.workspace).finished(f"{PKG}==0.4.1")

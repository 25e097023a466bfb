"""invoke release-train and invoke rehearse: the plan, layer order, the journal, a killed index, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import RELEASE_ORDER, start_index_server
from conftest import release_options as opts
from juniper_release.ecosystem.indexes import project_listing, versions
from juniper_release.ecosystem.registry import load_registry
from juniper_release.errors import JuniperError
from juniper_release.gitops import Git
from juniper_release.output import VERBOSE
from juniper_release.release import gates, publish
from juniper_release.release.journal import Journal
from juniper_release.release.options import Options
from juniper_release.release.train import TrainHalted, release_train
from juniper_release.release.train_plan import plan_train
from juniper_release.release.versioning import bump
from juniper_release.sandbox.rehearse import rehearse
from juniper_release.verify.build import build_package
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def reg(index_env, monkeypatch):
    for key, value in index_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(gates, "is_verified", lambda *a: True)
    return load_registry(ROOT / "repos.toml", env=index_env)


def _publish_current(reg, eco, name: str, tmp_path: Path) -> None:
    files = sorted(build_package(reg, reg.get(name), eco.workspace, tmp_path / f"dist-{name}").artifacts)
    publish.upload(reg.index("pypi"), name, files)


def test_plan_says_what_needs_a_bump_and_which_dependents_must_follow(reg, make_ecosystem, tmp_path):
    eco = make_ecosystem(unreleased=["juniper-cascor-client"])
    for name in ("juniper-data-client", "juniper-cascor-client", "juniper-data", "juniper-ml"):
        _publish_current(reg, eco, name, tmp_path)
    plan = plan_train(reg, eco.workspace, "juniper-cascor-client,juniper-data-client,juniper-data,juniper-ml")
    rows = {r.package: r for r in plan.rows}
    assert (
        rows["juniper-cascor-client"].action == "needs bump" and "invoke bump" in rows["juniper-cascor-client"].reason
    )
    assert rows["juniper-data-client"].action == "up to date"
    bump(reg, eco.workspace, "juniper-data-client", "minor", commit=True, out=lambda _m: None)
    plan = plan_train(reg, eco.workspace, "juniper-data-client,juniper-data,juniper-ml")
    rows = {r.package: r for r in plan.rows}
    assert rows["juniper-data-client"].action == "release"
    assert (
        rows["juniper-data"].action == "follow" and "excludes juniper-data-client 0.4.0" in rows["juniper-data"].reason
    )
    assert rows["juniper-ml"].action == "follow"
    data = json.loads(plan.render("json"))
    assert [r["package"] for r in data["packages"]][:3] == [
        "juniper-cascor-client",
        "juniper-cascor-worker",
        "juniper-data-client",
    ]
    # The dependents that must follow halt with their reason; the package they depend on is independent of them.
    docs: list[str] = []
    with pytest.raises(
        TrainHalted, match=r"halted juniper-data: follow: .*excludes juniper-data-client 0\.4\.0"
    ) as info:
        release_train(
            reg,
            eco.workspace,
            opts([], execute=True),
            "juniper-data-client,juniper-data,juniper-ml",
            fmt="json",
            emit=docs.append,
        )
    assert info.value.exit_code == 1 and "halted juniper-ml: follow:" in str(info.value)
    outcomes = {r["package"]: (r["outcome"], r["reason"]) for r in json.loads(docs[0])["packages"]}
    assert outcomes["juniper-data-client"] == ("released", "")
    assert outcomes["juniper-data"][0] == outcomes["juniper-ml"][0] == "halted"
    assert outcomes["juniper-cascor"][0] == "halted"  # not selected, but its specifier must follow all the same
    assert outcomes["juniper-cascor-worker"] == ("skipped", "not selected (--packages)")
    assert Git(eco.checkout("juniper-data-client")).tag_exists("v0.4.0")


def test_train_releases_layer_by_layer_survives_a_killed_index_and_resumes(reg, make_ecosystem, index_servers):
    eco = make_ecosystem()
    chosen = ",".join(reg.names)
    for name in reg.names:
        bump(reg, eco.workspace, name, "patch", commit=True, out=lambda _m: None)
    dry: list[str] = []
    release_train(reg, eco.workspace, opts(dry), chosen)
    assert "[  would] push" in "\n".join(dry) and not Git(eco.checkout("juniper-data")).tag_exists("v0.6.1")

    pypi = index_servers["pypi"]
    lines: list[str] = []
    state = {"layer1": False}

    def out(line: str) -> None:
        lines.append(line)
        if "---- layer 1" in line:
            state["layer1"] = True
        if state["layer1"] and "[     ok] verify testpypi" in line and pypi.process.poll() is None:
            pypi.stop()  # the index dies in the middle of the train

    with pytest.raises(
        TrainHalted,
        match=r"(?s)halted juniper-(data|cascor): .*step 'upload pypi' (failed|could not be checked).*held juniper-ml.*"
        r"re-run to resume",
    ):
        release_train(
            reg,
            eco.workspace,
            Options(out=out, mode="twine", yes=True, execute=True, verify_installs=False, timeout=30, direct_push=True),
            chosen,
        )
    text = "\n".join(lines)
    assert text.index("juniper-data-client 0.3.2") < text.index("---- layer 1")
    assert "juniper-ml 0.6.1" not in text  # layer 2 never started
    journal = Journal(eco.workspace)
    assert journal.train is not None and not journal.train["finished"]

    restarted = start_index_server("pypi", pypi.directory, pypi.port)
    try:
        again: list[str] = []
        release_train(reg, eco.workspace, opts(again, execute=True), chosen)
        text = "\n".join(again)
        assert "[   done] upload testpypi" in text and "[     ok] upload pypi" in text
        for name, version in (("juniper-data-client", "0.3.2"), ("juniper-data", "0.6.1"), ("juniper-ml", "0.6.1")):
            assert versions(reg.index("pypi"), name) == (Version(version),)
            assert len(project_listing(reg.index("pypi"), name).files) == 2
            assert reg.tag_for(version) in Git(eco.checkout(name)).remote_tags()
        assert Journal(eco.workspace).train["finished"]
        final: list[str] = []
        release_train(reg, eco.workspace, opts(final, execute=True), chosen)
        assert "the release train already finished: nothing to do" in "\n".join(final)
    finally:
        restarted.stop()


@pytest.mark.slow
def test_rehearse_killed_in_the_middle_resumes_without_duplicates(make_ecosystem, tmp_path, monkeypatch):
    monkeypatch.setattr(gates, "is_verified", lambda *a: True)
    eco = make_ecosystem()
    lines: list[str] = []

    def out(line: str) -> None:
        lines.append(line)
        if "---- layer 1" in line and not any("resuming" in x for x in lines):
            raise KeyboardInterrupt  # Ctrl-C between layers

    # -v: the layer lines are shown (the default digest prints only the outcome table)
    kwargs = {"run_verify": False, "verify_installs": False, "timeout": 60, "out": out, "verbosity": VERBOSE}
    with pytest.raises(JuniperError, match=r"interrupted.*`invoke rehearse --resume"):
        rehearse(ROOT / "repos.toml", eco.workspace, tmp_path / "reh", **kwargs)
    # the train's table says what is true: layer 0 released, the rest not started (never "connection refused")
    table = next(line for line in reversed(lines) if line.startswith("package"))
    assert "not started" in table and "halted" not in table and "refused" not in table
    assert all(f"{name} " in table and "released" in table.split(name)[1].split("\n")[0] for name in RELEASE_ORDER[:3])
    docs: list[str] = []
    rows = rehearse(
        ROOT / "repos.toml", eco.workspace, tmp_path / "reh", resume=True, fmt="json", emit=docs.append, **kwargs
    )
    assert len(rows) == 6
    # --json: the train's outcome table as one document, as release-train --json prints it; progress went to out
    [doc] = docs
    outcomes = json.loads(doc)["packages"]
    assert sorted(r["package"] for r in outcomes) == sorted(RELEASE_ORDER)
    assert {r["outcome"] for r in outcomes} == {"released", "skipped"} and set(outcomes[0]) == {
        "package",
        "version",
        "outcome",
        "reason",
    }
    assert not any(line.lstrip().startswith("{") for line in lines)
    assert all(r["tag on origin"] and r["GitHub release"] and r["testpypi"] and r["pypi"] for r in rows)
    text = "\n".join(lines)
    assert text.index("---- layer 0") < text.index("---- layer 1") < text.index("---- layer 2")
    for name in ("testpypi", "pypi"):
        assert len(list((tmp_path / "reh" / f"index-{name}").iterdir())) == 12  # sdist + wheel each, never twice
    assert Git(eco.checkout("juniper-data")).tags() == ["v0.6.0"]  # the source workspace is untouched


def test_execute_json_prints_one_document_with_the_outcome(reg, make_ecosystem):
    eco = make_ecosystem()
    name = "juniper-cascor-client"
    bump(reg, eco.workspace, name, "patch", commit=True, out=lambda _m: None)
    docs: list[str] = []
    progress: list[str] = []
    release_train(reg, eco.workspace, opts(progress, execute=True), name, fmt="json", emit=docs.append)
    assert len(docs) == 1
    doc = json.loads(docs[0])
    assert [tuple(r) for r in doc["packages"]] == [("package", "version", "outcome", "reason")] * 6
    assert [r["package"] for r in doc["packages"] if r["outcome"] == "released"] == [name]
    assert {r["outcome"] for r in doc["packages"] if r["package"] != name} == {"skipped"}
    assert any("[     ok] upload pypi" in line for line in progress)
    # a failing train still prints its one document, naming the error
    (eco.checkout("juniper-data") / "README.md").write_text("dirty\n")
    bump(reg, eco.workspace, "juniper-data", "patch", commit=True, force=True, out=lambda _m: None)
    docs.clear()
    with pytest.raises(TrainHalted, match="halted juniper-data: preflight gate 'clean tree' failed"):
        release_train(reg, eco.workspace, opts([], execute=True), "juniper-data", fmt="json", emit=docs.append)
    row = next(r for r in json.loads(docs[0])["packages"] if r["package"] == "juniper-data")
    assert row["outcome"] == "halted" and "clean tree" in row["reason"]


def test_execute_without_terminal_needs_yes_before_any_change(reg, make_ecosystem):
    eco = make_ecosystem()
    name = "juniper-cascor-client"
    bump(reg, eco.workspace, name, "patch", commit=True, out=lambda _m: None)
    lines: list[str] = []
    with pytest.raises(JuniperError, match=r"not a terminal.*Fix: pass --yes"):
        release_train(reg, eco.workspace, opts(lines, execute=True, yes=False, interactive=False), name)
    assert "preflight (all packages, before any change):" not in lines
    assert Journal(eco.workspace).train is None


def test_front_door_json_keeps_stdout_valid_json_when_a_gate_fails(index_env, make_ecosystem, tmp_path):
    import os
    import subprocess

    eco = make_ecosystem()
    name = "juniper-cascor-client"
    env_reg = load_registry(ROOT / "repos.toml", env=index_env)
    bump(env_reg, eco.workspace, name, "patch", commit=True, out=lambda _m: None)
    env = {
        **os.environ,
        **index_env,
        "JUNIPER_WORKSPACE": str(eco.workspace),
        "JUNIPER_CACHE_DIR": str(tmp_path / "empty-cache"),  # nothing verified: the verify gate fails
    }
    cmd = [
        "invoke",
        "release-train",
        "--packages",
        name,
        "--execute",
        "--yes",
        "--json",
        "--mode",
        "twine",
        "--direct-push",
    ]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    row = next(r for r in json.loads(proc.stdout)["packages"] if r["package"] == name)
    assert row["outcome"] == "halted" and "verified at this commit" in row["reason"]
    assert f"error: the release train stopped 1 package(s): halted {name}:" in proc.stderr
    assert "[FAIL] verified at this commit" in proc.stderr
    assert not Git(eco.checkout(name)).tag_exists("v0.4.1")


def test_a_layer_waits_until_the_layer_below_is_installable(reg, make_ecosystem, index_servers):
    eco = make_ecosystem()
    chosen = "juniper-data-client,juniper-data"
    for name in chosen.split(","):
        bump(reg, eco.workspace, name, "patch", commit=True, out=lambda _m: None)
    lines: list[str] = []

    def out(line: str) -> None:
        lines.append(line)
        if "waiting until the layer below is installable" in line:
            for f in index_servers["pypi"].directory.iterdir():  # layer 0 vanishes from the index
                f.unlink()

    with pytest.raises(
        TrainHalted,
        match=r"held juniper-data \(layer 1 was not started: timed out .* juniper-data-client 0.3.2 on pypi",
    ):
        release_train(
            reg,
            eco.workspace,
            Options(out=out, mode="twine", yes=True, execute=True, verify_installs=False, timeout=2, direct_push=True),
            chosen,
        )
    assert "---- layer 1" not in "\n".join(lines)
    assert not Git(eco.checkout("juniper-data")).tag_exists("v0.6.1")
    assert Journal(eco.workspace).train["finished"] is None


def test_rehearsal_bumps_are_judged_from_reality_so_a_resume_never_bumps_twice(make_ecosystem, registry):
    from juniper_release.ecosystem.project import read_project
    from juniper_release.sandbox.rehearse import bump_all

    eco = make_ecosystem()
    first = bump_all(registry, eco.workspace)
    assert all("->" in line for line in first)
    again = bump_all(registry, eco.workspace)
    assert all("already bumped" in line for line in again)
    assert str(read_project(load_registry().get("juniper-data"), eco.checkout("juniper-data")).version) == "0.6.1"


@pytest.mark.parametrize("bumps", ["dependency-first", "dependent-first", "uncommitted"])
def test_a_train_releases_two_sub_packages_of_one_repository_in_layer_order(index_env, monkeypatch, tmp_path, bumps):
    """Two packages of juniper-ml, service-core requiring model-core (layers 0 and 1), released in one train: their
    bumps committed in either order, or both left for the release to commit (the second bumped with --force)."""
    from juniper_release.sandbox.grown import create_grown

    for key, value in index_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(gates, "is_verified", lambda *a: True)
    grown = load_registry(ROOT / "registries" / "grown.toml", env=index_env)
    eco = create_grown(tmp_path / "ws", grown, remotes=tmp_path / "remotes")
    core, service = "juniper-model-core", "juniper-service-core"
    assert grown.get(core).path == grown.get(service).path == "juniper-ml"
    order = (service, core) if bumps == "dependent-first" else (core, service)
    for name in order:
        bump(grown, eco.workspace, name, "patch", commit=bumps != "uncommitted", force=True, out=lambda _m: None)
    repo = Git(eco.workspace / "juniper-ml")
    before = repo.head()

    lines: list[str] = []
    plan = release_train(grown, eco.workspace, opts(lines, execute=True), f"{service},{core}")
    text = "\n".join(lines)
    outcomes = {r.package: r.outcome for r in plan.rows if r.outcome != "skipped"}
    assert outcomes == {core: "released", service: "released"}
    log = repo.run("log", "-2", "--format=%H %s").splitlines()
    commit = {s.split(" ", 1)[1].split(" ")[1]: s.split(" ", 1)[0] for s in log}  # package -> its bump commit
    assert log[0].endswith(f"Bump {order[1]} to {'0.5.2' if order[1] == service else '0.3.2'}")
    assert repo.run("rev-parse", f"{commit[order[1]]}^") == commit[order[0]]
    assert repo.is_clean() and (before != repo.head()) == (bumps == "uncommitted")
    bare = Git(tmp_path / "remotes" / "pcalnon" / "juniper-ml.git")
    # Each tag names the commit that bumped its package, not the newest commit of the shared repository.
    assert bare.run("rev-parse", f"{core}-v0.3.2^{{commit}}") == commit[core]
    assert bare.run("rev-parse", f"{service}-v0.5.2^{{commit}}") == commit[service]
    assert bare.run("rev-parse", "refs/heads/main") == commit[order[1]]  # fast-forwards only: nothing was rejected
    assert "rejected" not in text and "non-fast-forward" not in text
    # Layer order: model-core (layer 0) pushed before service-core (layer 1) started.
    pushes = [line for line in lines if "[     ok] push" in line]
    assert len(pushes) == 2 and text.index(pushes[0]) < text.index("---- layer 1") < text.index(pushes[1])
    if bumps == "dependency-first":  # model-core pushed its bump commit alone, below service-core's
        assert f"push --atomic origin {commit[core]}:refs/heads/main {core}-v0.3.2" in text
    if bumps == "dependent-first":  # model-core's push carried service-core's earlier bump: only its tag is left
        assert pushes[0].endswith(f"pushed main and {core}-v0.3.2")
        assert pushes[1].endswith(f"pushed {service}-v0.5.2 (main on origin already holds {commit[service][:8]})")
    else:
        assert pushes[0].endswith(f"pushed main and {core}-v0.3.2")
        assert pushes[1].endswith(f"pushed main and {service}-v0.5.2")
    for name, version in ((core, "0.3.2"), (service, "0.5.2")):
        assert versions(grown.index("pypi"), name) == (Version(version),)
    assert Journal(eco.workspace).train["finished"]


def test_a_halt_carries_the_verification_own_failure_line_and_its_dependents_name_it(
    index_env, monkeypatch, make_ecosystem
):
    """The root cause, not "verify has not passed": the train quotes the failed verification's own line."""
    from juniper_release.verify.scheduler import verify_all

    for key, value in index_env.items():
        monkeypatch.setenv(key, value)
    reg = load_registry(ROOT / "repos.toml", env=index_env)
    eco = make_ecosystem("stray-tests")
    name = "juniper-cascor-client"
    bump(reg, eco.workspace, name, "patch", commit=True, out=lambda _m: None)
    report = verify_all(reg, eco.workspace, [name], log=lambda _m: None)
    assert [r.status for r in report.results] == ["failed"]
    with pytest.raises(TrainHalted) as info:
        release_train(reg, eco.workspace, opts([]), name)
    assert f"halted {name}: preflight gate 'verified at this commit' failed: verify({name}) failed at commit" in str(
        info.value
    )
    assert "ships stray top-level tests/" in str(info.value)

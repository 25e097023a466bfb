"""The live version matrix against real local pypiserver indexes and real git checkouts."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import RELEASE_ORDER, ROOT, IndexServer, free_port, publish_wheel, run_task, serve_pages
from juniper_release.ecosystem.registry import load_registry
from juniper_release.ecosystem.status import COLUMNS, State, collect, exit_code, render, run
from juniper_release.gitops import Git
from juniper_release.sandbox.standin import VERSIONS
from packaging.version import Version


def publish_all(server: IndexServer, versions: dict[str, str] | None = None) -> None:
    for name, version in (versions or VERSIONS).items():
        publish_wheel(server, name, version)


def _rows(registry, workspace, warnings=None):
    sink = warnings if warnings is not None else []
    return {row.package: row for row in collect(registry, workspace, timeout=3, warn=sink.append)}


def test_up_to_date_in_release_order(ecosystem, local_registry, index_servers):
    publish_all(index_servers["pypi"])
    publish_all(index_servers["testpypi"])
    warnings: list[str] = []
    rows = collect(local_registry, ecosystem.workspace, timeout=3, warn=warnings.append)
    assert warnings == []
    assert tuple(r.package for r in rows) == RELEASE_ORDER
    assert {r.state for r in rows} == {State.UP_TO_DATE}
    dc = next(r for r in rows if r.package == "juniper-data-client")
    assert dc.as_dict() == {
        "package": "juniper-data-client",
        "layer": 0,
        "pyproject_version": "0.3.1",
        "module_version": "0.3.1",
        "latest_tag": "v0.3.1",
        "commits_since_tag": 0,
        "pypi_version": "0.3.1",
        "testpypi_version": "0.3.1",
        "state": "UP_TO_DATE",
    }
    by = {r.package: r for r in rows}
    assert by["juniper-cascor-worker"].module_version == "derived"
    assert by["juniper-ml"].module_version == "none" and by["juniper-ml"].layer == 2


def test_unreleased_changes(make_ecosystem, local_registry, index_servers):
    eco = make_ecosystem(unreleased=["juniper-data"])
    publish_all(index_servers["pypi"])
    rows = _rows(local_registry, eco.workspace)
    assert rows["juniper-data"].state is State.UNRELEASED_CHANGES
    assert rows["juniper-data"].commits_since_tag == 1
    assert rows["juniper-data"].testpypi_version is None
    assert rows["juniper-ml"].state is State.UP_TO_DATE


def _bump(root: Path, old: str, new: str, files: tuple[str, ...]) -> None:
    for rel in files:
        path = root / rel
        path.write_text(path.read_text(encoding="utf-8").replace(f'"{old}"', f'"{new}"'), encoding="utf-8")
    git = Git(root)
    git.run("commit", "-q", "-am", f"Bump version to {new}")


def test_bumped_not_released_and_never_released(ecosystem, local_registry, index_servers):
    publish_all(index_servers["pypi"], {k: v for k, v in VERSIONS.items() if k != "juniper-ml"})
    root = ecosystem.checkout("juniper-data-client")
    _bump(root, "0.3.1", "0.3.2", ("pyproject.toml", "src/juniper_data_client/__init__.py"))
    publish_wheel(index_servers["testpypi"], "juniper-data-client", "0.3.2rc1")
    rows = _rows(local_registry, ecosystem.workspace)
    dc = rows["juniper-data-client"]
    assert dc.state is State.BUMPED_NOT_RELEASED
    assert (dc.pyproject_version, dc.latest_tag, dc.commits_since_tag) == ("0.3.2", "v0.3.1", 1)
    assert dc.testpypi_version == "0.3.2rc1"
    assert rows["juniper-ml"].state is State.NEVER_RELEASED and rows["juniper-ml"].pypi_version is None


def test_anomalies(make_ecosystem, local_registry, index_servers):
    eco = make_ecosystem("version-mismatch")
    publish_all(index_servers["pypi"], {**VERSIONS, "juniper-data": "0.7.0"})
    # juniper-cascor: tag v0.5.0 moved onto a commit whose pyproject says 0.5.1.
    cascor = eco.checkout("juniper-cascor")
    _bump(cascor, "0.5.0", "0.5.1", ("pyproject.toml", "juniper_cascor/__init__.py"))
    Git(cascor).run("tag", "-f", "-a", "v0.5.0", "-m", "moved")
    rows = _rows(local_registry, eco.workspace)
    assert rows["juniper-data-client"].state is State.ANOMALY
    assert "__version__ 0.3.0 != pyproject 0.3.1" in rows["juniper-data-client"].reasons[0]
    assert rows["juniper-data"].state is State.ANOMALY
    assert "checkout behind PyPI: pyproject 0.6.0 is below the released 0.7.0" in rows["juniper-data"].reasons
    assert rows["juniper-cascor"].state is State.ANOMALY
    assert "tag v0.5.0 is on a commit whose pyproject says 0.5.1" in rows["juniper-cascor"].reasons
    assert rows["juniper-ml"].state is State.UP_TO_DATE
    table = render(list(rows.values()))
    assert "anomalies:" in table and "juniper-data: checkout behind PyPI: pyproject 0.6.0 is below" in table


def test_stale_higher_tag_is_not_the_latest(ecosystem, local_registry, index_servers):
    root = ecosystem.checkout("juniper-data-client")
    # A pre-reset tag: higher by string sort *and* by version than the released v0.3.1.
    Git(root).run("tag", "v0.25.0-alpha")
    publish_all(index_servers["pypi"])
    rows = _rows(local_registry, ecosystem.workspace)
    assert rows["juniper-data-client"].latest_tag == "v0.3.1"
    assert rows["juniper-data-client"].state is State.UP_TO_DATE


def test_unreachable_index_shows_unknown_and_every_state_is_unknown(ecosystem, registry, index_servers):
    closed = f"http://maintainer:s3cr3t-passw0rd@127.0.0.1:{free_port()}/simple/"
    env = {"JUNIPER_PYPI_SIMPLE_URL": closed, "JUNIPER_TESTPYPI_SIMPLE_URL": index_servers["testpypi"].index.simple_url}
    reg = load_registry(ROOT / "repos.toml", env=env)
    root = ecosystem.checkout("juniper-data-client")
    Git(root).run("tag", "v0.25.0-alpha")
    warnings: list[str] = []
    rows = _rows(reg, ecosystem.workspace, warnings)
    assert len(warnings) == 1 and "pypi: cannot reach" in warnings[0] and "unknown" in warnings[0]
    assert "s3cr3t-passw0rd" not in warnings[0] and "maintainer:***@" in warnings[0]
    assert all(r.pypi_version == "unknown" for r in rows.values())
    assert rows["juniper-data-client"].latest_tag == "v0.3.1"
    assert {r.state for r in rows.values()} == {State.UNKNOWN}  # the tags alone do not say what PyPI has
    assert rows["juniper-data"].reasons == ("PyPI could not be read, so whether 0.6.0 is released is unknown",)
    table = render(list(rows.values()))
    assert "\n\nunknown:\n- " in table and "- juniper-data-client: PyPI could not be read" in table
    assert "anomalies:" not in table
    assert exit_code(list(rows.values())) == 1


def test_cycle_still_gives_rows(make_ecosystem, local_registry):
    warnings: list[str] = []
    rows = _rows(local_registry, make_ecosystem("cycle").workspace, warnings)
    assert len(rows) == 6 and any("dependency cycle" in w for w in warnings)


def test_status_task_json_markdown_and_table(ecosystem, index_env, index_servers):
    publish_all(index_servers["pypi"])
    env = dict(index_env)

    def run(*extra: str):
        return run_task("status", "--workspace", str(ecosystem.workspace), *extra, env=env)

    as_json = run("--json", "--timeout", "3")
    assert as_json.returncode == 0, as_json.stderr
    data = json.loads(as_json.stdout)
    assert [tuple(d) for d in data] == [COLUMNS] * 6
    assert {d["state"] for d in data} == {"UP_TO_DATE"}
    markdown = run("--markdown")
    assert markdown.stdout.startswith("| package | layer |") and "|---|" in markdown.stdout
    table = run()
    assert table.stdout.splitlines()[0].split() == list(COLUMNS)
    env["JUNIPER_PYPI_SIMPLE_URL"] = f"http://127.0.0.1:{free_port()}/simple/"
    down = run("--json", "--timeout", "1")
    assert down.returncode == 1 and "warning: pypi: cannot reach" in down.stderr and "Traceback" not in down.stderr
    assert {d["pypi_version"] for d in json.loads(down.stdout)} == {"unknown"}
    assert {d["state"] for d in json.loads(down.stdout)} == {"UNKNOWN"}


def test_sandbox_status_never_compares_the_stand_ins_with_the_real_indexes(tmp_path, monkeypatch):
    """The stand-in packages share the real names: without local index overrides, no index is queried."""
    for key in ("JUNIPER_PYPI_SIMPLE_URL", "JUNIPER_TESTPYPI_SIMPLE_URL"):
        monkeypatch.delenv(key, raising=False)
    proc = run_task("status", "--sandbox", "--json", env={"JUNIPER_CACHE_DIR": str(tmp_path / "cache")})
    assert proc.returncode == 0, proc.stderr
    assert "real indexes are not queried" in proc.stderr
    rows = json.loads(proc.stdout)
    assert {row["state"] for row in rows} == {"UP_TO_DATE"}
    assert {row["pypi_version"] for row in rows} == {"unknown"}


def test_pre_releases_on_pypi_are_not_the_release_of_a_final_version(ecosystem, registry):
    """PyPI's "latest" ignores pre-releases: an outstanding 0.4.0rc1 must not make 0.3.x look like a downgrade."""
    from juniper_release.ecosystem.project import read_project
    from juniper_release.ecosystem.status import package_status

    pkg = registry.get("juniper-data-client")
    root = ecosystem.checkout(pkg.path)

    def row(*on_pypi: str):
        return package_status(registry, pkg, read_project(pkg, root), 0, tuple(map(Version, on_pypi)), ())

    up = row("0.3.1", "0.4.0rc1")
    assert (up.state, up.latest_tag, up.pypi_version, up.reasons) == (State.UP_TO_DATE, "v0.3.1", "0.4.0rc1", ())
    _bump(root, "0.3.1", "0.3.2", ("pyproject.toml", "src/juniper_data_client/__init__.py"))
    bumped = row("0.3.1", "0.4.0rc1")
    assert (bumped.state, bumped.latest_tag, bumped.reasons) == (State.BUMPED_NOT_RELEASED, "v0.3.1", ())
    # A released pre-release is the release of a checkout declaring it; the final after it is a bump.
    _bump(root, "0.3.2", "0.4.0rc1", ("pyproject.toml", "src/juniper_data_client/__init__.py"))
    Git(root).run("tag", "-a", "v0.4.0rc1", "-m", "rc")
    rc = row("0.3.1", "0.4.0rc1")
    assert (rc.state, rc.latest_tag, rc.commits_since_tag) == (State.UP_TO_DATE, "v0.4.0rc1", 0)
    assert row("0.3.1").state is State.BUMPED_NOT_RELEASED
    behind = "checkout behind PyPI: pyproject 0.4.0rc1 is below the released 0.5.0"
    assert row("0.4.0rc1", "0.3.1", "0.5.0").reasons == (behind,)  # on PyPI, but a final came after it
    assert behind in row("0.5.0").reasons


def test_an_index_answering_garbage_is_unknown_not_a_traceback(ecosystem, registry):
    """A proxy or captive portal answering non-simple-API JSON is reported like an unreachable index."""
    with serve_pages({}, default=b"<html>not json</html>") as base:
        url = f"{base}/simple/"
        reg = load_registry(
            ROOT / "repos.toml", env={"JUNIPER_PYPI_SIMPLE_URL": url, "JUNIPER_TESTPYPI_SIMPLE_URL": url}
        )
        warnings: list[str] = []
        rows = _rows(reg, ecosystem.workspace, warnings)
    assert len(warnings) == 2 and all("did not answer with a simple-API JSON page" in w for w in warnings)
    assert {r.pypi_version for r in rows.values()} == {"unknown"}


def test_show_queries_no_index_for_the_sandbox_unless_pointed_at_local_ones(ecosystem, registry, local_registry):
    notes: list[str] = []
    text, _ = run(registry, ecosystem.workspace, sandbox=True, fmt="json", timeout=1, warn=notes.append)
    assert "the real indexes are not queried" in notes[0] and len(notes) == 2
    assert {row["pypi_version"] for row in json.loads(text)} == {"unknown"}
    notes.clear()
    text, _ = run(local_registry, ecosystem.workspace, sandbox=True, fmt="json", timeout=3, warn=notes.append)
    assert notes == [] and {row["pypi_version"] for row in json.loads(text)} == {None}

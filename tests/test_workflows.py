"""GitHub Actions: this repo's workflows, the rendered per-package workflows, their embedded scripts, the CI
matrix and ``invoke workflows --check | --write`` on a real stand-in ecosystem."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import PACKAGE_NAMES, ROOT, run_task, start_index_server
from juniper_release.ecosystem.registry import PYTHON_CANDIDATES, Package, Registry, WorkspaceError
from juniper_release.errors import EXIT_FINDINGS, EXIT_OK, ConfigError, JuniperError
from juniper_release.github import pins
from juniper_release.github import workflows as wf
from juniper_release.sandbox.standin import Ecosystem

EcosystemFactory = Any
REPO_WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
WORKFLOW_NAMES = {"publish.yml", "validate.yml"}


def tool(name: str) -> str:
    found = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(found).exists():
        pytest.fail(f"{name} is not installed. Fix: pip install -e '.[test]'")
    return found


def lint(files: list[Path]) -> None:
    """Both validators on all files at once (one process each)."""
    al = subprocess.run(
        [tool("actionlint"), "-no-color", *map(str, files)], check=False, capture_output=True, text=True
    )
    assert al.returncode == 0, al.stdout + al.stderr
    cj = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *map(str, files)],
        check=False,
        capture_output=True,
        text=True,
    )
    assert cj.returncode == 0, cj.stdout + cj.stderr


def load(text: str) -> dict[str, Any]:
    doc = yaml.safe_load(text)
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as true
    return dict(doc)


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job["steps"])


def run_scripts(doc: dict[str, Any]) -> list[str]:
    return [s["run"] for job in doc["jobs"].values() for s in job.get("steps", []) if "run" in s]


def step_named(doc: dict[str, Any], job: str, start: str) -> dict[str, Any]:
    return next(s for s in doc["jobs"][job]["steps"] if s.get("name", "").startswith(start))


@pytest.fixture(scope="module")
def rendered(registry: Registry) -> dict[str, dict[str, str]]:
    """Every package's rendered workflows: {package: {file name: text}}."""
    out: dict[str, dict[str, str]] = {}
    for r in wf.render_all(registry):
        out.setdefault(r.package, {})[Path(r.path).name] = r.text
    return out


# ----------------------------------------------------------------------------------------------- lint


def test_repo_workflows_pass_actionlint_and_schema() -> None:
    assert {p.name for p in REPO_WORKFLOWS} >= {"ci.yml", "ecosystem-release.yml"}
    lint(REPO_WORKFLOWS)


def test_every_rendered_workflow_passes_actionlint_and_schema(
    tmp_path: Path, rendered: dict[str, dict[str, str]]
) -> None:
    files = []
    for package, texts in rendered.items():
        for name, text in texts.items():
            if name not in WORKFLOW_NAMES:
                continue
            path = tmp_path / package / ".github" / "workflows" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            files.append(path)
    assert len(files) == 12
    lint(files)


# ----------------------------------------------------------------------------------------------- pinned actions

# Written independently of pins.USES: a `uses:` line is pinned only as `owner/name[/path]@<40 hex> # v<version>`.
PINNED_LINE = re.compile(r"^\s*(?:-\s+)?uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(?:\.\d+)*$")


def every_workflow(rendered: dict[str, dict[str, str]]) -> dict[str, str]:
    """This repository's workflows and every rendered workflow: {label: text}."""
    out = {p.relative_to(ROOT).as_posix(): p.read_text(encoding="utf-8") for p in REPO_WORKFLOWS}
    for package, texts in rendered.items():
        out.update({f"{package}/{name}": text for name, text in texts.items() if name in WORKFLOW_NAMES})
    return out


def unpinned_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if "uses:" in line and not PINNED_LINE.match(line)]


def test_every_uses_is_pinned_to_a_commit_sha_with_its_version_comment(
    rendered: dict[str, dict[str, str]],
) -> None:
    workflows = every_workflow(rendered)
    assert len(workflows) == len(REPO_WORKFLOWS) + 12
    bad = {label: lines for label, text in workflows.items() if (lines := unpinned_lines(text))}
    assert bad == {}, "pin each `uses:` from scripts/juniper_release/github/pins.py"
    used = set()
    for label, text in workflows.items():
        assert pins.unpinned(text) == [], label
        for match in pins.USES.finditer(text):
            pin = pins.PINS[match["action"]]  # every action comes from the table ...
            assert (match["ref"], match["comment"].strip()) == (pin.sha, f"# {pin.tag}"), label  # ... as it says
            used.add(pin.action)
    assert used == set(pins.PINS), "the table holds no action that no workflow uses"


@pytest.mark.parametrize(
    "line",
    [
        "      - uses: actions/checkout@v5",
        "      - uses: pypa/gh-action-pypi-publish@release/v1",
        "      - uses: actions/checkout",
        "      - uses: actions/checkout@fbc6f3992d24b796d5a048ff273f7fcc4a7b6c09",
        "      - uses: actions/checkout@fbc6f39 # v5.1.0",
        "    uses: octo/reusable/.github/workflows/ci.yml@main",
        "      - uses: 'actions/checkout@v5'  # v5",
        "      - uses: docker://alpine:3.20",
    ],
)
def test_the_pin_test_fails_on_an_unpinned_uses(line: str) -> None:
    text = f"jobs:\n  a:\n    steps:\n{line}\n"
    assert unpinned_lines(text) == [line.strip()]
    assert [u.line for u in pins.unpinned(text)] == [4]


def test_local_and_digest_references_count_as_pinned() -> None:
    text = "    steps:\n      - uses: ./.github/actions/setup\n      - uses: docker://alpine@sha256:" + "a" * 64 + "\n"
    assert pins.unpinned(text) == []


def test_the_pin_table_holds_real_looking_pins() -> None:
    for action, pin in pins.PINS.items():
        assert action == pin.action and re.fullmatch(r"[\w.-]+/[\w.-]+", action)
        assert pins.SHA.fullmatch(pin.sha), f"{action}: a full 40-hex commit SHA"
        assert re.fullmatch(r"v\d+\.\d+\.\d+", pin.tag), f"{action}: the release tag the SHA was resolved from"
        assert pin.ref == f"{action}@{pin.sha} # {pin.tag}"
    assert len({p.sha for p in pins.PINS.values()}) == len(pins.PINS)


def test_templates_name_actions_without_a_version() -> None:
    for template in sorted(wf.TEMPLATES.glob("*.yml")):
        for line in template.read_text(encoding="utf-8").splitlines():
            if "uses:" in line:
                assert "@" not in line, f"{template.name}: {line.strip()} (the version comes from pins.PINS)"


def test_a_template_action_missing_from_the_table_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "t.yml").write_text("steps:\n  - uses: octo/unknown-action\n", encoding="utf-8")
    with pytest.raises(JuniperError, match="octo/unknown-action has no pin") as info:
        wf.render_template("t.yml", {}, {}, tmp_path)
    assert "PINS" in info.value.fix


def test_repo_workflows_match_the_pin_table() -> None:
    assert pins.stale_repo_workflows(ROOT) == {}, "Fix: run `invoke pin-actions --write`"
    proc = run_task("pin-actions", timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"0 workflow file(s) re-pinned, {len(REPO_WORKFLOWS)} already match the pin table" in proc.stdout


def test_one_edit_of_the_table_moves_every_workflow(
    monkeypatch: pytest.MonkeyPatch, registry: Registry, tmp_path: Path
) -> None:
    old = pins.PINS["actions/checkout"]
    new = pins.Pin(old.action, "v5.9.9", "0123456789abcdef0123456789abcdef01234567")
    monkeypatch.setattr(pins, "PINS", {**pins.PINS, old.action: new})
    for r in wf.render_all(registry):
        if "actions/checkout" in r.text:
            assert new.ref in r.text and old.sha not in r.text
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / ".github", repo / ".github")
    stale = pins.stale_repo_workflows(repo)
    assert {p.name for p in stale} == {p.name for p in REPO_WORKFLOWS}
    out: list[str] = []
    err: list[str] = []
    assert pins.run_pin_actions(repo, write=False, out=out.append, err=err.append) == EXIT_FINDINGS
    assert f"-      - uses: {old.ref}\n+      - uses: {new.ref}" in "".join(out)
    assert err == [
        f"{len(REPO_WORKFLOWS)} workflow(s) differ from the pin table. Fix: run `invoke pin-actions --write` and commit"
    ]
    assert pins.run_pin_actions(repo, write=True, out=out.append, err=err.append) == EXIT_OK
    assert pins.stale_repo_workflows(repo) == {}
    assert new.ref in (repo / ".github/workflows/ci.yml").read_text(encoding="utf-8")


def test_dependabot_watches_the_actions_here_and_in_every_package_repository(
    registry: Registry, rendered: dict[str, dict[str, str]]
) -> None:
    import yaml

    here = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text(encoding="utf-8"))
    assert here["version"] == 2
    [update] = here["updates"]
    assert update["package-ecosystem"] == "github-actions" and update["directory"] == "/"
    assert update["cooldown"]["default-days"] >= 1  # zizmor's dependabot-cooldown: a fresh release waits a week
    for name in registry.names:
        generated = yaml.safe_load(rendered[name]["dependabot.yml"])
        assert generated == here, name
    dependabot = [r for r in wf.render_all(registry) if r.path == ".github/dependabot.yml"]
    assert len(dependabot) == len({p.repo for p in registry.packages})


def test_workflows_check_shows_pin_drift(make_ecosystem: EcosystemFactory, registry: Registry) -> None:
    eco: Ecosystem = make_ecosystem()
    wf.write(registry, eco.workspace)
    publish = eco.checkout("juniper-data") / registry.publish_workflow
    pin = pins.PINS["actions/checkout"]
    publish.write_text(publish.read_text(encoding="utf-8").replace(pin.ref, "actions/checkout@v5"), encoding="utf-8")
    (eco.checkout("juniper-ml") / ".github" / "dependabot.yml").unlink()
    drifts = wf.check(registry, eco.workspace)
    assert wf.drifted_packages(drifts) == ["juniper-data", "juniper-ml"]
    report = wf.check_report(drifts)
    assert f"-      - uses: actions/checkout@v5\n+      - uses: {pin.ref}" in report
    assert "== juniper-ml: dependabot.yml missing" in report


# ----------------------------------------------------------------------------------------------- this repo's CI


def test_ci_runs_the_nox_sessions_with_the_name_through_env() -> None:
    doc = load((ROOT / ".github/workflows/ci.yml").read_text(encoding="utf-8"))
    assert doc["permissions"] == {}
    assert doc["concurrency"]["cancel-in-progress"] == "${{ github.event_name == 'pull_request' }}"
    jobs = doc["jobs"]
    assert {"lint", "typecheck", "tests", "matrix", "verify"} <= set(jobs)
    for name in ("lint", "typecheck", "tests"):
        assert jobs[name]["env"]["NOX_SESSION"] == name
    matrix_script = step_named(doc, "matrix", "One job per package")["run"]
    assert "nox -l --json -t ci" in matrix_script and "invoke ci-matrix" in matrix_script
    verify = jobs["verify"]
    assert verify["strategy"]["matrix"]["include"] == "${{ fromJSON(needs.matrix.outputs.matrix) }}"
    assert verify["env"]["NOX_SESSION"] == "${{ matrix.session }}"
    assert "${{ matrix.python }}" in steps(verify)[1]["with"]["python-version"]
    assert doc["env"]["JUNIPER_TORCH_SOURCE"] == "https://download.pytorch.org/whl/cpu"
    for job in jobs.values():
        assert set(job["permissions"]) == {"contents"} and job["permissions"]["contents"] == "read"
        uses = [s["uses"] for s in job["steps"] if "uses" in s]
        checkout, setup = pins.PINS["actions/checkout"], pins.PINS["actions/setup-python"]
        assert f"actions/checkout@{checkout.sha}" in uses and f"actions/setup-python@{setup.sha}" in uses
        assert any(s.get("with", {}).get("enable-cache") is True for s in job["steps"])  # uv cache
        for s in job["steps"]:
            if s.get("uses", "").startswith("actions/checkout"):
                assert s["with"]["persist-credentials"] is False
    runs = run_scripts(doc)
    assert sum('nox -s "$NOX_SESSION"' in r for r in runs) == 4
    assert any("invoke clone" in r for r in runs)
    assert not any("${{" in r for r in runs), "expressions go through env:, never into scripts"


def test_ecosystem_release_plans_read_only_and_executes_only_without_dry_run() -> None:
    doc = load((ROOT / ".github/workflows/ecosystem-release.yml").read_text(encoding="utf-8"))
    inputs = doc["on"]["workflow_dispatch"]["inputs"]
    assert inputs["packages"]["type"] == "string" and inputs["packages"]["default"] == ""
    assert inputs["dry_run"]["type"] == "boolean" and inputs["dry_run"]["default"] is True
    assert doc["permissions"] == {}
    assert doc["concurrency"]["cancel-in-progress"] is False
    plan, execute = doc["jobs"]["plan"], doc["jobs"]["execute"]
    assert plan["permissions"] == {"contents": "read"}
    assert execute["permissions"] == {"contents": "write", "id-token": "write"}
    assert execute["if"] == "${{ !inputs.dry_run }}" and execute["needs"] == "plan" and execute["environment"]
    plan_runs, exec_runs = (
        "\n".join(run_scripts({"jobs": {"p": plan}})),
        "\n".join(run_scripts({"jobs": {"e": execute}})),
    )
    assert "invoke status --markdown" in plan_runs and "GITHUB_STEP_SUMMARY" in plan_runs
    assert "invoke release-train" in plan_runs and "--json" in plan_runs and "--execute" not in plan_runs
    assert "invoke release-train" in exec_runs and "--execute --yes" in exec_runs
    # on a fresh runner: verify first (the release gate reads its cache), and a git identity for annotated tags
    assert exec_runs.index("nox -s verify-all") < exec_runs.index("invoke release-train")
    assert "git config --global user.name" in exec_runs and "git config --global user.email" in exec_runs
    assert plan["env"]["PACKAGES"] == execute["env"]["PACKAGES"] == "${{ inputs.packages }}"
    assert not any("${{" in r for r in run_scripts(doc)), "inputs go through env:, never into scripts"


# ----------------------------------------------------------------------------------------------- CI matrix


def nox_json(names: list[str], pythons: tuple[str, ...] = ("3.12",)) -> str:
    return json.dumps(
        [
            {
                "session": f"verify({n}, {py})",
                "name": "verify",
                "tags": ["ci"],
                "python": None,
                "call_spec": {"package": n, "interpreter": py},
            }
            for n in names
            for py in pythons
        ]
    )


def test_ci_matrix_is_the_registry_package_list(registry: Registry) -> None:
    matrix = wf.ci_matrix(registry, nox_json(list(reversed(registry.names)), ("3.13", "3.12")))
    assert [m["package"] for m in matrix] == [n for n in registry.names for _ in range(2)]
    assert [m["python"] for m in matrix[:2]] == ["3.12", "3.13"]
    assert matrix[0]["session"] == "verify(juniper-data-client, 3.12)"


ALL = list(PACKAGE_NAMES)


@pytest.mark.parametrize(
    ("sessions", "message"),
    [
        (["juniper-data-client"], "missing: juniper-cascor-client"),
        ([*ALL, "juniper-ml"], "listed twice: juniper-ml on 3.12"),
        ([*ALL, "juniper-nope"], "unknown package 'juniper-nope'"),
    ],
)
def test_ci_matrix_refuses_a_session_list_that_does_not_cover_the_registry(
    registry: Registry, sessions: list[str], message: str
) -> None:
    assert list(registry.names) == ALL
    with pytest.raises(ConfigError, match=re.escape(message)):
        wf.ci_matrix(registry, nox_json(sessions))


def test_ci_matrix_refuses_a_ci_session_without_a_package(registry: Registry) -> None:
    with pytest.raises(ConfigError, match="takes no package"):
        wf.ci_matrix(registry, json.dumps([{"session": "lint", "call_spec": {}}]))
    with pytest.raises(JuniperError, match="printed no JSON"):
        wf.ci_matrix(registry, "Sessions defined in noxfile.py")


def test_nox_ci_sessions_equal_the_registry(registry: Registry) -> None:
    """The exact command ci.yml runs lists one verify(<package>, <python>) per registry package and Python, in
    registry order; without readable checkouts (none next to this repository) every candidate Python is listed."""
    listed = json.loads(wf.nox_ci_sessions(ROOT))
    expected = [f"verify({n}, {py})" for n in registry.names for py in PYTHON_CANDIDATES]
    assert [s["session"] for s in listed] == expected
    assert all(s["tags"][0] == "ci" for s in listed)
    assert [m["session"] for m in wf.ci_matrix(registry, json.dumps(listed))] == expected


def test_nox_ci_sessions_list_the_pythons_each_checkout_admits(registry: Registry, make_ecosystem) -> None:
    eco = make_ecosystem("py312-floor")
    proc = subprocess.run(
        [sys.executable, "-m", "nox", "-l", "--json", "-t", "ci"],
        cwd=ROOT,
        env={**os.environ, "JUNIPER_WORKSPACE": str(eco.workspace)},
        capture_output=True,
        text=True,
        check=True,
    )
    sessions = [s["session"] for s in json.loads(proc.stdout)]
    assert "verify(juniper-data, 3.11)" not in sessions and "verify(juniper-data, 3.12)" in sessions
    assert "verify(juniper-cascor-client, 3.11)" in sessions and "verify(juniper-data-client, 3.11)" not in sessions


# ----------------------------------------------------------------------------------------------- rendered content


@pytest.mark.parametrize("name", ["juniper-data-client", "juniper-cascor-worker", "juniper-data", "juniper-ml"])
def test_publish_workflow_fixes_the_upstream_flaws(
    registry: Registry, rendered: dict[str, dict[str, str]], name: str
) -> None:
    pkg, text = registry.get(name), rendered[name]["publish.yml"]
    doc = load(text)
    assert doc["on"] == {"release": {"types": ["published"]}}
    assert doc["permissions"] == {}
    jobs = doc["jobs"]
    assert list(jobs) == ["build", "testpypi", "verify-testpypi", "pypi", "verify-pypi"]
    for job_name, job in jobs.items():
        assert "permissions" in job
        assert (job["permissions"].get("id-token") == "write") == (job_name in {"testpypi", "pypi"})
    # build once, publish the same files
    build_runs = "\n".join(run_scripts({"jobs": {"b": jobs["build"]}}))
    assert "python -m build" in build_runs and "twine check --strict" in build_runs
    assert "SOURCE_DATE_EPOCH" in build_runs
    assert any(s.get("uses", "").startswith("actions/upload-artifact") for s in jobs["build"]["steps"])
    assert text.count("python -m build") == 1
    for job_name in ("testpypi", "pypi"):
        uses = [s["uses"] for s in jobs[job_name]["steps"]]
        assert uses[0].startswith("actions/download-artifact") and uses[1].startswith("pypa/gh-action-pypi-publish")
        assert jobs[job_name]["steps"][1]["with"]["attestations"] is True
        assert jobs[job_name]["environment"]["name"] == job_name
    assert jobs["pypi"]["needs"] == ["build", "testpypi", "verify-testpypi"]
    assert jobs["pypi"]["if"] == "needs.build.outputs.prerelease == 'false'"
    assert step_named(doc, "build", "The tag's version")["env"]["TAG"] == "${{ github.event.release.tag_name }}"
    # TestPyPI verification: poll, deps from PyPI, the package alone from TestPyPI, versions compared
    verify = "\n".join(run_scripts({"jobs": {"v": jobs["verify-testpypi"]}}))
    assert not re.search(r"(^|[;&|]\s*)sleep\s", verify, re.M), "no fixed sleep"
    assert "for attempt in range(1, attempts + 1)" in verify and "time.sleep(delay)" in verify
    assert '--index-url "$PYPI_SIMPLE_URL" "dist/$WHEEL' in verify
    testpypi_install = step_named(doc, "verify-testpypi", "Install the package alone")["run"]
    assert "--no-deps" in testpypi_install and '--index-url "$INDEX_SIMPLE_URL"' in testpypi_install
    assert "extra-index-url" not in text
    assert "Version(version) == expected" in verify
    assert doc["env"]["IMPORT_NAMES"] == " ".join(pkg.imports)
    torch_steps = [s for s in jobs["verify-testpypi"]["steps"] if s.get("name", "").startswith("Install the CPU")]
    assert bool(torch_steps) == pkg.torch
    if pkg.torch:
        names = [s.get("name", "") for s in jobs["verify-testpypi"]["steps"]]
        assert names.index(torch_steps[0]["name"]) < names.index(
            "Install the dependencies from PyPI (never from TestPyPI)"
        )
        assert f"torch=={registry.torch.version}" in torch_steps[0]["run"]
        assert "--index-url https://download.pytorch.org/whl/cpu" in torch_steps[0]["run"]
    for s in (s for job in jobs.values() for s in job["steps"]):
        if s.get("uses", "").startswith("actions/checkout"):
            assert s["with"]["persist-credentials"] is False
    assert 'python-version: "3.11"' in text  # rendered without a checkout: the oldest candidate
    assert "@" + "PACKAGE_NAME@" not in text and "#@" not in text


def test_meta_package_installs_its_extras_and_imports_nothing(
    registry: Registry, rendered: dict[str, dict[str, str]]
) -> None:
    publish, validate = load(rendered["juniper-ml"]["publish.yml"]), load(rendered["juniper-ml"]["validate.yml"])
    assert publish["env"]["IMPORT_NAMES"] == ""
    assert "[clients,worker,services,all]" in step_named(publish, "verify-testpypi", "Install the dependencies")["run"]
    assert not any("pytest" in r for r in run_scripts(validate))
    assert any("pytest" in r for r in run_scripts(load(rendered["juniper-data"]["validate.yml"])))


def test_validation_gate_runs_on_tag_push_and_never_uploads(
    registry: Registry, rendered: dict[str, dict[str, str]]
) -> None:
    for name in registry.names:
        doc = load(rendered[name]["validate.yml"])
        assert doc["on"] == {"push": {"tags": ["v*"]}}
        assert doc["permissions"] == {} and doc["jobs"]["validate"]["permissions"] == {"contents": "read"}
        runs = "\n".join(run_scripts(doc))
        for needle in ("python -m build", "twine check --strict", "tag_version = Version(raw)", "pip check"):
            assert needle in runs
        assert "gh-action-pypi-publish" not in rendered[name]["validate.yml"]


def test_rendering_ignores_environment_overrides(registry: Registry, tmp_path: Path) -> None:
    from juniper_release.ecosystem.registry import load_registry

    local = load_registry(registry.path, env={"JUNIPER_TESTPYPI_SIMPLE_URL": "http://127.0.0.1:9/simple/"})
    assert wf.render_all(local) == wf.render_all(registry)


# ----------------------------------------------------------------------------------------------- template engine


def test_template_engine_conditionals_includes_and_errors(tmp_path: Path) -> None:
    (tmp_path / "part.sh").write_text("echo @NAME@\n", encoding="utf-8")
    (tmp_path / "t.yml").write_text(
        "a: @NAME@\n#@ if ON\nyes: 1\n#@ else\nno: 1\n#@ endif\n  #@ include part.sh\nuses: x/y@v5\n",
        encoding="utf-8",
    )
    out = wf.render_template("t.yml", {"NAME": "pkg"}, {"ON": True}, tmp_path)
    assert out == "a: pkg\nyes: 1\n  echo pkg\nuses: x/y@v5\n"
    assert "no: 1" in wf.render_template("t.yml", {"NAME": "pkg"}, {"ON": False}, tmp_path)
    with pytest.raises(JuniperError, match="unknown placeholder @NAME@"):
        wf.render_template("t.yml", {}, {"ON": True}, tmp_path)
    with pytest.raises(JuniperError, match="unknown flag 'ON'"):
        wf.render_template("t.yml", {"NAME": "x"}, {}, tmp_path)
    (tmp_path / "open.yml").write_text("#@ if ON\nx: 1\n", encoding="utf-8")
    with pytest.raises(JuniperError, match="never closed"):
        wf.render_template("open.yml", {}, {"ON": True}, tmp_path)
    (tmp_path / "stray.yml").write_text("#@ endif\n", encoding="utf-8")
    with pytest.raises(JuniperError, match="without `#@ if`"):
        wf.render_template("stray.yml", {}, {}, tmp_path)
    (tmp_path / "loop.yml").write_text("#@ include loop.yml\n", encoding="utf-8")
    with pytest.raises(JuniperError, match="includes itself"):
        wf.render_template("loop.yml", {}, {}, tmp_path)


# ----------------------------------------------------------------------------------------------- embedded scripts


def bash(script: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run a workflow step's script the way GitHub does (bash -e), with the step's environment."""
    return subprocess.run(
        ["bash", "-e", "-c", script],
        check=False,
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("tag", "ok"),
    [("v0.3.1", True), ("v0.3.1-beta", False), ("0.3.1", False), ("v0.3.2", False), ("vnext", False)],
)
def test_tag_must_equal_the_built_version(
    tmp_path: Path, rendered: dict[str, dict[str, str]], tag: str, ok: bool
) -> None:
    script = step_named(load(rendered["juniper-data-client"]["publish.yml"]), "build", "The tag's version")["run"]
    (tmp_path / "dist").mkdir()
    for name in ("juniper_data_client-0.3.1-py3-none-any.whl", "juniper_data_client-0.3.1.tar.gz"):
        (tmp_path / "dist" / name).write_bytes(b"")
    out = tmp_path / "github_output"
    proc = bash(script, tmp_path, TAG=tag, GITHUB_OUTPUT=str(out), PACKAGE_NAME="juniper-data-client")
    assert (proc.returncode == 0) == ok, proc.stdout + proc.stderr
    if ok:
        assert out.read_text() == (
            "version=0.3.1\nprerelease=false\nwheel=juniper_data_client-0.3.1-py3-none-any.whl\n"
        )
    else:
        assert "::error::tag" in proc.stderr and "Fix:" in proc.stderr


def test_prerelease_tags_stop_after_testpypi(tmp_path: Path, rendered: dict[str, dict[str, str]]) -> None:
    script = step_named(load(rendered["juniper-data"]["publish.yml"]), "build", "The tag's version")["run"]
    (tmp_path / "dist").mkdir()
    for name in ("juniper_data-0.7.0rc1-py3-none-any.whl", "juniper_data-0.7.0rc1.tar.gz"):
        (tmp_path / "dist" / name).write_bytes(b"")
    out = tmp_path / "github_output"
    proc = bash(script, tmp_path, TAG="v0.7.0rc1", GITHUB_OUTPUT=str(out), PACKAGE_NAME="juniper-data")
    assert proc.returncode == 0, proc.stderr
    assert "prerelease=true" in out.read_text()


def test_index_polling_finds_the_wheel_and_gives_up_after_bounded_attempts(
    tmp_path: Path, rendered: dict[str, dict[str, str]]
) -> None:
    doc = load(rendered["juniper-cascor-client"]["publish.yml"])
    script = step_named(doc, "verify-testpypi", "Wait until TestPyPI")["run"]
    wheel = "juniper_cascor_client-0.4.0-py3-none-any.whl"
    server = start_index_server("testpypi", tmp_path / "index")
    try:
        (server.directory / wheel).write_bytes(b"")
        found = bash(script, tmp_path, INDEX_SIMPLE_URL=f"{server.url}simple/", WHEEL=wheel)
        assert found.returncode == 0 and "serves" in found.stdout, found.stdout + found.stderr
        missing = bash(
            script,
            tmp_path,
            INDEX_SIMPLE_URL=f"{server.url}simple/",
            WHEEL="juniper_cascor_client-9.9.9-py3-none-any.whl",
            POLL_ATTEMPTS="3",
            POLL_DELAY="0.05",
        )
        assert missing.returncode == 1 and "after 3 attempts" in missing.stderr
        assert missing.stdout.count("not served yet") == 2
    finally:
        server.stop()


def _tiny_wheel(dest: Path, version: str, module_version: str) -> Path:
    """A hand-made pure wheel 'wfprobe' (no build backend needed)."""
    wheel = dest / f"wfprobe-{version}-py3-none-any.whl"
    files = {
        "wfprobe/__init__.py": f'__version__ = "{module_version}"\n',
        f"wfprobe-{version}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: wfprobe\nVersion: {version}\n",
        f"wfprobe-{version}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = f"wfprobe-{version}.dist-info/RECORD"
    with zipfile.ZipFile(wheel, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
        zf.writestr(record, "".join(f"{n},,\n" for n in [*files, record]))
    return wheel


def test_installed_versions_are_compared_not_printed(tmp_path: Path, rendered: dict[str, dict[str, str]]) -> None:
    script = step_named(load(rendered["juniper-data"]["publish.yml"]), "verify-testpypi", "Compare")["run"]
    runner_temp = tmp_path / "runner"
    subprocess.run(["uv", "venv", "-q", "--seed", str(runner_temp / "verify")], check=True, capture_output=True)
    py = str(runner_temp / "verify" / "bin" / "python")
    env = {"RUNNER_TEMP": str(runner_temp), "PACKAGE_NAME": "wfprobe", "IMPORT_NAMES": "wfprobe", "VERSION": "1.2.0"}

    subprocess.run(
        ["uv", "pip", "install", "-q", "--python", py, str(_tiny_wheel(tmp_path, "1.2.0", "1.2.0"))], check=True
    )
    good = bash(script, tmp_path, **env)
    assert good.returncode == 0, good.stdout + good.stderr

    stale = tmp_path / "stale"
    stale.mkdir()
    subprocess.run(
        ["uv", "pip", "install", "-q", "--reinstall", "--python", py, str(_tiny_wheel(stale, "1.2.0", "1.1.0"))],
        check=True,
    )
    bad = bash(script, tmp_path, **env)
    assert bad.returncode == 1 and "wfprobe.__version__ is '1.1.0'" in bad.stderr
    wrong_tag = bash(script, tmp_path, **{**env, "VERSION": "1.1.0"})
    assert wrong_tag.returncode == 1 and "installed distribution is 1.2.0" in wrong_tag.stderr


# ----------------------------------------------------------------------------------------------- check / write


def invoke(*args: str) -> subprocess.CompletedProcess[str]:
    return run_task("workflows", *args, timeout=120)


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


def test_check_reports_exactly_the_missing_or_drifted_packages(
    make_ecosystem: EcosystemFactory, registry: Registry
) -> None:
    # The clean stand-in carries the rendered workflows; these defects give two packages none and two their own.
    eco: Ecosystem = make_ecosystem("missing-workflow,double-trigger,unpinned-actions")
    ws = str(eco.workspace)
    drifts = wf.check(registry, eco.workspace)
    rows = {r["package"]: r for r in wf.summary_rows(drifts)}
    assert {n for n, r in rows.items() if r["publish.yml"] == "missing"} == {"juniper-data", "juniper-cascor"}
    assert {n for n, r in rows.items() if r["publish.yml"] == "drifted"} == {
        "juniper-cascor-client",
        "juniper-cascor-worker",
    }
    assert {n for n, r in rows.items() if r["publish.yml"] == "ok"} == {"juniper-data-client", "juniper-ml"}

    first = invoke("--check", "--workspace", ws)
    assert first.returncode == 1, first.stderr
    assert "== juniper-data: publish.yml missing, validate.yml missing" in first.stdout
    assert "--- /dev/null\n+++ b/juniper-data/.github/workflows/publish.yml" in first.stdout
    assert "--- a/juniper-cascor-worker/.github/workflows/publish.yml" in first.stdout
    assert "-      - run: sleep 30" in first.stdout
    assert first.stderr.strip().splitlines()[-1].startswith("workflows drift in juniper-cascor-client,")

    head = git(eco.checkout("juniper-data"), "rev-parse", "HEAD")
    wrote = invoke("--write", "--workspace", ws)
    assert wrote.returncode == 0, wrote.stderr
    assert "12 workflow file(s) written" in wrote.stdout  # publish, validate and dependabot of the 4 broken repos
    assert "?? .github/" in git(eco.checkout("juniper-data"), "status", "--porcelain"), "written, not committed"
    assert git(eco.checkout("juniper-data"), "rev-parse", "HEAD") == head
    clean = invoke("--check", "--workspace", ws)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert " drifted " not in clean.stdout.replace("files drifted", "") and "missing" not in clean.stdout

    # now break exactly two packages: one edited by hand, one deleted
    edited = eco.checkout("juniper-cascor-client") / registry.publish_workflow
    edited.write_text(edited.read_text().replace("types: [published]", "types: [published, created]"))
    (eco.checkout("juniper-ml") / wf.validate_workflow_path(registry)).unlink()
    assert wf.drifted_packages(wf.check(registry, eco.workspace)) == ["juniper-cascor-client", "juniper-ml"]
    again = invoke("--check", "--workspace", ws, "--package", "juniper-cascor-client,juniper-data")
    assert again.returncode == 1
    assert "== juniper-cascor-client: publish.yml drifted" in again.stdout and "juniper-ml" not in again.stdout
    # the digest comes first, and --stat prints it alone
    assert again.stdout.index("files drifted") < again.stdout.index("== juniper-cascor-client")
    stat = invoke("--check", "--stat", "--workspace", ws, "--package", "juniper-cascor-client")
    assert "files drifted" in stat.stdout and "== juniper-cascor-client" not in stat.stdout and stat.returncode == 1
    assert "-    types: [published, created]\n+    types: [published]" in again.stdout


def test_write_one_package_leaves_the_others_alone(make_ecosystem: EcosystemFactory, registry: Registry) -> None:
    eco: Ecosystem = make_ecosystem("missing-workflow,double-trigger")
    written = wf.write(registry, eco.workspace, registry.select("juniper-data"))
    assert [(d.package, d.status) for d in written] == [("juniper-data", "missing")] * 3
    stale = wf.drifted_packages(wf.check(registry, eco.workspace))
    assert stale == ["juniper-cascor-client", "juniper-cascor"]
    assert wf.write(registry, eco.workspace, registry.select("juniper-data")) == []


def test_run_check_and_run_write_return_the_exit_code(make_ecosystem: EcosystemFactory, registry: Registry) -> None:
    eco: Ecosystem = make_ecosystem("missing-workflow,unpinned-actions")
    chosen = registry.select("juniper-data,juniper-cascor-worker")
    out: list[str] = []
    err: list[str] = []
    assert wf.run_check(registry, eco.workspace, chosen, out.append, err.append) == EXIT_FINDINGS
    assert err == [
        "workflows drift in juniper-cascor-worker, juniper-data. Fix: run `invoke workflows --write` and commit in "
        "each repo"
    ]
    assert "== juniper-data: publish.yml missing" in "\n".join(out) and "juniper-data" in out[-1]
    written: list[str] = []
    assert wf.run_write(registry, eco.workspace, registry.select("juniper-data"), written.append) == EXIT_OK
    assert written[-1] == "3 workflow file(s) written, 0 already up to date"
    assert wf.run_write(registry, eco.workspace, chosen, written.append) == EXIT_OK
    assert written[-1] == "3 workflow file(s) written, 3 already up to date"
    err.clear()
    assert wf.run_check(registry, eco.workspace, chosen, out.append, err.append) == EXIT_OK and err == []


def test_check_and_write_are_exclusive_and_write_never_touches_the_sandbox() -> None:
    for check, write in ((False, False), (True, True)):
        with pytest.raises(JuniperError, match="pass exactly one of --check and --write"):
            wf.check_flags(check=check, write=write, sandbox=False)
    with pytest.raises(JuniperError, match="--write would change the shared cached sandbox"):
        wf.check_flags(check=False, write=True, sandbox=True)
    wf.check_flags(check=True, write=False, sandbox=True)
    wf.check_flags(check=False, write=True, sandbox=False)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "pass exactly one of --check and --write"),
        (("--check", "--write"), "pass exactly one of --check and --write"),
        (("--write", "--sandbox"), "--write would change the shared cached sandbox"),
        (("--check", "--package", "juniper-nope"), "unknown package 'juniper-nope'"),
    ],
)
def test_bad_options_give_one_line_and_exit_2(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    proc = invoke(*args, "--workspace", str(tmp_path)) if "--sandbox" not in args else invoke(*args)
    assert proc.returncode == 2
    assert message in proc.stderr and "Fix:" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_missing_checkout_names_it_and_writes_nothing(tmp_path: Path, registry: Registry) -> None:
    proc = invoke("--write", "--workspace", str(tmp_path))
    assert proc.returncode == 2 and "no checkout at" in proc.stderr and "invoke clone" in proc.stderr
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(WorkspaceError):
        wf.check(registry, tmp_path, (registry.get("juniper-ml"),))


def test_flags_follow_the_registry(registry: Registry) -> None:
    flags = {p.name: wf.template_flags(p) for p in registry.packages}
    assert flags["juniper-ml"] == {"TORCH": True, "IMPORTS": False, "META": True, "SUBDIR": False}
    assert flags["juniper-data-client"]["TORCH"] is False
    pkg: Package = registry.get("juniper-data")
    assert wf.template_values(registry, pkg)["EXTRAS"] == "[api]"
    assert wf.validate_workflow_path(registry) == ".github/workflows/validate.yml"


def test_readme_pin_table_is_the_pin_table() -> None:
    readme = (ROOT / "docs" / "pins.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| ([\w.-]+/[\w.-]+) \| (v[\d.]+) \| ([0-9a-f]{40}) \|$", readme, re.M)
    assert rows == [(p.action, p.tag, p.sha) for p in pins.PINS.values()], (
        "update the pinned-actions table of docs/pins.md"
    )

"""The ecosystem consistency checker: the passing path, every static defect, the seed, and the front doors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import run_session, run_task
from juniper_release.ecosystem.checks import exit_code, problems, render
from juniper_release.errors import WorkspaceError
from juniper_release.github.checks import run_checks
from juniper_release.gitops import Git
from juniper_release.sandbox.standin import FAKE_PYPI_TOKEN

ROOT = Path(__file__).resolve().parents[1]


def _keys(findings):
    return {(f.package, f.check, f.severity) for f in problems(findings)}


def _commit(root: Path, files: dict[str, str], message: str = "chore: test change") -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    git = Git(root)
    git.run("add", "-A")
    git.run("commit", "-q", "-m", message)


def test_clean_standin_passes(ecosystem, registry):
    findings = run_checks(registry, ecosystem.workspace)
    assert problems(findings) == []
    assert exit_code(findings) == 0
    # Infos name the consumers whose ceilings the next minor release would escape.
    info = next(f for f in findings if f.package == "juniper-data-client" and f.check == "upper-bound")
    assert info.severity == "info"
    assert "0.4.0" in info.message and "juniper-data [api]" in info.message and "juniper-ml [clients]" in info.message


STATIC_DEFECTS = {
    "version-mismatch": {("juniper-data-client", "version-sync", "error")},
    "missing-license": {("juniper-cascor-client", "license", "error")},
    "broken-readme": {("juniper-data", "readme", "error")},
    "secret-env": {("juniper-cascor", "secrets", "error")},
    "cycle": {("juniper-cascor", "graph", "error")},
    "escaped-ceiling": {("juniper-data", "sibling-specifier", "error")},
    "wrong-layer": {("juniper-cascor-client", "graph", "error")},
    "missing-workflow": {
        ("juniper-data", "publish-workflow", "error"),
        ("juniper-cascor", "publish-workflow", "error"),
    },
    "double-trigger": {("juniper-cascor-client", "publish-workflow", "error")},
    "unpinned-actions": {("juniper-cascor-worker", "pinned-actions", "warning")},
    "newer-actions": {("juniper-data-client", "pin-table", "warning")},
    "mixed-floors": {("ecosystem", "requires-python", "warning")},
    "no-services": {("juniper-ml", "meta-extras", "error")},
    "extra-edge": {("juniper-cascor", "graph", "error"), ("juniper-ml", "graph", "error")},
    "py312-floor": {("ecosystem", "requires-python", "warning")},
}


@pytest.mark.parametrize("defect", sorted(STATIC_DEFECTS))
def test_each_static_defect_gives_its_finding(make_ecosystem, registry, defect):
    findings = run_checks(registry, make_ecosystem(defect).workspace)
    assert _keys(findings) == STATIC_DEFECTS[defect]
    assert exit_code(findings) == 1
    for finding in problems(findings):
        assert "\n" not in finding.message and "Fix:" in finding.message
        assert FAKE_PYPI_TOKEN not in finding.message


def test_defect_messages_say_what_is_wrong(make_ecosystem, registry):
    findings = run_checks(registry, make_ecosystem("version-mismatch,cycle,escaped-ceiling,mixed-floors").workspace)
    findings += run_checks(registry, make_ecosystem("no-services").workspace)
    text = "\n".join(f.message for f in findings)
    assert "__version__ is '0.3.0'" in text and "pyproject.toml says '0.3.1'" in text
    assert "dependency cycle: juniper-cascor -> juniper-data-client -> juniper-ml -> juniper-cascor" in text
    assert "excludes juniper-data-client's current version 0.3.1" in text
    assert ">=3.11 (juniper-data-client" in text and ">=3.12 (juniper-ml)" in text
    assert "do not name juniper-data, juniper-cascor" in text


def test_seed_reports_exactly_the_known_problems(make_ecosystem, registry):
    findings = run_checks(registry, make_ecosystem("seed").workspace)
    assert _keys(findings) == {
        ("juniper-data-client", "version-sync", "error"),
        ("juniper-data", "publish-workflow", "error"),
        ("juniper-cascor", "publish-workflow", "error"),
        ("juniper-ml", "meta-extras", "error"),
        ("ecosystem", "requires-python", "warning"),
    }


def test_missing_and_derived_module_versions(ecosystem, registry):
    # The worker derives __version__ from importlib.metadata (clean passes); a module without one is an anomaly.
    root = ecosystem.checkout("juniper-cascor-client")
    _commit(root, {"src/juniper_cascor_client/_version.py": "VERSION_INFO = (0, 4, 0)\n"})
    init = root / "src/juniper_cascor_client/__init__.py"
    _commit(root, {init.relative_to(root).as_posix(): '"""No version here."""\n'})
    findings = run_checks(registry, ecosystem.workspace)
    (finding,) = problems(findings)
    assert finding.check == "version-sync" and finding.message.startswith("ANOMALY: module juniper_cascor_client")


def test_readme_failures(ecosystem, registry):
    data = ecosystem.checkout("juniper-data")
    (data / "README.md").write_text("   \n", encoding="utf-8")
    client = ecosystem.checkout("juniper-cascor-client")
    pyproject = client / "pyproject.toml"
    pyproject.write_text(pyproject.read_text(encoding="utf-8").replace('readme = "README.md"\n', ""), encoding="utf-8")
    worker = ecosystem.checkout("juniper-cascor-worker")
    (worker / "README.md").unlink()
    messages = {f.package: f.message for f in problems(run_checks(registry, ecosystem.workspace))}
    assert "README.md is empty" in messages["juniper-data"]
    assert "declares no readme" in messages["juniper-cascor-client"]
    assert "README.md (named in pyproject.toml) does not exist" in messages["juniper-cascor-worker"]


def test_secrets_in_the_files_a_build_sees_and_never_printed(ecosystem, registry):
    token = "ghp_" + "A1b2C3d4E5" * 4
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
    root = ecosystem.checkout("juniper-data")
    _commit(
        root,
        {
            "deploy/id_rsa": key,
            "notes.txt": f"token: {token}\n",
            ".pypirc": "[pypi]\n",
            ".env.example": "X=\n",
            "keys/release.asc": "-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOYBF0AAAAA\n",
        },
    )
    # Untracked but not ignored: a build copies it, so it is reported. Ignored (build/ is): not reported.
    (root / ".env").write_text(f"PYPI_API_TOKEN={FAKE_PYPI_TOKEN}\n", encoding="utf-8")
    (root / "build").mkdir()
    (root / "build" / ".env").write_text(f"PYPI_API_TOKEN={FAKE_PYPI_TOKEN}\n", encoding="utf-8")
    found = [f for f in problems(run_checks(registry, ecosystem.workspace)) if f.check == "secrets"]
    by_file = {f.message.split()[2]: f.message for f in found}
    assert set(by_file) == {"deploy/id_rsa", "notes.txt", ".pypirc", "keys/release.asc", ".env"}
    assert by_file[".env"].startswith("untracked file .env holds") and "add it to .gitignore" in by_file[".env"]
    assert by_file["notes.txt"].startswith("tracked file notes.txt holds") and "git rm --cached" in by_file["notes.txt"]
    assert "a private key (line 1)" in by_file["keys/release.asc"]
    assert "an SSH private key and a private key (line 1)" in by_file["deploy/id_rsa"]
    assert "a GitHub token (line 1)" in by_file["notes.txt"]
    assert all(token not in m and "b3BlbnNzaC1rZXk" not in m and FAKE_PYPI_TOKEN not in m for m in by_file.values())


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        ("on:\n  push:\n    branches: [main]\n  release:\n    types: [published]\n", None),
        ("on: [push, release]\n", "triggers on tag pushes and on Releases"),
        ('"on":\n  push:\n    tags: ["v*"]\n  release: {}\n', "triggers on tag pushes and on Releases"),
        ("on:\n  push:\n    tags: ['v*']\n", "not by a published Release"),
        ("on: [release\n", "is not valid YAML"),
    ],
    ids=["branch-push-ok", "list", "quoted-on", "tags-only", "invalid"],
)
def test_publish_workflow_triggers(ecosystem, registry, on, expected):
    workflow = ecosystem.checkout("juniper-ml") / registry.publish_workflow
    workflow.write_text(f"name: Publish\n{on}jobs: {{}}\n", encoding="utf-8")
    found = [f for f in problems(run_checks(registry, ecosystem.workspace)) if f.check == "publish-workflow"]
    if expected is None:
        assert found == []
    else:
        assert len(found) == 1 and expected in found[0].message and found[0].package == "juniper-ml"


def test_missing_checkout_is_an_error(ecosystem, registry):
    shutil.rmtree(ecosystem.checkout("juniper-cascor"))
    with pytest.raises(WorkspaceError) as info:
        run_checks(registry, ecosystem.workspace)
    message = str(info.value)
    assert str(ecosystem.checkout("juniper-cascor")) in message and "invoke clone" in message


def test_render_json_and_table(make_ecosystem, registry):
    findings = run_checks(registry, make_ecosystem("seed").workspace)
    data = json.loads(render(findings, as_json=True))
    assert all(set(item) == {"package", "check", "severity", "message"} for item in data)
    assert render(findings).splitlines()[-1] == "check: 4 errors, 1 warning, 3 infos"
    assert render([]) == "check: all packages consistent (0 findings)"


# ------------------------------------------------------------------------------------------------ front doors


def test_check_task_exit_codes(ecosystem, make_ecosystem, tmp_path):
    clean = run_task("check", "--workspace", str(ecosystem.workspace))
    assert clean.returncode == 0, clean.stdout + clean.stderr
    seed = run_task("check", "--workspace", str(make_ecosystem("seed").workspace), "--json")
    assert seed.returncode == 1
    data = json.loads(seed.stdout)
    assert {d["package"] for d in data if d["severity"] != "info"} == {
        "juniper-data-client",
        "juniper-data",
        "juniper-cascor",
        "juniper-ml",
        "ecosystem",
    }
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = run_task("check", "--workspace", str(empty))
    assert missing.returncode == 2
    assert f"invoke clone --workspace {empty}" in missing.stderr and "Traceback" not in missing.stderr


def test_check_task_on_the_sandbox_seed(tmp_path):
    result = run_task("check", "--sandbox", "--defects", "seed", "--json", env={"JUNIPER_CACHE_DIR": str(tmp_path)})
    assert result.returncode == 1, result.stderr
    checks = {(d["package"], d["check"]) for d in json.loads(result.stdout) if d["severity"] != "info"}
    assert ("juniper-ml", "meta-extras") in checks and len(checks) == 5
    bad = run_task("check", "--sandbox", "--defects", "nope", env={"JUNIPER_CACHE_DIR": str(tmp_path)})
    assert bad.returncode == 2 and "unknown stand-in defect 'nope'" in bad.stderr


def test_nox_check_session(ecosystem, make_ecosystem):
    clean = run_session("-s", "check", "--", "--workspace", str(ecosystem.workspace))
    assert clean.returncode == 0, clean.stdout + clean.stderr
    seed = run_session("-s", "check", "--", "--workspace", str(make_ecosystem("seed").workspace))
    assert seed.returncode == 1 and "consistency problems" in seed.stderr


def test_secrets_outside_git_scan_every_file(ecosystem, registry):
    """A checkout that is not a git repository: every file is scanned (tool folders skipped), the fix names no git."""
    root = ecosystem.checkout("juniper-data")
    shutil.rmtree(root / ".git")
    (root / ".pypirc").write_text("[pypi]\n", encoding="utf-8")
    (root / ".venv").mkdir()
    (root / ".venv" / ".pypirc").write_text("[pypi]\n", encoding="utf-8")
    found = [f for f in problems(run_checks(registry, ecosystem.workspace)) if f.check == "secrets"]
    assert [f.message.split(" holds ")[0] for f in found] == ["file .pypirc"]
    assert "git rm" not in found[0].message and "revoke the credential" in found[0].message


def test_a_committed_sops_encrypted_env_file_is_accepted(make_ecosystem, registry):
    """sops-env: juniper-cascor tracks .env.enc, every value ENC[...]: not a secret (secret-env's plain .env is)."""
    eco = make_ecosystem("sops-env")
    assert (eco.checkout("juniper-cascor") / ".env.enc").is_file()
    assert [f for f in run_checks(registry, eco.workspace) if f.check == "secrets"] == []
    leaky = make_ecosystem("sops-env,secret-env")
    found = [f for f in run_checks(registry, leaky.workspace) if f.check == "secrets"]
    assert [(f.package, f.severity) for f in found] == [("juniper-cascor", "error")] and ".env.enc" not in found[
        0
    ].message


def test_license_table_is_an_info_that_says_the_spdx_fix(make_ecosystem, registry):
    findings = run_checks(registry, make_ecosystem("license-table").workspace)
    assert problems(findings) == [], "a table license builds: it is reported, never a failure"
    infos = [f for f in findings if f.check == "license-table"]
    assert [f.package for f in infos] == ["juniper-data"] and infos[0].severity == "info"
    assert "setuptools deprecates" in infos[0].message and 'Fix: write license = "MIT"' in infos[0].message
    clean = run_checks(registry, make_ecosystem().workspace)
    assert not [f for f in clean if f.check == "license-table"]


def test_graph_and_check_give_the_same_layer_and_extras_finding(make_ecosystem, registry):
    """One diagnosis: `invoke graph` fails with exactly the message `invoke check` reports, for each defect."""
    for defect, package in (("no-services", "juniper-ml"), ("extra-edge", "juniper-cascor"), ("wrong-layer", None)):
        ws = make_ecosystem(defect).workspace
        findings = [f for f in run_checks(registry, ws) if f.check in {"graph", "meta-extras"}]
        graph = run_task("graph", "--workspace", str(ws))
        assert graph.returncode != 0
        assert findings[0].message in graph.stderr, (defect, graph.stderr)
        if package:
            assert findings[0].package == package
    no_services = run_task("graph", "--workspace", str(make_ecosystem("no-services").workspace))
    assert "add them to an extra" in no_services.stderr and "set layer" not in no_services.stderr


def test_unpinned_actions_are_a_warning_whose_fix_names_the_pinning_command(make_ecosystem, registry):
    eco = make_ecosystem("unpinned-actions")
    sha = "fbc6f3992d24b796d5a048ff273f7fcc4a7b6c09"
    _commit(
        eco.checkout("juniper-data"),
        {
            ".github/workflows/ci.yml": "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n"
            f"      - uses: actions/checkout@{sha} # v5.1.0\n      - uses: actions/setup-python@v6\n"
            "      - uses: ./.github/actions/local\n",
            ".github/workflows/docs.yml": f"on: push\njobs:\n  d:\n    uses: octo/docs/.github/workflows/d.yml@{sha}\n",
        },
    )
    findings = [f for f in run_checks(registry, eco.workspace) if f.check == "pinned-actions"]
    assert {(f.package, f.severity) for f in findings} == {
        ("juniper-cascor-worker", "warning"),
        ("juniper-data", "warning"),
    }
    by_file = {f.message.split(" ", 1)[0]: f.message for f in findings}
    assert set(by_file) == {".github/workflows/publish.yml", ".github/workflows/ci.yml", ".github/workflows/docs.yml"}
    generated = by_file[".github/workflows/publish.yml"]
    assert (
        "6 action(s)" in generated
        and "(actions/checkout@v5, actions/setup-python@v6, pypa/gh-action-pypi-publish@release/v1)" in generated
    )
    assert (
        "Fix: run `invoke workflows --write` (it renders every action pinned to a commit SHA) and commit" in generated
    )
    by_hand = by_file[".github/workflows/ci.yml"]
    assert "1 action(s)" in by_hand and "(actions/setup-python@v6)" in by_hand  # the SHA pin and the local one pass
    assert "`invoke workflows --write`" in by_hand and "scripts/juniper_release/github/pins.py" in by_hand
    assert f"octo/docs/.github/workflows/d.yml@{sha}" in by_file[".github/workflows/docs.yml"]  # no version comment
    for f in findings:
        assert "\n" not in f.message and "Fix:" in f.message

"""Workflows only move forward: the inputs each pinned release declares, rendering that never downgrades a pin a
repository already runs, ``invoke check``'s warning about an older pin table, and ``invoke pin-actions
--from-workspace`` on the stand-in (taught to pin newer releases with the ``newer-actions`` defect)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, run_task
from juniper_release.ecosystem.registry import Registry, WorkspaceError
from juniper_release.errors import EXIT_FINDINGS, EXIT_OK, JuniperError
from juniper_release.github import inputs, pins
from juniper_release.github import workflows as wf
from juniper_release.github.checks import run_checks
from juniper_release.github.forward import forward_only
from juniper_release.github.pin_table import Proposal, rewrite_table, run_from_workspace
from juniper_release.github.pins import newer_than_table, pinned_releases
from juniper_release.sandbox.standin import NEWER_ACTIONS, Ecosystem, newer_pin
from packaging.version import Version

EcosystemFactory = Any
PUBLISH = "pypa/gh-action-pypi-publish"
OLD_PUBLISH = pins.Pin(PUBLISH, "v1.8.14", "81e9d935c883d0b210363ab89cf05f3894778450")


def every_workflow(registry: Registry) -> dict[str, str]:
    """This repository's workflows and every rendered workflow: {label: text}."""
    out = {p.relative_to(ROOT).as_posix(): p.read_text(encoding="utf-8") for p in pins.repo_workflows(ROOT)}
    out.update({f"{r.package}/{r.path}": r.text for r in wf.render_all(registry) if "/workflows/" in r.path})
    return out


def assert_inputs_declared(workflows: dict[str, str]) -> None:
    bad = {
        label: [str(u) for u in found] for label, text in workflows.items() if (found := inputs.undeclared_inputs(text))
    }
    assert bad == {}, "a workflow passes an input its pinned release does not declare"


# ----------------------------------------------------------------------------------------------- declared inputs


def test_every_pinned_release_has_its_inputs_recorded_with_their_source() -> None:
    assert inputs.pinned_inputs_missing(pins.PINS) == []
    for (action, tag), declared in inputs.DECLARED.items():
        assert declared.inputs and declared.source, f"{action} {tag}"
    assert "attestations" in inputs.DECLARED[(PUBLISH, pins.PINS[PUBLISH].tag)].inputs


def test_every_input_the_workflows_pass_is_declared_by_the_pinned_release(registry: Registry) -> None:
    workflows = every_workflow(registry)
    assert len(workflows) == len(pins.repo_workflows(ROOT)) + 12
    assert_inputs_declared(workflows)


def test_the_input_test_fails_on_attestations_with_v1_8_14(monkeypatch: pytest.MonkeyPatch, registry: Registry) -> None:
    monkeypatch.setattr(pins, "PINS", {**pins.PINS, PUBLISH: OLD_PUBLISH})
    workflows = every_workflow(registry)
    publish = workflows[f"juniper-data/{registry.publish_workflow}"]
    found = inputs.undeclared_inputs(publish)
    assert [(u.action, u.tag, u.input) for u in found] == [(PUBLISH, "v1.8.14", "attestations")] * 2  # both uploads
    assert str(found[0]).endswith("pypa/gh-action-pypi-publish v1.8.14 declares no input 'attestations'")
    with pytest.raises(AssertionError, match="attestations"):
        assert_inputs_declared(workflows)


def test_a_release_without_recorded_inputs_is_a_finding() -> None:
    text = f"jobs:\n  a:\n    steps:\n      - uses: {pins.PINS['actions/checkout'].ref}\n"
    [found] = inputs.undeclared_inputs(text, table={})
    assert found.input == "" and found.line == 4 and "has no recorded inputs" in str(found)
    unpinned = "jobs:\n  a:\n    steps:\n      - uses: actions/checkout@v5\n        with: {bogus: 1}\n"
    assert inputs.undeclared_inputs(unpinned) == []  # pins.unpinned reports it
    assert inputs.pinned_inputs_missing({PUBLISH: pins.Pin(PUBLISH, "v9.9.9", "a" * 40)}) != []


def test_attestations_come_from_the_pinned_release_and_only_upload_jobs_hold_an_oidc_token(registry: Registry) -> None:
    pin = pins.PINS[PUBLISH]
    assert Version(pin.tag) >= Version(inputs.ATTESTATIONS_BY_DEFAULT)  # on by default from this release
    rendered = {label: text for label, text in every_workflow(registry).items() if not label.startswith(".github/")}
    assert len(rendered) == 12
    for label, text in rendered.items():
        doc = yaml.safe_load(text)
        for name, job in doc["jobs"].items():
            uploads = [s for s in job.get("steps", []) if s.get("uses", "").startswith(f"{PUBLISH}@")]
            token = (job.get("permissions") or {}).get("id-token")
            assert (token == "write") == bool(uploads), f"{label}: job {name}"
            assert all(str(s["with"]["attestations"]).lower() == "true" for s in uploads), f"{label}: job {name}"
        assert "id-token" not in (doc.get("permissions") or {}), label
    readme = (ROOT / "docs" / "workflows.md").read_text(encoding="utf-8")
    assert f"on by default since {inputs.ATTESTATIONS_BY_DEFAULT}" in readme and f"{PUBLISH} {pin.tag}" in readme


# ----------------------------------------------------------------------------------------------- never backwards


def test_forward_only_keeps_a_newer_pin_and_moves_an_older_one() -> None:
    checkout, python = pins.PINS["actions/checkout"], pins.PINS["actions/setup-python"]
    rendered = f"steps:\n  - uses: {checkout.ref}\n  - uses: {python.ref}\n"
    newer = newer_pin(checkout)
    on_disk = f"steps:\n  - uses: {newer.ref}\n  - uses: actions/setup-python@{'b' * 40} # v1.0.0\n"
    text, held = forward_only(rendered, on_disk)
    assert text == f"steps:\n  - uses: {newer.ref}\n  - uses: {python.ref}\n"
    assert [(h.action, h.disk, h.table, h.downgraded) for h in held] == [
        (checkout.action, newer.tag, checkout.tag, False)
    ]
    text, held = forward_only(rendered, on_disk, allow_downgrade=True)
    assert text == rendered and held[0].downgraded
    # only a full SHA next to a version comment counts as a release
    for line in (
        f"actions/checkout@{newer.sha}",
        "actions/checkout@v99 # v99.0.0",
        f"actions/checkout@{newer.sha} # main",
    ):
        assert forward_only(rendered, f"  - uses: {line}\n") == (rendered, ())
    assert [s.tag for s in pinned_releases(on_disk)] == [newer.tag, "v1.0.0"]


def test_workflows_never_downgrade_a_pin_the_repository_runs(
    make_ecosystem: EcosystemFactory, registry: Registry
) -> None:
    eco: Ecosystem = make_ecosystem("newer-actions")
    newest = {a: newer_pin(pins.PINS[a]) for a in NEWER_ACTIONS}
    drifts = wf.check(registry, eco.workspace)
    assert wf.drifted_packages(drifts) == []  # the newer pins are the rendering: no drift
    rows = wf.held_rows(drifts)
    assert {(r["package"], r["action"], r["on disk"], r["pin table"]) for r in rows} == {
        ("juniper-data-client", a, newest[a].tag, pins.PINS[a].tag) for a in NEWER_ACTIONS
    }
    out: list[str] = []
    assert wf.run_check(registry, eco.workspace, registry.packages, out.append, out.append) == EXIT_OK
    digest = "\n".join(out)
    assert "never older" in digest and f"{newest['actions/checkout'].tag} (kept)" in digest
    assert "invoke pin-actions --from-workspace" in digest
    assert wf.write(registry, eco.workspace) == []

    publish = eco.checkout("juniper-data-client") / registry.publish_workflow
    down = wf.check(registry, eco.workspace, registry.select("juniper-data-client"), allow_downgrade=True)
    assert wf.drifted_packages(down) == ["juniper-data-client"]
    report = wf.check_report(down)
    assert f"-      - uses: {newest[PUBLISH].ref}\n+      - uses: {pins.PINS[PUBLISH].ref}" in report
    assert newest[PUBLISH].ref in publish.read_text(encoding="utf-8"), "--check never writes"
    written: list[str] = []
    chosen = registry.select("juniper-data-client")
    assert wf.run_write(registry, eco.workspace, chosen, written.append, allow_downgrade=True) == EXIT_OK
    assert "(downgrade)" in "\n".join(written) and written[-1].startswith("2 workflow file(s) written")
    assert pins.PINS[PUBLISH].ref in publish.read_text(encoding="utf-8")


def test_workflows_allow_downgrade_is_an_explicit_flag(make_ecosystem: EcosystemFactory) -> None:
    eco: Ecosystem = make_ecosystem("newer-actions")
    ws = str(eco.workspace)
    kept = run_task("workflows", "--check", "--stat", "--workspace", ws, timeout=120)
    assert kept.returncode == 0 and "(kept)" in kept.stdout, kept.stdout + kept.stderr
    down = run_task("workflows", "--check", "--stat", "--allow-downgrade", "--workspace", ws, timeout=120)
    assert down.returncode == EXIT_FINDINGS and "(downgrade)" in down.stdout, down.stdout + down.stderr


def test_check_warns_when_the_pin_table_is_older_than_a_repository(
    make_ecosystem: EcosystemFactory, registry: Registry
) -> None:
    clean: Ecosystem = make_ecosystem()
    assert [f for f in run_checks(registry, clean.workspace) if f.check == "pin-table"] == []
    eco: Ecosystem = make_ecosystem("newer-actions")
    found = [f for f in run_checks(registry, eco.workspace) if f.check == "pin-table"]
    assert {(f.package, f.severity) for f in found} == {("juniper-data-client", "warning")}
    for action in NEWER_ACTIONS:
        [finding] = [f for f in found if f" {action} " in f.message]
        assert f"{newer_pin(pins.PINS[action]).tag}, but juniper-release's pin table has the older " in finding.message
        assert (
            pins.PINS[action].tag in finding.message
            and "invoke pin-actions --from-workspace --write" in finding.message
        )
    assert [n.action for n in newer_than_table(eco.checkout("juniper-data-client"))] == sorted(NEWER_ACTIONS)


# ----------------------------------------------------------------------------------------------- pin-actions --from-workspace


def table_copy(tmp_path: Path) -> tuple[Path, Path]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    table, readme = tmp_path / "pins.py", tmp_path / "README.md"
    shutil.copy(pins.__file__, table)
    shutil.copy(ROOT / "docs" / "pins.md", readme)
    return table, readme


def test_from_workspace_proposes_the_newer_pins_as_a_diff_then_writes_them(
    make_ecosystem: EcosystemFactory, registry: Registry, tmp_path: Path
) -> None:
    eco: Ecosystem = make_ecosystem("newer-actions")
    table, readme = table_copy(tmp_path)
    before = table.read_text(encoding="utf-8"), readme.read_text(encoding="utf-8")
    out: list[str] = []
    err: list[str] = []
    code = run_from_workspace(
        registry, eco.workspace, write=False, table_file=table, readme=readme, out=out.append, err=err.append
    )
    assert code == EXIT_FINDINGS
    assert (table.read_text(encoding="utf-8"), readme.read_text(encoding="utf-8")) == before, "a dry run writes nothing"
    text = "\n".join(out)
    for action in NEWER_ACTIONS:
        old, new = pins.PINS[action], newer_pin(pins.PINS[action])
        assert f'-    Pin("{action}", "{old.tag}", "{old.sha}"),' in text
        assert f'+    Pin("{action}", "{new.tag}", "{new.sha}"),  # pinned in pcalnon/juniper-data-client' in text
        assert f"+| {action} | {new.tag} | {new.sha} |" in text
    assert "pcalnon/juniper-data-client/.github/workflows/publish.yml:" in text
    assert any("record the inputs of actions/checkout v8.0.0" in line for line in err)
    assert err[-1].endswith("Fix: run `invoke pin-actions --from-workspace --write`")

    assert (
        run_from_workspace(
            registry, eco.workspace, write=True, table_file=table, readme=readme, out=out.append, err=err.append
        )
        == EXIT_OK
    )
    written = table.read_text(encoding="utf-8")
    for action in NEWER_ACTIONS:
        assert f'Pin("{action}", "{newer_pin(pins.PINS[action]).tag}", "{newer_pin(pins.PINS[action]).sha}")' in written
    assert f"| {PUBLISH} | {newer_pin(pins.PINS[PUBLISH]).tag} |" in readme.read_text(encoding="utf-8")
    compile(written, str(table), "exec")


def test_from_workspace_takes_only_a_sha_seen_next_to_its_version_and_refuses_a_disputed_one(
    make_ecosystem: EcosystemFactory, registry: Registry, tmp_path: Path
) -> None:
    newer = newer_pin(pins.PINS["actions/checkout"])
    hand = (
        "on: push\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        f"      - uses: actions/checkout@{'c' * 40} # {newer.tag}\n"  # the same version, another commit
        "      - uses: actions/setup-python@v99\n"  # a moving tag is no evidence
        f"      - uses: actions/upload-artifact@{'d' * 40}\n"  # a SHA without its version is none either
        f"      - uses: actions/download-artifact@{'e' * 40} # main\n"
    )
    eco: Ecosystem = make_ecosystem(
        "newer-actions", extra_files={"juniper-cascor-client": {".github/workflows/hand.yml": hand}}
    )
    table, readme = table_copy(tmp_path)
    out: list[str] = []
    err: list[str] = []
    code = run_from_workspace(
        registry, eco.workspace, write=True, table_file=table, readme=readme, out=out.append, err=err.append
    )
    assert code == EXIT_FINDINGS
    [refused] = [line for line in err if line.startswith("refused:")]
    assert f"actions/checkout {newer.tag} is pinned to 2 different commits" in refused
    assert "cccccccccccc in pcalnon/juniper-cascor-client/.github/workflows/hand.yml:7" in refused
    written = table.read_text(encoding="utf-8")
    assert pins.PINS["actions/checkout"].ref.split("@")[1].split()[0] in written  # checkout stays
    assert newer_pin(pins.PINS[PUBLISH]).sha in written  # the undisputed one moves
    for action in ("actions/setup-python", "actions/upload-artifact", "actions/download-artifact"):
        assert pins.PINS[action].sha in written


def test_from_workspace_on_a_clean_ecosystem_proposes_nothing(
    make_ecosystem: EcosystemFactory, registry: Registry
) -> None:
    eco: Ecosystem = make_ecosystem()
    out: list[str] = []
    assert run_from_workspace(registry, eco.workspace, write=False, out=out.append, err=out.append) == EXIT_OK
    assert out == ["the pin table is at least as new as every pinned action in the workspace's workflows"]


def test_rewrite_table_refuses_a_table_edited_out_of_shape() -> None:
    pin = pins.PINS["actions/checkout"]
    with pytest.raises(JuniperError, match="no line `Pin"):
        rewrite_table("PINS = {}\n", [Proposal(pin, newer_pin(pin), ())])


def test_pin_actions_from_workspace_through_the_front_door(make_ecosystem: EcosystemFactory) -> None:
    eco: Ecosystem = make_ecosystem("newer-actions")
    before = Path(pins.__file__).read_text(encoding="utf-8")
    proc = run_task("pin-actions", "--from-workspace", "--workspace", str(eco.workspace), timeout=120)
    assert proc.returncode == EXIT_FINDINGS, proc.stdout + proc.stderr
    assert re.search(r"^\+    Pin\(\"actions/checkout\", \"v8\.0\.0\"", proc.stdout, re.M)
    assert Path(pins.__file__).read_text(encoding="utf-8") == before
    bad = run_task("pin-actions", "--workspace", str(eco.workspace), timeout=60)
    assert bad.returncode == 2 and "only apply with --from-workspace" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_from_workspace_names_a_missing_checkout_and_writes_nothing(registry: Registry, tmp_path: Path) -> None:
    table, readme = table_copy(tmp_path / "t")
    before = table.read_text(encoding="utf-8")
    (tmp_path / "ws").mkdir()
    with pytest.raises(WorkspaceError, match="no checkout at"):
        run_from_workspace(registry, tmp_path / "ws", write=True, table_file=table, readme=readme)
    assert table.read_text(encoding="utf-8") == before

"""Workflows only move forward: the inputs each pinned release declares, rendering that never downgrades a pin a
repository already runs, ``invoke check``'s warning about an older pin table, and ``invoke pin-actions
--from-workspace`` on the stand-in (taught to pin newer releases with the ``newer-actions`` defect)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from conftest import ROOT
from juniper_release.ecosystem.registry import Registry
from juniper_release.github import inputs, pins
from juniper_release.github import workflows as wf
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
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"on by default since {inputs.ATTESTATIONS_BY_DEFAULT}" in readme and f"{PUBLISH} {pin.tag}" in readme

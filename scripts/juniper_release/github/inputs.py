"""The inputs each pinned action release declares, so no workflow passes an input its pinned release ignores.

GitHub only warns about an input the action does not declare, and the run goes green: a ``with:`` key the pinned
release does not know is silently dropped (``attestations: true`` on a publish action older than v1.10.0 publishes
without attestations). :data:`DECLARED` records, per action and release tag, the ``inputs:`` of its ``action.yml``
and where that list comes from; :func:`undeclared_inputs` finds every ``with:`` key of a workflow that the release
it pins does not declare. Moving a pin in :data:`juniper_release.github.pins.PINS` means recording the new release's
inputs here (``tests/test_workflows.py`` fails until every pinned release has them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import yaml  # type: ignore[import-untyped,unused-ignore]

from juniper_release.github.pins import USES, Pin


@dataclass(frozen=True)
class Declared:
    """The inputs one release of an action declares, and where the list was read."""

    inputs: frozenset[str]
    source: str


AT_TAG = "action.yml at the tag, in a snapshot of the action's own repository"

_CHECKOUT = (
    "clean fetch-depth fetch-tags filter github-server-url lfs path persist-credentials ref repository "
    "set-safe-directory show-progress sparse-checkout sparse-checkout-cone-mode ssh-key ssh-known-hosts ssh-strict "
    "ssh-user submodules token allow-unsafe-pr-checkout"
)
_SETUP_PYTHON = (
    "allow-prereleases architecture cache cache-dependency-path check-latest freethreaded pip-version python-version "
    "python-version-file token update-environment"
)
_UPLOAD_ARTIFACT = "archive compression-level if-no-files-found include-hidden-files name overwrite path retention-days"
_DOWNLOAD_ARTIFACT = (
    "artifact-ids digest-mismatch github-token merge-multiple name path pattern repository run-id skip-decompress"
)
_SETUP_UV = (
    "activate-environment add-problem-matchers cache-dependency-glob cache-local-path cache-python cache-suffix "
    "checksum enable-cache github-token ignore-empty-workdir ignore-nothing-to-cache manifest-file prune-cache "
    "python-version resolution-strategy restore-cache save-cache tool-bin-dir tool-dir venv-path version "
    "version-file working-directory"
)
_PYPI_PUBLISH_1_8 = (
    "packages-dir packages_dir password print-hash print_hash repository-url repository_url skip-existing "
    "skip_existing user verbose verify-metadata verify_metadata"
)


def _declared(inputs: str, source: str = AT_TAG) -> Declared:
    return Declared(frozenset(inputs.split()), source)


DECLARED: Mapping[tuple[str, str], Declared] = MappingProxyType(
    {
        ("actions/checkout", "v7.0.1"): _declared(_CHECKOUT),
        ("actions/setup-python", "v7.0.0"): _declared(_SETUP_PYTHON),
        ("actions/upload-artifact", "v7.0.1"): _declared(
            _UPLOAD_ARTIFACT,
            "action.yml at v7.0.0 in a snapshot of the action's repository (it stops at v7.0.0); the Juniper "
            "workflows pass name, path, if-no-files-found and retention-days to v7.0.1",
        ),
        ("actions/download-artifact", "v8.0.1"): _declared(_DOWNLOAD_ARTIFACT),
        ("astral-sh/setup-uv", "v7.6.0"): _declared(_SETUP_UV),
        ("pypa/gh-action-pypi-publish", "v1.14.2"): _declared(
            f"{_PYPI_PUBLISH_1_8} attestations",
            "a public record of action.yml at dc37677b (the snapshot of the action's repository stops at v1.8.14); "
            "the Juniper workflows pass attestations, packages-dir, repository-url, skip-existing and verbose to "
            "v1.14.2; the release notes: `attestations` since v1.10.0, on by default since v1.11.0",
        ),
        ("pypa/gh-action-pypi-publish", "v1.8.14"): _declared(_PYPI_PUBLISH_1_8),
    }
)
"""(action, release tag) -> the inputs its ``action.yml`` declares. Every pin of the table has an entry."""

ATTESTATIONS_BY_DEFAULT = "v1.11.0"
"""The release of ``pypa/gh-action-pypi-publish`` from which it produces PEP 740 attestations by default (with
trusted publishing, that is ``id-token: write`` on the publishing job); the input arrived in v1.10.0."""


@dataclass(frozen=True)
class Undeclared:
    """A ``with:`` key that the release its step pins does not declare (or a release with no recorded inputs)."""

    line: int
    action: str
    tag: str
    input: str

    def __str__(self) -> str:
        if not self.input:
            return f"line {self.line}: {self.action} {self.tag} has no recorded inputs in github/inputs.py"
        return f"line {self.line}: {self.action} {self.tag} declares no input {self.input!r}"


def _steps(node: Any) -> list[Any]:
    """Every mapping node of the document that has a ``uses:`` key (a step, or a job calling a workflow)."""
    found: list[Any] = []
    if isinstance(node, yaml.MappingNode):
        if any(getattr(k, "value", None) == "uses" for k, _ in node.value):
            found.append(node)
        for _, value in node.value:
            found += _steps(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            found += _steps(item)
    return found


def undeclared_inputs(text: str, table: Mapping[tuple[str, str], Declared] = DECLARED) -> list[Undeclared]:
    """Every ``with:`` key of a pinned step in ``text`` that its release (the ``# vX.Y.Z`` comment) does not declare.

    A pinned step whose release has no entry in ``table`` is one finding with an empty ``input``. Local actions,
    docker images and steps without a version comment are skipped (:func:`pins.unpinned` reports those).
    """
    tags = {text.count("\n", 0, m.start()) + 1: m for m in USES.finditer(text)}
    out: list[Undeclared] = []
    for step in _steps(yaml.compose(text)):
        keys = {k.value: v for k, v in step.value}
        line = keys["uses"].start_mark.line + 1
        match = tags.get(line)
        if match is None or match["comment"] is None or match["ref"] is None:
            continue
        action = "/".join(match["action"].split("/")[:2])
        tag = match["comment"].strip().lstrip("#").strip()
        declared = table.get((action, tag))
        if declared is None:
            out.append(Undeclared(line, action, tag, ""))
            continue
        given = keys.get("with")
        names = [k.value for k, _ in given.value] if isinstance(given, yaml.MappingNode) else []
        out += [Undeclared(line, action, tag, name) for name in names if name not in declared.inputs]
    return out


def pinned_inputs_missing(pins: Mapping[str, Pin], table: Mapping[tuple[str, str], Declared] = DECLARED) -> list[Pin]:
    """The pins whose release has no recorded inputs."""
    return [pin for pin in pins.values() if (pin.action, pin.tag) not in table]

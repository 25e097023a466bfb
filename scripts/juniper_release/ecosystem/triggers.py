"""Which publish workflows a GitHub Release starts, and for which Releases: the repository's publishing topology.

A workflow is *release-triggered* when its ``on:`` names ``release``. GitHub then runs it for every published
Release, and what it does depends on two things this module reads:

- the event types: ``prereleased`` fires for pre-releases only, ``released`` for finals only, ``published`` (or
  none given) for both;
- a job-level ``if:`` on ``github.event.release.prerelease`` (``== true``, ``== false``, ``!...``): the jobs of the
  other kind are skipped, so the run does nothing.

:func:`role` says of one workflow: ``both``, ``prerelease``, ``final``, or None (not release-triggered). Two
workflows, one for pre-releases (``publish-testpypi.yml``) and one for finals (``publish-pypi.yml``), are the shape
of a single package released from GitHub Releases. The release watches the one that publishes its kind; ``check``
and the local GitHub stand-in read the same rule.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

Role = Literal["both", "prerelease", "final"]

_PRERELEASE = "github.event.release.prerelease"
_FINAL_IF = re.compile(
    rf"(!\s*{re.escape(_PRERELEASE)}\b|{re.escape(_PRERELEASE)}\s*(==\s*false|!=\s*true))", re.IGNORECASE
)
_PRE_IF = re.compile(rf"{re.escape(_PRERELEASE)}\s*(==\s*true|!=\s*false|\s*(\}}\}}|&&|\|\||\)|$))", re.IGNORECASE)


def workflow_triggers(doc: Any) -> dict[str, Any]:
    """The ``on:`` triggers of a parsed workflow as {event: config}. YAML 1.1 reads a bare ``on`` as True."""
    if not isinstance(doc, dict):
        return {}
    raw = doc.get("on", doc.get(True))
    if isinstance(raw, str):
        return {raw: None}
    if isinstance(raw, list):
        return {str(e): None for e in raw}
    if isinstance(raw, dict):
        return {str(k): v for k, v in raw.items()}
    return {}


def _types(config: Any) -> set[str]:
    if isinstance(config, dict):
        raw = config.get("types")
        if isinstance(raw, str):
            return {raw}
        if isinstance(raw, list):
            return {str(t) for t in raw}
    return set()


def _job_roles(doc: Any) -> list[Role]:
    """The role of every job: its own ``if:`` on ``github.event.release.prerelease``, else the one role of the jobs
    it ``needs`` (a job after a skipped one is skipped too), else ``both``."""
    jobs = doc.get("jobs") if isinstance(doc, dict) else None
    if not isinstance(jobs, dict):
        return []
    own: dict[str, Role] = {}
    needs: dict[str, list[str]] = {}
    for name, raw_job in jobs.items():
        job = raw_job if isinstance(raw_job, dict) else {}
        own[str(name)] = _condition_role(str(job.get("if", "")))
        raw = job.get("needs", [])
        needs[str(name)] = [str(n) for n in ([raw] if isinstance(raw, str) else raw if isinstance(raw, list) else [])]

    def role_of_job(name: str, seen: frozenset[str]) -> Role:
        if own.get(name, "both") != "both" or name in seen:
            return own.get(name, "both")
        inherited = {role_of_job(n, seen | {name}) for n in needs.get(name, []) if n in own}
        return inherited.pop() if len(inherited) == 1 else "both"

    return [role_of_job(name, frozenset()) for name in own]


def _condition_role(condition: str) -> Role:
    if _FINAL_IF.search(condition):
        return "final"
    if _PRE_IF.search(condition):
        return "prerelease"
    return "both"


def role_of(doc: Any) -> Role | None:
    """The role of a parsed workflow (None: a Release does not trigger it)."""
    triggers = workflow_triggers(doc)
    if "release" not in triggers:
        return None
    types = _types(triggers["release"]) or {"published"}
    by_type: set[Role] = set()
    if types & {"published", "created"}:
        by_type.add("both")
    if "prereleased" in types:
        by_type.add("prerelease")
    if "released" in types:
        by_type.add("final")
    if not by_type:
        return None  # only edited, deleted, unpublished...: no run publishes
    kind: Role = "both" if "both" in by_type or by_type == {"prerelease", "final"} else next(iter(by_type))
    if kind != "both":
        return kind
    roles = set(_job_roles(doc))
    return roles.pop() if len(roles) == 1 else "both"


def role(text: str) -> Role | None:
    """The role of a workflow's text; None when a Release does not trigger it or it is not valid YAML."""
    import yaml  # type: ignore[import-untyped,unused-ignore]

    try:
        return role_of(yaml.safe_load(text))
    except yaml.YAMLError:
        return None


def runs_for(role_: Role | None, prerelease: bool) -> bool:
    """A workflow of ``role_`` publishes a Release of this kind."""
    return role_ == "both" or role_ == ("prerelease" if prerelease else "final")


def topology(texts: Mapping[str, str]) -> dict[str, Role]:
    """{workflow path: role} of the release-triggered workflows among ``texts`` ({path: text})."""
    return {path: found for path, text in sorted(texts.items()) if (found := role(text)) is not None}


def repository_workflows(top: Path) -> dict[str, str]:
    """{path from the repository root: text} of the workflows of a checkout."""
    directory = top / ".github" / "workflows"
    if not directory.is_dir():
        return {}
    return {
        f".github/workflows/{p.name}": p.read_text(encoding="utf-8", errors="replace")
        for p in sorted(directory.iterdir())
        if p.suffix in {".yml", ".yaml"} and p.is_file()
    }


def split_pair(found: Mapping[str, Role]) -> tuple[str, str] | None:
    """The (pre-release, final) workflows of a two-workflow topology, or None when it is not one."""
    pre = [p for p, r in found.items() if r == "prerelease"]
    final = [p for p, r in found.items() if r == "final"]
    return (pre[0], final[0]) if len(pre) == 1 and len(final) == 1 else None


def topology_problems(
    published: str, prerelease: str | None, texts: Mapping[str, str]
) -> list[tuple[Literal["error", "warning"], str]]:
    """What is wrong with a package's publishing topology: ``published`` is its publish workflow, ``prerelease`` the
    registry's pre-release workflow (None: one workflow publishes both), ``texts`` the repository's workflows.

    Two workflows are fine when each publishes its own kind. One workflow that publishes finals only is a
    topology the registry does not know: a pre-release would wait for a run that does nothing."""
    found = topology(texts)
    out: list[tuple[Literal["error", "warning"], str]] = []
    if prerelease is None:
        pair = split_pair(found)
        if found.get(published) == "final":
            other = f"set prerelease_workflow = {pair[0]!r}" if pair else "name the workflow that publishes them"
            out.append(
                (
                    "warning",
                    f"{published} publishes finals only (by its release event types or its jobs' if: on "
                    f"github.event.release.prerelease), so a pre-release would wait on it in vain. Fix: {other} in "
                    "the registry",
                )
            )
        return out
    if prerelease not in texts:
        return [("error", f"no pre-release workflow at {prerelease}. Fix: add it, or drop prerelease_workflow")]
    pre_role, final_role = found.get(prerelease), found.get(published)
    if pre_role is None:
        out.append(("warning", f"{prerelease} is not triggered by a published Release. Fix: use `on: release`"))
    for path, got, want in ((prerelease, pre_role, "final"), (published, final_role, "prerelease")):
        if got == want:
            kind = "pre-releases" if want == "final" else "finals"
            out.append(
                ("error", f"{path} publishes {want}s only, but the registry names it for {kind}. Fix: swap them")
            )
    if pre_role == "both" and final_role == "both":
        out.append(
            (
                "warning",
                f"{prerelease} and {published} both run on every Release, so each Release is published twice. Fix: "
                "gate each one's jobs on github.event.release.prerelease (== true / == false)",
            )
        )
    return out

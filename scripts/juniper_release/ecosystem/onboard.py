"""``invoke init``'s plan: the registry of the checkouts under a workspace, field by field, with what was guessed.

:mod:`.discover` reads the packages, :mod:`.repofacts` the repositories; this module decides:

- **repo** and **settings.owner**: the origin's owner/name; the owner most repositories share.
- **tag_format**: learnt per package from the repository's tags. Packages of one repository without tags of their
  own that share one tag (no root package among them, or versions from git tags, or one static version) are a
  lockstep **[[group]]**.
- **layer**: computed by :class:`juniper_release.ecosystem.graph.Graph` from every requirement between the packages
  found (hard or in an extra), as ``invoke graph`` computes it.
- **extras** (to verify): every extra of a meta-package; for the others, each extra but the development ones
  (:data:`DEV_EXTRAS`) and the aggregates of the package's own extras (``all = ["pkg[a,b]"]``); never one the
  checkouts' builds cannot satisfy (a requirement excluding the version a checkout declares).
- **torch**: a hard requirement on torch, or one through a verified extra or a required sibling.
- **smoke**: ``NAME --help`` per console script.
- **publish_workflow** / **prerelease_workflow**: the repository's upload workflows that name the package (one
  package alone in its repository owns them all); a pre-release-only and a final-only workflow are the pair.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import Version

from juniper_release.ecosystem.discover import Checkout, Found, checkouts_under, read_checkout
from juniper_release.ecosystem.graph import Edge, Graph, marker_can_hold
from juniper_release.ecosystem.model import Package, Registry, TorchSource
from juniper_release.ecosystem.repofacts import RepoFacts, Workflow, learn_tag_format, mentions, repo_facts
from juniper_release.errors import WorkspaceError

DEFAULT_TAG_FORMAT = "v{version}"
SUBPACKAGE_TAG_FORMAT = "{name}-v{version}"
DEFAULT_WORKFLOW = ".github/workflows/publish.yml"
DEV_EXTRAS = re.compile(
    r"^(tests?|testing|dev|develop|development|docs?|lint|linting|typing|types|mypy|coverage|cov|style|format|ci"
    r"|bench.*|benchmarks?|perf)$"
)
"""Extras that hold development tools, never verified as a user would install them."""


@dataclass
class Planned:
    """One ``[[package]]`` as init writes it."""

    found: Found
    repo: str
    layer: int = 0
    torch: bool = False
    extras: tuple[str, ...] = ()
    smoke: tuple[str, ...] = ()
    tag_format: str = DEFAULT_TAG_FORMAT
    """As written, ``{name}`` unfilled (``{name}-v{version}``)."""
    publish_workflow: str | None = None
    prerelease_workflow: str | None = None
    guesses: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.found.name


@dataclass(frozen=True)
class GroupPlan:
    name: str
    members: tuple[str, ...]
    tag_format: str
    guess: str | None = None


@dataclass
class Plan:
    owner: str
    organization: str
    tag_format: str
    branch: str
    publish_workflow: str
    packages: list[Planned]
    groups: list[GroupPlan]
    guesses: dict[str, str] = field(default_factory=dict)
    """``settings.<field>`` -> why."""
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def plan_registry(workspace: Path) -> Plan:
    """Read every checkout under ``workspace`` and decide every field of its registry."""
    roots, skipped = checkouts_under(workspace)
    checkouts = [read_checkout(workspace, root) for root in roots]
    skipped += [s for c in checkouts for s in c.skipped]
    skipped += [f"{c.path}: no pyproject with a [project] table" for c in checkouts if not c.packages]
    facts = {c.path: repo_facts(c.root, _urls(c)) for c in checkouts if c.packages}
    owner = _most_common([f.repo.split("/")[0] for f in facts.values() if f.repo], "")
    plan = Plan(
        owner or "OWNER", owner or "OWNER", DEFAULT_TAG_FORMAT, "main", DEFAULT_WORKFLOW, [], [], skipped=skipped
    )
    if not owner:
        plan.guesses["owner"] = "no repository names its GitHub owner: replace OWNER"
    plan.guesses["organization"] = "nothing in the checkouts names it: the owner, until a transfer names another"
    for checkout in checkouts:
        if checkout.packages:
            _plan_repository(plan, checkout, facts[checkout.path])
    if not plan.packages:
        raise WorkspaceError(
            f"{workspace}: no package found in {len(checkouts)} checkout(s) (no pyproject.toml with a [project] name)",
            "pass --workspace DIR, the directory holding the packages' checkouts",
        )
    _settings(plan, facts)
    _layers_and_torch(plan)
    plan.packages.sort(key=lambda p: p.layer)
    return plan


def _urls(checkout: Checkout) -> list[str]:
    from juniper_release.ecosystem.versions import load_pyproject

    out: list[str] = []
    for pkg in checkout.packages:
        urls = load_pyproject(pkg.root / "pyproject.toml").get("project", {}).get("urls") or {}
        out += [str(u) for u in urls.values()] if isinstance(urls, dict) else []
    return out


def _most_common(values: Sequence[str], default: str) -> str:
    return Counter(values).most_common(1)[0][0] if values else default


# ---------------------------------------------------------------------------------------------- per repository


def _plan_repository(plan: Plan, checkout: Checkout, facts: RepoFacts) -> None:
    repo = facts.repo or f"{plan.owner}/{Path(checkout.path).name}"
    planned = [Planned(found=f, repo=repo, guesses=dict(f.guesses)) for f in checkout.packages]
    for pkg in planned:
        if facts.repo_guess:
            pkg.guesses["repo"] = facts.repo_guess + ("" if facts.repo else ": the owner and the directory's name")
        pkg.extras = _extras(pkg.found)
        pkg.smoke = tuple(f"{script} --help" for script in pkg.found.scripts)
    group = _tag_formats(planned, facts)
    if group:
        plan.groups.append(group)
    _workflows(planned, facts.workflows, group)
    if facts.branch_guess:
        plan.notes.append(f"{checkout.path}: branch {facts.branch} ({facts.branch_guess})")
    plan.packages += planned


def _extras(found: Found) -> tuple[str, ...]:
    if not found.imports:
        return found.extras
    own = canonicalize_name(found.name)
    aggregates = {
        extra
        for extra in found.extras
        if all(canonicalize_name(r.name) == own for e, r in found.requirements if e == extra)
    }
    return tuple(e for e in found.extras if not DEV_EXTRAS.match(e.lower()) and e not in aggregates)


def _tag_formats(planned: list[Planned], facts: RepoFacts) -> GroupPlan | None:
    """Each package's tag format from the tags; packages sharing name-free tags may be a lockstep group."""
    shared: list[Planned] = []
    for pkg in planned:
        fmt, _ = learn_tag_format(pkg.name, facts.tags)
        if fmt is not None and "{name}" in fmt:
            pkg.tag_format = fmt
        elif fmt is not None:
            pkg.tag_format = fmt
            shared.append(pkg)
        else:
            pkg.tag_format = SUBPACKAGE_TAG_FORMAT if pkg.found.subdir else DEFAULT_TAG_FORMAT
            pkg.guesses["tag_format"] = "no tag of the repository follows a known format: the default"
    vcs_members = [p for p in planned if p.found.source and p.found.source.is_vcs and p.found.subdir]
    if not shared and len(vcs_members) > 1 and all("tag_format" in p.guesses for p in vcs_members):
        shared = vcs_members  # versions from the repository's git tags, not tagged yet: one tag for them all
        for pkg in shared:
            pkg.tag_format = DEFAULT_TAG_FORMAT
    if len(shared) < 2 or not _lockstep(shared):
        for pkg in shared[1:] if len(shared) > 1 else ():
            if pkg.found.subdir:  # the root package owns the name-free tags
                pkg.tag_format = SUBPACKAGE_TAG_FORMAT
                pkg.guesses["tag_format"] = "no tag of its own: the default of a sub-package"
        return None
    fmt = _most_common([p.tag_format for p in shared], DEFAULT_TAG_FORMAT)
    for pkg in shared:
        pkg.tag_format = fmt
    untagged = all("tag_format" in p.guesses for p in shared)
    guess = "no tag yet: their versions come from the repository's git tags" if untagged else None
    return GroupPlan(Path(shared[0].repo).name, tuple(p.name for p in shared), fmt, guess)


def _lockstep(shared: list[Planned]) -> bool:
    """Several packages of one repository read one tag: a group, unless a root package owns those tags."""
    if all(p.found.subdir for p in shared) or all(p.found.source and p.found.source.is_vcs for p in shared):
        return True
    from juniper_release.ecosystem.project import read_project

    try:
        versions = {read_project(_probe(p), p.found.root).version for p in shared}
    except WorkspaceError:
        return False
    return len(versions) == 1


def _probe(pkg: Planned) -> Package:
    """``pkg`` as a registry entry, before the registry exists."""
    return Package(
        name=pkg.name,
        repo=pkg.repo,
        path=pkg.found.checkout,
        imports=pkg.found.imports,
        layer=pkg.layer,
        python=(),
        torch=False,
        subdir=pkg.found.subdir,
        tag_format=pkg.tag_format.replace("{name}", pkg.name),
        version_file=pkg.found.version_file,
    )


def _workflows(planned: list[Planned], workflows: Sequence[Workflow], group: GroupPlan | None) -> None:
    owned: dict[str, list[Workflow]] = {p.name: [] for p in planned}
    root = next((p for p in planned if not p.found.subdir), None)
    for wf in workflows:
        if len(planned) == 1:
            owned[planned[0].name].append(wf)
            continue
        scores = {p.name: mentions(wf.text, p.name) for p in planned}
        best = max(scores.values())
        winners = [n for n, s in scores.items() if s == best]
        if best and len(winners) == 1:
            owned[winners[0]].append(wf)
        elif root is not None:
            owned[root.name].append(wf)
    if group:
        pooled = sorted({wf.path: wf for m in group.members for wf in owned[m]}.values(), key=lambda w: w.path)
        owned.update({m: list(pooled) for m in group.members})
    for pkg in planned:
        _choose_workflows(pkg, owned[pkg.name])


def _choose_workflows(pkg: Planned, owned: list[Workflow]) -> None:
    pre = [w for w in owned if w.role == "prerelease"]
    final = [w for w in owned if w.role == "final"]
    both = sorted((w for w in owned if w.role == "both"), key=lambda w: not w.on_release)
    if pre and final:
        pkg.publish_workflow, pkg.prerelease_workflow = final[0].path, pre[0].path
    elif both or final or pre:
        chosen = (both or final or pre)[0]
        pkg.publish_workflow = chosen.path
        if len(owned) > 1:
            others = ", ".join(w.path for w in owned if w is not chosen)
            pkg.guesses["publish_workflow"] = f"also uploading: {others}"
        elif chosen.role == "prerelease":
            pkg.guesses["publish_workflow"] = "it publishes pre-releases only"
    else:
        pkg.guesses["publish_workflow"] = "no workflow of the repository uploads it: the default path"


# ------------------------------------------------------------------------------------------------ the ecosystem


def _settings(plan: Plan, facts: Mapping[str, RepoFacts]) -> None:
    branches = [f.branch for f in facts.values()]
    plan.branch = _most_common(branches, "main")
    odd = sorted(f"{path} ({f.branch})" for path, f in facts.items() if f.branch != plan.branch)
    if odd:
        plan.guesses["branch"] = f"the most common branch; the registry has one, but not for {', '.join(odd)}"
    grouped = {m for g in plan.groups for m in g.members}
    roots = [p for p in plan.packages if not p.found.subdir and p.name not in grouped]
    plan.tag_format = _most_common([p.tag_format for p in roots if "tag_format" not in p.guesses], DEFAULT_TAG_FORMAT)
    for pkg in roots:
        if "tag_format" in pkg.guesses:
            pkg.tag_format = plan.tag_format  # untagged: the registry's own format
    workflows = [p.publish_workflow for p in roots if p.publish_workflow and not p.found.subdir]
    plan.publish_workflow = _most_common(workflows, DEFAULT_WORKFLOW)


def default_workflow(plan: Plan, pkg: Planned) -> str:
    """The workflow the registry implies for ``pkg`` when it names none (``Registry.workflow_for``'s rule)."""
    if not pkg.found.subdir:
        return plan.publish_workflow
    path = Path(plan.publish_workflow)
    return (path.parent / f"{path.stem}-{pkg.name}{path.suffix}").as_posix()


def _layers_and_torch(plan: Plan) -> None:
    canon: dict[str, Planned] = {canonicalize_name(p.name): p for p in plan.packages}
    probes = tuple(_probe(p) for p in plan.packages)
    registry = Registry(
        Path("init"), plan.owner, plan.organization, plan.tag_format, plan.branch, plan.publish_workflow, {},
        TorchSource("0", "init"), probes,
    )  # fmt: skip
    edges: list[Edge] = []
    deps: dict[str, set[str]] = {p.name: set() for p in plan.packages}
    for pkg in plan.packages:
        for extra, req in pkg.found.requirements:
            target = canon.get(canonicalize_name(req.name))
            if target is not None and target is not pkg and marker_can_hold(req.marker, extra):
                edges.append(Edge(pkg.name, target.name, req, extra))
                deps[pkg.name].add(target.name)
    layers = Graph(registry, {}, tuple(edges), {k: frozenset(v) for k, v in deps.items()}).computed_layers()
    _installable_extras(plan, canon)
    for pkg in plan.packages:
        pkg.layer = layers[pkg.name]
        pkg.torch = _needs_torch(pkg, set(pkg.extras), canon, set())


def _installable_extras(plan: Plan, canon: Mapping[str, Planned]) -> None:
    """Leave out the extras verification could not install from the checkouts' builds: a requirement on a sibling
    that excludes the version its checkout declares, or an aggregate of such an extra."""
    from juniper_release.ecosystem.project import read_project

    versions: dict[str, Version | None] = {}
    for name, pkg in canon.items():
        try:
            versions[name] = read_project(_probe(pkg), pkg.found.root).version
        except WorkspaceError:
            versions[name] = None  # unreadable here (an untagged git version): assumed installable
    for pkg in plan.packages:
        own = canonicalize_name(pkg.name)
        dropped: dict[str, str] = {}
        for extra, req in pkg.found.requirements:
            found = versions.get(canonicalize_name(req.name))
            sibling = extra in pkg.extras and canonicalize_name(req.name) != own
            if extra and sibling and found is not None and not req.specifier.contains(found, prereleases=True):
                dropped.setdefault(extra, f"{req} excludes {found}")
        grew = True
        while grew:  # an aggregate of a dropped extra goes too
            grew = False
            for extra, req in pkg.found.requirements:
                inner = sorted(set(req.extras) & dropped.keys())
                if extra in pkg.extras and extra not in dropped and canonicalize_name(req.name) == own and inner:
                    dropped[extra], grew = f"it includes [{', '.join(inner)}]", True
        if dropped:
            pkg.extras = tuple(e for e in pkg.extras if e not in dropped)
            why = "; ".join(f"[{e}]: {reason}" for e, reason in dropped.items())
            pkg.guesses["extras"] = f"left out, not installable from the checkouts: {why}"


def _needs_torch(pkg: Planned, extras: set[str], canon: Mapping[str, Planned], seen: set[tuple[str, str]]) -> bool:
    """``pkg`` with ``extras`` requires torch: directly, through its own extras, or through a sibling it requires."""
    own = canonicalize_name(pkg.name)
    for extra, req in pkg.found.requirements:
        if (extra is not None and extra not in extras) or not marker_can_hold(req.marker, extra):
            continue
        name = canonicalize_name(req.name)
        if name == "torch":
            return True
        wanted = set(req.extras) if name != own else set(req.extras) - extras
        key = (name, ",".join(sorted(wanted)))
        target = canon.get(name)
        if target is None or key in seen:
            continue
        seen.add(key)
        if _needs_torch(target, wanted | (extras if name == own else set()), canon, seen):
            return True
    return False
